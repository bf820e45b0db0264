//! Automatic rollback: the candidate's real responses, counted by every worker into one sliding
//! window in shared data; at `max_error_rate` over at least `min_requests`, the candidate is
//! tripped until `cooldown_ms` has passed and a probe has passed again.

use serde::{Deserialize, Serialize};

use crate::config::AutoRollback;

/// The window is kept as ten slices so old traffic leaves it gradually.
const SLICES: u64 = 10;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slice {
    pub start_ms: u64,
    pub requests: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Trip {
    pub at_ms: u64,
    pub until_ms: u64,
    pub error_rate: f64,
    pub requests: u64,
}

/// Shared by all workers under one key per candidate cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RollbackRecord {
    pub slices: Vec<Slice>,
    pub trip: Option<Trip>,
}

impl RollbackRecord {
    /// Adds one worker's counts and trips the candidate if the window crossed the limit.
    /// Returns the new trip, if this call made one.
    pub fn add(
        &mut self,
        rules: &AutoRollback,
        now_ms: u64,
        requests: u64,
        errors: u64,
    ) -> Option<Trip> {
        let width = (rules.window_ms / SLICES).max(1);
        let start_ms = now_ms - now_ms % width;
        self.slices
            .retain(|s| s.start_ms + rules.window_ms > now_ms && s.start_ms <= now_ms);
        match self.slices.iter_mut().find(|s| s.start_ms == start_ms) {
            Some(slice) => {
                slice.requests += requests;
                slice.errors += errors;
            }
            None => self.slices.push(Slice {
                start_ms,
                requests,
                errors,
            }),
        }
        if self.is_tripped_at(now_ms) {
            return None;
        }
        let (total, failed) = self.totals();
        if total < rules.min_requests {
            return None;
        }
        let error_rate = failed as f64 / total as f64;
        if error_rate < rules.max_error_rate {
            return None;
        }
        let trip = Trip {
            at_ms: now_ms,
            until_ms: now_ms + rules.cooldown_ms,
            error_rate,
            requests: total,
        };
        self.trip = Some(trip);
        // A fresh start after the cooldown: old errors must not trip it again at once.
        self.slices.clear();
        Some(trip)
    }

    pub fn totals(&self) -> (u64, u64) {
        self.slices
            .iter()
            .fold((0, 0), |(r, e), s| (r + s.requests, e + s.errors))
    }

    fn is_tripped_at(&self, now_ms: u64) -> bool {
        self.trip.is_some_and(|t| now_ms < t.until_ms)
    }

    /// Whether the candidate is held out: during the cooldown, and after it until a probe passes
    /// (when probes run at all).
    pub fn holds(&self, now_ms: u64, last_pass_ms: u64, probing: bool) -> bool {
        match self.trip {
            None => false,
            Some(trip) => now_ms < trip.until_ms || (probing && last_pass_ms <= trip.until_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> AutoRollback {
        AutoRollback {
            max_error_rate: 0.5,
            min_requests: 10,
            window_ms: 10_000,
            cooldown_ms: 5_000,
        }
    }

    #[test]
    fn trips_only_with_enough_requests_and_errors() {
        let mut record = RollbackRecord::default();
        assert_eq!(
            record.add(&rules(), 1_000, 9, 9),
            None,
            "below min_requests"
        );
        let trip = record.add(&rules(), 1_100, 1, 0).unwrap();
        assert_eq!(trip.requests, 10);
        assert!((trip.error_rate - 0.9).abs() < 1e-9);
        assert_eq!(trip.until_ms, 6_100);
        assert!(record.slices.is_empty());
        assert_eq!(record.add(&rules(), 1_200, 20, 20), None, "already tripped");
    }

    #[test]
    fn healthy_traffic_never_trips() {
        let mut record = RollbackRecord::default();
        for i in 0..100 {
            assert_eq!(record.add(&rules(), 1_000 + i * 100, 10, 4), None);
        }
    }

    #[test]
    fn old_errors_leave_the_window() {
        let mut record = RollbackRecord::default();
        record.add(&rules(), 1_000, 5, 5);
        // 11 s later the first slice is out of the 10 s window.
        assert_eq!(record.add(&rules(), 12_000, 6, 0), None);
        assert_eq!(record.totals(), (6, 0));
    }

    #[test]
    fn holds_until_cooldown_and_a_passing_probe() {
        let mut record = RollbackRecord::default();
        record.add(&rules(), 1_000, 10, 10);
        assert!(record.holds(2_000, 0, true));
        assert!(
            record.holds(7_000, 5_000, true),
            "no probe passed since the cooldown ended"
        );
        assert!(!record.holds(7_000, 6_500, true));
        assert!(
            !record.holds(7_000, 0, false),
            "without probes the cooldown is enough"
        );
        assert!(!RollbackRecord::default().holds(0, 0, true));
    }

    #[test]
    fn record_round_trips_through_the_shared_encoding() {
        let slice = |start_ms, requests, errors| Slice {
            start_ms,
            requests,
            errors,
        };
        crate::record::check_codec(&RollbackRecord {
            slices: vec![
                slice(1_000, 10, 2),
                slice(2_000, 0, 0),
                slice(u64::MAX, 1, 1),
            ],
            trip: Some(Trip {
                at_ms: 5,
                until_ms: 300_005,
                error_rate: 0.123456,
                requests: 40,
            }),
        });
    }
}
