//! Which models carried live traffic lately: answered completions per model over a sliding
//! window of ten minutes, summed over workers in shared data, so the status endpoint can say what
//! share of real requests a model the candidate lacks would lose.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The window the shares are measured over.
pub const WINDOW_MS: u64 = 10 * 60 * 1000;
const SLICES: u64 = 10;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Slice {
    pub start_ms: u64,
    /// Answered completions by catalog model name (`other` for the rest).
    pub requests: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelTraffic {
    pub slices: Vec<Slice>,
}

impl ModelTraffic {
    /// Adds one worker's counts at `now_ms`; slices older than the window leave.
    pub fn add(&mut self, now_ms: u64, counts: &BTreeMap<String, u64>) {
        let width = WINDOW_MS / SLICES;
        let start_ms = now_ms - now_ms % width;
        self.slices
            .retain(|s| s.start_ms + WINDOW_MS > now_ms && s.start_ms <= now_ms);
        let slice = match self.slices.iter().position(|s| s.start_ms == start_ms) {
            Some(at) => &mut self.slices[at],
            None => {
                self.slices.push(Slice {
                    start_ms,
                    requests: BTreeMap::new(),
                });
                let last = self.slices.len() - 1;
                &mut self.slices[last]
            }
        };
        for (model, n) in counts {
            *slice.requests.entry(model.clone()).or_default() += n;
        }
    }

    /// Each model's share of the answered completions in the window ending at `now_ms`.
    pub fn shares(&self, now_ms: u64) -> (u64, BTreeMap<&str, f64>) {
        let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
        for slice in self
            .slices
            .iter()
            .filter(|s| s.start_ms + WINDOW_MS > now_ms)
        {
            for (model, n) in &slice.requests {
                *totals.entry(model.as_str()).or_default() += n;
            }
        }
        let all: u64 = totals.values().sum();
        let shares = totals
            .into_iter()
            .map(|(model, n)| (model, if all == 0 { 0.0 } else { n as f64 / all as f64 }))
            .collect();
        (all, shares)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|(m, n)| (m.to_string(), *n)).collect()
    }

    #[test]
    fn shares_over_the_window() {
        let mut traffic = ModelTraffic::default();
        traffic.add(
            1_000_000,
            &counts(&[("gpt-4.1", 30), ("deepseek-v3.2", 10)]),
        );
        traffic.add(1_100_000, &counts(&[("deepseek-v3.2", 10)]));
        let (all, shares) = traffic.shares(1_100_000);
        assert_eq!(all, 50);
        assert_eq!(shares["gpt-4.1"], 0.6);
        assert_eq!(shares["deepseek-v3.2"], 0.4);
        // Ten minutes later the first counts left the window.
        let (all, shares) = traffic.shares(1_000_000 + WINDOW_MS + 60_000);
        assert_eq!(all, 10);
        assert_eq!(shares["deepseek-v3.2"], 1.0);
        crate::record::check_codec(&traffic);
    }
}
