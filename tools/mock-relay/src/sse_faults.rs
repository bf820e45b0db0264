//! Broken streams on purpose: an over-long line, a malformed event, a connection
//! cut mid-event. Applied to a stream's events before they are cut into frames.

use bytes::{BufMut, Bytes, BytesMut};

use crate::config::Config;

/// An event whose JSON stops in the middle of a value.
pub const MALFORMED: &[u8] = b"data: {\"id\": oops\n\n";

/// `data: ` then `bytes` bytes of `x` (no JSON at all), then the blank line.
pub fn long_line(bytes: usize) -> Bytes {
    let mut out = BytesMut::with_capacity(bytes + 8);
    out.put_slice(b"data: ");
    out.put_bytes(b'x', bytes);
    out.put_slice(b"\n\n");
    out.freeze()
}

/// Puts the configured faults into `events`, whose first `content_chunks` are the
/// content chunks (then the usage chunk, if any, and `[DONE]`). The long line goes
/// right after the content chunks, so before the usage chunk; the malformed event
/// right after the first content chunk. Returns true when the stream must end by
/// cutting the connection: the events were then truncated to `sse_cut_after_events`
/// (counting the inserted ones), the last of them cut to its first half.
pub fn apply(events: &mut Vec<Bytes>, content_chunks: usize, config: &Config) -> bool {
    let content_chunks = content_chunks.min(events.len());
    if config.sse_long_line_bytes > 0 {
        let bytes = usize::try_from(config.sse_long_line_bytes).unwrap_or(usize::MAX);
        events.insert(content_chunks, long_line(bytes));
    }
    if config.sse_malformed {
        events.insert(content_chunks.min(1), Bytes::from_static(MALFORMED));
    }
    let cut_after = usize::try_from(config.sse_cut_after_events).unwrap_or(usize::MAX);
    if cut_after == 0 || events.is_empty() {
        return false;
    }
    events.truncate(cut_after);
    if let Some(last) = events.last_mut() {
        *last = last.slice(..(last.len() / 2).max(1));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events() -> Vec<Bytes> {
        ["c1", "c2", "c3", "usage", "[DONE]"]
            .iter()
            .map(|e| Bytes::from(format!("data: {e}\n\n")))
            .collect()
    }

    fn texts(events: &[Bytes]) -> Vec<String> {
        events
            .iter()
            .map(|e| String::from_utf8_lossy(e).into_owned())
            .collect()
    }

    #[test]
    fn no_faults_leave_the_stream_alone() {
        let mut all = events();
        assert!(!apply(&mut all, 3, &Config::default()));
        assert_eq!(all, events());
    }

    #[test]
    fn long_line_goes_before_the_usage_chunk() {
        let config = Config {
            sse_long_line_bytes: 1 << 20,
            ..Config::default()
        };
        let mut all = events();
        apply(&mut all, 3, &config);
        assert_eq!(all.len(), 6);
        assert_eq!(all[3].len(), (1 << 20) + 8);
        assert!(all[3].starts_with(b"data: xxx") && all[3].ends_with(b"x\n\n"));
        assert_eq!(all[4], events()[3]);
        assert_eq!(long_line(3), Bytes::from_static(b"data: xxx\n\n"));
    }

    #[test]
    fn malformed_event_follows_the_first_chunk() {
        let config = Config {
            sse_malformed: true,
            ..Config::default()
        };
        let mut all = events();
        apply(&mut all, 3, &config);
        assert_eq!(texts(&all)[1], "data: {\"id\": oops\n\n");
        assert_eq!(all.len(), 6);
        let line = std::str::from_utf8(&MALFORMED[6..MALFORMED.len() - 2]).unwrap();
        assert!(serde_json::from_str::<serde_json::Value>(line).is_err());
    }

    #[test]
    fn cut_keeps_whole_events_then_half_of_the_last() {
        let config = Config {
            sse_cut_after_events: 2,
            ..Config::default()
        };
        let mut all = events();
        assert!(apply(&mut all, 3, &config));
        assert_eq!(texts(&all), ["data: c1\n\n", "data:"]);

        // Counting the inserted events; a count past the end cuts [DONE].
        let config = Config {
            sse_cut_after_events: 99,
            sse_malformed: true,
            ..Config::default()
        };
        let mut all = events();
        assert!(apply(&mut all, 3, &config));
        assert_eq!(all.len(), 6);
        assert_eq!(texts(&all)[5], "data: [");
    }
}
