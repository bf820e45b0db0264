//! Token usage from completion answers: a whole JSON body, or a server-sent-event stream fed
//! piece by piece as it passes (never held back). Pure: the host hands in the bytes.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::ai::raw_field::{self, Text};

/// Longest SSE line read (without its line end), and so the most kept across body callbacks.
/// Usage chunks are a few hundred bytes; a longer `data:` line is skipped and counted
/// (`SseUsage::skipped_lines`), however it is split, rather than held.
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

/// The fields of a completion (or one stream chunk) that matter here, as raw text; serde
/// skips the rest without building it.
#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    #[serde(borrow)]
    usage: Option<&'a RawValue>,
}

/// Token counts: unsigned integers or null; anything else makes the answer unreadable.
#[derive(Deserialize)]
struct Counts {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

impl<'a> Answer<'a> {
    /// `None` unless `text` is a JSON object whose `model` is a string or null, whose `usage` is
    /// an object or null, and neither is given twice.
    fn read(text: &'a [u8]) -> Option<Answer<'a>> {
        if !raw_field::is_object(text) {
            return None;
        }
        let answer: Answer<'a> = serde_json::from_slice(text).ok()?;
        if answer.model.is_some_and(|raw| !raw.get().starts_with('"')) {
            return None;
        }
        Some(answer)
    }

    fn model(&self) -> Option<String> {
        match raw_field::text(self.model?) {
            Ok(Text::Str(model)) => Some(model.into_owned()),
            _ => None,
        }
    }

    fn usage(&self) -> Option<Option<Usage>> {
        let Some(raw) = self.usage else {
            return Some(None);
        };
        if !raw_field::is_object(raw.get().as_bytes()) {
            return None;
        }
        let counts: Counts = serde_json::from_slice(raw.get().as_bytes()).ok()?;
        Some(Some(Usage {
            prompt_tokens: counts.prompt_tokens.unwrap_or(0),
            completion_tokens: counts.completion_tokens.unwrap_or(0),
        }))
    }
}

/// The `model` and `usage` of a completion; `None` when the text is not such JSON.
fn answer(text: &[u8]) -> Option<Seen> {
    let answer = Answer::read(text)?;
    Some(Seen {
        usage: answer.usage()?,
        model: answer.model(),
    })
}

/// A non-streamed answer's model and usage (`None`s when the body is not such JSON).
pub fn from_json_body(body: &[u8]) -> Seen {
    answer(body).unwrap_or_default()
}

/// Incremental reader of an SSE answer. Feed it every body piece in order; it keeps at most
/// the start of the current `data:` line (bounded by `MAX_LINE`) and parses each complete
/// `data:` line until one names the model, then only those that mention `"usage"`. The last
/// usage seen wins (some relays repeat a running total).
#[derive(Debug, Default)]
pub struct SseUsage {
    /// The start of the current line, while it may be a `data:` line within `MAX_LINE`.
    partial: Vec<u8>,
    /// The current line is not a `data:` line, or too long: drop it up to its end.
    dropping: bool,
    /// The previous piece ended with CR: a LF starting the next piece ends nothing.
    after_cr: bool,
    seen: Seen,
    skipped: u64,
}

impl SseUsage {
    pub fn new() -> SseUsage {
        SseUsage::default()
    }

    pub fn feed(&mut self, mut bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if std::mem::take(&mut self.after_cr) {
            bytes = bytes.strip_prefix(b"\n").unwrap_or(bytes);
        }
        while let Some(at) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (line, rest) = bytes.split_at(at);
            let Some((&terminator, rest)) = rest.split_first() else {
                break;
            };
            self.take(line, true);
            bytes = rest;
            // CRLF is one line end, even when the LF comes in the next piece.
            if terminator == b'\r' {
                match bytes.split_first() {
                    Some((b'\n', rest)) => bytes = rest,
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
        }
        self.take(bytes, false);
    }

    /// What the stream said, once it ended (or was cut).
    pub fn finish(self) -> Seen {
        self.seen
    }

    /// `data:` lines longer than `MAX_LINE`, dropped unread (their usage, if any, is lost).
    pub fn skipped_lines(&self) -> u64 {
        self.skipped
    }

    /// Adds `piece` to the current line; `ends`: a line end follows it. A line that is whole in
    /// one piece is parsed where it lies; only an unfinished `data:` line is copied.
    fn take(&mut self, piece: &[u8], ends: bool) {
        if !self.dropping {
            let len = self.partial.len() + piece.len();
            let may_be_data = self
                .partial
                .iter()
                .chain(piece)
                .zip(DATA)
                .all(|(a, b)| a == b);
            if len > MAX_LINE || !may_be_data {
                // Past the bound all five bytes of the prefix are known: only data lines count.
                if may_be_data {
                    self.skipped += 1;
                }
                self.partial.clear();
                self.dropping = true;
            } else if !ends {
                self.partial.extend_from_slice(piece);
            } else if self.partial.is_empty() {
                self.data_line(piece);
            } else {
                self.partial.extend_from_slice(piece);
                let whole = std::mem::take(&mut self.partial);
                self.data_line(&whole);
                // Keep the allocation for the next partial line.
                self.partial = whole;
            }
        }
        if ends {
            self.partial.clear();
            self.dropping = false;
        }
    }

    fn data_line(&mut self, line: &[u8]) {
        let Some(data) = line.strip_prefix(DATA) else {
            return;
        };
        let data = data.strip_prefix(b" ").unwrap_or(data);
        if self.seen.model.is_some() && !contains(data, b"\"usage\"") {
            return;
        }
        let Some(answer) = Answer::read(data) else {
            return;
        };
        // An unreadable `usage` makes the whole chunk unreadable, as in a JSON body.
        let Some(usage) = answer.usage() else {
            return;
        };
        if self.seen.model.is_none() {
            self.seen.model = answer.model();
        }
        if usage.is_some() {
            self.seen.usage = usage;
        }
    }
}

const DATA: &[u8] = b"data:";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
#[path = "usage_tests.rs"]
mod tests;
