//! Probes: one probe round per interval per environment for the whole Envoy (not one
//! per worker), carrying the environment's key; model probes; a probed model the relay does not
//! know; a configuration reload while probes are in flight. Real Envoy (2 workers), real wasm.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// Bound for a state change to show: a few intervals, generous for a loaded machine.
const DETECT: Duration = Duration::from_secs(10);

fn probing(green_hundredths: u32, health_check: Value) -> Value {
    let mut cfg = config(green_hundredths);
    cfg["health_check"] = health_check;
    cfg
}

fn key_of(env: &str) -> &'static str {
    if env == "blue" {
        BLUE_KEY
    } else {
        GREEN_KEY
    }
}

/// Probes counted over `elapsed` at one round per `interval_ms`: within 2 of the expected
/// number (three root contexts probing would give about three times as many).
fn assert_about_one_per_interval(count: u64, elapsed: Duration, interval_ms: u64, what: &str) {
    let n = elapsed.as_millis() as u64 / interval_ms;
    println!("{what}: {count} probes in {elapsed:?} (one per {interval_ms} ms: {n})");
    assert!(
        count + 2 >= n && count <= n + 2,
        "{what}: {count} probes in {elapsed:?} at one per {interval_ms} ms (want {n} ± 2)"
    );
}

#[test]
fn one_probe_round_per_interval_carrying_the_environment_key() {
    const INTERVAL_MS: u64 = 500;
    // Chat probes spend tokens: they follow their own, longer interval.
    const MODEL_INTERVAL_MS: u64 = 1000;
    let cfg = probing(
        5000,
        json!({"interval_ms": INTERVAL_MS, "timeout_ms": 250, "model_probes": ["gpt-4.1"],
               "model_probe_interval_ms": MODEL_INTERVAL_MS}),
    );
    let stack = start(&cfg);
    status_everywhere(&stack.envoy, "both healthy", DETECT, |s| {
        s["routing_mode"] == "normal"
    });

    stack.blue.clear();
    stack.green.clear();
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(3000));
    let recorded = [stack.blue.requests(), stack.green.requests()];
    let elapsed = started.elapsed();

    let want_body = json!({
        "model": "gpt-4.1",
        "messages": [{"role": "user", "content": "health-check"}],
        "max_tokens": 16,
    });
    for (env, requests) in ["blue", "green"].into_iter().zip(recorded) {
        let models = requests.iter().filter(|r| r.path == "/v1/models").count() as u64;
        let chats = requests
            .iter()
            .filter(|r| r.path == "/v1/chat/completions")
            .count() as u64;
        assert_about_one_per_interval(models, elapsed, INTERVAL_MS, &format!("{env} /v1/models"));
        assert_about_one_per_interval(
            chats,
            elapsed,
            MODEL_INTERVAL_MS,
            &format!("{env} chat probe"),
        );
        assert_eq!(models + chats, requests.len() as u64, "{env}: {requests:?}");

        let bearer = format!("Bearer {}", key_of(env));
        for r in &requests {
            let what = format!("{env} probe {} {}", r.method, r.path);
            assert_eq!(r.header("authorization"), Some(bearer.as_str()), "{what}");
            assert_eq!(r.header("x-environment"), Some(env), "{what}");
            assert_eq!(
                r.header("user-agent"),
                Some("bluegreen-relay-probe"),
                "{what}"
            );
            if r.path == "/v1/models" {
                assert_eq!(r.method, "GET", "{what}");
            } else {
                assert_eq!(r.method, "POST", "{what}");
                assert_eq!(r.header("content-type"), Some("application/json"), "{what}");
                let body: Value = serde_json::from_str(&r.body)
                    .unwrap_or_else(|e| panic!("{what}: body is not JSON ({e}): {}", r.body));
                assert_eq!(body, want_body, "{what}");
            }
        }
    }
}

#[test]
fn probed_model_answering_404_makes_its_environment_unhealthy() {
    let cfg = probing(
        5000,
        json!({"interval_ms": 300, "timeout_ms": 200, "model_probes": ["gpt-4.1", "deepseek-v3.2"],
               "model_probe_interval_ms": 1000}),
    );
    let stack = start(&cfg);
    status_everywhere(&stack.envoy, "both healthy", DETECT, |s| {
        s["routing_mode"] == "normal"
    });

    stack
        .green
        .set_config(&json!({"unknown_models": ["deepseek-v3.2"]}));
    let status = status_everywhere(&stack.envoy, "green unhealthy", DETECT, |s| {
        s["environments"]["green"]["health"] == "unhealthy"
    });
    let green = &status["environments"]["green"];
    assert_eq!(
        green["last_failure"], "model deepseek-v3.2 unavailable (404)",
        "{status:#}"
    );
    assert_eq!(green["routable"], false, "{status:#}");
    assert_eq!(
        status["environments"]["blue"]["health"], "healthy",
        "{status:#}"
    );
    assert_eq!(status["routing_mode"], "candidate_held", "{status:#}");
    // /v1/models and the other model still answer 200.
    let by_status = stack.green.stats()["by_status"].clone();
    assert!(by_status["404"].as_u64() >= Some(2), "{by_status}");
    let changed = log_lines(&stack.envoy, "green: healthy -> unhealthy");
    assert_eq!(changed.len(), 1, "{}", changed.join("\n"));
    assert!(
        changed[0].contains("(model deepseek-v3.2 unavailable (404), 2 in a row)"),
        "{}",
        changed[0]
    );

    for id in Rng::new().ids(60) {
        let resp = stack.chat(&[("x-session-id", &id)]);
        assert_eq!((resp.status, resp.relay()), (200, "blue"), "session {id:?}");
    }
}

/// Waits until a `/v1/models` probe newer than the first `seen` ones reached `relay` less than
/// 150 ms ago and has not been answered yet (the relay records a request on arrival and counts
/// it once answered). Returns how many `/v1/models` probes had arrived.
fn wait_probe_in_flight(relay: &MockRelay, seen: u64) -> u64 {
    poll_until(DETECT, || {
        let arrived = relay.requests();
        let probes: Vec<_> = arrived.iter().filter(|r| r.path == "/v1/models").collect();
        let started = probes.len() as u64;
        let fresh = unix_now_ms().saturating_sub(probes.last()?.at_ms) < 150;
        (started > seen && fresh && served(relay, "/v1/models") < started).then_some(started)
    })
    .unwrap_or_else(|| panic!("no new {} probe was ever in flight", relay.name))
}

#[test]
fn config_reload_while_probes_are_in_flight_keeps_probing() {
    const INTERVAL_MS: u64 = 600;
    const LATENCY: &str = "300";
    let relay_config = |version: &str, green: u32| {
        let mut cfg = probing(
            green,
            json!({"interval_ms": INTERVAL_MS, "timeout_ms": 500}),
        );
        cfg["version"] = json!(version);
        cfg.to_string()
    };
    let first = relay_config("a", 5000);
    // Slow relays: every probe is in flight for 300 ms of each 600 ms interval.
    let stack = EcdsStack::try_start_with(
        &default_config_for(&first),
        Some(&first),
        &[("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY)],
        &["--latency-ms", LATENCY],
        &["--latency-ms", LATENCY],
    )
    .unwrap_or_else(|exit| panic!("Envoy (ECDS) did not start: {exit:?}"));
    status_everywhere(&stack.envoy, "config a, both healthy", DETECT, |s| {
        s["version"] == "a" && s["routing_mode"] == "normal"
    });

    // Three new configurations, each published while a probe of a later round than the last
    // one's is waiting on the slow relay.
    let mut seen = 0;
    for (version, green) in [("b", 4000), ("c", 3000), ("d", 2000)] {
        seen = wait_probe_in_flight(&stack.green, seen);
        stack.publish_and_wait(&relay_config(version, green));
    }
    let status = status_everywhere(&stack.envoy, "config d", DETECT, |s| {
        s["version"] == "d" && s["routing_mode"] == "normal"
    });
    assert_eq!(
        status["environments"]["green"]["weight"], 20.0,
        "{status:#}"
    );
    for env in ["blue", "green"] {
        // A round's latency is the slow relay's 300 ms, not the interval or the timeout.
        let latency = status["environments"][env]["latency_ms"]
            .as_u64()
            .unwrap_or(0);
        assert!((300..1000).contains(&latency), "{env}: {status:#}");
    }

    // Probing goes on at one round per interval: not stuck, and not doubled by old contexts.
    let before = [
        served(&stack.blue, "/v1/models"),
        served(&stack.green, "/v1/models"),
    ];
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(4 * INTERVAL_MS));
    let after = [
        served(&stack.blue, "/v1/models"),
        served(&stack.green, "/v1/models"),
    ];
    let elapsed = started.elapsed();
    for (i, env) in ["blue", "green"].into_iter().enumerate() {
        assert_about_one_per_interval(
            after[i] - before[i],
            elapsed,
            INTERVAL_MS,
            &format!("{env} after the reloads"),
        );
    }

    // Verdicts still move both ways.
    stack.green.set_config(&json!({"models_status": 503}));
    let status = status_everywhere(&stack.envoy, "green degraded", DETECT, |s| {
        s["environments"]["green"]["health"] == "degraded"
    });
    assert_eq!(
        status["environments"]["green"]["last_failure"], "503 from /v1/models",
        "{status:#}"
    );
    assert_eq!(status["routing_mode"], "candidate_held", "{status:#}");
    stack.green.set_config(&json!({"models_status": 200}));
    let status = status_everywhere(&stack.envoy, "green healthy again", DETECT, |s| {
        s["environments"]["green"]["health"] == "healthy" && s["routing_mode"] == "normal"
    });
    let now = unix_now_ms();
    for env in ["blue", "green"] {
        let last = status["environments"][env]["last_probe_at"].clone();
        let last_ms = status_time_ms(&last);
        assert!(
            now.saturating_sub(last_ms) < 4 * INTERVAL_MS,
            "{env}: last probe {last} is stale (now {now})"
        );
    }
    // The reloads were taken (config_reload counts 3 updates after the first).
    assert!(
        stack.config_reloads() >= 4,
        "reloads: {}",
        stack.config_reloads()
    );
}

/// A reload may lengthen the interval: slot numbers then restart lower than the last lease's
/// (slots of 800 ms since the epoch are fewer than slots of 500 ms), and probing must go on.
#[test]
fn config_reload_to_a_longer_interval_keeps_probing() {
    let relay_config = |version: &str, interval_ms: u64| {
        let mut cfg = probing(5000, json!({"interval_ms": interval_ms, "timeout_ms": 450}));
        cfg["version"] = json!(version);
        cfg.to_string()
    };
    let first = relay_config("a", 500);
    let stack = EcdsStack::try_start_with(
        &default_config_for(&first),
        Some(&first),
        &[("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY)],
        &["--latency-ms", "300"],
        &["--latency-ms", "300"],
    )
    .unwrap_or_else(|exit| panic!("Envoy (ECDS) did not start: {exit:?}"));
    status_everywhere(&stack.envoy, "config a, both healthy", DETECT, |s| {
        s["version"] == "a" && s["routing_mode"] == "normal"
    });

    // Published while a probe is in flight: probes every 800 ms instead of 500 ms.
    const LONGER_MS: u64 = 800;
    wait_probe_in_flight(&stack.green, 0);
    stack.publish_and_wait(&relay_config("b", LONGER_MS));
    status_everywhere(&stack.envoy, "config b", DETECT, |s| s["version"] == "b");

    let before = [
        served(&stack.blue, "/v1/models"),
        served(&stack.green, "/v1/models"),
    ];
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(4 * LONGER_MS));
    let after = [
        served(&stack.blue, "/v1/models"),
        served(&stack.green, "/v1/models"),
    ];
    let elapsed = started.elapsed();
    let status = stack.status();
    for (i, env) in ["blue", "green"].into_iter().enumerate() {
        assert_about_one_per_interval(
            after[i] - before[i],
            elapsed,
            LONGER_MS,
            &format!(
                "{env} after the reload to {LONGER_MS} ms (status now {}, {env} last_probe_at {})",
                status["now"], status["environments"][env]["last_probe_at"]
            ),
        );
    }
    stack.green.set_config(&json!({"models_status": 503}));
    status_everywhere(&stack.envoy, "green degraded", DETECT, |s| {
        s["environments"]["green"]["health"] == "degraded"
    });
}
