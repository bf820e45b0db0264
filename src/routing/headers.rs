//! Lookup in a header map as the proxy-wasm host serializes it (`proxy_get_header_map_pairs`):
//! one host call brings every request header, and each lookup is a scan of that buffer with
//! no copy. Layout (little-endian u32s): count, then (name length, value length) per header,
//! then each name and each value followed by a NUL byte. Malformed input finds nothing.

/// Read access to request headers, by lower-case name.
pub trait Headers {
    fn get(&self, name: &str) -> Option<&[u8]>;
}

/// A serialized header map from the host.
pub struct HeaderBlock {
    bytes: Vec<u8>,
}

impl HeaderBlock {
    pub fn new(bytes: Vec<u8>) -> HeaderBlock {
        HeaderBlock { bytes }
    }
}

impl Headers for HeaderBlock {
    fn get(&self, name: &str) -> Option<&[u8]> {
        find(&self.bytes, name.as_bytes())
    }
}

/// A single header read on its own: cheaper than the whole map when it is the only one needed.
pub struct OneHeader {
    pub name: &'static str,
    pub value: Option<Vec<u8>>,
}

impl Headers for OneHeader {
    fn get(&self, name: &str) -> Option<&[u8]> {
        if name == self.name {
            self.value.as_deref()
        } else {
            None
        }
    }
}

/// Either form, chosen by how many headers the caller will look at.
pub enum SomeHeaders {
    All(HeaderBlock),
    One(OneHeader),
}

impl Headers for SomeHeaders {
    fn get(&self, name: &str) -> Option<&[u8]> {
        match self {
            SomeHeaders::All(block) => block.get(name),
            SomeHeaders::One(one) => one.get(name),
        }
    }
}

/// The same layout from pairs: what the module hands the host (local answers, calls) and what a
/// fake host hands the module in tests.
pub fn serialize(pairs: &[(&str, &[u8])]) -> Vec<u8> {
    let size = 4 + pairs
        .iter()
        .map(|(name, value)| 10 + name.len() + value.len())
        .sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (name, value) in pairs {
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    }
    for (name, value) in pairs {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(value);
        out.push(0);
    }
    out
}

fn read_u32(bytes: &[u8], at: usize) -> Option<usize> {
    let word: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(word)).ok()
}

/// The value of the first header called `name` (names are compared byte for byte: the host
/// hands them over in lower case).
pub fn find<'a>(bytes: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let count = read_u32(bytes, 0)?;
    let mut data = count.checked_mul(8)?.checked_add(4)?;
    for index in 0..count {
        let sizes = 4 + index * 8;
        let name_len = read_u32(bytes, sizes)?;
        let value_len = read_u32(bytes, sizes + 4)?;
        let value_at = data.checked_add(name_len)?.checked_add(1)?;
        let value_end = value_at.checked_add(value_len)?;
        if bytes.get(data..data + name_len)? == name {
            return bytes.get(value_at..value_end);
        }
        data = value_end.checked_add(1)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serialize(pairs: &[(&str, &str)]) -> Vec<u8> {
        let pairs: Vec<(&str, &[u8])> = pairs.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
        super::serialize(&pairs)
    }

    #[test]
    fn finds_each_header_and_the_first_of_repeated_names() {
        let block = HeaderBlock::new(serialize(&[
            (":path", "/v1/models"),
            ("x-session-id", "abc"),
            ("empty", ""),
            ("x-session-id", "second"),
        ]));
        assert_eq!(block.get(":path"), Some(&b"/v1/models"[..]));
        assert_eq!(block.get("x-session-id"), Some(&b"abc"[..]));
        assert_eq!(block.get("empty"), Some(&b""[..]));
        assert_eq!(block.get("x-absent"), None);
        assert_eq!(block.get("x-session"), None);
    }

    #[test]
    fn one_header_answers_only_its_name() {
        let one = SomeHeaders::One(OneHeader {
            name: ":status",
            value: Some(b"200".to_vec()),
        });
        assert_eq!(one.get(":status"), Some(&b"200"[..]));
        assert_eq!(one.get("content-type"), None);
    }

    #[test]
    fn empty_and_malformed_buffers_find_nothing() {
        assert_eq!(find(&[], b"a"), None);
        assert_eq!(find(&[1, 0, 0, 0], b"a"), None);
        let mut truncated = serialize(&[("name", "value")]);
        truncated.truncate(truncated.len() - 3);
        assert_eq!(find(&truncated, b"name"), None);
        let mut huge = serialize(&[("a", "b")]);
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(find(&huge, b"a"), None);
        let mut many = serialize(&[("a", "b")]);
        many[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(find(&many, b"a"), None);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut state = 0x2545_f491_u32;
        for len in 0..300 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    if state.is_multiple_of(3) {
                        (state % 4) as u8
                    } else {
                        state as u8
                    }
                })
                .collect();
            let _ = find(&bytes, b"a");
        }
    }
}
