//! Streaming is never held back: the time to first byte and the spacing of a slow SSE answer,
//! through Envoy with the filter (catalog on, so the usage parser reads every chunk) and through
//! the same Envoy without it. The figures are printed; only the order of events is asserted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

const CHUNK_DELAY_MS: u64 = 200;
const CHUNKS: usize = 4;
const ROUNDS: usize = 3;
const BODY: &str = r#"{"model":"gpt-4.1","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#;

/// Arrival time of each SSE event of one streamed answer, from the end of the request.
fn event_arrivals(listen: &str) -> Vec<Duration> {
    let mut conn = TcpStream::connect(listen).expect("connect to Envoy");
    conn.set_read_timeout(Some(Duration::from_secs(15))).ok();
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: relay\r\nx-session-id: stream-test\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    conn.write_all(request.as_bytes()).expect("send");
    let started = Instant::now();
    let (mut seen, mut arrivals, mut buf) = (Vec::<u8>::new(), Vec::new(), [0u8; 4096]);
    while let Ok(n) = conn.read(&mut buf) {
        if n == 0 {
            break;
        }
        let before = seen.windows(5).filter(|w| w == b"data:").count();
        seen.extend_from_slice(&buf[..n]);
        let now = seen.windows(5).filter(|w| w == b"data:").count();
        arrivals.extend(std::iter::repeat_n(started.elapsed(), now - before));
    }
    arrivals
}

fn median(mut values: Vec<u128>) -> u128 {
    values.sort_unstable();
    values[values.len() / 2]
}

/// Median time to the first event and median gap between events over [`ROUNDS`] answers.
fn measure(listen: &str) -> (u128, u128) {
    let (mut firsts, mut gaps) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let arrivals = event_arrivals(listen);
        // The content chunks, the usage chunk and [DONE].
        assert_eq!(arrivals.len(), CHUNKS + 2, "events of one answer");
        let spacing: Vec<u128> = arrivals
            .windows(2)
            .map(|w| (w[1] - w[0]).as_millis())
            .collect();
        assert!(
            spacing
                .iter()
                .all(|gap| *gap > u128::from(CHUNK_DELAY_MS) / 2),
            "events arrived together (held back): {spacing:?} ms"
        );
        firsts.push(arrivals[0].as_millis());
        gaps.extend(spacing);
    }
    (median(firsts), median(gaps))
}

#[test]
fn time_to_first_byte_is_the_same_with_and_without_the_filter() {
    let mut config = config(0);
    config["models"] = json!({"gpt-4.1": {"provider": "openai", "max_tokens": 128000,
        "supports_streaming": true, "price_per_mtok": {"input": 2.0, "output": 8.0}}});
    let with_filter = start(&config);
    let relay_args = json!({"chunk_delay_ms": CHUNK_DELAY_MS, "chunks": CHUNKS});
    with_filter.blue.set_config(&relay_args);
    let without_filter = Envoy::start(
        &template("no-filter.yaml"),
        &[
            ("BLUE_ADDR", with_filter.blue.host().to_string()),
            ("BLUE_PORT", with_filter.blue.port().to_string()),
        ],
        &[],
        2,
    )
    .unwrap_or_else(|exit| panic!("plain Envoy did not start: {exit:?}"));

    let (first_with, gap_with) = measure(&with_filter.envoy.listen);
    let (first_without, gap_without) = measure(&without_filter.listen);
    println!(
        "slow SSE answer ({CHUNKS} chunks, {CHUNK_DELAY_MS} ms apart), medians of {ROUNDS}: \
         first event {first_with} ms with the filter, {first_without} ms without; \
         gap between events {gap_with} ms with, {gap_without} ms without"
    );
}
