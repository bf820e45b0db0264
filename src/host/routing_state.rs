//! On every tick, each worker reads the shared health and rollback records and recomputes the
//! split its requests use; the hot path then only reads a `Cell`.

use log::{info, warn};

use super::api::Host;
use super::runtime::Runtime;
use super::vm::Vm;
use super::{keys, shared};
use crate::environment::Environment;
use crate::health::policy::{decide, EnvironmentState, Mode};
use crate::health::rollback::RollbackRecord;
use crate::health::{Health, HealthRecord};
use crate::record;
use crate::status::HealthView;

pub fn refresh<H: Host>(vm: &Vm<H>, runtime: &Runtime, now_ms: u64, is_current: bool) {
    let host = &vm.host;
    let config = &runtime.config;
    let probing = config.health_check.is_some();
    let candidate = config.active.other();
    let records: [HealthRecord; 2] = Environment::ALL.map(|env| {
        if probing {
            shared::read(host, &keys::health(env, &config.environment(env).cluster))
                .unwrap_or_default()
        } else {
            HealthRecord::default()
        }
    });
    let rollback: RollbackRecord = if config.auto_rollback.is_some() {
        let key = keys::rollback(candidate, &config.environment(candidate).cluster);
        shared::read(host, &key).unwrap_or_default()
    } else {
        RollbackRecord::default()
    };
    let states = Environment::ALL.map(|env| EnvironmentState {
        health: records[env.index()].health,
        tripped: env == candidate
            && rollback.holds(now_ms, records[env.index()].last_pass_ms, probing),
    });
    let decision = decide(config, states, probing);
    let mut metrics = vm.metrics.borrow_mut();
    if runtime.split.replace(decision.split) != decision.split {
        for env in Environment::ALL {
            metrics.set_weight(host, env, decision.split.buckets(env));
        }
    }
    for env in Environment::ALL {
        let health = if probing {
            states[env.index()].health
        } else {
            Health::Healthy
        };
        metrics.set_named_gauge(
            host,
            runtime.health_gauges[env.index()].as_str(),
            health.gauge(),
        );
        let tripped = u64::from(states[env.index()].tripped);
        metrics.set_named_gauge(host, &runtime.tripped_gauges[env.index()], tripped);
    }
    drop(metrics);
    if is_current {
        announce_mode(vm, decision.mode, runtime);
    }
    let mut trips = [None, None];
    trips[candidate.index()] = rollback.trip.filter(|_| states[candidate.index()].tripped);
    runtime.health.replace(HealthView {
        probing,
        records,
        trips,
        routable: decision.routable,
        mode: decision.mode,
    });
}

/// Logs and counts a change of routing mode exactly once for the whole Envoy: the context
/// whose CAS write of the new mode wins is the one that reports it.
fn announce_mode<H: Host>(vm: &Vm<H>, mode: Mode, runtime: &Runtime) {
    let host = &vm.host;
    let (bytes, cas) = shared::get(host, keys::MODE);
    let Some(cas) = cas else {
        shared::init(host, keys::MODE, &record::encode(&Mode::Normal));
        return;
    };
    let previous: Mode = bytes
        .and_then(|bytes| shared::decode(keys::MODE, &bytes))
        .unwrap_or_default();
    if previous == mode || !shared::compare_and_set(host, keys::MODE, &record::encode(&mode), cas) {
        return;
    }
    let active = runtime.config.active;
    let mut metrics = vm.metrics.borrow_mut();
    match mode {
        Mode::Failover => {
            metrics.increment_named(host, "bluegreen.failovers", 1);
            warn!(
                "routing: {} -> failover: {} is down, all traffic to {}",
                previous.as_str(),
                active.as_str(),
                active.other().as_str()
            );
        }
        Mode::FailStatic => {
            metrics.increment_named(host, "bluegreen.fail_static", 1);
            warn!(
                "routing: {} -> fail_static: neither environment is routable, routing by the configured weights",
                previous.as_str()
            );
        }
        Mode::CandidateHeld | Mode::Normal => {
            info!("routing: {} -> {}", previous.as_str(), mode.as_str())
        }
    }
}
