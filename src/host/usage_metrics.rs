//! Envoy stats of the AI relay part: tokens and cost per environment and model, counted in the
//! VM and flushed on the timer (like `metrics.rs`), and the time-to-first-byte histogram per
//! environment. A model's stats are defined when its first answer is flushed, and its stat name
//! is added to a set in shared data, so the status endpoint reads (and defines) only stats some
//! worker counted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use log::warn;

use super::api::{Host, MetricKind};
use super::{keys, shared};
use crate::ai::meter::{
    ttfb_histogram_name, Answered, EnvironmentUsage, ModelTotals, PendingUsage, UsageCounter, OTHER,
};
use crate::ai::traffic::ModelTraffic;
use crate::config::ModelCatalog;
use crate::environment::Environment;

/// Shared-data key: the model stat names any worker has counted.
const COUNTED_MODELS: &str = "bluegreen.usage.counted_models";

#[derive(Debug, Default)]
pub struct UsageMetrics {
    pending: PendingUsage,
    /// Metric ids by full stat name.
    ids: HashMap<String, u32>,
    /// The TTFB histogram's id per environment: recorded per answer, so never looked up by name.
    ttfb: [Option<u32>; 2],
    /// Model stat names this VM already added to `COUNTED_MODELS`.
    registered: BTreeSet<String>,
    /// Answered completions per model name since the last flush, for the traffic window.
    traffic: BTreeMap<String, u64>,
}

impl UsageMetrics {
    /// One answered completion: a plain add in VM memory.
    pub fn count(&mut self, answered: Answered<'_>) {
        match self.traffic.get_mut(answered.model) {
            Some(n) => *n += 1,
            None => {
                self.traffic.insert(answered.model.to_string(), 1);
            }
        }
        self.pending.add(answered);
    }

    pub fn flush(&mut self, host: &impl Host, now_ms: u64) {
        if !self.traffic.is_empty() {
            let traffic = std::mem::take(&mut self.traffic);
            let added = shared::update(host, keys::MODEL_TRAFFIC, |window: &mut ModelTraffic| {
                window.add(now_ms, &traffic);
            });
            if added.is_none() {
                self.traffic = traffic;
            }
        }
        for (env, stat, counter, delta) in self.pending.drain() {
            self.register(host, &stat);
            let name = counter.metric_name(env, &stat);
            if let Some(id) = self.id(host, &name) {
                if let Err(err) = host.increment_metric(id, delta as i64) {
                    warn!("flushing {name} failed: {err}");
                }
            }
        }
    }

    /// Adds a model's stat name to the shared set, once per VM.
    fn register(&mut self, host: &impl Host, stat: &str) {
        if self.registered.contains(stat) {
            return;
        }
        let added = shared::update::<BTreeSet<String>, ()>(host, COUNTED_MODELS, |set| {
            set.insert(stat.to_string());
        });
        if added.is_some() {
            self.registered.insert(stat.to_string());
        }
    }

    fn id(&mut self, host: &impl Host, name: &str) -> Option<u32> {
        if let Some(id) = self.ids.get(name) {
            return Some(*id);
        }
        match host.define_metric(MetricKind::Counter, name) {
            Ok(id) => {
                self.ids.insert(name.to_string(), id);
                Some(id)
            }
            Err(err) => {
                warn!("defining metric {name} failed: {err}");
                None
            }
        }
    }

    /// One answer's time to first byte: one host call (the id is cached per VM).
    pub fn record_ttfb(&mut self, host: &impl Host, env: Environment, ms: u64) {
        let id = match self.ttfb[env.index()] {
            Some(id) => id,
            None => match host.define_metric(MetricKind::Histogram, &ttfb_histogram_name(env)) {
                Ok(id) => {
                    self.ttfb[env.index()] = Some(id);
                    id
                }
                Err(err) => {
                    warn!("defining {} failed: {err}", ttfb_histogram_name(env));
                    return;
                }
            },
        };
        if let Err(err) = host.record_metric(id, ms) {
            warn!("recording {} failed: {err}", ttfb_histogram_name(env));
        }
    }

    /// Whole-Envoy totals for every catalog model and `other` (zeros for models nobody
    /// counted), plus this VM's unflushed deltas.
    pub fn totals(&mut self, host: &impl Host, catalog: &ModelCatalog) -> [EnvironmentUsage; 2] {
        let counted: BTreeSet<String> = shared::read(host, COUNTED_MODELS).unwrap_or_default();
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
        for (name, stat, priced) in models {
            let flushed_anywhere = counted.contains(stat);
            for env in Environment::ALL {
                let mut totals = ModelTotals::default();
                for counter in UsageCounter::ALL {
                    if counter == UsageCounter::CostMicroUsd && !priced {
                        continue;
                    }
                    let flushed = if flushed_anywhere {
                        self.id(host, &counter.metric_name(env, stat))
                            .and_then(|id| host.metric(id).ok())
                            .unwrap_or(0)
                    } else {
                        0
                    };
                    *totals.get_mut(counter) = flushed + self.pending.get(env, stat, counter);
                }
                out[env.index()].models.insert(name.to_string(), totals);
            }
        }
        out
    }
}
