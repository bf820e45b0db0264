//! Token usage and cost per environment and model, from JSON answers and from SSE streams cut at
//! random byte boundaries; time to first byte; and a slow stream passing through unbuffered.
//! Real Envoy, real wasm, mock relays.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

fn usage_config() -> Value {
    let mut cfg = config(5000);
    cfg["models"] = json!({
        "gpt-4.1": {"provider": "openai", "max_tokens": 128000, "supports_streaming": true,
                    "price_per_mtok": {"input": 2.00, "output": 8.00}},
        "claude-sonnet-4.5": {"provider": "anthropic", "max_tokens": 200000, "supports_streaming": true},
        "deepseek-v3.2": {"provider": "deepseek", "max_tokens": 64000, "supports_streaming": true,
                          "price_per_mtok": {"input": 0.28, "output": 0.42}}
    });
    cfg
}

fn session_for(env: &str, skip: usize) -> String {
    (0..)
        .map(|i| format!("user-{i}"))
        .filter(|id| expected_env(id, 5000) == env)
        .nth(skip)
        .unwrap_or_default()
}

/// One completion: JSON, or SSE (with or without the usage chunk), with forced usage numbers.
/// Over a fresh connection per request, so both Envoy workers count and the status (one worker)
/// must add up what both flushed.
fn ask(stack: &Stack, env: &str, n: usize, model: &str, mode: &str, usage: &str) {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    match mode {
        "json" => {}
        "sse" => {
            body["stream"] = json!(true);
            body["stream_options"] = json!({"include_usage": true});
        }
        "sse-no-usage" => body["stream"] = json!(true),
        other => panic!("mode {other}"),
    }
    let session = session_for(env, n);
    let resp = Http::fresh_connections(&stack.envoy.url()).post(
        "/v1/chat/completions",
        &[("x-session-id", &session), ("x-mock-usage", usage)],
        &body.to_string(),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.relay(), env);
    if mode != "json" {
        assert!(
            resp.body.ends_with("data: [DONE]\n\n"),
            "stream cut: {}",
            resp.body
        );
        assert_eq!(
            resp.body.contains("\"usage\":{"),
            mode == "sse",
            "{}",
            resp.body
        );
    }
}

#[test]
fn tokens_and_cost_per_environment_and_model() {
    let stack = start(&usage_config());
    for relay in [&stack.blue, &stack.green] {
        relay.set_config(&json!({"sse_split": "random", "seed": 11, "chunks": 6}));
    }
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    // blue: gpt-4.1 3 JSON (100/20) + 2 SSE (50/10); deepseek one stream without usage;
    // a model outside the catalog (5/5).
    for _ in 0..3 {
        ask(&stack, "blue", next(), "gpt-4.1", "json", "100,20");
    }
    for _ in 0..2 {
        ask(&stack, "blue", next(), "gpt-4.1", "sse", "50,10");
    }
    ask(
        &stack,
        "blue",
        next(),
        "deepseek-v3.2",
        "sse-no-usage",
        "9,9",
    );
    ask(&stack, "blue", next(), "mystery-model", "json", "5,5");
    // green: deepseek 1 JSON + 1 SSE (1000/500 each); claude 2 SSE (7/3), unpriced.
    ask(&stack, "green", next(), "deepseek-v3.2", "json", "1000,500");
    ask(&stack, "green", next(), "deepseek-v3.2", "sse", "1000,500");
    for _ in 0..2 {
        ask(&stack, "green", next(), "claude-sonnet-4.5", "sse", "7,3");
    }

    let status = stack.status_when("7 blue and 4 green answers counted", |s| {
        s["environments"]["blue"]["usage"]["requests"] == 7
            && s["environments"]["green"]["usage"]["requests"] == 4
    });
    let blue = &status["environments"]["blue"]["usage"];
    let green = &status["environments"]["green"]["usage"];
    // gpt-4.1: 400 prompt, 80 completion: 400 × 2 µ$ + 80 × 8 µ$ = 1440 µ$.
    assert_eq!(blue["models"]["gpt-4.1"]["requests"], 5, "{blue:#}");
    assert_eq!(blue["models"]["gpt-4.1"]["prompt_tokens"], 400);
    assert_eq!(blue["models"]["gpt-4.1"]["completion_tokens"], 80);
    assert_eq!(blue["models"]["gpt-4.1"]["cost_usd"], 0.00144);
    assert_eq!(blue["models"]["deepseek-v3.2"]["requests"], 1);
    assert_eq!(blue["models"]["deepseek-v3.2"]["prompt_tokens"], 0);
    assert_eq!(blue["models"]["other"]["requests"], 1);
    assert_eq!(blue["models"]["other"]["prompt_tokens"], 5);
    assert_eq!(blue["prompt_tokens"], 405);
    assert_eq!(blue["completion_tokens"], 85);
    assert_eq!(blue["total_tokens"], 490);
    assert_eq!(blue["cost_usd"], 0.00144);
    // 0.00144 USD / 7 answers × 1000.
    assert_eq!(blue["cost_per_1k_requests_usd"], 0.205714);
    // deepseek: 2000 × 0.28 µ$ + 1000 × 0.42 µ$ = 980 µ$.
    assert_eq!(
        green["models"]["deepseek-v3.2"]["prompt_tokens"], 2000,
        "{green:#}"
    );
    assert_eq!(green["models"]["deepseek-v3.2"]["completion_tokens"], 1000);
    assert_eq!(green["models"]["deepseek-v3.2"]["cost_usd"], 0.00098);
    assert_eq!(green["models"]["claude-sonnet-4.5"]["prompt_tokens"], 14);
    assert_eq!(green["models"]["claude-sonnet-4.5"]["cost_usd"], 0.0);
    assert_eq!(green["cost_usd"], 0.00098);
    assert_eq!(green["cost_per_1k_requests_usd"], 0.245);

    // The same numbers are Envoy stats (flushed on the filter's 200 ms timer).
    let wanted = [
        ("bluegreen.blue.model.gpt-4_1.requests", 5),
        ("bluegreen.blue.model.gpt-4_1.prompt_tokens", 400),
        ("bluegreen.blue.model.gpt-4_1.completion_tokens", 80),
        ("bluegreen.blue.model.gpt-4_1.cost_micro_usd", 1440),
        ("bluegreen.blue.model.deepseek-v3_2.requests", 1),
        ("bluegreen.blue.model.other.requests", 1),
        ("bluegreen.green.model.deepseek-v3_2.cost_micro_usd", 980),
        (
            "bluegreen.green.model.claude-sonnet-4_5.completion_tokens",
            6,
        ),
    ];
    poll_until(Duration::from_secs(5), || {
        wanted
            .iter()
            .all(|(name, value)| stat(&stack.envoy, name) == Some(*value))
            .then_some(())
    })
    .unwrap_or_else(|| {
        let got: Vec<_> = wanted
            .iter()
            .map(|(name, _)| (name, stat(&stack.envoy, name)))
            .collect();
        panic!("stats never matched: {got:?}")
    });
    // Unpriced models have no cost stat.
    assert_eq!(
        stat(
            &stack.envoy,
            "bluegreen.green.model.claude-sonnet-4_5.cost_micro_usd"
        ),
        None
    );

    // Time to first byte, per environment, as a histogram (merged on Envoy's stats flush).
    let line = poll_until(Duration::from_secs(12), || {
        stack
            .envoy
            .stats()
            .lines()
            .find(|l| l.contains("bluegreen.green.ttfb_ms: P0(") && !l.contains("nan"))
            .map(str::to_string)
    });
    println!("{line:?}");
    assert!(line.is_some(), "no ttfb histogram in /stats");
}

/// Reads an SSE answer over a raw connection, noting when each `data:` event arrived.
fn stream_arrivals(stack: &Stack, body: &str) -> (Vec<Duration>, String) {
    let mut conn = TcpStream::connect(&stack.envoy.listen).expect("connect to Envoy");
    conn.set_read_timeout(Some(Duration::from_secs(15))).ok();
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: relay\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(request.as_bytes()).expect("send");
    let started = Instant::now();
    let (mut seen, mut arrivals, mut buf) = (Vec::new(), Vec::new(), [0u8; 4096]);
    loop {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let at = started.elapsed();
                let before = count(&seen, b"data:");
                seen.extend_from_slice(&buf[..n]);
                for _ in before..count(&seen, b"data:") {
                    arrivals.push(at);
                }
                if seen.windows(14).any(|w| w == b"data: [DONE]\n\n") {
                    break;
                }
            }
        }
    }
    (arrivals, String::from_utf8_lossy(&seen).into_owned())
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

#[test]
fn a_slow_stream_is_passed_on_as_it_arrives() {
    let stack = start(&usage_config());
    for relay in [&stack.blue, &stack.green] {
        relay.set_config(&json!({"chunk_delay_ms": 300, "chunks": 4}));
    }
    let body = r#"{"model":"gpt-4.1","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#;
    let (arrivals, text) = stream_arrivals(&stack, body);
    // 4 content chunks, the usage chunk and [DONE], each 300 ms after the previous.
    assert_eq!(arrivals.len(), 6, "{text}");
    let gaps: Vec<u128> = arrivals
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect();
    println!("gaps between events at the client: {gaps:?} ms");
    assert!(
        gaps.iter().all(|gap| *gap > 150),
        "events were held back and arrived together: gaps {gaps:?} ms"
    );
    // And the stream still counted (usage parsed on the way through).
    stack.status_when("the streamed answer counted", |s| {
        ["blue", "green"].iter().any(|env| {
            s["environments"][env]["usage"]["models"]["gpt-4.1"]["requests"] == 1
                && s["environments"][env]["usage"]["models"]["gpt-4.1"]["completion_tokens"]
                    .as_u64()
                    .is_some_and(|n| n > 0)
        })
    });
}
