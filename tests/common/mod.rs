//! Shared by the integration tests: the harness, config builders and random ids.

// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::collections::HashSet;

use serde_json::{json, Value};
pub use stack::*;

/// A weight given in hundredths as the JSON number a user would write (90, 33.33).
pub fn weight(hundredths: u32) -> Value {
    if hundredths.is_multiple_of(100) {
        json!(hundredths / 100)
    } else {
        json!(f64::from(hundredths) / 100.0)
    }
}

/// Blue (key from `$HOLYSHEEP_API_KEY_BLUE`) and green (inline [`GREEN_KEY`]),
/// green getting `green_hundredths` / 100 percent, affinity on x-session-id then x-request-id.
pub fn config(green_hundredths: u32) -> Value {
    json!({
        "environments": {
            "blue": {
                "cluster": "relay_blue",
                "weight": weight(10_000 - green_hundredths),
                "api_key_env": "HOLYSHEEP_API_KEY_BLUE",
            },
            "green": {
                "cluster": "relay_green",
                "weight": weight(green_hundredths),
                "api_key": GREEN_KEY,
            },
        },
        "active": "blue",
        "affinity_headers": ["x-session-id", "x-request-id"],
    })
}

/// Starts a stack for `config` (blue's key in Envoy's environment).
pub fn start(config: &Value) -> Stack {
    Stack::start(&config.to_string())
}

/// splitmix64: reproducible randomness without a dependency.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `$TEST_SEED` or the clock; the seed is printed for a failing run.
    pub fn new() -> Rng {
        let seed = std::env::var("TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        println!("TEST_SEED={seed}");
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `n` distinct ids of 1..=40 header-safe characters.
    pub fn ids(&mut self, n: usize) -> Vec<String> {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:";
        // A Vec keeps the order reproducible from the seed; the set only rejects repeats.
        let (mut ids, mut seen) = (Vec::new(), HashSet::new());
        while ids.len() < n {
            let len = 1 + (self.next() % 40) as usize;
            let id: String = (0..len)
                .map(|_| char::from(CHARS[(self.next() % CHARS.len() as u64) as usize]))
                .collect();
            if seen.insert(id.clone()) {
                ids.push(id);
            }
        }
        ids
    }
}
