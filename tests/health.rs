//! Health checks: a candidate gets traffic only once a probe has passed, and then
//! exactly its bucket-rule share; state changes are logged once, not once per probe.
//! Real Envoy (2 workers), real wasm, mock relays with injected failures.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const INTERVAL_MS: u64 = 300;
const TIMEOUT_MS: u64 = 200;
/// Green's configured share, in basis points (hundredths of a percent).
const GREEN: u32 = 2000;
/// Bound for a state change to show: a few intervals, generous for a loaded machine.
const DETECT: Duration = Duration::from_secs(10);

fn env_of(status: &Value, env: &str) -> Value {
    status["environments"][env].clone()
}

fn rule(id: &str) -> &'static str {
    expected_env(id, GREEN)
}

#[test]
fn failing_green_gets_nothing_until_it_passes_then_exactly_its_share() {
    let cfg = with_health_check(config(GREEN), INTERVAL_MS, TIMEOUT_MS);
    let stack = start_with_relays(&cfg, &[], &["--models-status", "503"]);

    let status = status_everywhere(&stack.envoy, "green degraded", DETECT, |s| {
        s["environments"]["green"]["health"] == "degraded"
            && s["environments"]["blue"]["health"] == "healthy"
    });
    let green = env_of(&status, "green");
    assert_eq!(green["routable"], false, "{status:#}");
    assert_eq!(status["routing_mode"], "candidate_held", "{status:#}");
    assert_eq!(status["health_checks"], true, "{status:#}");
    assert_eq!(green["last_failure"], "503 from /v1/models", "{status:#}");
    assert!(
        green["consecutive_failures"].as_u64().unwrap() >= 2,
        "{status:#}"
    );
    assert!(green["last_probe_at"].is_string(), "{status:#}");
    assert_eq!(green["effective_weight"], 0.0, "{status:#}");
    assert_eq!(stat(&stack.envoy, "bluegreen.green.health"), Some(2));
    assert_eq!(stat(&stack.envoy, "bluegreen.blue.health"), Some(1));

    // 200 sessions, about 40 of which the rule would give green: all must be on blue.
    let ids = Rng::new().ids(200);
    let would_be_green = ids.iter().filter(|id| rule(id) == "green").count();
    assert!(would_be_green > 0, "no session would have gone green");
    let wrong = misrouted(&stack, &ids, |_| "blue");
    assert!(
        wrong.is_empty(),
        "{} of 200 sessions not on blue while green is degraded, e.g.:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(10)].join("\n")
    );
    assert_eq!(served(&stack.green, "/v1/chat/completions"), 0);

    // Green passes: it gets exactly its share by the bucket rule.
    stack.green.set_config(&json!({"models_status": 200}));
    let status = status_everywhere(&stack.envoy, "green routable", DETECT, |s| {
        s["environments"]["green"]["routable"] == true && s["routing_mode"] == "normal"
    });
    assert_eq!(env_of(&status, "green")["health"], "healthy", "{status:#}");
    assert_eq!(
        env_of(&status, "green")["effective_weight"],
        20.0,
        "{status:#}"
    );
    assert_eq!(stat(&stack.envoy, "bluegreen.green.health"), Some(1));

    let ids = Rng::new().ids(1000);
    let want_green = ids.iter().filter(|id| rule(id) == "green").count() as u64;
    let wrong = misrouted(&stack, &ids, rule);
    assert!(
        wrong.is_empty(),
        "{} of 1000 sessions not where the bucket rule says, e.g.:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(10)].join("\n")
    );
    assert_eq!(served(&stack.green, "/v1/chat/completions"), want_green);
    assert_eq!(
        served(&stack.blue, "/v1/chat/completions"),
        1200 - want_green
    );
}

#[test]
fn never_probed_green_gets_nothing() {
    // One probe an hour, and green's first one never answers within the test: blue gets its
    // verdict at once, green none at all.
    let cfg = with_health_check(config(5000), 3_600_000, 600_000);
    let stack = start_with_relays(&cfg, &[], &["--latency-ms", "300000"]);

    let status = status_everywhere(&stack.envoy, "blue healthy", DETECT, |s| {
        s["environments"]["blue"]["health"] == "healthy"
    });
    let green = env_of(&status, "green");
    assert_eq!(green["health"], "unknown", "{status:#}");
    assert_eq!(green["routable"], false, "{status:#}");
    assert!(green["last_probe_at"].is_null(), "{status:#}");
    assert_eq!(status["routing_mode"], "candidate_held", "{status:#}");
    assert_eq!(stat(&stack.envoy, "bluegreen.green.health"), Some(0));
    // The probe did go out (it is waiting on the slow relay).
    let probes = stack.green.requests();
    assert!(
        probes.iter().any(|r| r.path == "/v1/models"),
        "green was never probed: {probes:?}"
    );

    let ids = Rng::new().ids(200);
    let wrong = misrouted(&stack, &ids, |_| "blue");
    assert!(
        wrong.is_empty(),
        "{} of 200 sessions not on blue while green is unknown, e.g.:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(10)].join("\n")
    );
    assert_eq!(served(&stack.green, "/v1/chat/completions"), 0);
}

/// Waits until `bluegreen.<env>.probes_<kind>` reaches `n` (several probes with no change).
fn wait_probes(stack: &Stack, env: &str, kind: &str, n: u64) {
    let name = format!("bluegreen.{env}.probes_{kind}");
    let mut seen = None;
    poll_until(DETECT, || {
        seen = stat(&stack.envoy, &name);
        (seen >= Some(n)).then_some(())
    })
    .unwrap_or_else(|| panic!("{name} never reached {n} (last {seen:?})"));
}

fn count(lines: &[String], needle: &str) -> usize {
    lines.iter().filter(|l| l.contains(needle)).count()
}

#[test]
fn one_log_line_per_state_change() {
    let cfg = with_health_check(config(GREEN), INTERVAL_MS, TIMEOUT_MS);
    let stack = start_with_relays(&cfg, &[], &["--models-status", "503"]);

    // degraded: 2 failures make the change, 5 more change nothing.
    status_everywhere(&stack.envoy, "green degraded", DETECT, |s| {
        s["environments"]["green"]["health"] == "degraded"
    });
    wait_probes(&stack, "green", "degraded", 7);
    stack.green.set_config(&json!({"models_status": 200}));
    status_everywhere(&stack.envoy, "green healthy", DETECT, |s| {
        s["environments"]["green"]["health"] == "healthy"
    });
    wait_probes(&stack, "green", "healthy", 5);
    stack.green.set_config(&json!({"refuse": true}));
    status_everywhere(&stack.envoy, "green unhealthy", DETECT, |s| {
        s["environments"]["green"]["health"] == "unhealthy"
    });
    wait_probes(&stack, "green", "unhealthy", 6);

    let green = log_lines(&stack.envoy, "green: ");
    let changes = [
        "green: unknown -> degraded (503 from /v1/models, 2 in a row)",
        "green: degraded -> healthy (1 passed in a row)",
        "green: healthy -> unhealthy (connection failed on /v1/models, 2 in a row)",
    ];
    for change in changes {
        assert_eq!(
            count(&green, change),
            1,
            "`{change}` in:\n{}",
            green.join("\n")
        );
    }
    let transitions: Vec<_> = green.iter().filter(|l| l.contains(" -> ")).collect();
    assert_eq!(
        transitions.len(),
        3,
        "green's state lines:\n{}",
        green.join("\n")
    );

    let blue = log_lines(&stack.envoy, "blue: ");
    assert_eq!(
        count(&blue, "blue: unknown -> healthy (1 passed in a row)"),
        1,
        "{}",
        blue.join("\n")
    );
    assert_eq!(
        count(&blue, " -> "),
        1,
        "blue's state lines:\n{}",
        blue.join("\n")
    );

    // Routing mode: held (green unknown, then degraded), normal, held again; once each.
    let routing = log_lines(&stack.envoy, "routing: ");
    let modes = [
        "routing: normal -> candidate_held",
        "routing: candidate_held -> normal",
        "routing: normal -> candidate_held",
    ];
    assert_eq!(
        routing.len(),
        modes.len(),
        "routing lines:\n{}",
        routing.join("\n")
    );
    for (line, mode) in routing.iter().zip(modes) {
        assert!(
            line.contains(mode),
            "want `{mode}`, got:\n{}",
            routing.join("\n")
        );
    }
}
