//! The candidate's real responses, counted in the VM and added on the timer to the shared
//! window every worker writes to; whoever's addition crosses the limit trips the candidate.

use log::warn;

use super::api::Host;
use super::vm::Vm;
use super::{keys, shared};
use crate::config::Config;
use crate::health::rollback::RollbackRecord;
use crate::status::rfc3339_utc;

/// Hot path: one response from the candidate.
pub fn count<H: Host>(vm: &Vm<H>, error: bool) {
    let (requests, errors) = vm.rollback_pending.get();
    vm.rollback_pending
        .set((requests + 1, errors + u64::from(error)));
}

pub fn flush<H: Host>(vm: &Vm<H>, config: &Config, now_ms: u64) {
    let Some(rules) = &config.auto_rollback else {
        return;
    };
    let (requests, errors) = vm.rollback_pending.replace((0, 0));
    if requests == 0 {
        return;
    }
    let candidate = config.active.other();
    let key = keys::rollback(candidate, &config.environment(candidate).cluster);
    let result = shared::update(&vm.host, &key, |record: &mut RollbackRecord| {
        record.add(rules, now_ms, requests, errors)
    });
    match result {
        // Lost every CAS race: keep the counts for the next tick.
        None => {
            let (r, e) = vm.rollback_pending.get();
            vm.rollback_pending.set((r + requests, e + errors));
        }
        Some(Some(trip)) => {
            warn!(
                "{}: tripped by auto_rollback (error rate {:.2} over {} requests), no traffic until {} and a passing probe",
                candidate.as_str(),
                trip.error_rate,
                trip.requests,
                rfc3339_utc(trip.until_ms)
            );
            let name = format!("bluegreen.{}.rollbacks", candidate.as_str());
            vm.metrics.borrow_mut().increment_named(&vm.host, &name, 1);
        }
        Some(None) => {}
    }
}
