//! The status endpoint and metrics: shape, whole-Envoy counts over both workers,
//! answered by the filter itself.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::json;

#[test]
fn status_has_the_documented_shape() {
    let stack = start(&config(1000));
    let status = stack.status();
    assert_eq!(status["active"], "blue", "{status:#}");
    assert!(status.get("version").is_some(), "no version: {status:#}");
    assert!(status["config_loaded_at"].is_string(), "{status:#}");
    assert_eq!(status["total_requests"], json!(0), "{status:#}");
    assert!(status["green_traffic_ratio"].is_number(), "{status:#}");
    for (name, cluster, weight) in [("blue", "relay_blue", 90.0), ("green", "relay_green", 10.0)] {
        let env = &status["environments"][name];
        assert_eq!(env["cluster"], cluster, "{name}: {status:#}");
        assert_eq!(env["weight"].as_f64(), Some(weight), "{name}: {status:#}");
        assert_eq!(env["requests"], json!(0), "{name}: {status:#}");
    }
}

#[test]
fn counts_cover_all_workers() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 100;
    let stack = start(&config(3000));
    let ids = Rng::new().ids(THREADS * PER_THREAD);
    // A new connection per request, so the kernel spreads them over both workers.
    std::thread::scope(|scope| {
        for chunk in ids.chunks(PER_THREAD) {
            let client = Http::fresh_connections(&stack.envoy.url());
            scope.spawn(move || {
                for id in chunk {
                    let resp =
                        client.post("/v1/chat/completions", &[("x-session-id", id)], CHAT_BODY);
                    assert_eq!(resp.status, 200, "{}", resp.body);
                }
            });
        }
    });
    let workers = stack.envoy.worker_connections();
    assert!(
        workers.len() == 2 && workers.iter().all(|n| *n > 0),
        "both workers must have served: connections per worker {workers:?}"
    );
    let (blue, green) = (stack.blue.total(), stack.green.total());
    let total = (THREADS * PER_THREAD) as u64;
    assert_eq!(blue + green, total);
    let status = stack.status_when("counts equal to what the relays saw", |s| {
        s["total_requests"] == json!(total)
            && s["environments"]["blue"]["requests"] == json!(blue)
            && s["environments"]["green"]["requests"] == json!(green)
    });
    let ratio = status["green_traffic_ratio"].as_f64().unwrap_or(-1.0);
    let want = green as f64 / total as f64;
    assert!(
        (ratio - want).abs() < 0.001,
        "green_traffic_ratio {ratio}, want {want}"
    );
}

#[test]
fn status_is_answered_by_the_filter_not_a_relay() {
    let stack = start(&config(5000));
    for _ in 0..5 {
        let resp = stack.client().get("/relay/status", &[]);
        assert_eq!(resp.status, 200);
        assert_eq!(
            resp.header("x-mock-relay"),
            None,
            "a relay answered the status"
        );
        assert!(resp.json()["environments"].is_object());
    }
    assert_eq!(
        stack.blue.total() + stack.green.total(),
        0,
        "a relay saw a status request"
    );
    assert_eq!(
        stack.status()["total_requests"],
        json!(0),
        "status requests were counted as traffic"
    );
}

#[test]
fn status_path_is_configurable() {
    let mut cfg = config(5000);
    cfg["status_path"] = json!("/ops/relay-status");
    let stack = start(&cfg);
    let resp = stack.client().get("/ops/relay-status", &[]);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-mock-relay"), None);
    assert!(resp.json()["environments"].is_object(), "{}", resp.body);
    // The default path is now just another request, sent on to a relay.
    let resp = stack
        .client()
        .get("/relay/status", &[("x-session-id", "s1")]);
    assert_ne!(resp.relay(), "-", "/relay/status should reach a relay now");
}

/// Series (name and labels, e.g. `bluegreen_requests{bluegreen_env="blue"}`) -> value from
/// Prometheus text, for names containing "bluegreen".
fn bluegreen_metrics(prometheus: &str) -> BTreeMap<String, u64> {
    prometheus
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains("bluegreen"))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

/// `bluegreen_<stat>` of environment `env`: the bootstraps' `stats_tags` turn the `<env>` of
/// `bluegreen.<env>.<stat>` into the label `bluegreen_env` (deploy/prometheus/README.md).
fn metric(metrics: &BTreeMap<String, u64>, env: &str, stat: &str) -> Option<u64> {
    metrics
        .get(&format!("bluegreen_{stat}{{bluegreen_env=\"{env}\"}}"))
        .copied()
}

#[test]
fn metrics_count_requests_and_response_classes() {
    let stack = start(&config(2000));
    stack.green.set_config(&json!({"chat_status": 503}));
    stack.blue.set_config(&json!({"chat_status": 429}));
    let mut want: BTreeMap<(String, u16), u64> = BTreeMap::new();
    for id in Rng::new().ids(200) {
        let resp = stack.chat(&[("x-session-id", &id)]);
        let env = resp
            .header("x-relay-environment")
            .unwrap_or("-")
            .to_string();
        *want.entry((env, resp.status / 100 * 100)).or_default() += 1;
    }
    let count = |env: &str, class: u16| want.get(&(env.to_string(), class)).copied().unwrap_or(0);
    let (blue, green) = (count("blue", 400), count("green", 500));
    assert_eq!(
        blue + green,
        200,
        "every response is blue 4xx or green 5xx: {want:?}"
    );

    let status = stack.status_when("the 4xx/5xx counts", |s| {
        s["environments"]["blue"]["requests"] == json!(blue)
            && s["environments"]["green"]["requests"] == json!(green)
    });
    let mut metrics = BTreeMap::new();
    let settled = poll_until(std::time::Duration::from_secs(3), || {
        metrics = bluegreen_metrics(&stack.envoy.prometheus());
        (metric(&metrics, "blue", "requests") == Some(blue)
            && metric(&metrics, "green", "requests") == Some(green))
        .then_some(())
    });
    assert!(
        settled.is_some(),
        "metrics never matched blue {blue} green {green}: {metrics:#?}"
    );
    for (env, class, n) in [
        ("blue", "4xx", blue),
        ("green", "5xx", green),
        ("blue", "2xx", 0),
    ] {
        assert_eq!(
            metric(&metrics, env, &format!("responses_{class}")),
            Some(n),
            "{env} {class}: {metrics:#?}"
        );
        let in_status = &status["environments"][env]["responses"][class];
        assert_eq!(in_status, &json!(n), "status {env} {class}: {status:#}");
    }
    assert_eq!(
        metric(&metrics, "blue", "weight_bp"),
        Some(8000),
        "{metrics:#?}"
    );
    assert_eq!(
        metric(&metrics, "green", "weight_bp"),
        Some(2000),
        "{metrics:#?}"
    );
    // The same counters under Envoy's dotted names.
    let stats = stack.envoy.stats();
    let line = format!("bluegreen.green.requests: {green}");
    assert!(stats.contains(&line), "/stats lacks `{line}`");
}
