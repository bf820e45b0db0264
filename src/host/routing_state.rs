//! On every tick, each worker reads the shared health and rollback records and recomputes the
//! split its requests use; the hot path then only reads a `Cell`.

use log::{info, warn};

use crate::environment::Environment;
use crate::health::policy::{decide, EnvironmentState, Mode};
use crate::health::rollback::RollbackRecord;
use crate::health::{Health, HealthRecord};
use crate::status::HealthView;

use super::runtime::Runtime;
use super::{keys, metrics, shared};

pub fn refresh(runtime: &Runtime, now_ms: u64, is_current: bool) {
    let config = &runtime.config;
    let probing = config.health_check.is_some();
    let candidate = config.active.other();
    let records: [HealthRecord; 2] = Environment::ALL.map(|env| {
        if probing {
            shared::read(&keys::health(env, &config.environment(env).cluster)).unwrap_or_default()
        } else {
            HealthRecord::default()
        }
    });
    let rollback: RollbackRecord = if config.auto_rollback.is_some() {
        shared::read(&keys::rollback(
            candidate,
            &config.environment(candidate).cluster,
        ))
        .unwrap_or_default()
    } else {
        RollbackRecord::default()
    };
    let states = Environment::ALL.map(|env| EnvironmentState {
        health: records[env.index()].health,
        tripped: env == candidate
            && rollback.holds(now_ms, records[env.index()].last_pass_ms, probing),
    });
    let decision = decide(config, states, probing);
    if runtime.split.replace(decision.split) != decision.split {
        for env in Environment::ALL {
            metrics::set_weight(env, decision.split.buckets(env));
        }
    }
    for env in Environment::ALL {
        let health = if probing {
            states[env.index()].health
        } else {
            Health::Healthy
        };
        metrics::set_named_gauge(
            &format!("bluegreen.{}.health", env.as_str()),
            health.gauge(),
        );
    }
    if is_current {
        announce_mode(decision.mode, runtime);
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
fn announce_mode(mode: Mode, runtime: &Runtime) {
    let (bytes, cas) = shared::get(keys::MODE);
    let Some(cas) = cas else {
        shared::init(keys::MODE, &crate::record::encode(&Mode::Normal));
        return;
    };
    let previous = bytes
        .and_then(|b| crate::record::decode::<Mode>(&b).ok())
        .unwrap_or_default();
    if previous == mode || !shared::compare_and_set(keys::MODE, &crate::record::encode(&mode), cas)
    {
        return;
    }
    let active = runtime.config.active;
    match mode {
        Mode::Failover => {
            metrics::increment_named("bluegreen.failovers", 1);
            warn!(
                "routing: {} -> failover: {} is down, all traffic to {}",
                previous.as_str(),
                active.as_str(),
                active.other().as_str()
            );
        }
        Mode::FailStatic => {
            metrics::increment_named("bluegreen.fail_static", 1);
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
