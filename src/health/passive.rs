//! Passive health: what an environment's real answers say about it. Every worker counts its
//! requests' answers per environment and adds them on the timer to a shared record kept per probe
//! interval; the prober then judges the interval that just ended like a probe round, so that an
//! environment serving real traffic needs no probe at all.
//!
//! An interval fails when at least half of the answers in it failed: *unhealthy* when Envoy
//! answered for the relay (no connection, reset, timeout), *degraded* when the relay answered
//! 5xx. Finer error rates are automatic rollback's job (`rollback.rs`); this only tells whether
//! the environment can serve at all.

use serde::{Deserialize, Serialize};

use super::Outcome;

/// One worker's answers for one environment since its last flush.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassiveCounts {
    pub answered: u64,
    /// 5xx from the relay itself.
    pub relay_errors: u64,
    /// Envoy's own 503/504: the relay could not be reached or did not answer in time.
    pub envoy_errors: u64,
}

impl PassiveCounts {
    pub fn is_empty(&self) -> bool {
        self.answered == 0
    }

    pub fn failures(&self) -> u64 {
        self.relay_errors + self.envoy_errors
    }

    pub fn add(&mut self, other: PassiveCounts) {
        self.answered += other.answered;
        self.relay_errors += other.relay_errors;
        self.envoy_errors += other.envoy_errors;
    }
}

/// One probe interval's answers, from every worker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Interval {
    /// Start of the interval, Unix ms (a multiple of `interval_ms`).
    pub slot_ms: u64,
    pub answered: u64,
    pub relay_errors: u64,
    pub envoy_errors: u64,
}

impl Interval {
    fn counts(&self) -> PassiveCounts {
        PassiveCounts {
            answered: self.answered,
            relay_errors: self.relay_errors,
            envoy_errors: self.envoy_errors,
        }
    }

    /// The interval judged like a probe round; `None` when it carried no real traffic.
    pub fn verdict(&self) -> Option<Outcome> {
        let counts = self.counts();
        if counts.is_empty() {
            return None;
        }
        let failures = counts.failures();
        if failures * 2 < counts.answered {
            return Some(Outcome::Pass);
        }
        let summary = format!("{failures} of {} real requests failed", counts.answered);
        Some(if counts.envoy_errors >= counts.relay_errors {
            Outcome::Unhealthy(format!("{summary}: no connection, reset or timeout"))
        } else {
            Outcome::Degraded(format!("{summary}: 5xx from the relay"))
        })
    }
}

/// The current and the last interval of one environment, in shared data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PassiveRecord {
    pub intervals: Vec<Interval>,
}

impl PassiveRecord {
    /// Adds counts to the interval starting at `slot_ms`; keeps that one and the one before.
    pub fn add(&mut self, slot_ms: u64, interval_ms: u64, counts: PassiveCounts) {
        let oldest = slot_ms.saturating_sub(interval_ms);
        self.intervals
            .retain(|i| i.slot_ms >= oldest && i.slot_ms <= slot_ms);
        match self.intervals.iter_mut().find(|i| i.slot_ms == slot_ms) {
            Some(interval) => {
                let mut sum = interval.counts();
                sum.add(counts);
                *interval = Interval {
                    slot_ms,
                    answered: sum.answered,
                    relay_errors: sum.relay_errors,
                    envoy_errors: sum.envoy_errors,
                };
            }
            None => self.intervals.push(Interval {
                slot_ms,
                answered: counts.answered,
                relay_errors: counts.relay_errors,
                envoy_errors: counts.envoy_errors,
            }),
        }
    }

    /// The interval that started at `slot_ms`, if any traffic was counted in it.
    pub fn interval(&self, slot_ms: u64) -> Option<&Interval> {
        self.intervals.iter().find(|i| i.slot_ms == slot_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(answered: u64, relay_errors: u64, envoy_errors: u64) -> PassiveCounts {
        PassiveCounts {
            answered,
            relay_errors,
            envoy_errors,
        }
    }

    #[test]
    fn an_interval_fails_when_half_its_answers_failed() {
        let mut record = PassiveRecord::default();
        record.add(1000, 1000, counts(10, 4, 0));
        assert_eq!(
            record.interval(1000).unwrap().verdict(),
            Some(Outcome::Pass)
        );
        record.add(1000, 1000, counts(2, 2, 0));
        assert_eq!(
            record.interval(1000).unwrap().verdict(),
            Some(Outcome::Degraded(
                "6 of 12 real requests failed: 5xx from the relay".to_string()
            ))
        );
        record.add(2000, 1000, counts(4, 0, 3));
        assert!(matches!(
            record.interval(2000).unwrap().verdict(),
            Some(Outcome::Unhealthy(_))
        ));
        assert_eq!(Interval::default().verdict(), None);
    }

    #[test]
    fn only_the_current_and_the_last_interval_are_kept() {
        let mut record = PassiveRecord::default();
        for slot in [1000, 2000, 3000, 4000] {
            record.add(slot, 1000, counts(1, 0, 0));
        }
        let slots: Vec<u64> = record.intervals.iter().map(|i| i.slot_ms).collect();
        assert_eq!(slots, [3000, 4000]);
        assert!(record.interval(2000).is_none());
        crate::record::check_codec(&record);
    }
}
