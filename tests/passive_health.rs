//! Probes that cost nothing while traffic flows, and the model catalog diff. Real Envoy
//! (2 workers), real wasm, mock relays.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

const DETECT: Duration = Duration::from_secs(10);

/// Requests a relay received on `path` from the filter's prober (its user agent).
fn probes(relay: &MockRelay, path: &str) -> usize {
    relay
        .requests()
        .iter()
        .filter(|r| r.path == path && r.header("user-agent") == Some("bluegreen-relay-probe"))
        .count()
}

/// Sends chats with fresh session ids from a background thread until `stop`; returns the number
/// of answers that were not 200.
fn steady_load<'a>(
    scope: &'a std::thread::Scope<'a, '_>,
    url: String,
    stop: &'a AtomicBool,
    failed: &'a AtomicU64,
) {
    scope.spawn(move || {
        let http = Http::fresh_connections(&url);
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            let id = format!("steady-{n}");
            let resp = http.post("/v1/chat/completions", &[("x-session-id", &id)], CHAT_BODY);
            if resp.status != 200 {
                failed.fetch_add(1, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
}

#[test]
fn steady_traffic_needs_no_probes_between_model_probe_intervals() {
    const INTERVAL_MS: u64 = 300;
    const MODEL_INTERVAL_MS: u64 = 5000;
    let mut cfg = config(5000);
    cfg["health_check"] = json!({
        "interval_ms": INTERVAL_MS, "timeout_ms": 200, "model_probes": ["gpt-4.1"],
        "model_probe_interval_ms": MODEL_INTERVAL_MS
    });
    let stack = start(&cfg);
    status_everywhere(&stack.envoy, "both healthy", DETECT, |s| {
        s["routing_mode"] == "normal"
    });
    let stop = AtomicBool::new(false);
    let failed = AtomicU64::new(0);
    let (elapsed, counted) = std::thread::scope(|scope| {
        steady_load(scope, stack.envoy.url(), &stop, &failed);
        // Let the first interval with traffic pass, then count from a clean slate.
        std::thread::sleep(Duration::from_millis(3 * INTERVAL_MS));
        stack.blue.clear();
        stack.green.clear();
        let started = Instant::now();
        std::thread::sleep(Duration::from_millis(6000));
        let counted = [&stack.blue, &stack.green].map(|relay| {
            (
                probes(relay, "/v1/models"),
                probes(relay, "/v1/chat/completions"),
                relay.requests().len(),
            )
        });
        stop.store(true, Ordering::Relaxed);
        (started.elapsed(), counted)
    });
    assert_eq!(failed.load(Ordering::Relaxed), 0);
    let without_traffic = elapsed.as_millis() as u64 / INTERVAL_MS;
    for (env, (models, chats, all)) in ["blue", "green"].into_iter().zip(counted) {
        println!(
            "{env}: {models} model-list and {chats} chat probes among {all} requests in {elapsed:?} \
             (probing every interval would send {without_traffic} of each)"
        );
        assert!(all > 50, "{env} served real traffic: {all}");
        // At most the model-probe rounds of the window: one per 5 s, so 1 or 2 in 6 s.
        assert!(chats <= 2, "{env}: {chats} chat probes in {elapsed:?}");
        assert!(
            models <= 2,
            "{env}: {models} model-list probes in {elapsed:?}"
        );
    }
    let status = stack.status();
    assert_eq!(
        status["environments"]["green"]["judged_by"], "traffic",
        "{status:#}"
    );
    assert!(stat(&stack.envoy, "bluegreen.green.probes_saved").unwrap_or(0) > 5);
}

#[test]
fn the_candidate_missing_a_model_with_live_traffic_is_named_with_its_share() {
    let mut cfg = config(0);
    cfg["health_check"] = json!({"interval_ms": 300, "timeout_ms": 200});
    cfg["models"] = json!({
        "gpt-4.1": {"provider": "openai", "max_tokens": 1000, "supports_streaming": true},
        "deepseek-v3.2": {"provider": "deepseek", "max_tokens": 1000, "supports_streaming": true}
    });
    let stack = start_with_relays(&cfg, &[], &["--unknown-model", "deepseek-v3.2"]);
    let http = stack.envoy.client();
    for (model, n) in [("deepseek-v3.2", 3), ("gpt-4.1", 1)] {
        for _ in 0..n {
            let body =
                format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"hi"}}]}}"#);
            let resp = http.post("/v1/chat/completions", &[], &body);
            assert_eq!(resp.status, 200, "{}", resp.body);
        }
    }
    let status = status_everywhere(&stack.envoy, "the lists read", DETECT, |s| {
        s["environments"]["green"]["models"]["count"]
            .as_u64()
            .is_some()
            && s["environments"]["blue"]["models"]["count"]
                .as_u64()
                .is_some()
            && s["environments"]["green"]["missing_models"][0]["share"].is_f64()
    });
    let green = &status["environments"]["green"];
    assert_eq!(
        green["missing_models"],
        json!([{"id": "deepseek-v3.2", "share": 0.75}]),
        "{status:#}"
    );
    let ids = green["models"]["ids"].as_array().unwrap();
    assert!(ids.iter().any(|id| id == "gpt-4.1"), "{ids:?}");
    assert!(!ids.iter().any(|id| id == "deepseek-v3.2"), "{ids:?}");
}
