//! Passive health on the host side: each answer the relay filter sees is counted per
//! environment in VM memory (hot path: an add), and the timer adds the counts to the shared
//! per-interval record the prober judges (`health::passive`).

use log::debug;

use super::api::{Host, Map};
use super::vm::Vm;
use super::{keys, shared};
use crate::config::Config;
use crate::environment::Environment;
use crate::health::passive::{PassiveCounts, PassiveRecord};
use crate::routing::Headers;

/// One answer from `env`. Envoy's own 503/504 (the relay could not be reached or was too slow)
/// lack the `x-envoy-upstream-service-time` header a relay's answer gets; only for those two
/// statuses is it looked up, so a plain answer costs no host call here.
pub fn count<H: Host>(vm: &Vm<H>, env: Environment, status: Option<u32>, headers: &impl Headers) {
    let mut pending = vm.passive_pending.get();
    let counts = &mut pending[env.index()];
    counts.answered += 1;
    match status {
        Some(503 | 504) => {
            const TIMING: &str = "x-envoy-upstream-service-time";
            let from_relay = headers.get(TIMING).is_some()
                || vm
                    .host
                    .header(Map::ResponseHeaders, TIMING)
                    .ok()
                    .flatten()
                    .is_some();
            if from_relay {
                counts.relay_errors += 1;
            } else {
                counts.envoy_errors += 1;
            }
        }
        Some(500..=599) => counts.relay_errors += 1,
        _ => {}
    }
    vm.passive_pending.set(pending);
}

/// On the timer: this VM's counts into the shared record of the current interval.
pub fn flush<H: Host>(vm: &Vm<H>, config: &Config, now_ms: u64) {
    let Some(hc) = &config.health_check else {
        return;
    };
    let pending = vm.passive_pending.replace(Default::default());
    let slot_ms = now_ms - now_ms % hc.interval_ms;
    let mut kept = [PassiveCounts::default(); 2];
    for env in Environment::ALL {
        let counts = pending[env.index()];
        if counts.is_empty() {
            continue;
        }
        let key = keys::passive(env, &config.environment(env).cluster);
        let added = shared::update(&vm.host, &key, |record: &mut PassiveRecord| {
            record.add(slot_ms, hc.interval_ms, counts);
        });
        if added.is_none() {
            debug!("passive counts of {} kept for the next tick", env.as_str());
            kept[env.index()] = counts;
        }
        let failures = counts.failures();
        if failures > 0 {
            let name = format!("bluegreen.{}.passive_failures", env.as_str());
            vm.metrics
                .borrow_mut()
                .increment_named(&vm.host, &name, failures);
        }
    }
    let mut now = vm.passive_pending.get();
    for env in Environment::ALL {
        now[env.index()].add(kept[env.index()]);
    }
    vm.passive_pending.set(now);
}
