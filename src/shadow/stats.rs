//! Counts of the answers to shadowed requests, one set per environment: the candidate's answers
//! to the copies, and the active environment's answers to the same requests. Latency is kept in
//! a small fixed-bucket histogram, so that the record stays small and merges by addition.

use serde::{Deserialize, Serialize};

use crate::ai::usage::Usage;

/// Upper bounds (ms) of the latency buckets, about 1.25 to 1.5 apart; a last bucket holds the
/// rest.
pub const LATENCY_BOUNDS_MS: [u64; 34] = [
    10, 15, 20, 25, 30, 40, 50, 60, 80, 100, 125, 150, 200, 250, 300, 400, 500, 600, 800, 1000,
    1250, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000, 10_000, 15_000, 20_000, 30_000, 60_000,
];

/// How one answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP status.
    Status(u32),
    /// No answer: reset, timeout, or a call Envoy refused.
    Failed,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerStats {
    pub requests: u64,
    /// 2xx, 4xx, 5xx, failed (1xx and 3xx count in none).
    pub responses: [u64; 4],
    /// Answers per latency bucket (`LATENCY_BOUNDS_MS`, then the rest).
    pub latency: Vec<u64>,
    /// Answers whose usage was read.
    pub metered: u64,
    pub completion_tokens: u64,
    pub cost_pico: u64,
}

impl AnswerStats {
    pub fn record(&mut self, outcome: Outcome, latency_ms: u64, usage: Option<Usage>, cost: u64) {
        self.requests += 1;
        let class = match outcome {
            Outcome::Status(200..=299) => Some(0),
            Outcome::Status(400..=499) => Some(1),
            Outcome::Status(500..=599) => Some(2),
            Outcome::Status(_) => None,
            Outcome::Failed => Some(3),
        };
        if let Some(slot) = class.and_then(|i| self.responses.get_mut(i)) {
            *slot += 1;
        }
        if !matches!(outcome, Outcome::Failed) {
            self.latency.resize(LATENCY_BOUNDS_MS.len() + 1, 0);
            let at = LATENCY_BOUNDS_MS
                .iter()
                .position(|&bound| latency_ms <= bound)
                .unwrap_or(LATENCY_BOUNDS_MS.len());
            if let Some(slot) = self.latency.get_mut(at) {
                *slot += 1;
            }
        }
        if let Some(usage) = usage {
            self.metered += 1;
            self.completion_tokens = self
                .completion_tokens
                .saturating_add(usage.completion_tokens);
            self.cost_pico = self.cost_pico.saturating_add(cost);
        }
    }

    pub fn server_errors(&self) -> u64 {
        self.responses[2]
    }

    /// The upper bound (ms) of the bucket holding quantile `q` of the timed answers; the
    /// overflow bucket reads as twice the last bound. `None` without answers.
    pub fn latency_quantile_ms(&self, q: f64) -> Option<u64> {
        let total: u64 = self.latency.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (at, n) in self.latency.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(LATENCY_BOUNDS_MS.get(at).copied().unwrap_or(120_000));
            }
        }
        None
    }
}

/// The shared record of one candidate's shadowing: its answers and the active environment's
/// answers to the same requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowComparison {
    pub candidate: AnswerStats,
    pub active: AnswerStats,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_latency_and_usage() {
        let mut stats = AnswerStats::default();
        for ms in [5, 12, 12, 90, 3000] {
            stats.record(Outcome::Status(200), ms, None, 0);
        }
        stats.record(Outcome::Status(503), 40, None, 0);
        stats.record(Outcome::Status(429), 40, None, 0);
        stats.record(Outcome::Failed, 0, None, 0);
        stats.record(
            Outcome::Status(200),
            40,
            Some(Usage {
                prompt_tokens: 3,
                completion_tokens: 7,
            }),
            11,
        );
        assert_eq!(stats.requests, 9);
        assert_eq!(stats.responses, [6, 1, 1, 1]);
        assert_eq!(stats.server_errors(), 1);
        assert_eq!(
            (stats.metered, stats.completion_tokens, stats.cost_pico),
            (1, 7, 11)
        );
        // Timed: 5 12 12 40 40 40 90 3000 → p50 the 4th (40), p95 the 8th (3000).
        assert_eq!(stats.latency_quantile_ms(0.5), Some(40));
        assert_eq!(stats.latency_quantile_ms(0.95), Some(3000));
        assert_eq!(AnswerStats::default().latency_quantile_ms(0.5), None);
        let mut slow = AnswerStats::default();
        slow.record(Outcome::Status(200), 600_000, None, 0);
        assert_eq!(slow.latency_quantile_ms(0.95), Some(120_000));
        let both = ShadowComparison {
            candidate: stats,
            ..ShadowComparison::default()
        };
        crate::record::check_codec(&both);
    }
}
