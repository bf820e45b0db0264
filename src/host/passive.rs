//! Passive health on the host side: each answer the relay filter sees is counted per
//! environment in VM memory (hot path: an add), and the timer adds the counts to the shared
//! per-interval record the prober judges (`health::passive`).

use std::cell::Cell;

use log::{debug, warn};

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
                note_tls_failure(vm, env);
            }
        }
        Some(500..=599) => counts.relay_errors += 1,
        _ => {}
    }
    vm.passive_pending.set(pending);
}

thread_local! {
    /// Per environment, whether this VM has logged a TLS failure's reason yet (a VM runs on one
    /// thread): one line per worker says why, the counter says how often.
    static TLS_FAILURE_LOGGED: Cell<[bool; 2]> = const { Cell::new([false; 2]) };
}

/// Envoy's 503 for a failed upstream connection says only "remote connection failure"; the
/// stream's `upstream.transport_failure_reason` says why. A TLS failure (a certificate that does
/// not validate, a name that does not match) is counted as `bluegreen.<env>.tls_failures` and
/// its reason logged, so it can be told from a relay that is down. Probes cannot do this: an
/// http call's callback has no stream info (every upstream property reads as absent there).
fn note_tls_failure<H: Host>(vm: &Vm<H>, env: Environment) {
    let reason = vm
        .host
        .property(&["upstream", "transport_failure_reason"])
        .ok()
        .flatten();
    let Some(reason) = reason.filter(|r| r.starts_with(b"TLS_error")) else {
        return;
    };
    let name = format!("bluegreen.{}.tls_failures", env.as_str());
    vm.metrics.borrow_mut().increment_named(&vm.host, &name, 1);
    let mut logged = TLS_FAILURE_LOGGED.get();
    if let Some(done) = logged.get_mut(env.index()).filter(|done| !**done) {
        *done = true;
        TLS_FAILURE_LOGGED.set(logged);
        warn!(
            "TLS with {}'s relay failed (counted in {name}): {}",
            env.as_str(),
            String::from_utf8_lossy(&reason)
        );
    }
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
