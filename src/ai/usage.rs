//! Token usage from completion answers: a whole JSON body, or a server-sent-event stream fed
//! piece by piece as it passes (never held back). Pure: the host hands in the bytes.

use crate::json::{self, unsigned, Value};

/// Longest SSE line kept across body callbacks. Usage chunks are a few hundred bytes; a longer
/// `data:` line is skipped (its usage, if any, is lost) rather than held.
pub const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// What an answer said about itself.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Seen {
    pub model: Option<String>,
    pub usage: Option<Usage>,
}

/// The `model` and `usage` of a completion (or one stream chunk); `None` when the text is not
/// such JSON. As strict as the serde struct it replaces: `model` a string or null, `usage` an
/// object or null whose token counts are unsigned integers or null, neither field twice.
fn answer(text: &[u8]) -> Option<Seen> {
    let mut seen = Seen::default();
    let (mut has_model, mut has_usage) = (false, false);
    for member in json::members(text) {
        let (key, value) = member.ok()?;
        if key.is("model") {
            if std::mem::replace(&mut has_model, true) {
                return None;
            }
            seen.model = match value {
                Value::Null => None,
                Value::String(model) => Some(model.value().into_owned()),
                _ => return None,
            };
        } else if key.is("usage") {
            if std::mem::replace(&mut has_usage, true) {
                return None;
            }
            seen.usage = match value {
                Value::Null => None,
                Value::Object(raw) => Some(usage(raw)?),
                _ => return None,
            };
        }
    }
    Some(seen)
}

fn usage(raw: json::Raw<'_>) -> Option<Usage> {
    let mut counts = [None; 2];
    for member in raw.members() {
        let (key, value) = member.ok()?;
        let slot = if key.is("prompt_tokens") {
            counts.get_mut(0)
        } else if key.is("completion_tokens") {
            counts.get_mut(1)
        } else {
            continue;
        };
        let count = match value {
            Value::Null => 0,
            Value::Number(text) => unsigned(text)?,
            _ => return None,
        };
        // A count given twice makes the answer unreadable, as with serde.
        if slot?.replace(count).is_some() {
            return None;
        }
    }
    let [prompt_tokens, completion_tokens] = counts;
    Some(Usage {
        prompt_tokens: prompt_tokens.unwrap_or(0),
        completion_tokens: completion_tokens.unwrap_or(0),
    })
}

/// A non-streamed answer's model and usage (`None`s when the body is not such JSON).
pub fn from_json_body(body: &[u8]) -> Seen {
    answer(body).unwrap_or_default()
}

/// Incremental reader of an SSE answer. Feed it every body piece in order; it keeps at most
/// one partial line (bounded by `MAX_LINE`) and parses only the first `data:` line (for the
/// model) and lines that mention `"usage"`. The last usage seen wins (some relays repeat a
/// running total).
#[derive(Debug, Default)]
pub struct SseUsage {
    partial: Vec<u8>,
    /// The current line is too long or not a `data:` line: drop it up to its end.
    skipping: bool,
    /// The previous piece ended with CR: a LF starting the next piece ends nothing.
    after_cr: bool,
    seen: Seen,
    parsed_first: bool,
}

impl SseUsage {
    pub fn new() -> SseUsage {
        SseUsage::default()
    }

    pub fn feed(&mut self, mut bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = bytes.strip_prefix(b"\n") {
                bytes = rest;
            }
        }
        while let Some(at) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (line, terminator, rest) = (&bytes[..at], bytes[at], &bytes[at + 1..]);
            if self.partial.is_empty() && !self.skipping {
                self.line(line);
            } else {
                if !self.skipping && self.partial.len() + line.len() <= MAX_LINE {
                    self.partial.extend_from_slice(line);
                    let whole = std::mem::take(&mut self.partial);
                    self.line(&whole);
                    // Keep the allocation for the next partial line.
                    self.partial = whole;
                }
                self.partial.clear();
                self.skipping = false;
            }
            bytes = rest;
            // CRLF is one line end, even when the LF comes in the next piece.
            if terminator == b'\r' {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
        }
        self.hold(bytes);
    }

    /// What the stream said, once it ended (or was cut).
    pub fn finish(self) -> Seen {
        self.seen
    }

    /// Keeps the unterminated tail, unless it cannot matter.
    fn hold(&mut self, tail: &[u8]) {
        if tail.is_empty() || self.skipping {
            return;
        }
        if self.partial.len() + tail.len() > MAX_LINE {
            self.skip();
            return;
        }
        self.partial.extend_from_slice(tail);
        let head = &self.partial[..self.partial.len().min(5)];
        if !b"data:".starts_with(head) {
            self.skip();
        }
    }

    fn skip(&mut self) {
        self.partial.clear();
        self.skipping = true;
    }

    fn line(&mut self, line: &[u8]) {
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        let data = data.strip_prefix(b" ").unwrap_or(data);
        if data == b"[DONE]" || data.is_empty() {
            return;
        }
        let first = !self.parsed_first;
        if !first && !contains(data, b"\"usage\"") {
            return;
        }
        self.parsed_first = true;
        let Some(answer) = answer(data) else {
            return;
        };
        if self.seen.model.is_none() {
            self.seen.model = answer.model;
        }
        if answer.usage.is_some() {
            self.seen.usage = answer.usage;
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
#[path = "usage_tests.rs"]
mod tests;
