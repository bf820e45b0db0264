//! Envoy stats of the AI relay part: per environment and model, counted in the VM and flushed on
//! the timer (like `metrics.rs`); the time-to-first-byte histogram per environment. A model's
//! stats are defined when its first answer is flushed, and its stat name is added to a set in
//! shared data, so the status endpoint reads (and defines) only stats some worker counted.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use log::warn;
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

use crate::ai::meter::{
    ttfb_histogram_name, Answered, EnvironmentUsage, ModelTotals, PendingUsage, UsageCounter, OTHER,
};
use crate::config::ModelCatalog;
use crate::environment::Environment;

use super::shared;

/// Shared-data key: the model stat names any worker has counted (a JSON array).
const COUNTED_MODELS: &str = "bluegreen.usage.counted_models";

thread_local! {
    static PENDING: RefCell<PendingUsage> = RefCell::new(PendingUsage::default());
    /// Metric ids by full stat name.
    static IDS: RefCell<HashMap<String, u32>> = RefCell::new(HashMap::new());
    static TTFB: RefCell<[Option<u32>; 2]> = const { RefCell::new([None, None]) };
    /// Model stat names this VM already added to `COUNTED_MODELS`.
    static REGISTERED: RefCell<BTreeSet<String>> = const { RefCell::new(BTreeSet::new()) };
}

/// One answered completion: a plain add in VM memory.
pub fn count(answered: Answered<'_>) {
    PENDING.with(|pending| pending.borrow_mut().add(answered));
}

pub fn flush() {
    let deltas = PENDING.with(|pending| pending.borrow_mut().drain());
    for (env, stat, counter, delta) in deltas {
        register(&stat);
        let name = counter.metric_name(env, &stat);
        if let Some(id) = id(&name) {
            if let Err(status) = hostcalls::increment_metric(id, delta as i64) {
                warn!("flushing {name} failed: {status:?}");
            }
        }
    }
}

/// Adds a model's stat name to the shared set, once per VM.
fn register(stat: &str) {
    if REGISTERED.with(|set| set.borrow().contains(stat)) {
        return;
    }
    let added = shared::update::<BTreeSet<String>, ()>(COUNTED_MODELS, |set| {
        set.insert(stat.to_string());
    });
    if added.is_some() {
        REGISTERED.with(|set| set.borrow_mut().insert(stat.to_string()));
    }
}

fn id(name: &str) -> Option<u32> {
    if let Some(id) = IDS.with(|ids| ids.borrow().get(name).copied()) {
        return Some(id);
    }
    match hostcalls::define_metric(MetricType::Counter, name) {
        Ok(id) => {
            IDS.with(|ids| ids.borrow_mut().insert(name.to_string(), id));
            Some(id)
        }
        Err(status) => {
            warn!("defining metric {name} failed: {status:?}");
            None
        }
    }
}

/// Records one answer's time to first byte (one host call; the id is cached per VM).
pub fn record_ttfb(env: Environment, ms: u64) {
    let cached = TTFB.with(|ids| ids.borrow()[env.index()]);
    let id = match cached {
        Some(id) => id,
        None => match hostcalls::define_metric(MetricType::Histogram, &ttfb_histogram_name(env)) {
            Ok(id) => {
                TTFB.with(|ids| ids.borrow_mut()[env.index()] = Some(id));
                id
            }
            Err(status) => {
                warn!("defining {} failed: {status:?}", ttfb_histogram_name(env));
                return;
            }
        },
    };
    if let Err(status) = hostcalls::record_metric(id, ms) {
        warn!("recording {} failed: {status:?}", ttfb_histogram_name(env));
    }
}

/// Whole-Envoy totals for every catalog model and `other` (zeros for models nobody counted),
/// plus this VM's unflushed deltas.
pub fn totals(catalog: &ModelCatalog) -> [EnvironmentUsage; 2] {
    let counted: BTreeSet<String> = shared::read(COUNTED_MODELS).unwrap_or_default();
    let mut out: [EnvironmentUsage; 2] = Default::default();
    let models = catalog
        .iter()
        .map(|spec| {
            (
                spec.name.as_str(),
                spec.stat_name.as_str(),
                spec.price.is_some(),
            )
        })
        .chain(std::iter::once((OTHER, OTHER, false)));
    PENDING.with(|pending| {
        let pending = pending.borrow();
        for (name, stat, priced) in models {
            let flushed_anywhere = counted.contains(stat);
            for env in Environment::ALL {
                let mut totals = ModelTotals::default();
                for counter in UsageCounter::ALL {
                    if counter == UsageCounter::CostMicroUsd && !priced {
                        continue;
                    }
                    let flushed = if flushed_anywhere {
                        id(&counter.metric_name(env, stat))
                            .and_then(|id| hostcalls::get_metric(id).ok())
                            .unwrap_or(0)
                    } else {
                        0
                    };
                    *totals.get_mut(counter) = flushed + pending.get(env, stat, counter);
                }
                out[env.index()].models.insert(name.to_string(), totals);
            }
        }
    });
    out
}
