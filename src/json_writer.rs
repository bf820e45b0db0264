//! A tiny JSON writer for the filter's own output (status, error bodies, probe requests): one
//! `String`, no serde. Separators are tracked here; callers pair `begin_*`/`end_*` themselves.
//!
//! ```
//! use bluegreen_relay::json_writer::JsonWriter;
//! let mut w = JsonWriter::new();
//! w.begin_object();
//! w.key("n").u64(1);
//! w.key("tags").begin_array().str("a").str("b\"").end_array();
//! w.end_object();
//! assert_eq!(w.finish(), r#"{"n":1,"tags":["a","b\""]}"#);
//! ```

use crate::decimal::{self, Decimal};

#[derive(Debug, Default)]
pub struct JsonWriter {
    out: String,
    /// A value or member was written at this level: the next one needs a comma first.
    comma: bool,
}

impl JsonWriter {
    pub fn new() -> JsonWriter {
        JsonWriter::default()
    }

    pub fn finish(self) -> String {
        self.out
    }

    pub fn begin_object(&mut self) -> &mut Self {
        self.open('{')
    }

    pub fn end_object(&mut self) -> &mut Self {
        self.close('}')
    }

    pub fn begin_array(&mut self) -> &mut Self {
        self.open('[')
    }

    pub fn end_array(&mut self) -> &mut Self {
        self.close(']')
    }

    /// A member name; the value written next belongs to it.
    pub fn key(&mut self, name: &str) -> &mut Self {
        self.separate();
        escape_into(&mut self.out, name);
        self.out.push(':');
        self.comma = false;
        self
    }

    pub fn str(&mut self, value: &str) -> &mut Self {
        self.separate();
        escape_into(&mut self.out, value);
        self.comma = true;
        self
    }

    pub fn u64(&mut self, value: u64) -> &mut Self {
        self.separate();
        // Writing into a String cannot fail.
        let _ = decimal::write_u64(&mut self.out, value);
        self.comma = true;
        self
    }

    /// Always with a fraction (`90.0`, `12.5`), so consumers parse a float, as they did when this
    /// was an `f64`.
    pub fn decimal(&mut self, value: Decimal) -> &mut Self {
        self.separate();
        let _ = value.write_to(&mut self.out, 1);
        self.comma = true;
        self
    }

    pub fn bool(&mut self, value: bool) -> &mut Self {
        self.raw(if value { "true" } else { "false" })
    }

    pub fn null(&mut self) -> &mut Self {
        self.raw("null")
    }

    pub fn opt_str(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(value) => self.str(value),
            None => self.null(),
        }
    }

    pub fn opt_u64(&mut self, value: Option<u64>) -> &mut Self {
        match value {
            Some(value) => self.u64(value),
            None => self.null(),
        }
    }

    fn raw(&mut self, text: &str) -> &mut Self {
        self.separate();
        self.out.push_str(text);
        self.comma = true;
        self
    }

    fn open(&mut self, bracket: char) -> &mut Self {
        self.separate();
        self.out.push(bracket);
        self.comma = false;
        self
    }

    fn close(&mut self, bracket: char) -> &mut Self {
        self.out.push(bracket);
        self.comma = true;
        self
    }

    fn separate(&mut self) {
        if self.comma {
            self.out.push(',');
        }
    }
}

/// A JSON string literal per RFC 8259 §7: quote, backslash and C0 controls escaped; everything
/// else (valid UTF-8 already) as is.
pub fn escape_into(out: &mut String, text: &str) {
    out.push('"');
    let mut plain = 0;
    for (at, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        // `at` is an ASCII byte, so both slices end on character boundaries.
        out.push_str(text.get(plain..at).unwrap_or_default());
        if escape.is_empty() {
            out.push_str("\\u00");
            for nibble in [byte >> 4, byte & 0xf] {
                out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
            }
        } else {
            out.push_str(escape);
        }
        plain = at + 1;
    }
    out.push_str(text.get(plain..).unwrap_or_default());
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn nesting_and_separators() {
        let mut w = JsonWriter::new();
        w.begin_object();
        w.key("a").begin_object().end_object();
        w.key("b").begin_array().end_array();
        w.key("c").begin_array();
        w.begin_object().key("x").null().end_object();
        w.bool(true).u64(0).decimal(Decimal::new(9000, 2));
        w.end_array();
        w.key("d").opt_str(None).key("e").opt_u64(Some(3));
        w.end_object();
        assert_eq!(
            w.finish(),
            r#"{"a":{},"b":[],"c":[{"x":null},true,0,90.0],"d":null,"e":3}"#
        );
    }

    #[test]
    fn escapes_every_string_serde_can_read_back() {
        let samples = [
            "plain",
            "",
            "quote \" backslash \\ slash /",
            "lines\n\r\ttab",
            "\u{0}\u{1}\u{8}\u{b}\u{c}\u{1f}\u{7f}",
            "ünïcödé ✓ 😀 \u{2028}",
            "\\\"\\",
        ];
        for text in samples {
            let mut w = JsonWriter::new();
            w.begin_array().str(text).end_array();
            let out = w.finish();
            let back: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(back[0], text, "{out}");
            assert!(!out.bytes().any(|b| b < 0x20), "{out:?}");
        }
        let mut out = String::new();
        escape_into(&mut out, "a\u{1}\"");
        assert_eq!(out, r#""a\u0001\"""#);
    }

    #[test]
    fn keys_are_escaped_too() {
        let mut w = JsonWriter::new();
        w.begin_object().key("a\"b").u64(1).end_object();
        let back: Value = serde_json::from_str(&w.finish()).unwrap();
        assert_eq!(back["a\"b"], 1);
    }
}
