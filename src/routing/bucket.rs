//! The bucket rule: which environment a request goes to.
//!
//! `bucket = fnv1a64(affinity key bytes) % 10000`; green iff `bucket < green weight in basis
//! points`. Every replica decides alike, one session always lands on one environment, and raising
//! green's weight only moves sessions from blue to green (a canary cohort never reshuffles).

use std::hash::Hasher;

use crate::environment::Environment;

/// Weights are expressed in basis points of a percent: 100 % = 10000 buckets, 0.01 % = 1.
pub const BUCKETS: u32 = 10_000;

/// FNV-1a, 64 bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

pub fn bucket(affinity_key: &[u8]) -> u32 {
    (fnv1a64(affinity_key) % u64::from(BUCKETS)) as u32
}

/// A weighted split, as the number of buckets (of 10000) that go to green.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    green_buckets: u32,
}

impl Split {
    pub const ALL_BLUE: Split = Split { green_buckets: 0 };
    pub const ALL_GREEN: Split = Split {
        green_buckets: BUCKETS,
    };

    pub fn from_green_buckets(green_buckets: u32) -> Split {
        Split {
            green_buckets: green_buckets.min(BUCKETS),
        }
    }

    /// Everything to one environment.
    pub fn only(env: Environment) -> Split {
        match env {
            Environment::Blue => Split::ALL_BLUE,
            Environment::Green => Split::ALL_GREEN,
        }
    }

    pub fn green_buckets(self) -> u32 {
        self.green_buckets
    }

    pub fn buckets(self, env: Environment) -> u32 {
        match env {
            Environment::Blue => BUCKETS - self.green_buckets,
            Environment::Green => self.green_buckets,
        }
    }

    pub fn pick(self, bucket: u32) -> Environment {
        if bucket < self.green_buckets {
            Environment::Green
        } else {
            Environment::Blue
        }
    }

    pub fn pick_for_key(self, affinity_key: &[u8]) -> Environment {
        self.pick(bucket(affinity_key))
    }
}

/// A cheap per-VM generator for requests that carry no affinity key ("pick by weight").
/// xorshift64*: not for secrets, only to spread keyless requests.
#[derive(Debug, Clone)]
pub struct KeylessPicker {
    state: u64,
}

impl KeylessPicker {
    pub fn new(seed: u64) -> KeylessPicker {
        // A zero state would stay zero forever.
        KeylessPicker {
            state: fnv1a64(&seed.to_le_bytes()) | 1,
        }
    }

    pub fn next_bucket(&mut self) -> u32 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32 % BUCKETS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_published_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn bucket_is_hash_mod_10000() {
        for key in ["", "a", "session-1", "x-request-id-ff00"] {
            assert_eq!(
                u64::from(bucket(key.as_bytes())),
                fnv1a64(key.as_bytes()) % 10_000
            );
        }
        assert_eq!(bucket(b"a"), (0xaf63_dc4c_8601_ec8c_u64 % 10_000) as u32);
    }

    #[test]
    fn edges_of_the_split() {
        let split = Split::from_green_buckets(1000);
        assert_eq!(split.pick(0), Environment::Green);
        assert_eq!(split.pick(999), Environment::Green);
        assert_eq!(split.pick(1000), Environment::Blue);
        assert_eq!(split.pick(9999), Environment::Blue);
    }

    #[test]
    fn zero_and_hundred_percent() {
        for b in [0, 1, 5000, 9999] {
            assert_eq!(Split::ALL_BLUE.pick(b), Environment::Blue);
            assert_eq!(Split::ALL_GREEN.pick(b), Environment::Green);
        }
        assert_eq!(Split::from_green_buckets(20_000), Split::ALL_GREEN);
        assert_eq!(
            Split::only(Environment::Green).buckets(Environment::Blue),
            0
        );
    }

    #[test]
    fn one_basis_point_steps() {
        // 0.01 % moves exactly one bucket.
        for b in 0..BUCKETS {
            assert_eq!(
                Split::from_green_buckets(b).pick(b),
                Environment::Blue,
                "bucket {b}"
            );
            assert_eq!(
                Split::from_green_buckets(b + 1).pick(b),
                Environment::Green,
                "bucket {b}"
            );
        }
    }

    #[test]
    fn raising_green_only_moves_sessions_from_blue_to_green() {
        let keys: Vec<String> = (0..2000).map(|i| format!("session-{i}")).collect();
        let mut previous: Vec<Environment> = keys
            .iter()
            .map(|k| Split::ALL_BLUE.pick_for_key(k.as_bytes()))
            .collect();
        for green in (0..=BUCKETS).step_by(37) {
            let split = Split::from_green_buckets(green);
            for (key, prev) in keys.iter().zip(previous.iter_mut()) {
                let now = split.pick_for_key(key.as_bytes());
                assert!(
                    !(*prev == Environment::Green && now == Environment::Blue),
                    "{key} moved back to blue at {green}"
                );
                *prev = now;
            }
        }
    }

    #[test]
    fn keyless_picker_spreads_by_weight() {
        let mut picker = KeylessPicker::new(42);
        let split = Split::from_green_buckets(2500);
        let green = (0..20_000)
            .filter(|_| split.pick(picker.next_bucket()) == Environment::Green)
            .count();
        assert!((4_500..5_500).contains(&green), "{green}");
        let mut zero = KeylessPicker::new(0);
        assert_ne!(zero.next_bucket(), zero.next_bucket());
    }
}
