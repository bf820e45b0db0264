//! The model catalog in front of the relays: each enforcement case answered locally in OpenAI's
//! error shape (the relays never see it), valid requests passed on byte for byte, the body
//! limit, and a model pinned to green reaching green whatever its bucket. Real Envoy, real wasm.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn catalog() -> Value {
    json!({
        "gpt-4.1": {"provider": "openai", "max_tokens": 128000, "supports_streaming": true,
                    "price_per_mtok": {"input": 2.00, "output": 8.00}},
        "claude-sonnet-4.5": {"provider": "anthropic", "max_tokens": 200000, "supports_streaming": true},
        "some-batch-model": {"provider": "x", "max_tokens": 4096, "supports_streaming": false,
                             "environments": ["green"]}
    })
}

fn models_config(enforce: bool, max_body: u64) -> Value {
    let mut cfg = config(5000);
    cfg["models"] = catalog();
    cfg["enforce_models"] = json!(enforce);
    cfg["max_request_body_bytes"] = json!(max_body);
    cfg
}

/// A session id whose bucket sends it to `env` at a 50/50 split.
fn session_for(env: &str, skip: usize) -> String {
    (0..)
        .map(|i| format!("session-{i}"))
        .filter(|id| expected_env(id, 5000) == env)
        .nth(skip)
        .unwrap_or_default()
}

fn relays_total(stack: &Stack) -> u64 {
    stack.blue.total() + stack.green.total()
}

#[test]
fn each_enforcement_case_is_answered_locally() {
    let stack = start(&models_config(true, 1 << 20));
    let cases: [(&str, u16, Value, &str); 6] = [
        (
            "this is not json",
            400,
            Value::Null,
            "We could not parse the JSON body",
        ),
        (
            r#"[1, 2]"#,
            400,
            Value::Null,
            "We could not parse the JSON body",
        ),
        (
            r#"{"messages":[]}"#,
            400,
            json!("model"),
            "you must provide a model parameter",
        ),
        (
            r#"{"model":"gpt-5-imaginary","messages":[]}"#,
            404,
            Value::Null,
            "The model `gpt-5-imaginary` does not exist",
        ),
        (
            r#"{"model":"gpt-4.1","max_tokens":200000,"messages":[]}"#,
            400,
            json!("max_tokens"),
            "supports at most 128000 completion tokens",
        ),
        (
            r#"{"model":"some-batch-model","stream":true,"messages":[]}"#,
            400,
            json!("stream"),
            "does not support streaming",
        ),
    ];
    for path in ["/v1/chat/completions", "/v1/completions"] {
        for (body, status, param, message) in &cases {
            let resp = stack.client().post(path, &[("x-session-id", "s1")], body);
            assert_eq!(resp.status, *status, "{path} {body}: {}", resp.body);
            assert_eq!(
                resp.header("content-type"),
                Some("application/json"),
                "{body}"
            );
            let error = &resp.json()["error"];
            assert_eq!(error["type"], "invalid_request_error", "{body}");
            assert_eq!(error["param"], *param, "{body}");
            let text = error["message"].as_str().unwrap_or_default();
            assert!(text.contains(message), "{body}: {text}");
            if *status == 404 {
                assert_eq!(error["code"], "model_not_found");
            }
        }
    }
    assert_eq!(relays_total(&stack), 0, "a refused request reached a relay");
    // A request without a body on a covered path is refused too.
    let resp = stack
        .client()
        .send("POST", "/v1/chat/completions", &[], None);
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(relays_total(&stack), 0);
}

#[test]
fn valid_requests_reach_the_relay_byte_for_byte() {
    let stack = start(&models_config(true, 1 << 20));
    let bodies = [
        "{ \"messages\" : [ {\"role\":\"user\",\"content\":\"h\u{e9}llo \\u00e9 \\\"q\\\"\"} ],\n  \"model\":\"gpt-4.1\", \"max_tokens\": 128000, \"temperature\": 0.25 }",
        r#"{"model":"claude-sonnet-4.5","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}"#,
    ];
    for (i, body) in bodies.iter().enumerate() {
        let session = session_for("blue", i);
        let resp = stack
            .client()
            .post("/v1/chat/completions", &[("x-session-id", &session)], body);
        assert_eq!(resp.status, 200, "{body}: {}", resp.body);
        assert_eq!(resp.relay(), "blue");
        let recorded = stack.blue.requests();
        let last = recorded.last().expect("the relay recorded the request");
        assert_eq!(last.body, *body, "the body changed on the way");
        assert_eq!(
            last.header("authorization"),
            Some(format!("Bearer {BLUE_KEY}").as_str())
        );
        assert_eq!(last.header("x-environment"), Some("blue"));
        assert_eq!(
            last.header("x-relay-body-check"),
            None,
            "the marker must not leave Envoy"
        );
    }
    // Not covered by the catalog: passed on untouched, never marked for a body check.
    let resp = stack.client().get("/v1/models", &[("x-session-id", "s")]);
    assert_eq!(resp.status, 200, "{}", resp.body);
    let resp = stack
        .client()
        .post("/v1/embeddings", &[], r#"{"model":"unknown"}"#);
    assert_eq!(resp.status, 404, "the relay's own answer: {}", resp.body);
    assert_ne!(resp.relay(), "-", "a relay answered");
    for relay in [&stack.blue, &stack.green] {
        for req in relay.requests() {
            assert_eq!(
                req.header("x-relay-body-check"),
                None,
                "{} {}",
                req.method,
                req.path
            );
        }
    }
}

/// Sends a chunked request body in `pieces`, so no content-length announces its size.
fn chunked_post(stack: &Stack, path: &str, pieces: &[&[u8]]) -> (u16, String) {
    let mut conn = TcpStream::connect(&stack.envoy.listen).expect("connect to Envoy");
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: relay\r\ncontent-type: application/json\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).expect("write head");
    for piece in pieces {
        let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
        chunk.extend_from_slice(piece);
        chunk.extend_from_slice(b"\r\n");
        // Envoy may answer and close early: later writes can fail.
        if conn.write_all(&chunk).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = conn.write_all(b"0\r\n\r\n");
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[test]
fn a_body_over_the_limit_is_413() {
    let stack = start(&models_config(true, 1024));
    let big = format!(
        r#"{{"model":"gpt-4.1","messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(2000)
    );
    // Announced by content-length: refused before any of it is read.
    let resp = stack.client().post("/v1/chat/completions", &[], &big);
    assert_eq!(resp.status, 413, "{}", resp.body);
    assert_eq!(resp.json()["error"]["code"], "request_too_large");
    // Streamed in chunks: refused once the buffered body passes the limit.
    let pieces: Vec<&[u8]> = big.as_bytes().chunks(300).collect();
    let (status, text) = chunked_post(&stack, "/v1/chat/completions", &pieces);
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("request_too_large"), "{text}");
    assert_eq!(relays_total(&stack), 0);
    // At the limit exactly is fine.
    let empty = r#"{"model":"gpt-4.1","pad":""}"#;
    let fits = format!(
        r#"{{"model":"gpt-4.1","pad":"{}"}}"#,
        "y".repeat(1024 - empty.len())
    );
    assert_eq!(fits.len(), 1024);
    let resp = stack.client().post("/v1/chat/completions", &[], &fits);
    assert_eq!(resp.status, 200, "{}", resp.body);
    let (status, text) = chunked_post(&stack, "/v1/chat/completions", &[fits.as_bytes()]);
    assert_eq!(status, 200, "{text}");
}

fn assert_pinned_to_green(stack: &Stack) {
    let body = r#"{"model":"some-batch-model","messages":[{"role":"user","content":"batch"}]}"#;
    for i in 0..6 {
        let session = session_for("blue", i);
        let resp = stack
            .client()
            .post("/v1/chat/completions", &[("x-session-id", &session)], body);
        assert_eq!(resp.status, 200, "{}", resp.body);
        assert_eq!(
            resp.relay(),
            "green",
            "bucket said blue, the pin says green"
        );
        assert_eq!(resp.header("x-relay-environment"), Some("green"));
        let recorded = stack.green.requests();
        let last = recorded.last().expect("green recorded it");
        assert_eq!(last.body, body);
        assert_eq!(
            last.header("authorization"),
            Some(format!("Bearer {GREEN_KEY}").as_str())
        );
        assert_eq!(last.header("x-environment"), Some("green"));
        assert_eq!(last.header("x-relay-body-check"), None);
    }
    for i in 0..3 {
        let session = session_for("green", i);
        let resp = stack
            .client()
            .post("/v1/chat/completions", &[("x-session-id", &session)], body);
        assert_eq!(resp.relay(), "green");
    }
    assert_eq!(stack.blue.total(), 0, "no pinned request reached blue");
    // An unpinned model still follows its bucket.
    let session = session_for("blue", 0);
    let resp = stack.client().post(
        "/v1/chat/completions",
        &[("x-session-id", &session)],
        r#"{"model":"gpt-4.1","messages":[]}"#,
    );
    assert_eq!(resp.relay(), "blue");
    // Requests are counted where they went.
    stack.status_when("9 green requests and 1 blue", |s| {
        s["environments"]["green"]["requests"] == 9 && s["environments"]["blue"]["requests"] == 1
    });
}

#[test]
fn a_model_pinned_to_green_lands_on_green_whatever_its_bucket() {
    let stack = start(&models_config(true, 1 << 20));
    assert_pinned_to_green(&stack);
}

#[test]
fn pins_apply_without_enforcement() {
    let stack = start(&models_config(false, 1 << 20));
    assert_pinned_to_green(&stack);
    // Without enforcement nothing is refused.
    let resp = stack
        .client()
        .post("/v1/chat/completions", &[], r#"{"model":"not-in-catalog"}"#);
    assert_eq!(resp.status, 200, "{}", resp.body);
}

/// The listener without the buffer filter and the second instance: what one filter instance can
/// do after reading a body whose headers already went on. It can still refuse (Envoy resets the
/// upstream stream before any body reaches the relay), but it cannot move a pinned model: Envoy
/// refuses header writes after the headers continued (`BadArgument`) and the router already
/// picked the bucket's cluster. The request goes to its bucket, labelled so, with a warning —
/// and the VM does not trap.
#[test]
fn without_the_body_stage_pins_cannot_move_requests() {
    let blue = MockRelay::start("blue", &[]);
    let green = MockRelay::start("green", &[]);
    let vars = [
        ("BLUE_ADDR", blue.host().to_string()),
        ("BLUE_PORT", blue.port().to_string()),
        ("GREEN_ADDR", green.host().to_string()),
        ("GREEN_PORT", green.port().to_string()),
        ("WASM_PATH", wasm_path().display().to_string()),
        (
            "FILTER_CONFIG",
            Value::from(models_config(true, 1 << 20).to_string()).to_string(),
        ),
        ("ACTIVE_CLUSTER", "relay_blue".to_string()),
        ("BODY_STAGE", String::new()),
    ];
    let envoy = Envoy::start(
        &template("static.yaml"),
        &vars,
        &[("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY)],
        2,
    )
    .unwrap_or_else(|exit| panic!("Envoy did not start: {exit:?}"));
    let client = envoy.client();
    let body = r#"{"model":"some-batch-model","messages":[]}"#;
    for i in 0..3 {
        let session = session_for("blue", i);
        let resp = client.post("/v1/chat/completions", &[("x-session-id", &session)], body);
        assert_eq!(resp.status, 200, "{}", resp.body);
        assert_eq!(resp.relay(), "blue", "without the stage the bucket wins");
        assert_eq!(resp.header("x-relay-environment"), Some("blue"));
    }
    assert_eq!(green.total(), 0);
    let warned = envoy
        .log()
        .lines()
        .any(|l| l.contains("a pinned model could not be routed"));
    assert!(warned, "no warning about the missing stage");
    // Refusals still work, and no refused body reached a relay.
    let resp = client.post(
        "/v1/chat/completions",
        &[],
        r#"{"model":"nope","pad":"refused-body"}"#,
    );
    assert_eq!(resp.status, 404, "{}", resp.body);
    std::thread::sleep(Duration::from_millis(200));
    for relay in [&blue, &green] {
        assert!(relay
            .requests()
            .iter()
            .all(|r| !r.body.contains("refused-body")));
    }
    // No trap: the workers keep serving.
    for _ in 0..10 {
        assert_eq!(
            client.post("/v1/chat/completions", &[], CHAT_BODY).status,
            404
        );
        let ok = client.post("/v1/chat/completions", &[], r#"{"model":"gpt-4.1"}"#);
        assert_eq!(ok.status, 200, "{}", ok.body);
    }
}
