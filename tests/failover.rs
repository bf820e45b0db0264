//! Failover: a failing candidate is taken out and put back on exactly its bucket-rule
//! sessions; a failing active environment sends everything to a healthy candidate; with both
//! down the configured weights apply (fail static). Real Envoy (2 workers), real wasm.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const INTERVAL_MS: u64 = 300;
const TIMEOUT_MS: u64 = 200;
/// Bound for a state change to show: a few intervals, generous for a loaded machine.
const DETECT: Duration = Duration::from_secs(10);

fn probing(green_hundredths: u32) -> Value {
    with_health_check(config(green_hundredths), INTERVAL_MS, TIMEOUT_MS)
}

fn mode_is(mode: &'static str) -> impl Fn(&Value) -> bool {
    move |s| s["routing_mode"] == mode
}

fn assert_all_served(stack: &Stack, n: usize, what: &str, want: impl Fn(&str) -> &'static str) {
    let ids = Rng::new().ids(n);
    let wrong = misrouted(stack, &ids, want);
    assert!(
        wrong.is_empty(),
        "{} of {n} sessions wrong ({what}), e.g.:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(10)].join("\n")
    );
}

/// Green (candidate, 50 %) breaks with `break_patch`: once the status says so, every session
/// is served by blue with a 200; fixed with `fix_patch`, every session is back on its
/// bucket-rule environment.
fn candidate_taken_out_and_put_back(
    break_patch: Value,
    fix_patch: Value,
    health: &str,
    last_failure: &str,
) {
    let stack = start(&probing(5000));
    let rule = |id: &str| expected_env(id, 5000);
    status_everywhere(&stack.envoy, "both healthy", DETECT, mode_is("normal"));
    assert_all_served(&stack, 100, "both healthy", rule);

    stack.green.set_config(&break_patch);
    let status = status_everywhere(&stack.envoy, "green out", DETECT, |s| {
        s["environments"]["green"]["routable"] == false
    });
    let green = &status["environments"]["green"];
    assert_eq!(green["health"], health, "{status:#}");
    assert_eq!(green["last_failure"], last_failure, "{status:#}");
    assert_eq!(status["routing_mode"], "candidate_held", "{status:#}");
    assert_eq!(green["effective_weight"], 0.0, "{status:#}");
    stack.green.clear();
    assert_all_served(&stack, 200, &format!("green {health}"), |_| "blue");
    assert_eq!(served(&stack.green, "/v1/chat/completions"), 0);

    stack.green.set_config(&fix_patch);
    let status = status_everywhere(&stack.envoy, "green back", DETECT, |s| {
        s["environments"]["green"]["routable"] == true && s["routing_mode"] == "normal"
    });
    assert_eq!(status["environments"]["green"]["health"], "healthy");
    assert_eq!(status["environments"]["green"]["consecutive_failures"], 0);
    assert_all_served(&stack, 500, "green recovered", rule);
}

#[test]
fn dead_green_is_taken_out_and_put_back() {
    candidate_taken_out_and_put_back(
        json!({"refuse": true}),
        json!({"refuse": false}),
        "unhealthy",
        "connection failed on /v1/models",
    );
}

#[test]
fn green_answering_503_is_taken_out_and_put_back() {
    candidate_taken_out_and_put_back(
        json!({"models_status": 503, "chat_status": 503}),
        json!({"models_status": 200, "chat_status": 200}),
        "degraded",
        "503 from /v1/models",
    );
}

#[test]
fn unhealthy_active_fails_over_to_healthy_green() {
    let stack = start(&probing(1000));
    status_everywhere(&stack.envoy, "both healthy", DETECT, mode_is("normal"));
    assert_eq!(stat(&stack.envoy, "bluegreen.failovers").unwrap_or(0), 0);

    stack.blue.set_config(&json!({"refuse": true}));
    let status = status_everywhere(&stack.envoy, "failover", DETECT, mode_is("failover"));
    let (blue, green) = (
        &status["environments"]["blue"],
        &status["environments"]["green"],
    );
    assert_eq!(blue["health"], "unhealthy", "{status:#}");
    assert_eq!(blue["routable"], false, "{status:#}");
    assert_eq!(
        blue["last_failure"], "connection failed on /v1/models",
        "{status:#}"
    );
    assert_eq!(green["routable"], true, "{status:#}");
    assert_eq!(green["effective_weight"], 100.0, "{status:#}");
    assert_all_served(&stack, 200, "blue down", |_| "green");
    assert!(
        stat(&stack.envoy, "bluegreen.failovers") >= Some(1),
        "bluegreen.failovers: {:?}",
        stat(&stack.envoy, "bluegreen.failovers")
    );
    let announced = log_lines(&stack.envoy, "-> failover: ");
    assert_eq!(announced.len(), 1, "{}", announced.join("\n"));
    assert!(
        announced[0].contains("routing: normal -> failover: blue is down, all traffic to green"),
        "{}",
        announced[0]
    );
    assert_eq!(stat(&stack.envoy, "bluegreen.blue.health"), Some(3));

    // Blue back: the configured split again, session by session.
    stack.blue.set_config(&json!({"refuse": false}));
    status_everywhere(&stack.envoy, "normal again", DETECT, mode_is("normal"));
    assert_all_served(&stack, 300, "blue recovered", |id| expected_env(id, 1000));
    assert_eq!(stat(&stack.envoy, "bluegreen.failovers"), Some(1));
}

#[test]
fn both_down_route_by_configured_weights() {
    let stack = start(&probing(3000));
    status_everywhere(&stack.envoy, "both healthy", DETECT, mode_is("normal"));
    stack.green.set_config(&json!({"refuse": true}));
    status_everywhere(&stack.envoy, "green out", DETECT, mode_is("candidate_held"));
    stack.blue.set_config(&json!({"refuse": true}));
    let status = status_everywhere(&stack.envoy, "fail static", DETECT, mode_is("fail_static"));
    for env in ["blue", "green"] {
        let view = &status["environments"][env];
        assert_eq!(view["health"], "unhealthy", "{status:#}");
        assert_eq!(view["routable"], false, "{status:#}");
    }
    assert_eq!(
        status["environments"]["green"]["effective_weight"], 30.0,
        "{status:#}"
    );
    assert_eq!(
        status["environments"]["blue"]["effective_weight"], 70.0,
        "{status:#}"
    );

    // Both relays refuse, so Envoy answers 503 itself; the filter's label says where the
    // configured weights sent each session.
    let ids = Rng::new().ids(300);
    let answers = chat_sessions(&stack.envoy, &ids, 4);
    let mut wrong = Vec::new();
    let mut green = 0;
    for (resp, id) in answers.iter().zip(&ids) {
        let want = expected_env(id, 3000);
        green += usize::from(want == "green");
        let said = resp.header("x-relay-environment").unwrap_or("-");
        if resp.status != 503 || said != want {
            wrong.push(format!(
                "x-session-id {id:?}: want 503 labelled {want}, got {} labelled {said}: {}",
                resp.status, resp.body
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of 300 sessions wrong in fail static, e.g.:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(10)].join("\n")
    );
    assert!(
        green > 0 && green < 300,
        "{green} of 300 green: not a split"
    );

    assert_eq!(stat(&stack.envoy, "bluegreen.fail_static"), Some(1));
    let warned = log_lines(&stack.envoy, "-> fail_static: ");
    assert_eq!(warned.len(), 1, "{}", warned.join("\n"));
    assert!(
        warned[0].contains("[warning]")
            && warned[0].contains(
                "routing: candidate_held -> fail_static: neither environment is routable, routing by the configured weights"
            ),
        "{}",
        warned[0]
    );
}
