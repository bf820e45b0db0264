//! Downstream HTTP/2: h2c with prior knowledge and h2 over TLS (ALPN on the listener of
//! `envoy/templates/tls.yaml`) route, inject keys, answer the status endpoint, refuse by the
//! model catalog and stream SSE exactly as HTTP/1.1 does. The client is curl (Debian's is built
//! with nghttp2); without HTTP/2 in curl the tests say so and skip. Real Envoy, real wasm, mock
//! relays over HTTPS.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn h2_config() -> Value {
    let mut cfg = config(5000);
    cfg["models"] = json!({
        "gpt-4.1": {"provider": "openai", "max_tokens": 128000, "supports_streaming": true}
    });
    cfg["enforce_models"] = json!(true);
    cfg
}

fn start() -> Option<TlsStack> {
    if let Some(why) = curl_http2_missing() {
        println!("SKIPPED: {why}");
        return None;
    }
    Some(TlsStack::start(&TlsSpec {
        filter_config: &h2_config().to_string(),
        env: &[("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY)],
        ..TlsSpec::default()
    }))
}

/// Every way in, with the protocol curl must report.
fn clients(stack: &TlsStack) -> Vec<(&'static str, Curl, &'static str)> {
    let (port, ca) = (stack.port(), stack.certs.ca());
    vec![
        ("h2c prior knowledge", Curl::h2c(port), "2"),
        ("h2 over TLS (ALPN)", Curl::h2_tls(port, &ca), "2"),
        (
            "HTTP/1.1 over TLS (ALPN)",
            Curl::http1_tls(port, &ca),
            "1.1",
        ),
        ("HTTP/1.1", Curl::http1(port), "1.1"),
    ]
}

fn chat(model: &str, stream: bool) -> String {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    body.to_string()
}

#[test]
fn routing_keys_status_and_refusals_over_every_protocol() {
    let Some(stack) = start() else { return };
    let ids = Rng::new().ids(12);
    for (name, curl, version) in clients(&stack) {
        for id in &ids {
            let want = expected_env(id, 5000);
            let resp = curl.post(
                "/v1/chat/completions",
                &[("x-session-id", id), ("authorization", "Bearer sk-client")],
                &chat("gpt-4.1", false),
            );
            assert_eq!(resp.http_version, version, "{name}");
            assert_eq!(resp.status, 200, "{name}: {}", resp.body);
            assert_eq!(resp.relay(), want, "{name}, session {id:?}");
            assert_eq!(resp.header("x-relay-environment"), Some(want), "{name}");
        }
        let status = curl.get("/relay/status", &[]);
        assert_eq!(status.status, 200, "{name}: {}", status.body);
        assert_eq!(status.http_version, version);
        assert!(status.json()["environments"]["green"].is_object(), "{name}");
        // Without a body: Envoy answers a request early with HEADERS, DATA (end of stream), then
        // RST_STREAM(NO_ERROR) as RFC 9113 8.1 allows, and curl 7.88 drops such an answer
        // while it is still uploading ("Stream error in the HTTP/2 framing layer") in about
        // a third of tries. tests/bad_input.rs sends the status path a body over HTTP/1.1.
        let post = curl.send("POST", "/relay/status", &[], None);
        assert_eq!(post.status, 405, "{name}: {}", post.body);
        assert_eq!(post.header("allow"), Some("GET, HEAD"));
        let unknown = curl.post("/v1/chat/completions", &[], &chat("no-such-model", false));
        assert_eq!(unknown.status, 404, "{name}: {}", unknown.body);
        assert_eq!(unknown.json()["error"]["code"], "model_not_found", "{name}");
    }
    for env in ["blue", "green"] {
        let key = format!(
            "Bearer {}",
            if env == "blue" { BLUE_KEY } else { GREEN_KEY }
        );
        let chats: Vec<_> = stack
            .relay(env)
            .requests()
            .into_iter()
            .filter(|r| r.path == "/v1/chat/completions")
            .collect();
        let per_client = ids
            .iter()
            .filter(|id| expected_env(id, 5000) == env)
            .count();
        assert_eq!(
            chats.len(),
            per_client * 4,
            "{env}: nothing refused reached it"
        );
        for r in chats {
            assert_eq!(r.header("authorization"), Some(key.as_str()), "{r:?}");
            assert_eq!(r.header("host"), Some(RELAY_HOST));
            assert_eq!(r.body, chat("gpt-4.1", false), "the body went on unchanged");
        }
    }
}

#[test]
fn sse_streams_pass_unbuffered_and_are_metered_over_every_protocol() {
    let Some(stack) = start() else { return };
    for relay in [&stack.blue, stack.green()] {
        relay.set_config(&json!({"sse_split": "event", "chunk_delay_ms": 200, "chunks": 4}));
    }
    let session = (0..)
        .map(|i| format!("h2-stream-{i}"))
        .find(|id| expected_env(id, 5000) == "blue")
        .unwrap();
    let clients = clients(&stack);
    for (name, curl, version) in &clients {
        let streamed = curl.stream(
            "POST",
            "/v1/chat/completions",
            &[("x-session-id", &session), ("x-mock-usage", "11,7")],
            Some(&chat("gpt-4.1", true)),
        );
        let resp = &streamed.resp;
        assert_eq!(resp.http_version, *version, "{name}");
        assert_eq!(resp.status, 200, "{name}: {}", resp.body);
        assert_eq!(resp.header("content-type"), Some("text/event-stream"));
        assert!(
            resp.body.ends_with("data: [DONE]\n\n"),
            "{name}: {}",
            resp.body
        );
        assert!(resp.body.contains("\"usage\":{"), "{name}: {}", resp.body);
        let events = resp.body.matches("data: ").count();
        assert_eq!(events, 6, "{name}: 4 chunks, usage, [DONE]: {}", resp.body);
        // Events 200 ms apart arrive 200 ms apart: the first long before the last.
        let first = streamed.pieces.first().unwrap().0;
        let last = streamed.pieces.last().unwrap().0;
        assert!(
            last.saturating_sub(first) >= Duration::from_millis(600),
            "{name}: the stream arrived in one go ({:?})",
            streamed.pieces
        );
    }
    let n = clients.len() as u64;
    let status = stack.status_when("every stream metered", Duration::from_secs(3), |s| {
        s["environments"]["blue"]["usage"]["requests"] == n
    });
    let usage = &status["environments"]["blue"]["usage"]["models"]["gpt-4.1"];
    assert_eq!(usage["prompt_tokens"], 11 * n, "{status:#}");
    assert_eq!(usage["completion_tokens"], 7 * n);
}
