//! Seeded random cutting of a byte stream, to exercise incremental SSE parsers
//! with events split across (and joined within) body frames.

use bytes::Bytes;

/// Largest piece `random_pieces` cuts.
pub const MAX_PIECE: usize = 40;

/// SplitMix64: tiny, seedable, and good enough for picking cut points.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-enough value in `1..=max` (max >= 1).
    pub fn in_1_to(&mut self, max: usize) -> usize {
        (self.next_u64() % max.max(1) as u64) as usize + 1
    }
}

/// Cuts `data` into pieces of 1..=`MAX_PIECE` bytes that concatenate back to `data`.
pub fn random_pieces(data: &Bytes, rng: &mut SplitMix64) -> Vec<Bytes> {
    let mut pieces = Vec::with_capacity(data.len() / (MAX_PIECE / 2) + 1);
    let mut start = 0;
    while start < data.len() {
        let end = (start + rng.in_1_to(MAX_PIECE)).min(data.len());
        pieces.push(data.slice(start..end));
        start = end;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_reassemble_to_the_same_bytes() {
        let data: Bytes = (0..5000u32).map(|i| (i % 251) as u8).collect();
        for seed in 0..50 {
            let pieces = random_pieces(&data, &mut SplitMix64::new(seed));
            assert!(pieces.iter().all(|p| (1..=MAX_PIECE).contains(&p.len())));
            assert_eq!(pieces.concat(), data.to_vec());
        }
    }

    #[test]
    fn same_seed_same_cuts_and_seeds_differ() {
        let data = Bytes::from(vec![b'x'; 1000]);
        let lens = |seed| -> Vec<usize> {
            random_pieces(&data, &mut SplitMix64::new(seed))
                .iter()
                .map(Bytes::len)
                .collect()
        };
        assert_eq!(lens(42), lens(42));
        assert_ne!(lens(1), lens(2));
    }

    #[test]
    fn cuts_use_the_whole_range() {
        let mut rng = SplitMix64::new(7);
        let seen: std::collections::BTreeSet<usize> =
            (0..10_000).map(|_| rng.in_1_to(MAX_PIECE)).collect();
        assert_eq!(seen.len(), MAX_PIECE);
    }

    #[test]
    fn empty_input_gives_no_pieces() {
        assert!(random_pieces(&Bytes::new(), &mut SplitMix64::new(0)).is_empty());
    }
}
