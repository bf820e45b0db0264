//! Keys: each environment's key (from Envoy's environment or inline) reaches only its
//! relay; the client's own key and cluster choice never do; no key is ever shown.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::json;

const CLIENT_KEY: &str = "sk-client-own-key-0d5e2b91";

/// Sends `n` sessions and asserts every relay request carried its environment's key
/// and `x-environment`; both relays must have been used.
fn assert_keys(stack: &Stack, n: usize, blue_key: &str, green_key: &str, extra: &[(&str, &str)]) {
    for id in Rng::new().ids(n) {
        let mut headers = vec![("x-session-id", id.as_str())];
        headers.extend_from_slice(extra);
        assert_eq!(stack.chat(&headers).status, 200);
    }
    for (name, key) in [("blue", blue_key), ("green", green_key)] {
        let requests = stack.relay(name).requests();
        assert!(!requests.is_empty(), "{name} relay got no request");
        let want = format!("Bearer {key}");
        for r in &requests {
            assert_eq!(
                r.header("authorization"),
                Some(want.as_str()),
                "{name} relay"
            );
            assert_eq!(r.header("x-environment"), Some(name), "{name} relay");
        }
    }
}

#[test]
fn env_key_and_inline_key_reach_their_own_relay() {
    // blue: api_key_env HOLYSHEEP_API_KEY_BLUE; green: inline api_key.
    let stack = start(&config(5000));
    assert_keys(&stack, 60, BLUE_KEY, GREEN_KEY, &[]);
}

#[test]
fn key_sources_swapped_work_too() {
    let mut cfg = config(5000);
    cfg["environments"]["blue"] =
        json!({"cluster": "relay_blue", "weight": 50, "api_key": BLUE_KEY});
    cfg["environments"]["green"] =
        json!({"cluster": "relay_green", "weight": 50, "api_key_env": "HOLYSHEEP_API_KEY_GREEN"});
    let stack = Stack::start_with_env(&cfg.to_string(), &[("HOLYSHEEP_API_KEY_GREEN", GREEN_KEY)]);
    assert_keys(&stack, 60, BLUE_KEY, GREEN_KEY, &[]);
}

#[test]
fn client_authorization_never_reaches_a_relay() {
    let stack = start(&config(5000));
    let auth = format!("Bearer {CLIENT_KEY}");
    assert_keys(&stack, 60, BLUE_KEY, GREEN_KEY, &[("authorization", &auth)]);
    for relay in [&stack.blue, &stack.green] {
        for r in relay.requests() {
            let leaked = r.headers.iter().find(|(_, v)| v.contains(CLIENT_KEY));
            assert!(
                leaked.is_none(),
                "{} relay saw the client key in {leaked:?}",
                relay.name
            );
        }
    }
}

#[test]
fn client_cluster_header_never_chooses() {
    // Green at 0: a client naming relay_green must still land on blue, and vice versa.
    for (green, asked, want) in [(0, "relay_green", "blue"), (10_000, "relay_blue", "green")] {
        let stack = start(&config(green));
        for id in Rng::new().ids(30) {
            let resp = stack.chat(&[("x-session-id", &id), ("x-relay-cluster", asked)]);
            assert_eq!(
                resp.relay(),
                want,
                "x-relay-cluster: {asked} at green {green}/10000"
            );
        }
        // If the routing header travels upstream, it holds the filter's choice only.
        let chosen = format!("relay_{want}");
        for r in stack.relay(want).requests() {
            let sent = r.header("x-relay-cluster").unwrap_or(&chosen);
            assert_eq!(sent, chosen, "x-relay-cluster as the relay saw it");
        }
        let other = if want == "blue" {
            &stack.green
        } else {
            &stack.blue
        };
        assert_eq!(
            other.total(),
            0,
            "{} relay was chosen by the client",
            other.name
        );
    }
}

#[test]
fn keys_never_appear_in_log_status_or_stats() {
    let stack = start(&config(5000));
    let auth = format!("Bearer {CLIENT_KEY}");
    for id in Rng::new().ids(40) {
        stack.chat(&[("x-session-id", &id), ("authorization", &auth)]);
    }
    stack.status_when("the 40 requests", |s| s["total_requests"] == json!(40));
    let places = [
        ("Envoy log", stack.envoy_log()),
        ("status JSON", stack.client().get("/relay/status", &[]).body),
        ("/stats", stack.envoy.stats()),
        ("/stats/prometheus", stack.envoy.prometheus()),
    ];
    for (place, text) in &places {
        for key in [BLUE_KEY, GREEN_KEY, CLIENT_KEY] {
            // The random tail alone would give a key away too.
            let tail = &key[key.len() - 12..];
            assert!(!text.contains(tail), "{place} contains key …{tail}");
        }
    }
}
