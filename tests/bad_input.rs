//! Bad input from both sides, against the real Envoy with the real wasm. From clients: affinity
//! ids of 0 bytes, 56 and 64 KiB (over Envoy's 60 KiB header limit: its codec answers 431
//! before any filter) and non-UTF-8 bytes; repeated `authorization`, cluster and
//! override headers; a chunked body over `max_request_body_bytes`; a body cut off by the
//! client; the status path with a body; 10,000 requests on fresh connections. From relays: an
//! SSE line of 1 MiB, malformed events, a stream cut mid-event, model lists that are not lists,
//! an empty 200 to a chat probe, a relay that hangs past `timeout_ms` (probes time out; a live
//! request gets Envoy's own 503 when the relay closes without a byte).
//!
//! Every answer is the relay's or an OpenAI-style error; nothing traps (Envoy's log has no
//! "Function: ... failed" or panic); no client header chooses the upstream or survives as
//! `authorization` (checked in what the relays received); the client gets every byte a relay
//! sent, and usage counts only what it could read.
//!
//! Memory per stream is bounded whatever the relay sends: an SSE line being read for usage is
//! held up to `ai::usage::MAX_LINE` (64 KiB; a longer one is passed on, dropped unread and
//! counted in `bluegreen.<env>.sse_lines_skipped`), a JSON answer is held for usage up to
//! `MAX_JSON_ANSWER` in `host/ai_stream.rs` (256 KiB; a longer one goes on uncounted), a request
//! body up to `max_request_body_bytes`, and a probe answer is read up to 512 KiB.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use bluegreen_relay::routing::Split;
use common::*;
use serde_json::{json, Value};

const OVERRIDE_TOKEN: &str = "tok-override-9d3c1b7e55";
const BODY_LIMIT: usize = 4096;

/// 50/50 by x-session-id, a catalog that is enforced (so bodies are read, up to
/// [`BODY_LIMIT`]), and the override header with its token.
fn client_side_config() -> Value {
    let mut cfg = config(5000);
    cfg["models"] = json!({
        "gpt-4o-mini": {"provider": "openai", "max_tokens": 16000, "supports_streaming": true},
        "gpt-4.1": {"provider": "openai", "max_tokens": 128000, "supports_streaming": true}
    });
    cfg["enforce_models"] = json!(true);
    cfg["max_request_body_bytes"] = json!(BODY_LIMIT);
    cfg["override_header"] = json!("x-relay-env");
    cfg["override_token_env"] = json!("RELAY_OVERRIDE_TOKEN");
    cfg
}

fn start_client_side() -> Stack {
    Stack::start_with_env(
        &client_side_config().to_string(),
        &[
            ("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY),
            ("RELAY_OVERRIDE_TOKEN", OVERRIDE_TOKEN),
        ],
    )
}

/// "blue" or "green" for raw affinity bytes at 50 %: the crate's own rule.
fn bucket_env(key: &[u8]) -> &'static str {
    Split::from_green_buckets(5000).pick_for_key(key).as_str()
}

fn key_of(env: &str) -> String {
    format!(
        "Bearer {}",
        if env == "blue" { BLUE_KEY } else { GREEN_KEY }
    )
}

/// Envoy's log has no wasm trap: no failed callback, no Rust panic, no VM failure.
fn assert_no_trap(envoy: &Envoy) {
    let log = envoy.log();
    let traps: Vec<&str> = log
        .lines()
        .filter(|l| {
            (l.contains("Function: ") && l.contains("failed"))
                || l.contains("panicked")
                || l.contains("RuntimeError")
                || l.contains("wasm trap")
                || l.contains("VM failed")
        })
        .collect();
    assert!(
        traps.is_empty(),
        "the filter trapped:\n{}",
        traps.join("\n")
    );
}

/// The answer came from a relay, or is an error in OpenAI's shape.
fn assert_relay_or_openai_error(what: &str, status: u16, relay: Option<&str>, body: &[u8]) {
    if relay.is_some() {
        return;
    }
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    assert!(
        parsed["error"]["message"].is_string() && parsed["error"]["type"].is_string(),
        "{what}: {status} is neither a relay's answer nor an OpenAI-style error: {}",
        String::from_utf8_lossy(body)
    );
}

/// What each relay received: its own environment's key, its own cluster in the cluster
/// header, one value each, and no override header or token.
fn assert_relays_saw_only_their_own(stack: &Stack) {
    for (env, relay) in [("blue", &stack.blue), ("green", &stack.green)] {
        for r in relay.requests() {
            assert_eq!(
                r.header("authorization"),
                Some(key_of(env).as_str()),
                "{env}: {r:?}"
            );
            assert_eq!(r.header("x-environment"), Some(env), "{env}: {r:?}");
            let cluster = format!("relay_{env}");
            assert_eq!(r.header("x-relay-cluster"), Some(cluster.as_str()), "{r:?}");
            assert!(r.header("x-relay-env").is_none(), "{r:?}");
            assert!(r.header("x-relay-override-token").is_none(), "{r:?}");
        }
    }
}

/// Raw request headers, values as bytes.
type Headers<'a> = Vec<(&'a str, &'a [u8])>;

fn chat_head(headers: &[(&str, &[u8])], body_len: usize) -> Vec<u8> {
    let length = body_len.to_string();
    let mut all: Vec<(&str, &[u8])> = headers.to_vec();
    all.push(("content-type", b"application/json"));
    all.push(("content-length", length.as_bytes()));
    raw_head("POST", "/v1/chat/completions", &all)
}

/// One chat completion with these raw headers, on its own connection.
fn raw_chat(stack: &Stack, headers: &[(&str, &[u8])]) -> RawResp {
    let mut request = chat_head(headers, CHAT_BODY.len());
    request.extend_from_slice(CHAT_BODY.as_bytes());
    raw_exchange(&stack.envoy.listen, &request).unwrap()
}

#[test]
fn affinity_ids_of_any_length_and_bytes() {
    let stack = start_client_side();
    let long = |kib: usize| {
        (0..kib * 1024)
            .map(|i| b"abcdefghij"[i % 10])
            .collect::<Vec<u8>>()
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("0 bytes", Vec::new()),
        ("56 KiB", long(56)),
        ("64 KiB", long(64)),
        ("non-UTF-8", b"\xff\xfe\x80caf\xc3(\xa0".to_vec()),
        ("Latin-1", b"sess-\xe9t\xe9".to_vec()),
    ];
    for (what, id) in &cases {
        let resp = raw_chat(&stack, &[("x-session-id", id)]);
        println!(
            "affinity id {what}: {} relay {:?} env {:?} body {:.120}",
            resp.status,
            resp.header("x-mock-relay"),
            resp.header("x-relay-environment"),
            resp.body_text()
        );
        if *what == "64 KiB" {
            // Over Envoy's max_request_headers_kb (60): its HTTP codec answers 431 before any
            // filter runs, so the filter never sees the request.
            assert_eq!(resp.status, 431, "{}", resp.body_text());
            // The bootstrap's local_reply_config gives it the OpenAI error shape.
            assert_relay_or_openai_error(what, resp.status, None, &resp.body);
            continue;
        }
        assert_eq!(resp.status, 200, "{what}: {}", resp.body_text());
        assert_relay_or_openai_error(what, resp.status, resp.header("x-mock-relay"), &resp.body);
        // An empty id counts as absent (the next affinity header, Envoy's generated
        // x-request-id, decides); any other is hashed as bytes, whatever they are.
        if !id.is_empty() {
            assert_eq!(resp.header("x-mock-relay"), Some(bucket_env(id)), "{what}");
        }
    }
    assert_no_trap(&stack.envoy);
    assert_relays_saw_only_their_own(&stack);
}

#[test]
fn repeated_headers_choose_nothing_and_do_not_survive() {
    let stack = start_client_side();
    let token = OVERRIDE_TOKEN.as_bytes();
    let cases: Vec<(&str, Headers)> = vec![
        (
            "two authorization",
            vec![
                ("x-session-id", b"dup-1"),
                ("authorization", b"Bearer sk-client-a"),
                ("authorization", b"Bearer sk-client-b"),
            ],
        ),
        (
            "two cluster headers",
            vec![
                ("x-session-id", b"dup-2"),
                ("x-relay-cluster", b"relay_green"),
                ("x-relay-cluster", b"relay_blue"),
            ],
        ),
        (
            "cluster header naming no cluster",
            vec![("x-session-id", b"dup-3"), ("x-relay-cluster", b"nope")],
        ),
        (
            "two override headers, no token",
            vec![
                ("x-session-id", b"dup-4"),
                ("x-relay-env", b"green"),
                ("x-relay-env", b"blue"),
            ],
        ),
        (
            "two override headers, token",
            vec![
                ("x-session-id", b"dup-5"),
                ("x-relay-env", b"green"),
                ("x-relay-env", b"blue"),
                ("x-relay-override-token", token),
            ],
        ),
        (
            "override, wrong token then right token",
            vec![
                ("x-session-id", b"dup-6"),
                ("x-relay-env", b"green"),
                ("x-relay-override-token", b"wrong"),
                ("x-relay-override-token", token),
            ],
        ),
        (
            "override, right token then wrong token",
            vec![
                ("x-session-id", b"dup-7"),
                ("x-relay-env", b"green"),
                ("x-relay-override-token", token),
                ("x-relay-override-token", b"wrong"),
            ],
        ),
    ];
    for (what, headers) in &cases {
        let resp = raw_chat(&stack, headers);
        println!(
            "{what}: {} relay {:?} env {:?} override {:?} (bucket of session: {})",
            resp.status,
            resp.header("x-mock-relay"),
            resp.header("x-relay-environment"),
            resp.header("x-relay-override"),
            bucket_env(headers[0].1),
        );
        assert_relay_or_openai_error(what, resp.status, resp.header("x-mock-relay"), &resp.body);
        // Envoy hands the filter the first of repeated values: the override counts only when
        // the first override header and the first token are both right; the cluster header
        // and authorization are overwritten whatever the client sent.
        let expected = match *what {
            "two override headers, token" | "override, right token then wrong token" => "green",
            _ => bucket_env(headers[0].1),
        };
        assert_eq!(resp.status, 200, "{what}: {}", resp.body_text());
        assert_eq!(resp.header("x-mock-relay"), Some(expected), "{what}");
    }
    assert_no_trap(&stack.envoy);
    assert_relays_saw_only_their_own(&stack);
}

/// A chat body of about `bytes` bytes for the catalog's gpt-4o-mini.
fn chat_body_of(bytes: usize) -> String {
    json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x".repeat(bytes)}]})
        .to_string()
}

fn relay_total(stack: &Stack) -> usize {
    stack.blue.requests().len() + stack.green.requests().len()
}

#[test]
fn bodies_over_the_limit_cut_short_or_sent_to_the_status() {
    let stack = start_client_side();

    // Chunked, no content-length, twice the limit: refused by the filter, no relay asked.
    let before = relay_total(&stack);
    let body = chat_body_of(BODY_LIMIT * 2);
    let mut request = raw_head(
        "POST",
        "/v1/chat/completions",
        &[
            ("x-session-id", b"big-1"),
            ("content-type", b"application/json"),
            ("transfer-encoding", b"chunked"),
        ],
    );
    request.extend_from_slice(&chunked(body.as_bytes(), 1000));
    let resp = raw_exchange(&stack.envoy.listen, &request).unwrap();
    println!(
        "chunked over the limit: {} {}",
        resp.status,
        resp.body_text()
    );
    assert_eq!(resp.status, 413, "{}", resp.body_text());
    assert_eq!(resp.json()["error"]["code"], "request_too_large");
    assert_relay_or_openai_error("chunked over the limit", resp.status, None, &resp.body);
    assert_eq!(relay_total(&stack), before, "a relay saw the refused body");

    // Chunked under the limit still goes through.
    let body = chat_body_of(BODY_LIMIT / 4);
    let mut request = raw_head(
        "POST",
        "/v1/chat/completions",
        &[
            ("x-session-id", b"small-1"),
            ("content-type", b"application/json"),
            ("transfer-encoding", b"chunked"),
        ],
    );
    request.extend_from_slice(&chunked(body.as_bytes(), 300));
    let resp = raw_exchange(&stack.envoy.listen, &request).unwrap();
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert!(resp.header("x-mock-relay").is_some());

    // A body that ends early: content-length promises 2,000 bytes, 40 arrive, the client goes.
    // Then a client that stops mid-chunk. Neither may leave anything behind.
    let mut partial = chat_head(&[("x-session-id", b"cut-1")], 2000);
    partial.extend_from_slice(&CHAT_BODY.as_bytes()[..40]);
    raw_send_and_close(&stack.envoy.listen, &partial).unwrap();
    let mut partial = raw_head(
        "POST",
        "/v1/chat/completions",
        &[
            ("x-session-id", b"cut-2"),
            ("content-type", b"application/json"),
            ("transfer-encoding", b"chunked"),
        ],
    );
    partial.extend_from_slice(b"400\r\n{\"model\":\"gpt-4o-mini\"");
    raw_send_and_close(&stack.envoy.listen, &partial).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    for r in stack.blue.requests().iter().chain(&stack.green.requests()) {
        assert!(
            r.header("x-session-id") != Some("cut-1") && r.header("x-session-id") != Some("cut-2"),
            "a cut body reached a relay: {r:?}"
        );
    }

    // The status path with a body: answered by the filter (status JSON or its error), never
    // passed to a relay.
    let before = relay_total(&stack);
    for method in ["GET", "POST"] {
        let mut request = raw_head(
            method,
            &bluegreen_relay::config::defaults::status_path(),
            &[
                ("content-type", b"application/json"),
                ("content-length", b"17"),
            ],
        );
        request.extend_from_slice(b"{\"weight\":100000}");
        let resp = raw_exchange(&stack.envoy.listen, &request).unwrap();
        println!(
            "{method} status with a body: {} {:.200}",
            resp.status,
            resp.body_text()
        );
        assert!(
            resp.header("x-mock-relay").is_none(),
            "{method}: a relay answered the status"
        );
        let parsed = resp.json();
        assert!(
            parsed["environments"].is_object() || parsed["error"]["message"].is_string(),
            "{method}: {}",
            resp.body_text()
        );
    }
    assert_eq!(
        relay_total(&stack),
        before,
        "the status request reached a relay"
    );

    // Envoy and the filter still serve.
    let resp = raw_chat(&stack, &[("x-session-id", b"after-1")]);
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_no_trap(&stack.envoy);
    assert_relays_saw_only_their_own(&stack);
}

/// 10,000 chat completions, each on its own TCP connection, from 4 threads: every one answered
/// 200 by the relay its session hashes to. Bounded in time (a loaded 2-core machine does this in
/// well under a minute).
#[test]
fn ten_thousand_requests_on_fresh_connections() {
    const REQUESTS: usize = 10_000;
    const THREADS: usize = 4;
    let stack = start(&config(5000));
    let started = Instant::now();
    let listen = stack.envoy.listen.clone();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let listen = listen.clone();
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    for i in (t..REQUESTS).step_by(THREADS) {
                        let id = format!("fresh-{i}");
                        let mut request =
                            chat_head(&[("x-session-id", id.as_bytes())], CHAT_BODY.len());
                        request.extend_from_slice(CHAT_BODY.as_bytes());
                        match raw_exchange(&listen, &request) {
                            Ok(resp)
                                if resp.status == 200
                                    && resp.header("x-mock-relay")
                                        == Some(bucket_env(id.as_bytes())) => {}
                            Ok(resp) => failures.push(format!(
                                "{id}: {} {:?} {:.200}",
                                resp.status,
                                resp.header("x-mock-relay"),
                                resp.body_text()
                            )),
                            Err(e) => failures.push(format!("{id}: {e}")),
                        }
                    }
                    failures
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let took = started.elapsed();
    println!(
        "{REQUESTS} fresh connections in {took:?}, {} failed",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failed, first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(took < Duration::from_secs(120), "took {took:?}");
    assert_eq!(stack.blue.total() + stack.green.total(), REQUESTS as u64);
    assert_no_trap(&stack.envoy);
}

const STREAM_BODY: &str = r#"{"model":"gpt-4.1","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#;

/// Everything to blue, gpt-4.1 in the catalog (so usage is counted by model).
fn relay_side_config() -> Value {
    let mut cfg = config(0);
    cfg["models"] = json!({
        "gpt-4.1": {"provider": "openai", "max_tokens": 128000, "supports_streaming": true}
    });
    cfg
}

/// One streamed completion with usage forced to 10 prompt / 5 completion tokens, sent to
/// `addr` (Envoy or a relay directly).
fn stream_from(addr: &str, session: &str) -> RawResp {
    let head = raw_head(
        "POST",
        "/v1/chat/completions",
        &[
            ("x-session-id", session.as_bytes()),
            ("x-mock-usage", b"10,5"),
            ("authorization", format!("Bearer {BLUE_KEY}").as_bytes()),
            ("content-type", b"application/json"),
            ("content-length", STREAM_BODY.len().to_string().as_bytes()),
        ],
    );
    let mut request = head;
    request.extend_from_slice(STREAM_BODY.as_bytes());
    raw_exchange(addr, &request).unwrap()
}

/// The body with each event's varying parts (answer id, creation time) blanked, so an answer
/// through Envoy compares byte for byte with one the relay gave directly.
fn shape(body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    let mut out = String::with_capacity(text.len());
    for part in text.split('"') {
        if part.starts_with("chatcmpl-") || part.starts_with(":17") || part.starts_with(":18") {
            out.push('#');
        } else {
            out.push_str(part);
        }
        out.push('"');
    }
    out.replace(char::is_numeric, "0").into_bytes()
}

fn blue_usage(stack: &Stack) -> Value {
    stack.status()["environments"]["blue"]["usage"].clone()
}

#[test]
fn broken_relay_streams_reach_the_client_whole_and_count_what_was_readable() {
    let stack = start(&relay_side_config());
    let cases = [
        ("1 MiB line", json!({"sse_long_line_bytes": 1 << 20})),
        ("malformed event", json!({"sse_malformed": true})),
        ("cut mid-event", json!({"sse_cut_after_events": 2})),
    ];
    for (i, (what, faults)) in cases.iter().enumerate() {
        // Each case alone: the mock's config is a patch, so the other faults are switched off.
        let mut patch =
            json!({"sse_long_line_bytes": 0, "sse_malformed": false, "sse_cut_after_events": 0});
        patch
            .as_object_mut()
            .unwrap()
            .extend(faults.as_object().unwrap().clone());
        stack.blue.set_config(&patch);
        let direct = stream_from(&stack.blue.listen, &format!("direct-{i}"));
        let before = blue_usage(&stack);
        let resp = stream_from(&stack.envoy.listen, &format!("fault-{i}"));
        let requests = i + 1;
        println!(
            "{what}: {} complete {} {} bytes (relay direct: complete {} {} bytes)",
            resp.status,
            resp.complete,
            resp.body.len(),
            direct.complete,
            direct.body.len()
        );
        assert_eq!(resp.status, 200, "{what}");
        assert_eq!(resp.header("x-mock-relay"), Some("blue"));
        // Every byte the relay sent, in order, and cut where the relay cut.
        assert_eq!(resp.body.len(), direct.body.len(), "{what}");
        assert!(
            shape(&resp.body) == shape(&direct.body),
            "{what}: the bytes differ"
        );
        assert_eq!(resp.complete, direct.complete, "{what}");
        let usage = stack.status_when(&format!("{what} counted"), |s| {
            s["environments"]["blue"]["usage"]["requests"] == requests
        })["environments"]["blue"]["usage"]
            .clone();
        let added = |field: &str| {
            usage["models"]["gpt-4.1"][field].as_u64().unwrap_or(0)
                - before["models"]["gpt-4.1"][field].as_u64().unwrap_or(0)
        };
        println!(
            "  usage added: prompt {} completion {}",
            added("prompt_tokens"),
            added("completion_tokens")
        );
        match *what {
            // The usage chunk comes after the faulty line: still read.
            "1 MiB line" | "malformed event" => {
                assert_eq!(
                    (added("prompt_tokens"), added("completion_tokens")),
                    (10, 5),
                    "{what}: {usage:#}"
                );
            }
            // Cut before the usage chunk: the answer is counted, no tokens made up.
            _ => assert_eq!(
                (added("prompt_tokens"), added("completion_tokens")),
                (0, 0),
                "{what}: {usage:#}"
            ),
        }
    }
    // The 1 MiB line was passed on unread and counted as skipped; the others were short.
    assert_eq!(
        stat(&stack.envoy, "bluegreen.blue.sse_lines_skipped"),
        Some(1)
    );
    assert_no_trap(&stack.envoy);
}

/// Green's status once every worker holds it out of routing (degraded or unhealthy).
fn green_degraded(stack: &Stack) -> Value {
    status_everywhere(
        &stack.envoy,
        "green not routable",
        Duration::from_secs(15),
        |s| {
            s["environments"]["green"]["routable"] == false
                && s["environments"]["green"]["health"] != "healthy"
        },
    )["environments"]["green"]
        .clone()
}

/// 20 chat completions on sessions spread over both buckets: none fails (the unhealthy green
/// gets none of them).
fn assert_no_client_failures(stack: &Stack, what: &str) {
    for i in 0..20 {
        let session = format!("probe-client-{i}");
        let resp = raw_chat(stack, &[("x-session-id", session.as_bytes())]);
        assert_eq!(resp.status, 200, "{what}: {session}: {}", resp.body_text());
        assert_eq!(
            resp.header("x-mock-relay"),
            Some("blue"),
            "{what}: {session}"
        );
    }
}

#[test]
fn probes_answered_with_html_empty_bodies_or_no_list_make_green_unhealthy() {
    let cases: [(&str, &[&str], Value, &str); 4] = [
        (
            "models as HTML",
            &["--models-body", "html"],
            json!({}),
            "200 from /v1/models is an HTML page, not an OpenAI model list",
        ),
        (
            "models empty",
            &["--models-body", "empty"],
            json!({}),
            "200 from /v1/models is an empty body, not an OpenAI model list",
        ),
        (
            "models not a list",
            &["--models-body", "not_list"],
            json!({}),
            "200 from /v1/models is JSON without a `data` list of models with ids",
        ),
        (
            "empty 200 to a model probe",
            &["--chat-body", "empty"],
            json!({"model_probes": ["gpt-4.1"]}),
            "200 without a completion from chat gpt-4.1",
        ),
    ];
    for (what, green_args, extra, failure) in cases {
        let mut cfg = with_health_check(config(5000), 400, 300);
        if let (Some(hc), Some(extra)) = (cfg["health_check"].as_object_mut(), extra.as_object()) {
            hc.extend(extra.clone());
        }
        let stack = start_with_relays(&cfg, &[], green_args);
        let green = green_degraded(&stack);
        println!("{what}: green {green}");
        assert_eq!(green["last_failure"], failure, "{what}: {green:#}");
        assert_no_client_failures(&stack, what);
        assert_no_trap(&stack.envoy);
    }
}

#[test]
fn a_relay_that_hangs_past_timeout_ms_is_unhealthy_and_gets_no_traffic() {
    let cfg = with_health_check(config(5000), 400, 300);
    let stack = start_with_relays(&cfg, &[], &["--hang-ms", "2000"]);
    let green = green_degraded(&stack);
    println!("hanging green: {green}");
    assert_eq!(green["last_failure"], "timeout on /v1/models", "{green:#}");
    assert_no_client_failures(&stack, "hanging green");

    // A live request to a relay that hangs, then closes without a byte.
    stack.blue.set_config(&json!({"hang_ms": 1500}));
    let started = Instant::now();
    let resp = raw_chat(&stack, &[("x-session-id", b"hang-live")]);
    println!(
        "live request to a hanging relay: {} after {:?}: {:?} {}",
        resp.status,
        started.elapsed(),
        resp.headers,
        resp.body_text()
    );
    // Not the filter's answer: Envoy's router replies 503 when the upstream closes before a
    // response head; the bootstrap's local_reply_config puts it in the OpenAI error shape, and
    // the filter passes it on (tagged with the environment it chose). The relay sent no byte,
    // so none is lost.
    assert_eq!(resp.status, 503, "{}", resp.body_text());
    assert_eq!(resp.header("x-relay-environment"), Some("blue"));
    assert_eq!(resp.header("content-type"), Some("application/json"));
    let error = &resp.json()["error"];
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("upstream connect error or disconnect/reset before headers"),
        "{error}"
    );
    assert_eq!(error["type"], "upstream_error", "{error}");

    // A relay slower than timeout_ms to its first byte on a live request: timeout_ms bounds
    // probes only, so the client waits and gets the whole answer.
    stack
        .blue
        .set_config(&json!({"hang_ms": 0, "first_byte_delay_ms": 800}));
    let started = Instant::now();
    let resp = raw_chat(&stack, &[("x-session-id", b"slow-live")]);
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert!(resp.complete && started.elapsed() >= Duration::from_millis(800));
    assert_eq!(
        resp.json()["object"],
        "chat.completion",
        "{}",
        resp.body_text()
    );
    assert_no_trap(&stack.envoy);
}
