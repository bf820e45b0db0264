//! Where requests go: the exact bucket rule, stickiness, affinity header order,
//! the keyless random split and the override header. Real Envoy, real wasm.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bluegreen_relay::routing::{bucket, fnv1a64, BUCKETS};
use common::*;
use serde_json::json;

/// The documented contract, checked on the crate's function that both the filter and this
/// test's expectations use: FNV-1a 64 (published vectors), bucket = hash % 10000.
#[test]
fn the_bucket_rule_is_fnv1a64_mod_10000() {
    assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    assert_eq!(BUCKETS, 10_000);
    for key in ["", "a", "foobar", "session-1"] {
        assert_eq!(
            u64::from(bucket(key.as_bytes())),
            fnv1a64(key.as_bytes()) % 10_000
        );
    }
}

/// Sends one request per random session id; every one must land where the rule says,
/// both by the relay that answered and by the filter's response header.
fn assert_exact_split(green_hundredths: u32, sessions: usize) {
    let stack = start(&config(green_hundredths));
    let ids = Rng::new().ids(sessions);
    let mut wrong = Vec::new();
    let mut want_green = 0;
    for id in &ids {
        let want = expected_env(id, green_hundredths);
        want_green += usize::from(want == "green");
        let resp = stack.chat(&[("x-session-id", id)]);
        let said = resp.header("x-relay-environment").unwrap_or("-");
        if resp.status != 200 || resp.relay() != want || said != want {
            wrong.push(format!(
                "x-session-id {id:?} (bucket {}): want {want}, got status {} from relay {} with x-relay-environment {said}",
                bucket(id.as_bytes()),
                resp.status,
                resp.relay(),
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {sessions} requests misrouted at green {green_hundredths}/10000, e.g.:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(10)].join("\n")
    );
    assert_eq!(
        stack.green.total() as usize,
        want_green,
        "green relay count"
    );
    assert_eq!(
        stack.blue.total() as usize,
        sessions - want_green,
        "blue relay count"
    );
}

#[test]
fn exact_split_green_10() {
    assert_exact_split(1000, 1000);
}

#[test]
fn exact_split_green_33_33() {
    assert_exact_split(3333, 1000);
}

#[test]
fn exact_split_green_50() {
    assert_exact_split(5000, 1000);
}

#[test]
fn exact_split_green_99_99() {
    assert_exact_split(9999, 1000);
}

#[test]
fn exact_split_green_0_and_100() {
    assert_exact_split(0, 200);
    assert_exact_split(10_000, 200);
}

#[test]
fn a_session_sticks_to_its_environment() {
    let stack = start(&config(5000));
    for id in Rng::new().ids(5) {
        let want = expected_env(&id, 5000);
        for n in 0..20 {
            let resp = stack.chat(&[("x-session-id", &id)]);
            assert_eq!(resp.relay(), want, "request {n} of session {id:?}");
            assert_eq!(resp.header("x-relay-environment"), Some(want));
        }
    }
}

/// (what is tested, request headers, expected environment)
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn first_present_non_empty_affinity_header_wins() {
    let stack = start(&config(5000));
    let ids = Rng::new().ids(200);
    // Pairs whose two ids hash to different environments, so each case can tell them apart.
    let pairs: Vec<(&String, &String)> = ids
        .iter()
        .zip(ids.iter().skip(1))
        .filter(|(a, b)| expected_env(a, 5000) != expected_env(b, 5000))
        .take(10)
        .collect();
    assert_eq!(pairs.len(), 10);
    for (session, request) in pairs {
        let (by_session, by_request) = (expected_env(session, 5000), expected_env(request, 5000));
        let cases: [Case; 3] = [
            (
                "both headers: x-session-id comes first",
                &[("x-request-id", request), ("x-session-id", session)],
                by_session,
            ),
            (
                "only x-request-id",
                &[("x-request-id", request)],
                by_request,
            ),
            (
                "empty x-session-id is skipped",
                &[("x-session-id", ""), ("x-request-id", request)],
                by_request,
            ),
        ];
        for (case, headers, want) in cases {
            let resp = stack.chat(headers);
            assert_eq!(resp.relay(), want, "{case}: {headers:?}");
            assert_eq!(resp.header("x-relay-environment"), Some(want), "{case}");
        }
    }
    // The empty header must really have reached Envoy for the last case to mean anything.
    let seen_empty = [&stack.blue, &stack.green]
        .iter()
        .flat_map(|r| r.requests())
        .any(|r| r.header("x-session-id") == Some(""));
    assert!(
        seen_empty,
        "no relay saw an empty x-session-id: the client dropped it"
    );
}

/// Without an affinity key the split is random by weight (bounds are > 5 sigma wide).
fn assert_random_split(green_hundredths: u32, requests: usize, green_range: std::ops::Range<u64>) {
    let mut cfg = config(green_hundredths);
    cfg["affinity_headers"] = json!(["x-session-id"]);
    let stack = start(&cfg);
    for _ in 0..requests {
        assert_eq!(stack.chat(&[]).status, 200);
    }
    let (blue, green) = (stack.blue.total(), stack.green.total());
    assert_eq!(blue + green, requests as u64);
    assert!(
        green_range.contains(&green),
        "green got {green} of {requests} at weight {green_hundredths}/10000, want {green_range:?}"
    );
}

#[test]
fn no_key_splits_randomly_by_weight() {
    assert_random_split(5000, 400, 120..281);
    assert_random_split(1000, 1000, 50..151);
}

#[test]
fn override_header_picks_the_environment_only_with_its_token() {
    let mut cfg = config(5000);
    cfg["override_header"] = json!("x-relay-env");
    cfg["override_token_env"] = json!("RELAY_OVERRIDE_TOKEN");
    let stack = Stack::start_with_env(
        &cfg.to_string(),
        &[
            ("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY),
            ("RELAY_OVERRIDE_TOKEN", "tok-override-test"),
        ],
    );
    for id in Rng::new().ids(20) {
        let want = expected_env(&id, 5000);
        let other = if want == "blue" { "green" } else { "blue" };
        let resp = stack.chat(&[
            ("x-session-id", &id),
            ("x-relay-env", other),
            ("x-relay-override-token", "tok-override-test"),
        ]);
        assert_eq!(
            resp.relay(),
            other,
            "x-relay-env: {other} for session {id:?}"
        );
        assert_eq!(resp.header("x-relay-environment"), Some(other));
        assert_eq!(resp.header("x-relay-override"), Some("accepted"));
        // Neither header reaches the relay.
        let relay = if other == "blue" {
            &stack.blue
        } else {
            &stack.green
        };
        let seen = relay.requests().pop().expect("the relay got the request");
        assert!(seen.header("x-relay-env").is_none(), "{seen:?}");
        assert!(seen.header("x-relay-override-token").is_none(), "{seen:?}");
        // Without the token (or with a wrong one) the header is ignored.
        for token in [None, Some("tok-override-tesT")] {
            let mut headers = vec![("x-session-id", id.as_str()), ("x-relay-env", other)];
            headers.extend(token.map(|t| ("x-relay-override-token", t)));
            let resp = stack.chat(&headers);
            assert_eq!(resp.relay(), want, "token {token:?} for session {id:?}");
            assert_eq!(resp.header("x-relay-override"), None);
        }
    }
}

#[test]
fn override_header_is_ignored_when_not_configured() {
    let stack = start(&config(5000));
    for id in Rng::new().ids(20) {
        let want = expected_env(&id, 5000);
        let other = if want == "blue" { "green" } else { "blue" };
        let resp = stack.chat(&[("x-session-id", &id), ("x-relay-env", other)]);
        assert_eq!(
            resp.relay(),
            want,
            "x-relay-env: {other} for session {id:?} must not count"
        );
    }
}

/// The filter makes no `clear_route_cache` call: its request-header writes must make Envoy pick
/// the route again. Envoy's connection manager resolves and caches the route before any filter
/// runs, here from what the client sent: its own `x-relay-cluster` (the cluster-header route
/// to that cluster) or none (the fallback route to the active cluster, blue). Each request
/// must still reach the relay its bucket names, with that relay's key and `x-environment`.
#[test]
fn the_route_follows_the_cluster_header_the_filter_writes() {
    let stack = start(&config(5000));
    let ids = Rng::new().ids(40);
    let mut seen = [0usize; 2];
    for id in &ids {
        let want = expected_env(id, 5000);
        let other = if want == "blue" { "green" } else { "blue" };
        let other_cluster = format!("relay_{other}");
        let cases: [Case; 2] = [
            (
                "the client's cluster header names the other relay",
                &[("x-session-id", id), ("x-relay-cluster", &other_cluster)],
                want,
            ),
            (
                "no cluster header: the cached route is the fallback to blue",
                &[("x-session-id", id)],
                want,
            ),
        ];
        for (case, headers, want) in cases {
            let resp = stack.chat(headers);
            assert_eq!(resp.status, 200, "{case}: {}", resp.body);
            assert_eq!(resp.relay(), want, "{case}: session {id:?}");
            assert_eq!(resp.header("x-relay-environment"), Some(want), "{case}");
            let relay = if want == "blue" {
                &stack.blue
            } else {
                &stack.green
            };
            let last = relay.requests().pop().expect("the relay got the request");
            assert_eq!(last.header("x-environment"), Some(want), "{case}");
            assert_eq!(
                last.header("x-relay-cluster"),
                Some(format!("relay_{want}").as_str()),
                "{case}"
            );
        }
        seen[usize::from(want == "green")] += 1;
    }
    assert!(
        seen[0] > 0 && seen[1] > 0,
        "both environments tried: {seen:?}"
    );
}

/// The same after the body stage (a model catalog adds the buffer filter and the
/// `route_after_body` instance): the route is cached by then (the buffer filter reads its
/// per-route config), from the relay filter's header write. A pinned model's second write must
/// move it, and an unpinned request must stay where the first write sent it.
#[test]
fn the_route_follows_the_cluster_header_after_the_body_stage() {
    let mut cfg = config(5000);
    cfg["models"] = json!({
        "gpt-4.1": {"provider": "openai", "max_tokens": 128000, "supports_streaming": true},
        "batch-model": {"provider": "x", "max_tokens": 4096, "supports_streaming": false,
                        "environments": ["green"]}
    });
    let stack = start(&cfg);
    let pinned = r#"{"model":"batch-model","messages":[{"role":"user","content":"hi"}]}"#;
    let plain = r#"{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}"#;
    let ids = Rng::new().ids(40);
    let mut moved = 0;
    for id in &ids {
        let want = expected_env(id, 5000);
        for (body, want) in [(plain, want), (pinned, "green")] {
            for client_cluster in [None, Some("relay_blue"), Some("relay_green")] {
                let mut headers = vec![("x-session-id", id.as_str())];
                headers.extend(client_cluster.map(|c| ("x-relay-cluster", c)));
                let resp = stack.client().post("/v1/chat/completions", &headers, body);
                let what =
                    format!("session {id:?}, body {body}, client cluster {client_cluster:?}");
                assert_eq!(resp.status, 200, "{what}: {}", resp.body);
                assert_eq!(resp.relay(), want, "{what}");
                assert_eq!(resp.header("x-relay-environment"), Some(want), "{what}");
                let relay = if want == "blue" {
                    &stack.blue
                } else {
                    &stack.green
                };
                let last = relay.requests().pop().expect("the relay got the request");
                assert_eq!(last.header("x-environment"), Some(want), "{what}");
                assert_eq!(last.body, body, "{what}");
            }
        }
        moved += usize::from(want == "blue");
    }
    assert!(
        moved > 0,
        "no pinned request had a blue bucket to move from"
    );
}
