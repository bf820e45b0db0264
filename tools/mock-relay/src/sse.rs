//! Server-sent-event rendering of a streamed answer.

use bytes::Bytes;
use serde_json::Value;

use crate::openai::Answer;

/// The terminator OpenAI sends after the last data chunk.
pub const DONE: &[u8] = b"data: [DONE]\n\n";

/// `data: <json>\n\n`
pub fn event(data: &Value) -> Bytes {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"data: ");
    // Writing a Value into a Vec cannot fail, so nothing is lost by ignoring the result.
    let _ = serde_json::to_writer(&mut out, data);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// Cuts `text` into `parts` pieces (by chars) whose concatenation is `text`,
/// so a streamed answer says exactly what the non-streamed one does.
pub fn split_text(text: &str, parts: usize) -> Vec<&str> {
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let chars = bounds.len() - 1;
    (0..parts)
        .map(|i| {
            let start = bounds[i * chars / parts];
            let end = bounds[(i + 1) * chars / parts];
            &text[start..end]
        })
        .collect()
}

/// All events of a streamed answer: `chunks` content chunks, the usage chunk
/// if `send_usage`, then `[DONE]`.
pub fn answer_events(answer: &Answer, chunks: u32, send_usage: bool) -> Vec<Bytes> {
    let pieces = split_text(&answer.content, chunks as usize);
    let last = pieces.len().saturating_sub(1);
    let mut events: Vec<Bytes> = pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| event(&answer.chunk(piece, i == 0, i == last, send_usage)))
        .collect();
    if send_usage {
        events.push(event(&answer.usage_chunk()));
    }
    events.push(Bytes::from_static(DONE));
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::CompletionKind;
    use crate::usage::Usage;

    fn parse(event: &Bytes) -> Value {
        let text = std::str::from_utf8(event).unwrap();
        let json = text
            .strip_prefix("data: ")
            .unwrap()
            .strip_suffix("\n\n")
            .unwrap();
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn event_is_one_data_line_and_blank_line() {
        let e = event(&serde_json::json!({"a":1}));
        assert_eq!(&e[..], b"data: {\"a\":1}\n\n");
    }

    #[test]
    fn split_text_reassembles() {
        for parts in 1..20 {
            let pieces = split_text("Hello from blüe", parts);
            assert_eq!(pieces.len(), parts);
            assert_eq!(pieces.concat(), "Hello from blüe");
        }
        assert!(split_text("abc", 0).is_empty());
    }

    #[test]
    fn stream_with_usage() {
        let answer = Answer::new(
            CompletionKind::Chat,
            1,
            1,
            "gpt-4.1",
            "green",
            Usage::new(2, 8),
        );
        let events = answer_events(&answer, 3, true);
        assert_eq!(events.len(), 5);
        let content: String = events[..3]
            .iter()
            .map(|e| {
                parse(e)["choices"][0]["delta"]["content"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(content, "Hello from green");
        assert_eq!(
            parse(&events[0])["choices"][0]["delta"]["role"],
            "assistant"
        );
        assert_eq!(parse(&events[2])["choices"][0]["finish_reason"], "stop");
        assert_eq!(parse(&events[3])["usage"]["total_tokens"], 10);
        assert_eq!(&events[4][..], DONE);
    }

    #[test]
    fn stream_without_usage() {
        let answer = Answer::new(CompletionKind::Text, 1, 1, "m", "b", Usage::new(1, 1));
        let events = answer_events(&answer, 2, false);
        assert_eq!(events.len(), 3);
        assert!(parse(&events[0]).get("usage").is_none());
        assert_eq!(parse(&events[0])["object"], "text_completion");
        assert_eq!(&events[2][..], DONE);
    }
}
