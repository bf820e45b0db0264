//! OpenAI-shaped JSON bodies: completions, stream chunks and errors.

use serde_json::{json, Value};

use crate::usage::Usage;

/// Which completion endpoint is answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionKind {
    /// `/v1/chat/completions`
    Chat,
    /// `/v1/completions`
    Text,
}

/// OpenAI's error envelope.
pub fn error_body(message: &str, error_type: &str, code: Option<&str>) -> Value {
    json!({
        "error": { "message": message, "type": error_type, "param": null, "code": code }
    })
}

/// The `error.type` OpenAI uses for a status class.
pub fn error_type_for(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        500.. => "server_error",
        _ => "invalid_request_error",
    }
}

/// Everything that is the same in every piece of one answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub kind: CompletionKind,
    pub id: String,
    pub created: u64,
    pub model: String,
    pub content: String,
    pub usage: Usage,
}

impl Answer {
    pub fn new(
        kind: CompletionKind,
        number: u64,
        created: u64,
        model: &str,
        relay: &str,
        usage: Usage,
    ) -> Answer {
        let prefix = match kind {
            CompletionKind::Chat => "chatcmpl",
            CompletionKind::Text => "cmpl",
        };
        Answer {
            kind,
            id: format!("{prefix}-mock-{number}"),
            created,
            model: model.to_string(),
            content: format!("Hello from {relay}"),
            usage,
        }
    }

    /// The non-streaming response body.
    pub fn completion(&self) -> Value {
        let choice = match self.kind {
            CompletionKind::Chat => json!({
                "index": 0,
                "message": { "role": "assistant", "content": self.content },
                "logprobs": null,
                "finish_reason": "stop",
            }),
            CompletionKind::Text => json!({
                "index": 0,
                "text": self.content,
                "logprobs": null,
                "finish_reason": "stop",
            }),
        };
        let mut body = self.envelope(self.object_name(false), vec![choice]);
        body["usage"] = json!(self.usage);
        body
    }

    /// One streamed content chunk. Like OpenAI, chunks carry `"usage": null`
    /// when a usage chunk will follow.
    pub fn chunk(&self, piece: &str, first: bool, last: bool, usage_follows: bool) -> Value {
        let finish_reason = if last { json!("stop") } else { Value::Null };
        let choice = match self.kind {
            CompletionKind::Chat => {
                let delta = if first {
                    json!({ "role": "assistant", "content": piece })
                } else {
                    json!({ "content": piece })
                };
                json!({
                    "index": 0,
                    "delta": delta,
                    "logprobs": null,
                    "finish_reason": finish_reason,
                })
            }
            CompletionKind::Text => {
                json!({
                    "index": 0,
                    "text": piece,
                    "logprobs": null,
                    "finish_reason": finish_reason,
                })
            }
        };
        let mut body = self.envelope(self.object_name(true), vec![choice]);
        if usage_follows {
            body["usage"] = Value::Null;
        }
        body
    }

    /// The last data chunk of a stream that reports usage: no choices, just usage.
    pub fn usage_chunk(&self) -> Value {
        let mut body = self.envelope(self.object_name(true), Vec::new());
        body["usage"] = json!(self.usage);
        body
    }

    fn object_name(&self, streaming: bool) -> &'static str {
        match (self.kind, streaming) {
            (CompletionKind::Chat, false) => "chat.completion",
            (CompletionKind::Chat, true) => "chat.completion.chunk",
            (CompletionKind::Text, _) => "text_completion",
        }
    }

    fn envelope(&self, object: &str, choices: Vec<Value>) -> Value {
        json!({
            "id": self.id,
            "object": object,
            "created": self.created,
            "model": self.model,
            "choices": choices,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(kind: CompletionKind) -> Answer {
        Answer::new(kind, 7, 1, "gpt-4.1", "blue", Usage::new(3, 8))
    }

    #[test]
    fn chat_completion_shape() {
        let body = answer(CompletionKind::Chat).completion();
        assert_eq!(body["id"], "chatcmpl-mock-7");
        assert_eq!(body["object"], "chat.completion");
        assert_eq!(body["choices"][0]["message"]["role"], "assistant");
        assert_eq!(body["choices"][0]["message"]["content"], "Hello from blue");
        assert_eq!(body["choices"][0]["finish_reason"], "stop");
        assert_eq!(body["usage"]["total_tokens"], 11);
    }

    #[test]
    fn text_completion_shape() {
        let body = answer(CompletionKind::Text).completion();
        assert_eq!(body["id"], "cmpl-mock-7");
        assert_eq!(body["object"], "text_completion");
        assert_eq!(body["choices"][0]["text"], "Hello from blue");
    }

    #[test]
    fn first_chunk_has_role_and_last_has_finish_reason() {
        let a = answer(CompletionKind::Chat);
        let first = a.chunk("Hel", true, false, false);
        assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
        assert!(first["choices"][0]["finish_reason"].is_null());
        assert!(first.get("usage").is_none());
        let last = a.chunk("lo", false, true, true);
        assert!(last["choices"][0]["delta"].get("role").is_none());
        assert_eq!(last["choices"][0]["finish_reason"], "stop");
        assert!(last["usage"].is_null());
        let usage = a.usage_chunk();
        assert_eq!(usage["choices"], json!([]));
        assert_eq!(usage["usage"]["prompt_tokens"], 3);
    }

    #[test]
    fn error_envelope() {
        let body = error_body("nope", error_type_for(404), Some("model_not_found"));
        assert_eq!(
            body,
            json!({"error": {
                "message": "nope",
                "type": "invalid_request_error",
                "param": null,
                "code": "model_not_found",
            }})
        );
        assert_eq!(error_type_for(503), "server_error");
        assert_eq!(error_type_for(429), "rate_limit_error");
    }
}
