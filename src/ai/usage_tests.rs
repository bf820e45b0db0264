use super::*;

const CHUNK_1: &str = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}],"usage":null}"#;
const CHUNK_2: &str = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1","choices":[{"index":0,"delta":{"content":"lo \"usage\""},"finish_reason":"stop"}],"usage":null}"#;
const USAGE: &str = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46,"prompt_tokens_details":{"cached_tokens":0}}}"#;

fn stream(prefix: &str, newline: &str, with_usage: bool) -> String {
    let mut out = String::new();
    let mut event = |data: &str| {
        out.push_str(prefix);
        out.push_str(data);
        out.push_str(newline);
        out.push_str(newline);
    };
    event(CHUNK_1);
    event(CHUNK_2);
    if with_usage {
        event(USAGE);
    }
    event("[DONE]");
    out
}

fn expected(with_usage: bool) -> Seen {
    Seen {
        model: Some("gpt-4.1".to_string()),
        usage: with_usage.then_some(Usage {
            prompt_tokens: 12,
            completion_tokens: 34,
        }),
    }
}

fn feed_pieces(pieces: &[&[u8]]) -> Seen {
    let mut parser = SseUsage::new();
    for piece in pieces {
        parser.feed(piece);
    }
    parser.finish()
}

/// splitmix64, so a failing split can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn variants() -> Vec<(String, Seen)> {
    let mut out = Vec::new();
    for prefix in ["data: ", "data:"] {
        for newline in ["\n", "\r\n", "\r"] {
            for with_usage in [true, false] {
                out.push((stream(prefix, newline, with_usage), expected(with_usage)));
            }
        }
    }
    out
}

#[test]
fn whole_stream_in_one_piece() {
    for (text, want) in variants() {
        assert_eq!(feed_pieces(&[text.as_bytes()]), want, "{text:?}");
    }
}

#[test]
fn every_split_point_in_two_pieces() {
    for (text, want) in variants() {
        let bytes = text.as_bytes();
        for at in 0..=bytes.len() {
            let (a, b) = bytes.split_at(at);
            assert_eq!(feed_pieces(&[a, b]), want, "split at {at} of {text:?}");
        }
    }
}

#[test]
fn every_pair_of_split_points_in_three_pieces() {
    // Short events keep the quadratic number of cases small.
    let text = "data: {\"model\":\"m\",\"choices\":[]}\r\n\r\n: ping\r\n\
                data:{\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":3}}\r\n\r\n\
                data: [DONE]\r\n\r\n";
    let bytes = text.as_bytes();
    let want = Seen {
        model: Some("m".to_string()),
        usage: Some(Usage {
            prompt_tokens: 2,
            completion_tokens: 3,
        }),
    };
    for i in 0..=bytes.len() {
        for j in i..=bytes.len() {
            let got = feed_pieces(&[&bytes[..i], &bytes[i..j], &bytes[j..]]);
            assert_eq!(got, want, "splits at {i} and {j}");
        }
    }
}

#[test]
fn byte_by_byte_and_random_pieces() {
    for (text, want) in variants() {
        let bytes = text.as_bytes();
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(feed_pieces(&singles), want, "byte by byte: {text:?}");
        let mut rng = Rng(7);
        for n in 1..=bytes.len().min(64) {
            let mut cuts: Vec<usize> = (0..n - 1)
                .map(|_| (rng.next() % (bytes.len() as u64 + 1)) as usize)
                .collect();
            cuts.push(0);
            cuts.push(bytes.len());
            cuts.sort_unstable();
            let pieces: Vec<&[u8]> = cuts.windows(2).map(|w| &bytes[w[0]..w[1]]).collect();
            assert_eq!(feed_pieces(&pieces), want, "{n} pieces at {cuts:?}");
        }
    }
}

#[test]
fn done_and_garbage_lines_are_ignored() {
    let text = format!(
        ": keep-alive\n\nevent: ping\ndata: {{not json\n\nretry: 10\nid: 5\ndata\n\
         \u{1}\u{2}binary\u{7f}\n\ndata: [DONE]\ndata: {CHUNK_1}\n\ndata: 42\n\
         data: {USAGE}\n\ndata: [DONE]\n\n"
    );
    assert_eq!(feed_pieces(&[text.as_bytes()]), expected(true));
    assert_eq!(feed_pieces(&[b"data: [DONE]\n\n"]), Seen::default());
    assert_eq!(feed_pieces(&[b""]), Seen::default());
}

#[test]
fn usage_null_does_not_count_and_last_usage_wins() {
    let running = r#"{"model":"m","usage":{"prompt_tokens":5,"completion_tokens":1}}"#;
    let last = r#"{"model":"m","usage":{"prompt_tokens":5,"completion_tokens":9}}"#;
    let text = format!("data: {running}\n\ndata: {last}\n\ndata: {{\"usage\":null}}\n\n");
    let seen = feed_pieces(&[text.as_bytes()]);
    assert_eq!(
        seen.usage,
        Some(Usage {
            prompt_tokens: 5,
            completion_tokens: 9
        })
    );
    assert_eq!(seen.model.as_deref(), Some("m"));
}

#[test]
fn overlong_lines_are_dropped_and_counted_without_losing_the_next_line() {
    let long = format!("data: {{\"x\":\"{}\"}}\n\n", "a".repeat(MAX_LINE * 2));
    let text = format!("{long}data: {USAGE}\n\n");
    let bytes = text.as_bytes();
    for size in [1000, 4096, MAX_LINE + 1, bytes.len()] {
        let pieces: Vec<&[u8]> = bytes.chunks(size).collect();
        let mut parser = SseUsage::new();
        for piece in &pieces {
            parser.feed(piece);
            assert!(parser.partial.len() <= MAX_LINE, "holds one bounded line");
        }
        assert_eq!(parser.skipped_lines(), 1, "pieces of {size}");
        assert_eq!(
            parser.finish().usage,
            expected(true).usage,
            "pieces of {size}"
        );
    }
}

#[test]
fn a_mebibyte_usage_line_is_skipped_however_it_arrives() {
    let padding = "a".repeat(1 << 20);
    let line = format!(
        "data: {{\"model\":\"m\",\"x\":\"{padding}\",\"usage\":{{\"prompt_tokens\":1,\"completion_tokens\":1}}}}\r\n"
    );
    let text = format!("{line}\r\n: {padding}\r\ndata: {CHUNK_1}\r\n\r\n");
    for size in [1, 777, MAX_LINE, text.len()] {
        let mut parser = SseUsage::new();
        for piece in text.as_bytes().chunks(size) {
            parser.feed(piece);
            assert!(parser.partial.len() <= MAX_LINE);
        }
        // The comment line is as long, but not data: not counted.
        assert_eq!(parser.skipped_lines(), 1, "pieces of {size}");
        let seen = parser.finish();
        assert_eq!(seen.model.as_deref(), Some("gpt-4.1"), "pieces of {size}");
        assert_eq!(seen.usage, None, "pieces of {size}");
    }
    let exact = format!("data: {}\n", " ".repeat(MAX_LINE - 6));
    let mut parser = SseUsage::new();
    parser.feed(exact.as_bytes());
    assert_eq!(
        parser.skipped_lines(),
        0,
        "a line of exactly MAX_LINE is read"
    );
}

#[test]
fn model_comes_from_the_first_chunk_that_names_one() {
    let text = "data: {\"choices\":[]}\n\ndata: {\"model\":\"first\"}\n\n\
                data: {\"model\":\"second\",\"usage\":{\"prompt_tokens\":1}}\n\n";
    let seen = feed_pieces(&[text.as_bytes()]);
    assert_eq!(seen.model.as_deref(), Some("first"));
    assert_eq!(
        seen.usage,
        Some(Usage {
            prompt_tokens: 1,
            completion_tokens: 0
        })
    );
    // A chunk whose usage is unreadable says nothing, its model included.
    let text = "data: {\"model\":\"bad\",\"usage\":7}\n\ndata: {\"model\":\"good\"}\n\n";
    assert_eq!(
        feed_pieces(&[text.as_bytes()]).model.as_deref(),
        Some("good")
    );
}

#[test]
fn non_data_lines_are_not_held() {
    let mut parser = SseUsage::new();
    parser.feed(b"event: a-very-long-event-name-that-is-not-data");
    assert!(parser.partial.is_empty());
    parser.feed(b"-still-not-data\ndata: ");
    assert_eq!(parser.partial, b"data: ");
}

#[test]
fn json_body_usage_and_model() {
    let body = br#"{"id":"chatcmpl-9","object":"chat.completion","model":"claude-sonnet-4.5",
        "choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],
        "usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}"#;
    assert_eq!(
        from_json_body(body),
        Seen {
            model: Some("claude-sonnet-4.5".to_string()),
            usage: Some(Usage {
                prompt_tokens: 7,
                completion_tokens: 3
            }),
        }
    );
    assert_eq!(
        from_json_body(br#"{"model":"m"}"#),
        Seen {
            model: Some("m".to_string()),
            usage: None
        }
    );
    assert_eq!(from_json_body(b"not json"), Seen::default());
    assert_eq!(from_json_body(b"[1,2]"), Seen::default());
}

#[test]
fn json_body_is_read_strictly() {
    let seen = |body: &str| from_json_body(body.as_bytes());
    assert_eq!(
        seen(r#"{"model":"gpt\u002d4"}"#).model.as_deref(),
        Some("gpt-4")
    );
    assert_eq!(
        seen(r#"{"model":null,"usage":{"prompt_tokens":null,"completion_tokens":3,"x":[1]}}"#),
        Seen {
            model: None,
            usage: Some(Usage {
                prompt_tokens: 0,
                completion_tokens: 3
            }),
        }
    );
    for unreadable in [
        r#"{"model":"m","model":"n"}"#,
        r#"{"model":"m","usage":[1,2]}"#,
        r#"{"model":"m","usage":{"prompt_tokens":1.5}}"#,
        r#"{"model":"m","usage":{"prompt_tokens":-1}}"#,
        r#"{"model":"m","usage":{"prompt_tokens":1,"prompt_tokens":2}}"#,
        r#"{"model":7}"#,
        r#"{"model":"m"} x"#,
        r#"["m", {"prompt_tokens": 1, "completion_tokens": 2}]"#,
        r#"{"model":"m","usage":[1,2]}"#,
        r#"{"model":"m","usage":{"prompt_tokens":"1"}}"#,
        r#"{"model":"m","usage":{"prompt_tokens":18446744073709551616}}"#,
    ] {
        assert_eq!(seen(unreadable), Seen::default(), "{unreadable}");
    }
}
