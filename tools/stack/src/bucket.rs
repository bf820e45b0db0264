//! The filter's documented split rule, re-implemented for the demo's
//! "expected" column (the tests carry their own copy).

/// FNV-1a, 64 bit.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Buckets below this go green: `round(green_weight * 100)` of 10,000.
pub fn green_threshold(green_weight: f64) -> u64 {
    (green_weight * 100.0).round() as u64
}

/// "blue" or "green" for an affinity key.
pub fn expected_env(key: &str, green_weight: f64) -> &'static str {
    if fnv1a64(key.as_bytes()) % 10_000 < green_threshold(green_weight) {
        "green"
    } else {
        "blue"
    }
}

/// `sk-d…(24 chars)`: enough to tell keys apart, too little to use one.
pub fn mask_key(key: &str) -> String {
    let head: String = key.chars().take(4).collect();
    format!("{head}…({} chars)", key.chars().count())
}
