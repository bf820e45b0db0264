//! JSON strings as written: borrowed from the input, unescaped only when they hold escapes.

use std::borrow::Cow;
use std::fmt;

/// A checked JSON string between its quotes (valid UTF-8, valid escapes), kept as bytes so a
/// key is compared without converting it.
#[derive(Clone, Copy)]
pub struct JsonStr<'a> {
    raw: &'a [u8],
    escaped: bool,
}

impl<'a> JsonStr<'a> {
    pub(super) fn new(raw: &'a [u8], escaped: bool) -> JsonStr<'a> {
        JsonStr { raw, escaped }
    }

    /// The bytes between the quotes, escapes left as written.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The string's value; borrowed unless it holds escapes.
    pub fn value(&self) -> Cow<'a, str> {
        // The cursor checked the UTF-8; the lossy branch only keeps this panic-free.
        let text = match std::str::from_utf8(self.raw) {
            Ok(text) => text,
            Err(_) => return String::from_utf8_lossy(self.raw),
        };
        if self.escaped {
            Cow::Owned(unescape(text))
        } else {
            Cow::Borrowed(text)
        }
    }

    /// True when the string's value is `text` (allocates only for an escaped string).
    pub fn is(&self, text: &str) -> bool {
        if self.escaped {
            self.value() == text
        } else {
            self.raw == text.as_bytes()
        }
    }
}

/// Compares values, not spellings: `"a\u0062"` equals `"ab"`.
impl PartialEq for JsonStr<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

impl fmt::Debug for JsonStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.value(), f)
    }
}

fn unescape(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut plain = 0;
    while let Some(at) = bytes
        .get(plain..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\\'))
    {
        let at = plain + at;
        out.push_str(raw.get(plain..at).unwrap_or_default());
        // The cursor checked every escape; a bad one cannot reach here, but must not panic.
        let (c, len) = escape(bytes.get(at..).unwrap_or_default()).unwrap_or(('\u{fffd}', 2));
        out.push(c);
        plain = at + len;
    }
    out.push_str(raw.get(plain..).unwrap_or_default());
    out
}

/// Decodes the escape at the start of `bytes` (which starts with `\`): its character and how
/// many bytes it takes, or `None` when it is not a valid JSON escape. RFC 8259's grammar allows
/// a lone surrogate (`\ud800`): it is valid JSON but no character, so it reads as U+FFFD.
pub(super) fn escape(bytes: &[u8]) -> Option<(char, usize)> {
    let c = match bytes.get(1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => return unicode_escape(bytes),
        _ => return None,
    };
    Some((c, 2))
}

fn unicode_escape(bytes: &[u8]) -> Option<(char, usize)> {
    let unit = hex4(bytes.get(2..6)?)?;
    let pair = || {
        if !(0xD800..0xDC00).contains(&unit) || bytes.get(6..8)? != b"\\u" {
            return None;
        }
        let low = hex4(bytes.get(8..12)?)?;
        (0xDC00..0xE000).contains(&low).then(|| {
            let c = char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00));
            (c.unwrap_or(char::REPLACEMENT_CHARACTER), 12)
        })
    };
    Some(pair().unwrap_or((
        char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER),
        6,
    )))
}

fn hex4(digits: &[u8]) -> Option<u32> {
    digits
        .iter()
        .try_fold(0, |acc, &d| Some(acc * 16 + char::from(d).to_digit(16)?))
}
