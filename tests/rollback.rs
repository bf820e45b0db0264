//! Automatic rollback: a candidate whose real responses fail is tripped once the
//! shared window holds `min_requests` at `max_error_rate`, gets no traffic during the cooldown,
//! and comes back only after the cooldown and a passing probe. Real Envoy (2 workers), real wasm.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const INTERVAL_MS: u64 = 300;
const TIMEOUT_MS: u64 = 200;
const MIN_REQUESTS: usize = 20;
/// Bound for a state change to show: a few intervals, generous for a loaded machine.
const DETECT: Duration = Duration::from_secs(10);

/// Green 50 %, probes every 300 ms, auto rollback at 50 % errors over 20 requests.
fn rollback_config(cooldown_ms: u64, unhealthy_threshold: u32) -> Value {
    let mut cfg = with_health_check(config(5000), INTERVAL_MS, TIMEOUT_MS);
    cfg["health_check"]["unhealthy_threshold"] = json!(unhealthy_threshold);
    cfg["auto_rollback"] = json!({
        "max_error_rate": 0.5,
        "min_requests": MIN_REQUESTS,
        "window_ms": 60_000,
        "cooldown_ms": cooldown_ms,
    });
    cfg
}

fn rule(id: &str) -> &'static str {
    expected_env(id, 5000)
}

/// `n` fresh session ids the bucket rule sends to green.
fn green_sessions(rng: &mut Rng, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    while ids.len() < n {
        ids.extend(rng.ids(4 * n).into_iter().filter(|id| rule(id) == "green"));
    }
    ids.truncate(n);
    ids
}

/// Sends `ids` (all green by the rule, green answering 500) and returns the answers' statuses.
fn send(stack: &Stack, ids: &[String]) -> Vec<(u16, String)> {
    chat_sessions(&stack.envoy, ids, 4)
        .into_iter()
        .map(|r| (r.status, r.relay().to_string()))
        .collect()
}

/// With green answering every chat with a 500: 19 of its requests do not trip it, the 20th
/// does. Returns the status showing the trip.
fn trip_green(stack: &Stack, rng: &mut Rng) -> Value {
    status_everywhere(&stack.envoy, "green routable", DETECT, |s| {
        s["routing_mode"] == "normal"
    });
    let answers = send(stack, &green_sessions(rng, MIN_REQUESTS - 1));
    assert!(
        answers.iter().all(|a| *a == (500, "green".to_string())),
        "want 500s from green: {answers:?}"
    );
    // Every worker has flushed its counts into the shared window (two ticks each) and the
    // candidate is still in: 19 requests are below min_requests.
    let status = status_everywhere(
        &stack.envoy,
        "19 green requests, not tripped",
        DETECT,
        |s| s["environments"]["green"]["requests"] == json!(MIN_REQUESTS - 1),
    );
    let green = &status["environments"]["green"];
    assert_eq!(green["routable"], true, "tripped too early:\n{status:#}");
    assert!(green["tripped"].is_null(), "tripped too early:\n{status:#}");

    let answers = send(stack, &green_sessions(rng, 1));
    assert_eq!(answers, [(500, "green".to_string())]);
    let status = status_everywhere(&stack.envoy, "green tripped", DETECT, |s| {
        s["environments"]["green"]["tripped"].is_object()
    });
    let green = &status["environments"]["green"];
    assert_eq!(green["routable"], false, "{status:#}");
    assert_eq!(status["routing_mode"], "candidate_held", "{status:#}");
    assert_eq!(green["tripped"]["error_rate"], 1.0, "{status:#}");
    assert_eq!(
        green["tripped"]["requests"],
        json!(MIN_REQUESTS),
        "{status:#}"
    );
    // Probes on /v1/models still pass: the trip is not a health verdict.
    assert_eq!(green["health"], "healthy", "{status:#}");
    status
}

fn assert_all(stack: &Stack, ids: &[String], want: impl Fn(&str) -> &'static str, what: &str) {
    let answers = chat_sessions(&stack.envoy, ids, 4);
    let wrong: Vec<String> = answers
        .iter()
        .zip(ids)
        .filter(|(r, id)| {
            let want = want(id);
            r.status != 200 || r.relay() != want || r.header("x-relay-environment") != Some(want)
        })
        .map(|(r, id)| {
            format!(
                "{id:?}: want {}, got {} from {}",
                want(id),
                r.status,
                r.relay()
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} sessions wrong ({what}), e.g.:\n{}",
        wrong.len(),
        ids.len(),
        wrong[..wrong.len().min(10)].join("\n")
    );
}

#[test]
fn failing_green_is_tripped_and_held_out() {
    // A high unhealthy_threshold: green's real 500s also fail its passive health rounds, which
    // would take it out before the 20th request could trip it; this test is about the trip.
    let stack = start_with_relays(
        &rollback_config(600_000, 100),
        &[],
        &["--chat-status", "500"],
    );
    let mut rng = Rng::new();
    let status = trip_green(&stack, &mut rng);
    let trip = &status["environments"]["green"]["tripped"];
    assert_eq!(
        status_time_ms(&trip["until"]) - status_time_ms(&trip["at"]),
        600_000,
        "{trip}"
    );

    let served_before = served(&stack.green, "/v1/chat/completions");
    let ids = rng.ids(200);
    assert!(ids.iter().any(|id| rule(id) == "green"));
    assert_all(&stack, &ids, |_| "blue", "green tripped");
    assert_eq!(served(&stack.green, "/v1/chat/completions"), served_before);

    assert_eq!(stat(&stack.envoy, "bluegreen.green.rollbacks"), Some(1));
    let warned = log_lines(&stack.envoy, "tripped by auto_rollback");
    assert_eq!(warned.len(), 1, "{}", warned.join("\n"));
    assert!(
        warned[0].contains("green: tripped by auto_rollback (error rate 1.00 over 20 requests)"),
        "{}",
        warned[0]
    );
    // Still held a few intervals later (passing probes do not end the cooldown).
    std::thread::sleep(Duration::from_millis(3 * INTERVAL_MS));
    let status = status_everywhere(&stack.envoy, "still tripped", DETECT, |s| {
        s["environments"]["green"]["tripped"].is_object()
    });
    assert_eq!(
        status["environments"]["green"]["routable"], false,
        "{status:#}"
    );
}

#[test]
fn traffic_returns_after_cooldown_and_a_passing_probe() {
    const COOLDOWN_MS: u64 = 3000;
    // A high unhealthy_threshold keeps green "healthy" while its probes time out below, so
    // only the missing passing probe can keep it held after the cooldown.
    let stack = start_with_relays(
        &rollback_config(COOLDOWN_MS, 100),
        &[],
        &["--chat-status", "500"],
    );
    let mut rng = Rng::new();
    let status = trip_green(&stack, &mut rng);
    let until = status_time_ms(&status["environments"]["green"]["tripped"]["until"]);

    // Fixed, but too slow for a probe to pass (timeout 200 ms).
    stack
        .green
        .set_config(&json!({"chat_status": 200, "latency_ms": 1000}));
    // During the cooldown: all on blue.
    let ids = green_sessions(&mut rng, 30);
    assert_all(&stack, &ids, |_| "blue", "cooldown");
    let status = stack.status();
    assert!(
        status_time_ms(&status["now"]) < until,
        "the cooldown ended before the requests were sent; raise COOLDOWN_MS"
    );

    // Cooldown over, no probe passed since: still held.
    let http = Http::fresh_connections(&stack.envoy.url());
    let held = poll_until(DETECT, || {
        let s = http.get("/relay/status", &[]).json();
        (status_time_ms(&s["now"]) > until + 3 * INTERVAL_MS).then_some(s)
    })
    .unwrap();
    let green = &held["environments"]["green"];
    assert_eq!(green["routable"], false, "{held:#}");
    assert!(green["tripped"].is_object(), "{held:#}");
    assert_eq!(green["health"], "healthy", "{held:#}");
    assert!(
        green["consecutive_failures"].as_u64() >= Some(2),
        "{held:#}"
    );
    assert_eq!(green["last_failure"], "timeout on /v1/models", "{held:#}");
    assert_all(
        &stack,
        &green_sessions(&mut rng, 30),
        |_| "blue",
        "cooldown over, no pass",
    );

    // A probe passes: green is back, on exactly its bucket-rule sessions.
    stack.green.set_config(&json!({"latency_ms": 0}));
    let back = status_everywhere(&stack.envoy, "green back", DETECT, |s| {
        s["environments"]["green"]["routable"] == true && s["routing_mode"] == "normal"
    });
    let green = &back["environments"]["green"];
    assert!(green["tripped"].is_null(), "{back:#}");
    assert!(status_time_ms(&green["last_probe_at"]) > until, "{back:#}");
    assert_all(&stack, &rng.ids(300), rule, "green back");
    assert_eq!(stat(&stack.envoy, "bluegreen.green.rollbacks"), Some(1));
}
