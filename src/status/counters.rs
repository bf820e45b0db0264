//! Per-environment counters: their metric names, and the deltas a VM batches between flushes.
//!
//! Counting is a plain add on the hot path; the timer flushes the deltas to Envoy's stats with
//! one host call per non-zero counter, so a request costs no metric host call at all.

use crate::environment::Environment;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    Requests,
    Responses2xx,
    Responses4xx,
    Responses5xx,
    /// With failover clusters: a request this environment was chosen for whose attempt here
    /// failed and was retried on the other one. The client saw the other's answer, so this
    /// is the only trace of the failure (a rollout counts it as an error).
    RetriedAway,
}

impl Counter {
    pub const COUNT: usize = 5;
    pub const ALL: [Counter; Counter::COUNT] = [
        Counter::Requests,
        Counter::Responses2xx,
        Counter::Responses4xx,
        Counter::Responses5xx,
        Counter::RetriedAway,
    ];

    pub const fn index(self) -> usize {
        self as usize
    }

    pub const fn suffix(self) -> &'static str {
        match self {
            Counter::Requests => "requests",
            Counter::Responses2xx => "responses_2xx",
            Counter::Responses4xx => "responses_4xx",
            Counter::Responses5xx => "responses_5xx",
            Counter::RetriedAway => "retried_away",
        }
    }

    /// The Envoy stat name, e.g. `bluegreen.green.responses_5xx`.
    pub fn metric_name(self, env: Environment) -> String {
        format!("bluegreen.{}.{}", env.as_str(), self.suffix())
    }

    /// The counter an upstream answer's `:status` falls in (1xx and 3xx are not classed).
    pub fn for_status(status: u32) -> Option<Counter> {
        match status {
            200..=299 => Some(Counter::Responses2xx),
            400..=499 => Some(Counter::Responses4xx),
            500..=599 => Some(Counter::Responses5xx),
            _ => None,
        }
    }
}

/// The weight gauge's stat name (basis points: 10000 = 100 %).
pub fn weight_gauge_name(env: Environment) -> String {
    format!("bluegreen.{}.weight_bp", env.as_str())
}

/// Parses `:status` header bytes without allocating.
pub fn parse_status(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 3 {
        return None;
    }
    bytes.iter().try_fold(0u32, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// Counts not yet flushed to Envoy, per environment and counter.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PendingCounts {
    counts: [[u64; Counter::COUNT]; 2],
}

impl PendingCounts {
    pub fn add(&mut self, env: Environment, counter: Counter) {
        self.counts[env.index()][counter.index()] += 1;
    }

    pub fn get(&self, env: Environment, counter: Counter) -> u64 {
        self.counts[env.index()][counter.index()]
    }

    /// Takes every non-zero delta and resets it.
    pub fn drain(&mut self) -> Vec<(Environment, Counter, u64)> {
        let mut out = Vec::new();
        for env in Environment::ALL {
            for counter in Counter::ALL {
                let slot = &mut self.counts[env.index()][counter.index()];
                if *slot > 0 {
                    out.push((env, counter, *slot));
                    *slot = 0;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            Counter::Responses5xx.metric_name(Environment::Green),
            "bluegreen.green.responses_5xx"
        );
        assert_eq!(
            weight_gauge_name(Environment::Blue),
            "bluegreen.blue.weight_bp"
        );
    }

    #[test]
    fn status_classes() {
        assert_eq!(Counter::for_status(200), Some(Counter::Responses2xx));
        assert_eq!(Counter::for_status(299), Some(Counter::Responses2xx));
        assert_eq!(Counter::for_status(404), Some(Counter::Responses4xx));
        assert_eq!(Counter::for_status(503), Some(Counter::Responses5xx));
        assert_eq!(Counter::for_status(302), None);
        assert_eq!(Counter::for_status(100), None);
    }

    #[test]
    fn status_parsing() {
        assert_eq!(parse_status(b"200"), Some(200));
        assert_eq!(parse_status(b"5"), Some(5));
        assert_eq!(parse_status(b""), None);
        assert_eq!(parse_status(b"2x0"), None);
        assert_eq!(parse_status(b"2000"), None);
    }

    #[test]
    fn drain_returns_and_resets() {
        let mut pending = PendingCounts::default();
        pending.add(Environment::Green, Counter::Requests);
        pending.add(Environment::Green, Counter::Requests);
        pending.add(Environment::Blue, Counter::Responses4xx);
        assert_eq!(pending.get(Environment::Green, Counter::Requests), 2);
        let drained = pending.drain();
        assert_eq!(
            drained,
            vec![
                (Environment::Blue, Counter::Responses4xx, 1),
                (Environment::Green, Counter::Requests, 2)
            ]
        );
        assert!(pending.drain().is_empty());
    }
}
