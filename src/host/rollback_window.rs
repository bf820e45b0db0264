//! The candidate's real responses, counted in the VM and added on the timer to the shared
//! window every worker writes to; whoever's addition crosses the limit trips the candidate.

use std::cell::Cell;

use log::warn;

use crate::config::Config;
use crate::health::rollback::RollbackRecord;
use crate::status::rfc3339_utc;

use super::{keys, metrics, shared};

thread_local! {
    /// (responses, errors) for the candidate since the last flush.
    static PENDING: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// Hot path: one response from the candidate.
pub fn count(error: bool) {
    PENDING.with(|p| {
        let (requests, errors) = p.get();
        p.set((requests + 1, errors + u64::from(error)));
    });
}

pub fn flush(config: &Config, now_ms: u64) {
    let Some(rules) = &config.auto_rollback else {
        return;
    };
    let (requests, errors) = PENDING.with(|p| p.replace((0, 0)));
    if requests == 0 {
        return;
    }
    let candidate = config.active.other();
    let key = keys::rollback(candidate, &config.environment(candidate).cluster);
    let result = shared::update(&key, |record: &mut RollbackRecord| {
        record.add(rules, now_ms, requests, errors)
    });
    match result {
        None => PENDING.with(|p| {
            // Lost every CAS race: keep the counts for the next tick.
            let (r, e) = p.get();
            p.set((r + requests, e + errors));
        }),
        Some(Some(trip)) => {
            warn!(
                "{}: tripped by auto_rollback (error rate {:.2} over {} requests), no traffic until {} and a passing probe",
                candidate.as_str(),
                trip.error_rate,
                trip.requests,
                rfc3339_utc(trip.until_ms)
            );
            metrics::increment_named(&format!("bluegreen.{}.rollbacks", candidate.as_str()), 1);
        }
        Some(None) => {}
    }
}
