//! The byte-level reader under `parse`, `Members` and `Elements`: whitespace, strings, numbers,
//! literals, and skipping a whole value without building it.

use super::string::{escape, JsonStr};
use super::value::{Raw, Value};
use super::{Error, MAX_DEPTH};

/// A position in `doc`, reading up to `end`. Keeping the whole document lets an error say its
/// line and column even while a nested object is read.
#[derive(Clone)]
pub(super) struct Cursor<'a> {
    doc: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(doc: &'a [u8], start: usize, end: usize) -> Cursor<'a> {
        Cursor {
            doc,
            pos: start,
            end: end.min(doc.len()),
        }
    }

    fn peek(&self) -> Option<u8> {
        if self.pos < self.end {
            self.doc.get(self.pos).copied()
        } else {
            None
        }
    }

    #[cold]
    pub fn error(&self, what: &'static str) -> Error {
        let what = if self.peek().is_none() {
            "unexpected end of input"
        } else {
            what
        };
        Error::at(self.doc, self.pos, what)
    }

    pub fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Consumes `byte` (after whitespace) if it is next.
    pub fn eat(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Only whitespace may follow the value (up to `end`: a nested array or object ends there).
    pub fn end_of_document(&mut self) -> Result<(), Error> {
        self.skip_whitespace();
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error("trailing characters after the JSON value")),
        }
    }

    /// An object member's key and the `:` after it.
    pub fn key(&mut self) -> Result<JsonStr<'a>, Error> {
        self.skip_whitespace();
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a string key"));
        }
        let key = self.string()?;
        if !self.eat(b':') {
            return Err(self.error("expected `:`"));
        }
        Ok(key)
    }

    /// The value at the cursor: scalars are read, arrays and objects checked and returned raw.
    /// `depth` is how deep the value already is.
    pub fn value(&mut self, depth: u32) -> Result<Value<'a>, Error> {
        self.skip_whitespace();
        let start = self.pos;
        match self.peek() {
            Some(open @ (b'{' | b'[')) => {
                self.skip_container(depth)?;
                let raw = Raw::new(self.doc, start, self.pos);
                Ok(if open == b'{' {
                    Value::Object(raw)
                } else {
                    Value::Array(raw)
                })
            }
            _ => self.scalar(),
        }
    }

    fn scalar(&mut self) -> Result<Value<'a>, Error> {
        match self.peek() {
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number().map(Value::Number),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            _ => Err(self.error("expected a value")),
        }
    }

    fn literal(&mut self, word: &[u8], value: Value<'a>) -> Result<Value<'a>, Error> {
        let end = self.pos + word.len();
        if end <= self.end && self.doc.get(self.pos..end) == Some(word) {
            self.pos = end;
            Ok(value)
        } else {
            Err(self.error("expected a value"))
        }
    }

    /// Skips the array or object at the cursor, checking it, with a bit stack instead of
    /// recursion (bit `d` set: the container at depth `d` is an object).
    fn skip_container(&mut self, depth: u32) -> Result<(), Error> {
        let outer = depth;
        let mut depth = depth;
        let mut objects: u128 = 0;
        loop {
            // A value is expected here.
            self.skip_whitespace();
            match self.peek() {
                Some(open @ (b'{' | b'[')) => {
                    if depth >= MAX_DEPTH {
                        return Err(self.error("nesting deeper than 128 levels"));
                    }
                    let object = open == b'{';
                    objects = if object {
                        objects | (1 << depth)
                    } else {
                        objects & !(1 << depth)
                    };
                    depth += 1;
                    self.pos += 1;
                    if !self.eat(if object { b'}' } else { b']' }) {
                        if object {
                            self.key()?;
                        }
                        continue;
                    }
                    depth -= 1;
                }
                _ => {
                    self.scalar()?;
                }
            }
            // A value ended: close containers until one goes on.
            loop {
                if depth == outer {
                    return Ok(());
                }
                let object = objects & (1 << (depth - 1)) != 0;
                if self.eat(b',') {
                    if object {
                        self.key()?;
                    }
                    break;
                }
                if !self.eat(if object { b'}' } else { b']' }) {
                    return Err(self.error(if object {
                        "expected `,` or `}`"
                    } else {
                        "expected `,` or `]`"
                    }));
                }
                depth -= 1;
            }
        }
    }

    fn string(&mut self) -> Result<JsonStr<'a>, Error> {
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        let mut ascii = true;
        loop {
            let rest = self.doc.get(self.pos..self.end).unwrap_or_default();
            let (plain, high) = plain_prefix(rest);
            self.pos += plain;
            ascii &= !high;
            match self.peek() {
                Some(b'"') => break,
                Some(b'\\') => {
                    let rest = self.doc.get(self.pos..self.end).unwrap_or_default();
                    let Some((_, len)) = escape(rest) else {
                        return Err(self.error("invalid escape in a string"));
                    };
                    escaped = true;
                    self.pos += len;
                }
                _ => return Err(self.error("control character in a string")),
            }
        }
        let raw = self.doc.get(start..self.pos).unwrap_or_default();
        // Only a string with a byte above 0x7f can be invalid UTF-8 (escapes are ASCII).
        if !ascii && std::str::from_utf8(raw).is_err() {
            return Err(Error::at(self.doc, start, "invalid UTF-8 in a string"));
        }
        self.pos += 1;
        Ok(JsonStr::new(raw, escaped))
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, returned as written.
    fn number(&mut self) -> Result<&'a str, Error> {
        let start = self.pos;
        self.eat_byte(b'-');
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("invalid number")),
        }
        if self.eat_byte(b'.') {
            self.some_digits()?;
        }
        if self.eat_byte(b'e') || self.eat_byte(b'E') {
            let _ = self.eat_byte(b'+') || self.eat_byte(b'-');
            self.some_digits()?;
        }
        let text = self.doc.get(start..self.pos).unwrap_or_default();
        std::str::from_utf8(text).map_err(|_| self.error("invalid number"))
    }

    /// Consumes `byte` if it is next, whitespace not skipped (inside a number).
    fn eat_byte(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn some_digits(&mut self) -> Result<(), Error> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.error("invalid number"));
        }
        self.digits();
        Ok(())
    }
}

/// How many bytes at the start of `bytes` are plain string content (not `"`, `\\` or a control
/// character), read eight at a time since most of a request body is string content; and
/// whether any of them may be above 0x7f (then the string's UTF-8 must be checked).
fn plain_prefix(bytes: &[u8]) -> (usize, bool) {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    // The high bit of each byte of `x` that is 0 (after a first match, maybe falsely more).
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut chunks = bytes.chunks_exact(8);
    let mut done = 0;
    let mut high = 0;
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        high |= word & HIGH;
        let special = (word.wrapping_sub(ONES * 0x20) & !word & HIGH)
            | zero_bytes(word ^ (ONES * u64::from(b'"')))
            | zero_bytes(word ^ (ONES * u64::from(b'\\')));
        if special != 0 {
            // Little-endian: the lowest set bit is the first special byte.
            return (done + special.trailing_zeros() as usize / 8, high != 0);
        }
        done += 8;
    }
    let tail = chunks.remainder();
    let plain = tail
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(tail.len());
    let tail_high = tail.iter().take(plain).any(|&b| b > 0x7f);
    (done + plain, high != 0 || tail_high)
}
