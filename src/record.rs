//! One encoding for every value the filter keeps in proxy-wasm shared data or filter state
//! (health verdicts, the rollback window, the prober lease, the routing mode, the body route,
//! the configuration version, the set of counted models): JSON through serde.
//!
//! Every VM with our `vm_id` reads what any other wrote, possibly an older or newer build's
//! bytes, so decoding never trusts its input: a value that does not read is an error the caller
//! answers with the type's default (and logs once). Records carry `#[serde(default)]`, so a
//! field added by a later build, or missing from an earlier one, does not make a record unreadable.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The bytes stored for `value`. Our records are plain structs with string keys, which
/// serde_json always encodes; an impossible failure stores nothing rather than trap.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// The value stored as `bytes`, or why it does not read.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// Round trip, then truncations, bit flips and noise: decoding must never panic, and a value
/// that is not this record's JSON must not read as one.
#[cfg(test)]
pub fn check_codec<T>(sample: &T)
where
    T: Serialize + DeserializeOwned + Default + PartialEq + std::fmt::Debug,
{
    let bytes = encode(sample);
    assert_eq!(decode::<T>(&bytes).ok().as_ref(), Some(sample));
    assert_eq!(decode::<T>(&encode(&T::default())).ok(), Some(T::default()));
    for len in 0..bytes.len() {
        assert!(decode::<T>(&bytes[..len]).is_err(), "cut at {len}");
    }
    for at in 0..bytes.len() {
        for bit in 0..8 {
            let mut flipped = bytes.clone();
            flipped[at] ^= 1 << bit;
            let _ = decode::<T>(&flipped);
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
        let _ = decode::<T>(&garbage);
    }
    // What an older build kept here: its binary records started with a version byte.
    assert!(decode::<T>(&[1, 2, 0, 0, 5]).is_err());
    assert!(decode::<T>(b"").is_err());
}
