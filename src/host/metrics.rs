//! Envoy stats for the filter. Requests are counted in the VM and flushed on the timer, so the
//! hot path makes no metric host call; reads add this VM's unflushed deltas.

use std::cell::RefCell;
use std::collections::HashMap;

use log::warn;
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

use crate::environment::Environment;
use crate::status::counters::{weight_gauge_name, Counter, PendingCounts};
use crate::status::EnvironmentCounts;

#[derive(Default)]
struct Ids {
    counters: [[u32; 4]; 2],
    weight_gauges: [u32; 2],
}

thread_local! {
    static IDS: RefCell<Option<Ids>> = const { RefCell::new(None) };
    static PENDING: RefCell<PendingCounts> = RefCell::new(PendingCounts::default());
    static NAMED: RefCell<HashMap<String, u32>> = RefCell::new(HashMap::new());
}

/// The id of an occasional metric (probes, health, rollbacks), defined on first use.
/// Not for the hot path: it looks the name up in a map.
fn named(kind: MetricType, name: &str) -> Option<u32> {
    if let Some(id) = NAMED.with(|map| map.borrow().get(name).copied()) {
        return Some(id);
    }
    match hostcalls::define_metric(kind, name) {
        Ok(id) => {
            NAMED.with(|map| map.borrow_mut().insert(name.to_string(), id));
            Some(id)
        }
        Err(status) => {
            warn!("defining metric {name} failed: {status:?}");
            None
        }
    }
}

pub fn increment_named(name: &str, delta: u64) {
    if let Some(id) = named(MetricType::Counter, name) {
        if let Err(status) = hostcalls::increment_metric(id, delta as i64) {
            warn!("incrementing {name} failed: {status:?}");
        }
    }
}

pub fn set_named_gauge(name: &str, value: u64) {
    if let Some(id) = named(MetricType::Gauge, name) {
        if let Err(status) = hostcalls::record_metric(id, value) {
            warn!("recording {name} failed: {status:?}");
        }
    }
}

/// Defines the metrics once per VM (Envoy returns the same stat for the same name).
pub fn define() -> bool {
    if IDS.with(|ids| ids.borrow().is_some()) {
        return true;
    }
    let mut ids = Ids::default();
    for env in Environment::ALL {
        for counter in Counter::ALL {
            match hostcalls::define_metric(MetricType::Counter, &counter.metric_name(env)) {
                Ok(id) => ids.counters[env.index()][counter.index()] = id,
                Err(status) => {
                    warn!(
                        "defining metric {} failed: {status:?}",
                        counter.metric_name(env)
                    );
                    return false;
                }
            }
        }
        match hostcalls::define_metric(MetricType::Gauge, &weight_gauge_name(env)) {
            Ok(id) => ids.weight_gauges[env.index()] = id,
            Err(status) => {
                warn!(
                    "defining metric {} failed: {status:?}",
                    weight_gauge_name(env)
                );
                return false;
            }
        }
    }
    IDS.with(|slot| *slot.borrow_mut() = Some(ids));
    true
}

/// Hot path: a plain add in VM memory.
pub fn count(env: Environment, counter: Counter) {
    PENDING.with(|pending| pending.borrow_mut().add(env, counter));
}

pub fn flush() {
    super::ai_metrics::flush();
    let deltas = PENDING.with(|pending| pending.borrow_mut().drain());
    if deltas.is_empty() {
        return;
    }
    IDS.with(|ids| {
        let ids = ids.borrow();
        let Some(ids) = ids.as_ref() else { return };
        for (env, counter, delta) in deltas {
            let id = ids.counters[env.index()][counter.index()];
            if let Err(status) = hostcalls::increment_metric(id, delta as i64) {
                warn!("flushing {} failed: {status:?}", counter.metric_name(env));
            }
        }
    });
}

pub fn set_weight(env: Environment, basis_points: u32) {
    IDS.with(|ids| {
        if let Some(ids) = ids.borrow().as_ref() {
            if let Err(status) =
                hostcalls::record_metric(ids.weight_gauges[env.index()], u64::from(basis_points))
            {
                warn!("recording {} failed: {status:?}", weight_gauge_name(env));
            }
        }
    });
}

/// Whole-Envoy counts (Envoy's stats are process-wide) plus this VM's unflushed deltas.
pub fn totals() -> [EnvironmentCounts; 2] {
    let mut out = [EnvironmentCounts::default(); 2];
    IDS.with(|ids| {
        let ids = ids.borrow();
        let Some(ids) = ids.as_ref() else { return };
        PENDING.with(|pending| {
            let pending = pending.borrow();
            for env in Environment::ALL {
                for counter in Counter::ALL {
                    let id = ids.counters[env.index()][counter.index()];
                    let flushed = hostcalls::get_metric(id).unwrap_or(0);
                    out[env.index()].counts[counter.index()] = flushed + pending.get(env, counter);
                }
            }
        });
    });
    out
}
