//! Where the filter's bucket rule sends a key, for the tests' and the demo's "expected": the
//! crate's own rule (`bluegreen_relay::routing`), so a change to it cannot leave a copy behind.

use bluegreen_relay::routing::Split;

/// "blue" or "green" for an affinity key when green has `green_bp` basis points (of
/// `bluegreen_relay::routing::BUCKETS`).
pub fn expected_env(key: &str, green_bp: u32) -> &'static str {
    Split::from_green_buckets(green_bp)
        .pick_for_key(key.as_bytes())
        .as_str()
}
