//! HTTPS relays as production runs them (`envoy/templates/tls.yaml`): every relay cluster speaks
//! TLS with SNI `api.holysheep.ai`, trusts one CA file and checks the certificate's DNS name;
//! requests and probes carry `:authority: api.holysheep.ai`. Real Envoy, real wasm, mock relays
//! serving HTTPS with certificates made for the test.
//!
//! What a probe learns when the TLS handshake fails (measured here, Envoy 1.40): its
//! `on_http_call_response` gets Envoy's own answer, `:status 503`, `content-type: text/plain`,
//! no `x-envoy-upstream-service-time`, and the body `upstream connect error or disconnect/reset
//! before headers. reset reason: remote connection failure`, exactly what a refused connection
//! gives. The root context has no stream info, so `upstream.transport_failure_reason` and
//! `response.code_details` read as absent. Only a live request's own context sees the TLS
//! reason (`upstream.transport_failure_reason` = `TLS_error:|268435581:SSL
//! routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:...`). So a probe's `last_failure` says
//! "connection failed on /v1/models", and Envoy's `cluster.<name>.ssl.fail_verify_error`
//! counter names the cause. A live request that fails so is counted by the filter in
//! `bluegreen.<env>.tls_failures`, its reason logged once per worker.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// Blue (key from the environment) and green (inline key), both probed as `api.holysheep.ai`.
fn tls_config(green_hundredths: u32, health_check: bool) -> Value {
    let mut cfg = config(green_hundredths);
    if health_check {
        cfg = with_health_check(cfg, 300, 250);
    }
    for env in ["blue", "green"] {
        cfg["environments"][env]["authority"] = json!(RELAY_HOST);
    }
    cfg
}

fn start(cfg: &Value, green_distrusted: bool, one_relay: bool) -> TlsStack {
    TlsStack::start(&TlsSpec {
        filter_config: &cfg.to_string(),
        env: &[("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY)],
        green_distrusted,
        one_relay,
        ..TlsSpec::default()
    })
}

fn key_of(env: &str) -> String {
    let key = if env == "blue" { BLUE_KEY } else { GREEN_KEY };
    format!("Bearer {key}")
}

/// Both environments healthy, as every worker sees it.
fn until_both_healthy(stack: &TlsStack) -> Value {
    status_everywhere(&stack.envoy, "both healthy", Duration::from_secs(10), |s| {
        s["environments"]["blue"]["health"] == "healthy"
            && s["environments"]["green"]["health"] == "healthy"
    })
}

#[test]
fn routing_and_key_injection_over_tls() {
    let stack = start(&tls_config(5000, false), false, false);
    let ids = Rng::new().ids(60);
    let answers = chat_sessions(&stack.envoy, &ids, 3);
    for (id, resp) in ids.iter().zip(&answers) {
        let want = expected_env(id, 5000);
        assert_eq!(resp.status, 200, "{id:?}: {}", resp.body);
        assert_eq!(resp.relay(), want, "session {id:?}");
        assert_eq!(resp.header("x-relay-environment"), Some(want));
    }
    for env in ["blue", "green"] {
        let seen = stack.relay(env).requests();
        let chats: Vec<_> = seen
            .iter()
            .filter(|r| r.path == "/v1/chat/completions")
            .collect();
        let want = ids
            .iter()
            .filter(|id| expected_env(id, 5000) == env)
            .count();
        assert_eq!(chats.len(), want, "{env} chats");
        for r in chats {
            assert_eq!(
                r.header("authorization"),
                Some(key_of(env).as_str()),
                "{r:?}"
            );
            assert_eq!(r.header("host"), Some(RELAY_HOST), "host rewrite: {r:?}");
            assert_eq!(r.header("x-environment"), Some(env));
        }
    }
}

#[test]
fn probes_over_tls_are_healthy_and_carry_the_relays_authority() {
    let stack = start(&tls_config(1000, true), false, false);
    let status = until_both_healthy(&stack);
    for env in ["blue", "green"] {
        assert_eq!(status["environments"][env]["last_failure"], Value::Null);
        let probes: Vec<_> = stack
            .relay(env)
            .requests()
            .into_iter()
            .filter(|r| r.path == "/v1/models")
            .collect();
        assert!(!probes.is_empty(), "{env} was never probed");
        for p in &probes {
            assert_eq!(p.header("host"), Some(RELAY_HOST), "{p:?}");
            assert_eq!(p.header("authorization"), Some(key_of(env).as_str()));
            assert_eq!(p.header("user-agent"), Some("bluegreen-relay-probe"));
        }
    }
    // Green healthy and at 10 %: the split is the configured one.
    assert_eq!(status["routing_mode"], "normal", "{status:#}");
}

#[test]
fn a_green_whose_certificate_does_not_validate_is_unhealthy_and_gets_no_traffic() {
    let stack = start(&tls_config(5000, true), true, false);
    // Requests from the start: green is unknown, then unhealthy, and held either way.
    let ids = Rng::new().ids(200);
    let early = chat_sessions(&stack.envoy, &ids[..100], 2);
    let status = status_everywhere(
        &stack.envoy,
        "green unhealthy",
        Duration::from_secs(10),
        |s| s["environments"]["green"]["health"] == "unhealthy",
    );
    let late = chat_sessions(&stack.envoy, &ids[100..], 2);
    let failed: Vec<_> = early
        .iter()
        .chain(&late)
        .filter(|r| r.status != 200 || r.relay() != "blue")
        .map(|r| format!("{} from {}: {}", r.status, r.relay(), r.body))
        .collect();
    assert!(
        failed.is_empty(),
        "{} not served by blue: {failed:?}",
        failed.len()
    );

    let green = &status["environments"]["green"];
    assert_eq!(green["routable"], false, "{status:#}");
    assert_eq!(status["routing_mode"], "candidate_held");
    assert_eq!(green["effective_weight"], 0.0);
    // The probe cannot see why the connection failed (module docs); Envoy's TLS stats can.
    assert_eq!(green["last_failure"], "connection failed on /v1/models");
    assert_eq!(status["environments"]["blue"]["health"], "healthy");
    let verify_failures = stack
        .envoy
        .stats()
        .lines()
        .find_map(|l| l.strip_prefix("cluster.relay_green.ssl.fail_verify_error: "))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .unwrap_or(0);
    assert!(verify_failures > 0, "no TLS verification failure counted");
    // The green relay never got a request through: no handshake completed.
    assert_eq!(stack.green().total(), 0);
}

#[test]
fn blue_and_green_on_one_relay_host_each_reach_it_with_their_own_key() {
    let stack = start(&tls_config(5000, true), false, true);
    until_both_healthy(&stack);
    let ids = Rng::new().ids(60);
    let answers = chat_sessions(&stack.envoy, &ids, 3);
    for (id, resp) in ids.iter().zip(&answers) {
        assert_eq!(resp.status, 200, "{}", resp.body);
        // One relay answers both; the label says which environment the filter chose.
        assert_eq!(
            resp.header("x-relay-environment"),
            Some(expected_env(id, 5000))
        );
    }
    let seen = stack.blue.requests();
    let mut keys_by_env = std::collections::BTreeMap::new();
    for r in &seen {
        let env = r.header("x-environment").unwrap_or("-");
        assert_eq!(
            r.header("authorization"),
            Some(key_of(env).as_str()),
            "{} for x-environment {env}",
            r.path
        );
        *keys_by_env
            .entry((env.to_string(), r.path.clone()))
            .or_insert(0) += 1;
    }
    for env in ["blue", "green"] {
        let chats = ids
            .iter()
            .filter(|id| expected_env(id, 5000) == env)
            .count();
        let key = (env.to_string(), "/v1/chat/completions".to_string());
        assert_eq!(keys_by_env.get(&key), Some(&chats), "{keys_by_env:?}");
        let probes = (env.to_string(), "/v1/models".to_string());
        assert!(
            keys_by_env.contains_key(&probes),
            "{env} never probed: {keys_by_env:?}"
        );
    }
}

/// What Envoy tells the filter about a TLS failure. A probe's callback sees only Envoy's local
/// reply (`:status` 503, `content-type: text/plain`, "... reset reason: remote connection
/// failure") and no upstream property, so its last_failure says "connection failed". A live
/// request can read `upstream.transport_failure_reason`: the filter counts those as
/// `bluegreen.<env>.tls_failures` and logs the reason once per worker.
#[test]
fn a_live_request_to_a_green_whose_certificate_does_not_validate_is_counted_as_tls() {
    const TOKEN: &str = "tok-tls-7c2e90d14b";
    let mut cfg = tls_config(5000, true);
    cfg["override_header"] = json!("x-relay-env");
    cfg["override_token_env"] = json!("RELAY_OVERRIDE_TOKEN");
    let stack = TlsStack::start(&TlsSpec {
        filter_config: &cfg.to_string(),
        env: &[
            ("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY),
            ("RELAY_OVERRIDE_TOKEN", TOKEN),
        ],
        green_distrusted: true,
        ..TlsSpec::default()
    });
    // Only an override reaches a green that is held; it gets Envoy's 503.
    let forced = [
        ("x-session-id", "tls-live"),
        ("x-relay-env", "green"),
        ("x-relay-override-token", TOKEN),
    ];
    for _ in 0..3 {
        let resp = Http::fresh_connections(&stack.envoy.url()).post(
            "/v1/chat/completions",
            &forced,
            CHAT_BODY,
        );
        assert_eq!(resp.status, 503, "{}", resp.body);
        assert!(
            resp.body.contains("remote connection failure"),
            "{}",
            resp.body
        );
    }
    let counted = poll_until(Duration::from_secs(3), || {
        stat(&stack.envoy, "bluegreen.green.tls_failures").filter(|n| *n >= 3)
    });
    assert_eq!(counted, Some(3), "tls_failures not counted");
    assert_eq!(stat(&stack.envoy, "bluegreen.blue.tls_failures"), None);
    let logged = log_lines(&stack.envoy, "TLS with green's relay failed");
    assert!(!logged.is_empty(), "no TLS failure logged");
    assert!(
        logged
            .iter()
            .all(|l| l.contains("CERTIFICATE_VERIFY_FAILED")),
        "{logged:?}"
    );
    // One line per worker at most, however many requests failed.
    assert!(logged.len() <= 2, "{logged:?}");
    // The probe's view stays what Envoy lets it see.
    let status = status_everywhere(
        &stack.envoy,
        "green unhealthy",
        Duration::from_secs(10),
        |s| s["environments"]["green"]["health"] == "unhealthy",
    );
    assert_eq!(
        status["environments"]["green"]["last_failure"],
        "connection failed on /v1/models"
    );
}
