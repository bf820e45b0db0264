//! Token usage the mock reports: a cheap, predictable stand-in for a tokenizer,
//! so tests can compute the expected numbers from the request alone.

use serde::Serialize;
use serde_json::Value;

use crate::openai::CompletionKind;

/// Completion tokens reported unless the request asks for fewer.
pub const DEFAULT_COMPLETION_TOKENS: u64 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

impl Usage {
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Usage {
        Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens.saturating_add(completion_tokens),
        }
    }

    /// prompt = ceil(prompt bytes / 4), at least 1; completion = `forced_completion`
    /// if given (a relay that stops early), else min(max tokens asked, 8).
    pub fn for_request(
        request: &Value,
        kind: CompletionKind,
        forced_completion: Option<u64>,
    ) -> Usage {
        let prompt = prompt_bytes(request, kind).div_ceil(4).max(1);
        let completion = forced_completion.unwrap_or_else(|| {
            ["max_tokens", "max_completion_tokens"]
                .iter()
                .filter_map(|key| request.get(key).and_then(Value::as_u64))
                .fold(DEFAULT_COMPLETION_TOKENS, u64::min)
        });
        Usage::new(prompt, completion)
    }

    /// Parses the `x-mock-usage: P,C` override header.
    pub fn from_override(header: &str) -> Option<Usage> {
        let (prompt, completion) = header.split_once(',')?;
        Some(Usage::new(
            prompt.trim().parse().ok()?,
            completion.trim().parse().ok()?,
        ))
    }
}

/// Bytes of prompt text: `messages[].content` (a string, or the `text` of its parts)
/// for chat, `prompt` (a string or a list of strings) for text completions.
fn prompt_bytes(request: &Value, kind: CompletionKind) -> u64 {
    let text_len = |v: &Value| v.as_str().map_or(0, |s| s.len() as u64);
    match kind {
        CompletionKind::Chat => request
            .get("messages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|message| message.get("content"))
            .map(|content| match content {
                Value::Array(parts) => parts
                    .iter()
                    .filter_map(|part| part.get("text"))
                    .map(text_len)
                    .sum(),
                other => text_len(other),
            })
            .sum(),
        CompletionKind::Text => match request.get("prompt") {
            Some(Value::Array(prompts)) => prompts.iter().map(text_len).sum(),
            Some(prompt) => text_len(prompt),
            None => 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chat_prompt_tokens_round_up_over_all_messages() {
        // 5 + 4 = 9 bytes -> ceil(9 / 4) = 3
        let req = json!({"model":"m","messages":[
            {"role":"system","content":"hello"},
            {"role":"user","content":"abcd"}
        ]});
        assert_eq!(
            Usage::for_request(&req, CompletionKind::Chat, None),
            Usage::new(3, 8)
        );
    }

    #[test]
    fn content_parts_are_counted() {
        let req = json!({"messages":[{"role":"user","content":[
            {"type":"text","text":"12345678"},
            {"type":"image_url","image_url":{"url":"x"}}
        ]}]});
        assert_eq!(
            Usage::for_request(&req, CompletionKind::Chat, None).prompt_tokens,
            2
        );
    }

    #[test]
    fn empty_prompt_is_one_token() {
        let req = json!({"model":"m","messages":[]});
        assert_eq!(
            Usage::for_request(&req, CompletionKind::Chat, None).prompt_tokens,
            1
        );
        assert_eq!(
            Usage::for_request(&json!({}), CompletionKind::Text, None).prompt_tokens,
            1
        );
    }

    #[test]
    fn text_prompt_string_or_list() {
        let one = json!({"prompt":"123456789"});
        let many = json!({"prompt":["1234","56789"]});
        assert_eq!(
            Usage::for_request(&one, CompletionKind::Text, None).prompt_tokens,
            3
        );
        assert_eq!(
            Usage::for_request(&many, CompletionKind::Text, None).prompt_tokens,
            3
        );
    }

    #[test]
    fn completion_tokens_capped_by_smaller_max() {
        let kind = CompletionKind::Chat;
        assert_eq!(
            Usage::for_request(&json!({"max_tokens":5}), kind, None).completion_tokens,
            5
        );
        assert_eq!(
            Usage::for_request(&json!({"max_tokens":500}), kind, None).completion_tokens,
            8
        );
        assert_eq!(
            Usage::for_request(&json!({"max_completion_tokens":2}), kind, None).completion_tokens,
            2
        );
    }

    #[test]
    fn forced_completion_tokens_ignore_max_tokens() {
        let req = json!({"max_tokens": 5, "messages": []});
        assert_eq!(
            Usage::for_request(&req, CompletionKind::Chat, Some(1)),
            Usage::new(1, 1)
        );
        assert_eq!(
            Usage::for_request(&json!({}), CompletionKind::Text, Some(500)).completion_tokens,
            500
        );
    }

    #[test]
    fn total_is_sum() {
        assert_eq!(Usage::new(10, 4).total_tokens, 14);
    }

    #[test]
    fn override_header() {
        assert_eq!(Usage::from_override("100, 20"), Some(Usage::new(100, 20)));
        assert_eq!(Usage::from_override("7,0"), Some(Usage::new(7, 0)));
        assert_eq!(Usage::from_override("7"), None);
        assert_eq!(Usage::from_override("a,b"), None);
        assert_eq!(Usage::from_override("-1,2"), None);
    }
}
