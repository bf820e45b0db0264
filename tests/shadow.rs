//! Shadow traffic against a real Envoy (ECDS, 2 workers), the real wasm and mock relays: copies
//! reach green with green's key and blue's body, clients get blue's answer unchanged and never
//! wait for green, green's answers are counted apart from live usage, and the rate cap holds.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stack::{
    default_config_for, failover_config, poll_until, EcdsStack, Http, BLUE_KEY, CHAT_BODY,
    GREEN_KEY,
};

const SETTLE: Duration = Duration::from_secs(10);

/// Green at 0 %, `percent` of blue's completions shadowed to it, metered (priced model).
fn start(version: &str, percent: u32, max_per_second: u32) -> EcdsStack {
    let mut config = failover_config(0, version);
    config["shadow"] = json!({"percent": percent, "max_per_second": max_per_second});
    config["models"] = json!({
        "gpt-4o-mini": {"provider": "openai", "max_tokens": 128000, "supports_streaming": true,
                        "price_per_mtok": {"input": 1.00, "output": 2.00}}
    });
    let text = config.to_string();
    let stack = EcdsStack::try_start_with(
        &default_config_for(&text),
        Some(&text),
        &[
            ("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY),
            ("HOLYSHEEP_API_KEY_GREEN", GREEN_KEY),
        ],
        &[],
        &[],
    )
    .unwrap_or_else(|exit| panic!("Envoy (ECDS) did not start: {exit:?}"));
    stack.wait_version(version);
    stack
}

fn status(stack: &EcdsStack) -> Value {
    let http = Http::fresh_connections(&stack.envoy.url());
    let resp = http.get(&bluegreen_relay::config::defaults::status_path(), &[]);
    serde_json::from_str(&resp.body).unwrap()
}

/// Copies green received (the filter marks them).
fn copies(stack: &EcdsStack) -> Vec<stack::RecordedRequest> {
    stack
        .green
        .requests()
        .into_iter()
        .filter(|r| r.header("x-relay-shadow") == Some("1"))
        .collect()
}

/// The mock's answer without what changes per request.
fn stable(body: &str) -> Value {
    let mut value: Value = serde_json::from_str(body).unwrap();
    for field in ["id", "created"] {
        value.as_object_mut().unwrap().remove(field);
    }
    value
}

#[test]
fn copies_reach_green_with_its_key_and_clients_get_blues_answer_without_waiting() {
    let stack = start("shadow-copies", 100, 1000);
    let http = Http::fresh_connections(&stack.envoy.url());
    // Green answers copies only after 3 s; clients must not notice.
    stack
        .green
        .set_config(&json!({"first_byte_delay_ms": 3000}));
    let direct = Http::fresh_connections(&format!("http://{}", stack.blue.listen));
    let reference = direct.post("/v1/chat/completions", &[], CHAT_BODY);
    let started = Instant::now();
    for i in 0..5 {
        let id = format!("copy-{i}");
        let asked = Instant::now();
        let resp = http.post("/v1/chat/completions", &[("x-session-id", &id)], CHAT_BODY);
        let took = asked.elapsed();
        assert_eq!(resp.status, 200, "{}", resp.body);
        assert_eq!(resp.header("x-relay-environment"), Some("blue"));
        assert_eq!(resp.header("x-mock-relay"), Some("blue"));
        assert_eq!(stable(&resp.body), stable(&reference.body), "{}", resp.body);
        assert!(
            took < Duration::from_millis(1000),
            "answer {i} took {took:?}"
        );
    }
    let answered_all = started.elapsed();
    // Green received every copy at once (the delay is before its answer).
    let received = poll_until(SETTLE, || {
        let seen = copies(&stack);
        (seen.len() == 5).then_some(seen)
    })
    .unwrap_or_else(|| panic!("green got {} copies", copies(&stack).len()));
    for copy in &received {
        assert_eq!(copy.method, "POST");
        assert_eq!(copy.path, "/v1/chat/completions");
        assert_eq!(copy.body, CHAT_BODY);
        assert_eq!(
            copy.header("authorization"),
            Some(format!("Bearer {GREEN_KEY}").as_str())
        );
        assert!(copy.header("x-session-id").unwrap().starts_with("copy-"));
    }
    assert!(
        answered_all < Duration::from_secs(3),
        "clients were answered in {answered_all:?}, before green answered any copy"
    );
    // Green's answers arrive after the clients' streams ended, and are counted.
    let seen = poll_until(SETTLE, || {
        let s = status(&stack);
        (s["environments"]["green"]["shadow"]["responses"]["2xx"] == json!(5)).then_some(s)
    })
    .unwrap_or_else(|| panic!("green's answers were never counted: {:#}", status(&stack)));
    let green = &seen["environments"]["green"];
    assert!(
        green["shadow"]["latency_ms"]["p50"].as_u64().unwrap() >= 3000,
        "{seen:#}"
    );
    assert_eq!(
        seen["environments"]["blue"]["shadow"]["responses"]["2xx"],
        json!(5)
    );
    // Live traffic: five requests, all blue's; usage and cost count none of the copies.
    assert_eq!(green["requests"], json!(0), "{seen:#}");
    assert_eq!(green["usage"]["requests"], json!(0), "{seen:#}");
    assert_eq!(green["usage"]["cost_usd"], json!(0.0), "{seen:#}");
    assert_eq!(seen["environments"]["blue"]["usage"]["requests"], json!(5));
    assert!(
        green["shadow"]["cost_usd"].as_f64().unwrap() > 0.0,
        "{seen:#}"
    );
    assert!(
        green["shadow"]["completion_tokens_per_request"].is_f64(),
        "{seen:#}"
    );

    // A streaming request is copied as it is; green's event stream is read whole, with usage.
    stack.green.set_config(&json!({"first_byte_delay_ms": 0}));
    let streaming = r#"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello"}]}"#;
    let resp = http.post(
        "/v1/chat/completions",
        &[("x-session-id", "copy-stream")],
        streaming,
    );
    assert_eq!(resp.status, 200);
    assert!(resp.body.contains("data: [DONE]"), "{}", resp.body);
    let seen = poll_until(SETTLE, || {
        let s = status(&stack);
        (s["environments"]["green"]["shadow"]["responses"]["2xx"] == json!(6)).then_some(s)
    })
    .unwrap_or_else(|| panic!("the streamed copy was never counted: {:#}", status(&stack)));
    assert!(copies(&stack).iter().any(|c| c.body == streaming));
    let shadow = &seen["environments"]["green"]["shadow"];
    let tokens = shadow["completion_tokens_per_request"].as_f64().unwrap();
    assert!(tokens > 0.0, "{seen:#}");
    assert_eq!(seen["environments"]["green"]["usage"]["requests"], json!(0));
}

#[test]
fn green_failing_copies_is_counted_and_canary_refuses_it() {
    let stack = start("shadow-5xx", 100, 1000);
    stack.green.set_config(&json!({"chat_status": 500}));
    let http = Http::fresh_connections(&stack.envoy.url());
    for i in 0..60 {
        let id = format!("fail-{i}");
        let resp = http.post("/v1/chat/completions", &[("x-session-id", &id)], CHAT_BODY);
        assert_eq!(resp.status, 200, "{}", resp.body);
    }
    poll_until(SETTLE, || {
        let s = status(&stack);
        (s["environments"]["green"]["shadow"]["responses"]["5xx"] == json!(60)).then_some(())
    })
    .unwrap_or_else(|| panic!("green's 500s were never counted: {:#}", status(&stack)));
    assert_eq!(
        status(&stack)["environments"]["green"]["requests"],
        json!(0)
    );
    let stats = stack.envoy.stats();
    assert!(
        stats.contains("bluegreen.green.shadow.responses_5xx: 60"),
        "no shadow stat in:\n{}",
        stats
            .lines()
            .filter(|l| l.contains("shadow"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    let run = stack.relayctl(&["canary", "10"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr.contains(
            "green's 5xx rate on shadowed requests is 100.0 % (60 of 60), above max(1 %, 2 × \
             blue's 0.0 % on the same requests) = 1.0 %"
        ),
        "{run}"
    );
    let run = stack.relayctl(&["status"]);
    run.assert_ok();
    assert!(
        run.stdout.contains("60 copies to green: 5xx 100.0 %"),
        "{run}"
    );
    stack.relayctl(&["canary", "10", "--force"]).assert_ok();

    // After the reloads, blue's sessions are still shadowed (green's canary sessions are not).
    let on_blue: Vec<String> = (0..)
        .map(|i| format!("reloaded-{i}"))
        .filter(|id| stack::expected_env(id, 1000) == "blue")
        .take(3)
        .collect();
    let before = copies(&stack).len();
    for id in &on_blue {
        let resp = http.post("/v1/chat/completions", &[("x-session-id", id)], CHAT_BODY);
        assert_eq!(resp.header("x-relay-environment"), Some("blue"));
    }
    poll_until(SETTLE, || {
        (copies(&stack).len() == before + 3).then_some(())
    })
    .unwrap_or_else(|| panic!("{} copies after the reload", copies(&stack).len() - before));

    // `relayctl shadow 0` turns it off.
    stack.relayctl(&["shadow", "0"]).assert_ok();
    let before = copies(&stack).len();
    http.post(
        "/v1/chat/completions",
        &[("x-session-id", &on_blue[0])],
        CHAT_BODY,
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(copies(&stack).len(), before);
}

#[test]
fn the_rate_cap_holds_over_a_burst() {
    const CAP: usize = 5;
    let stack = start("shadow-burst", 100, CAP as u32);
    let url = stack.envoy.url();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let url = url.clone();
            scope.spawn(move || {
                let http = Http::fresh_connections(&url);
                for i in 0..20 {
                    let id = format!("burst-{t}-{i}");
                    let resp =
                        http.post("/v1/chat/completions", &[("x-session-id", &id)], CHAT_BODY);
                    assert_eq!(resp.status, 200, "{}", resp.body);
                }
            });
        }
    });
    let burst = started.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    let sent = copies(&stack).len();
    // The cap counts per wall-clock second: the burst touched at most this many seconds.
    let seconds = burst.as_secs() as usize + 2;
    println!("{sent} copies of 80 requests in {burst:?}");
    assert!(sent >= CAP, "{sent}");
    assert!(sent <= CAP * seconds, "{sent} copies in {burst:?}");
    let mut per_second = std::collections::BTreeMap::new();
    for copy in copies(&stack) {
        *per_second.entry(copy.at_ms / 1000).or_insert(0) += 1;
    }
    // Admitted by the filter's clock, stamped on arrival: a copy may cross a second's edge.
    assert!(per_second.values().all(|n| *n <= 2 * CAP), "{per_second:?}");
}
