//! Envoy stats for the filter. Requests are counted in the VM and flushed on the timer, so the
//! hot path makes no metric host call; reads add this VM's unflushed deltas. Occasional stats
//! (probes, health, rollbacks, mode changes) are defined on first use by name.

use std::collections::HashMap;

use log::warn;

use super::api::{Host, MetricKind};
use crate::environment::Environment;
use crate::status::counters::{weight_gauge_name, Counter, PendingCounts};
use crate::status::EnvironmentCounts;

#[derive(Debug, Default)]
pub struct Metrics {
    /// Counter ids per environment and `Counter`, once defined.
    counters: Option<[[u32; Counter::COUNT]; 2]>,
    weight_gauges: [Option<u32>; 2],
    pending: PendingCounts,
    /// Ids of the occasional stats, by full name.
    named: HashMap<String, u32>,
}

impl Metrics {
    /// Defines the per-request counters and weight gauges once per VM (Envoy returns the same
    /// stat for the same name). `false` when the host refused one.
    pub fn define(&mut self, host: &impl Host) -> bool {
        if self.counters.is_some() {
            return true;
        }
        let mut ids = [[0u32; Counter::COUNT]; 2];
        for env in Environment::ALL {
            for counter in Counter::ALL {
                let name = counter.metric_name(env);
                match host.define_metric(MetricKind::Counter, &name) {
                    Ok(id) => ids[env.index()][counter.index()] = id,
                    Err(err) => {
                        warn!("defining metric {name} failed: {err}");
                        return false;
                    }
                }
            }
            let name = weight_gauge_name(env);
            match host.define_metric(MetricKind::Gauge, &name) {
                Ok(id) => self.weight_gauges[env.index()] = Some(id),
                Err(err) => {
                    warn!("defining metric {name} failed: {err}");
                    return false;
                }
            }
        }
        self.counters = Some(ids);
        true
    }

    /// Hot path: a plain add in VM memory.
    pub fn count(&mut self, env: Environment, counter: Counter) {
        self.pending.add(env, counter);
    }

    pub fn flush(&mut self, host: &impl Host) {
        let Some(ids) = self.counters else { return };
        for (env, counter, delta) in self.pending.drain() {
            let id = ids[env.index()][counter.index()];
            if let Err(err) = host.increment_metric(id, delta as i64) {
                warn!("flushing {} failed: {err}", counter.metric_name(env));
            }
        }
    }

    /// Whole-Envoy counts (Envoy's stats are process-wide) plus this VM's unflushed deltas.
    pub fn totals(&self, host: &impl Host) -> [EnvironmentCounts; 2] {
        let mut out = [EnvironmentCounts::default(); 2];
        let Some(ids) = self.counters else { return out };
        for env in Environment::ALL {
            for counter in Counter::ALL {
                let flushed = host.metric(ids[env.index()][counter.index()]).unwrap_or(0);
                out[env.index()].counts[counter.index()] = flushed + self.pending.get(env, counter);
            }
        }
        out
    }

    pub fn set_weight(&self, host: &impl Host, env: Environment, basis_points: u32) {
        if let Some(id) = self.weight_gauges[env.index()] {
            if let Err(err) = host.record_metric(id, u64::from(basis_points)) {
                warn!("recording {} failed: {err}", weight_gauge_name(env));
            }
        }
    }

    /// The id of an occasional stat, defined on first use. Not for the hot path: a map lookup.
    fn named(&mut self, host: &impl Host, kind: MetricKind, name: &str) -> Option<u32> {
        if let Some(id) = self.named.get(name) {
            return Some(*id);
        }
        match host.define_metric(kind, name) {
            Ok(id) => {
                self.named.insert(name.to_string(), id);
                Some(id)
            }
            Err(err) => {
                warn!("defining metric {name} failed: {err}");
                None
            }
        }
    }

    pub fn increment_named(&mut self, host: &impl Host, name: &str, delta: u64) {
        if let Some(id) = self.named(host, MetricKind::Counter, name) {
            if let Err(err) = host.increment_metric(id, delta as i64) {
                warn!("incrementing {name} failed: {err}");
            }
        }
    }

    pub fn set_named_gauge(&mut self, host: &impl Host, name: &str, value: u64) {
        if let Some(id) = self.named(host, MetricKind::Gauge, name) {
            if let Err(err) = host.record_metric(id, value) {
                warn!("recording {name} failed: {err}");
            }
        }
    }
}
