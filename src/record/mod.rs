//! Values kept in proxy-wasm shared data, in a small versioned binary encoding instead of JSON
//! (serde_json cost most of the filter's size). Every VM with our `vm_id` reads what any other
//! wrote — possibly an older build's bytes or a value from before this encoding — so decoding
//! checks everything and answers `None` rather than panic; callers then start from `default()`.
//!
//! Layout: one version byte, then fields in a fixed order: integers as LEB128, strings as a
//! length and UTF-8 bytes, options and bools as one byte 0/1.

mod health;
mod names;
mod rollback;

/// A value stored under one shared-data key.
pub trait Record: Default + Sized {
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(bytes: &[u8]) -> Option<Self>;
}

pub fn put_u64(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

pub fn put_bool(out: &mut Vec<u8>, value: bool) {
    out.push(u8::from(value));
}

pub fn put_str(out: &mut Vec<u8>, text: &str) {
    put_u64(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

/// Reads fields front to back; every method answers `None` on short or malformed input.
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts after the version byte, which must be `version`.
    pub fn new(bytes: &'a [u8], version: u8) -> Option<Reader<'a>> {
        let (&first, rest) = bytes.split_first()?;
        (first == version).then_some(Reader { rest })
    }

    pub fn u64(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.rest.split_first()?;
            self.rest = rest;
            let bits = u64::from(byte & 0x7f);
            // The tenth byte may only carry the top bit.
            if shift == 63 && bits > 1 {
                return None;
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    pub fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.u64()?).ok()
    }

    pub fn bool(&mut self) -> Option<bool> {
        let (&byte, rest) = self.rest.split_first()?;
        self.rest = rest;
        match byte {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    pub fn str(&mut self) -> Option<&'a str> {
        let len = usize::try_from(self.u64()?).ok()?;
        let (text, rest) = self.rest.split_at_checked(len)?;
        self.rest = rest;
        std::str::from_utf8(text).ok()
    }

    /// `Some(value)` only when nothing is left over: trailing bytes mean another layout.
    pub fn finish<T>(self, value: T) -> Option<T> {
        self.rest.is_empty().then_some(value)
    }
}

/// Round trip, then truncations, bit flips and noise: decoding must never panic.
#[cfg(test)]
pub fn check_codec<T: Record + PartialEq + std::fmt::Debug>(sample: &T) {
    let mut bytes = Vec::new();
    sample.encode(&mut bytes);
    assert_eq!(T::decode(&bytes).as_ref(), Some(sample));
    let mut empty = Vec::new();
    T::default().encode(&mut empty);
    assert_eq!(T::decode(&empty), Some(T::default()));
    for len in 0..bytes.len() {
        assert_eq!(T::decode(bytes.get(..len).unwrap()), None, "cut at {len}");
    }
    for at in 0..bytes.len() {
        for bit in 0..8 {
            let mut flipped = bytes.clone();
            flipped[at] ^= 1 << bit;
            let _ = T::decode(&flipped);
        }
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..2000 {
        let garbage: Vec<u8> = (0..round % 40)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let _ = T::decode(&garbage);
    }
    // What an older build kept here.
    assert_eq!(T::decode(br#"{"health":"healthy"}"#), None);
    assert_eq!(T::decode(b""), None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip_and_overlong_ones_fail() {
        for n in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = vec![1];
            put_u64(&mut out, n);
            let mut r = Reader::new(&out, 1).unwrap();
            assert_eq!(r.u64(), Some(n));
            assert_eq!(r.finish(()), Some(()));
        }
        let mut too_big = vec![1];
        too_big.extend([0xff; 9]);
        too_big.push(0x02);
        assert_eq!(Reader::new(&too_big, 1).unwrap().u64(), None);
        let endless = [
            1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
        ];
        assert_eq!(Reader::new(&endless, 1).unwrap().u64(), None);
        assert!(Reader::new(&[2], 1).is_none(), "another version");
    }

    #[test]
    fn strings_must_fit_and_be_utf8() {
        let mut out = vec![1];
        put_str(&mut out, "héllo");
        assert_eq!(Reader::new(&out, 1).unwrap().str(), Some("héllo"));
        assert_eq!(Reader::new(&[1, 5, b'a'], 1).unwrap().str(), None);
        assert_eq!(Reader::new(&[1, 1, 0xff], 1).unwrap().str(), None);
        let mut huge = vec![1];
        put_u64(&mut huge, u64::MAX);
        assert_eq!(Reader::new(&huge, 1).unwrap().str(), None);
    }

    #[test]
    fn bools_are_zero_or_one() {
        let mut r = Reader::new(&[1, 0, 1, 2], 1).unwrap();
        assert_eq!(
            (r.bool(), r.bool(), r.bool()),
            (Some(false), Some(true), None)
        );
    }
}
