//! Who may read the status endpoint and who may choose an environment, end to end: Envoy's
//! listener binds every interface (`envoy/templates/tls.yaml`), and the test reaches it both over
//! loopback and over this machine's own non-loopback address, so the filter sees a peer that is
//! not on loopback. Real Envoy, real wasm, mock relays over HTTPS.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const STATUS_TOKEN: &str = "tok-status-5b1e9c0d7a";
const OVERRIDE_TOKEN: &str = "tok-override-2f8a6e41c3";

fn start(cfg: &Value, green_args: &[&str]) -> TlsStack {
    TlsStack::start(&TlsSpec {
        filter_config: &cfg.to_string(),
        env: &[
            ("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY),
            ("RELAY_STATUS_TOKEN", STATUS_TOKEN),
            ("RELAY_OVERRIDE_TOKEN", OVERRIDE_TOKEN),
        ],
        green_args,
        ..TlsSpec::default()
    })
}

/// Clients for the listener: over loopback, and over the machine's non-loopback address when it
/// has one (else the reason is printed and only loopback is tried).
fn peers(stack: &TlsStack) -> Vec<(&'static str, Http)> {
    let mut peers = vec![("loopback", Http::fresh_connections(&stack.envoy.url()))];
    match non_loopback_ipv4() {
        Some(ip) => peers.push((
            "non-loopback",
            Http::fresh_connections(&format!("http://{ip}:{}", stack.port())),
        )),
        None => println!(
            "SKIPPED the non-loopback peer: this machine has no IPv4 address outside 127.0.0.0/8"
        ),
    }
    peers
}

/// An OpenAI-style error body with this `code`.
fn assert_openai_error(resp: &Resp, code: &str) {
    let body = resp.json();
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert_eq!(
        resp.header("content-type"),
        Some("application/json"),
        "{resp:?}"
    );
}

/// The status path never reaches a relay, whoever asks.
fn assert_never_forwarded(stack: &TlsStack) {
    for relay in [&stack.blue, stack.green()] {
        let forwarded: Vec<_> = relay
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/relay/status"))
            .collect();
        assert!(forwarded.is_empty(), "{}: {forwarded:?}", relay.name);
    }
}

#[test]
fn without_a_token_the_status_answers_only_loopback_peers() {
    let stack = start(&config(1000), &[]);
    let peers = peers(&stack);
    for (peer, http) in &peers {
        let resp = http.get("/relay/status", &[]);
        if *peer == "loopback" {
            assert_eq!(resp.status, 200, "{}", resp.body);
            assert!(resp.json()["environments"]["green"].is_object());
        } else {
            assert_eq!(resp.status, 403, "{peer}: {}", resp.body);
            assert_openai_error(&resp, "forbidden");
            assert!(!resp.body.contains("relay_green"), "{}", resp.body);
        }
        // Requests other than the status path are served from every peer.
        let chat = http.post("/v1/chat/completions", &[], CHAT_BODY);
        assert_eq!(chat.status, 200, "{peer}: {}", chat.body);
    }
    assert_never_forwarded(&stack);
}

#[test]
fn with_a_token_the_status_answers_only_its_bearer_from_every_peer() {
    let mut cfg = config(1000);
    cfg["status_token_env"] = json!("RELAY_STATUS_TOKEN");
    let stack = start(&cfg, &[]);
    let bearer = format!("Bearer {STATUS_TOKEN}");
    let wrong = format!("Bearer {STATUS_TOKEN}x");
    for (peer, http) in peers(&stack) {
        let none = http.get("/relay/status", &[]);
        assert_eq!(none.status, 401, "{peer}, no token: {}", none.body);
        assert_eq!(none.header("www-authenticate"), Some("Bearer"));
        assert_openai_error(&none, "invalid_api_key");
        for bad in [wrong.as_str(), STATUS_TOKEN, "Basic dG9rOnRvaw=="] {
            let resp = http.get("/relay/status", &[("authorization", bad)]);
            assert_eq!(resp.status, 401, "{peer}, authorization {bad:?}");
            assert_eq!(resp.header("www-authenticate"), Some("Bearer"));
            assert_openai_error(&resp, "invalid_api_key");
        }
        let ok = http.get("/relay/status", &[("authorization", &bearer)]);
        assert_eq!(ok.status, 200, "{peer}, right token: {}", ok.body);
        assert!(ok.json()["environments"]["blue"].is_object());
        assert!(
            !ok.body.contains(STATUS_TOKEN),
            "the status shows its token"
        );
    }
    assert_never_forwarded(&stack);
    let log = stack.envoy.log();
    assert!(!log.contains(STATUS_TOKEN), "Envoy's log shows the token");
}

#[test]
fn the_override_header_counts_only_with_its_token_and_never_reaches_a_relay() {
    let mut cfg = with_health_check(config(5000), 300, 250);
    cfg["override_header"] = json!("x-relay-env");
    cfg["override_token_env"] = json!("RELAY_OVERRIDE_TOKEN");
    cfg["status_token_env"] = json!("RELAY_STATUS_TOKEN");
    // Green's probes fail: it is held, every session goes to blue.
    let stack = start(&cfg, &["--models-status", "503"]);
    let bearer = format!("Bearer {STATUS_TOKEN}");
    let status = Http::new(&stack.envoy.url());
    poll_until(Duration::from_secs(10), || {
        let s = status
            .get("/relay/status", &[("authorization", &bearer)])
            .json();
        (s["environments"]["green"]["health"] == "degraded").then_some(())
    })
    .expect("green never degraded");
    // Past one more tick, so every worker holds green.
    std::thread::sleep(Duration::from_millis(500));

    let http = Http::fresh_connections(&stack.envoy.url());
    let ids = Rng::new().ids(20);
    let without_token: Vec<Resp> = ids
        .iter()
        .map(|id| {
            http.post(
                "/v1/chat/completions",
                &[("x-session-id", id), ("x-relay-env", "green")],
                CHAT_BODY,
            )
        })
        .collect();
    let to_blue = without_token
        .iter()
        .filter(|r| r.status == 200 && r.relay() == "blue")
        .count();
    assert_eq!(
        to_blue, 20,
        "x-relay-env: green without its token reached blue"
    );
    assert!(without_token
        .iter()
        .all(|r| r.header("x-relay-override").is_none()));
    for token in [format!("{OVERRIDE_TOKEN}x"), String::new()] {
        let resp = http.post(
            "/v1/chat/completions",
            &[("x-relay-env", "green"), ("x-relay-override-token", &token)],
            CHAT_BODY,
        );
        assert_eq!(resp.relay(), "blue", "wrong token {token:?}");
    }
    for id in &ids {
        let resp = http.post(
            "/v1/chat/completions",
            &[
                ("x-session-id", id),
                ("x-relay-env", "green"),
                ("x-relay-override-token", OVERRIDE_TOKEN),
            ],
            CHAT_BODY,
        );
        assert_eq!(resp.status, 200, "{}", resp.body);
        assert_eq!(resp.relay(), "green", "session {id:?} with the token");
        assert_eq!(resp.header("x-relay-override"), Some("accepted"));
        assert_eq!(resp.header("x-relay-environment"), Some("green"));
    }
    for relay in [&stack.blue, stack.green()] {
        for r in relay.requests() {
            assert!(r.header("x-relay-env").is_none(), "{}: {r:?}", relay.name);
            assert!(r.header("x-relay-override-token").is_none(), "{r:?}");
            let auth = r.header("authorization").unwrap_or("");
            assert!(
                auth == format!("Bearer {BLUE_KEY}") || auth == format!("Bearer {GREEN_KEY}"),
                "{}: {auth:?}",
                relay.name
            );
        }
    }
    assert_eq!(
        stack
            .green()
            .requests()
            .iter()
            .filter(|r| r.path == "/v1/chat/completions")
            .count(),
        20
    );
    assert!(!stack.envoy.log().contains(OVERRIDE_TOKEN));
}
