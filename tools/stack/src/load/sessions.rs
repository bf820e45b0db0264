//! Reproducible randomness for the generator: the session id pool and each connection's picks.

/// splitmix64, as the tests use: reproducible ids from a seed, no dependency.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// One connection's generator: distinct per connection, reproducible from the seed.
    pub(crate) fn for_connection(seed: u64, index: usize) -> Rng {
        Rng(seed ^ (index as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d))
    }
}

/// `n` distinct session ids of 8..=24 header-safe characters.
pub fn session_ids(n: usize, seed: u64) -> Vec<String> {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.";
    let mut rng = Rng(seed);
    let mut seen = std::collections::HashSet::new();
    let mut ids = Vec::with_capacity(n);
    while ids.len() < n {
        let len = 8 + (rng.next() % 17) as usize;
        let id: String = (0..len)
            .map(|_| char::from(CHARS[(rng.next() % CHARS.len() as u64) as usize]))
            .collect();
        if seen.insert(id.clone()) {
            ids.push(id);
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_and_reproducible() {
        let ids = session_ids(500, 7);
        assert_eq!(ids, session_ids(500, 7));
        let set: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(set.len(), 500);
        assert!(ids.iter().all(|id| (8..=24).contains(&id.len())));
    }
}
