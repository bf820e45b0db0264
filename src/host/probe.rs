//! The prober: on each interval slot, the one root context that wins the lease sends a probe
//! round to each environment and publishes the verdicts in shared data for every worker.

use std::collections::HashMap;
use std::time::Duration;

use log::{debug, info};
use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType};

use crate::config::{Config, HealthCheck};
use crate::environment::Environment;
use crate::health::lease::Lease;
use crate::health::probe_plan::plan;
use crate::health::{classify, HealthRecord, Outcome, ProbeKind};

use super::{calls, keys, metrics, shared};

struct Pending {
    env: Environment,
    kind: ProbeKind,
}

/// One environment's round: done when every probe of it has answered.
struct Round {
    started_ms: u64,
    outstanding: usize,
    outcome: Outcome,
}

pub struct Prober {
    owner: u64,
    config_version: u64,
    last_slot: u64,
    pending: HashMap<u32, Pending>,
    rounds: [Option<Round>; 2],
}

impl Prober {
    pub fn new(owner: u64, config_version: u64) -> Prober {
        Prober {
            owner,
            config_version,
            last_slot: 0,
            pending: HashMap::new(),
            rounds: [None, None],
        }
    }

    /// Called on every tick: probes at most once per slot, and only with the lease.
    pub fn tick(&mut self, config: &Config, now_ms: u64, is_current: bool) {
        let Some(hc) = &config.health_check else {
            return;
        };
        let slot = now_ms - now_ms % hc.interval_ms;
        if slot <= self.last_slot || !is_current {
            return;
        }
        self.last_slot = slot;
        if !self.take_lease(slot) {
            return;
        }
        for env in Environment::ALL {
            // A round still running (slow relay) is not doubled.
            if self.rounds[env.index()].is_none() {
                self.start_round(config, hc, env, now_ms);
            }
        }
    }

    fn take_lease(&self, slot: u64) -> bool {
        let (bytes, cas) = shared::get(keys::LEASE);
        let Some(cas) = cas else {
            shared::init(keys::LEASE, &crate::record::encode(&Lease::default()));
            return false;
        };
        let current = bytes.and_then(|b| crate::record::decode::<Lease>(&b).ok());
        if !Lease::may_take(current.as_ref(), slot, self.config_version) {
            return false;
        }
        let mine = Lease {
            slot,
            owner: self.owner,
            config_version: self.config_version,
        };
        shared::compare_and_set(keys::LEASE, &crate::record::encode(&mine), cas)
    }

    fn start_round(&mut self, config: &Config, hc: &HealthCheck, env: Environment, now_ms: u64) {
        let target = config.environment(env);
        let requests = plan(hc);
        let mut round = Round {
            started_ms: now_ms,
            outstanding: 0,
            outcome: Outcome::Pass,
        };
        for request in requests {
            let mut headers = vec![
                (":method", request.method),
                (":path", request.path.as_str()),
                (":authority", target.authority.as_str()),
                ("authorization", target.api_key.authorization()),
                ("x-environment", env.as_str()),
                ("user-agent", "bluegreen-relay-probe"),
            ];
            if request.body.is_some() {
                headers.push(("content-type", "application/json"));
            }
            match hostcalls::dispatch_http_call(
                &target.cluster,
                headers,
                request.body.as_deref(),
                vec![],
                Duration::from_millis(hc.timeout_ms),
            ) {
                Ok(token) => {
                    round.outstanding += 1;
                    self.pending.insert(
                        token,
                        Pending {
                            env,
                            kind: request.kind,
                        },
                    );
                }
                Err(status) => {
                    let failure = Outcome::Unhealthy(format!(
                        "dispatch of {} to cluster {} failed: {status:?}",
                        request.kind.describe(),
                        target.cluster
                    ));
                    metrics::increment_named(&probe_metric(env, &failure), 1);
                    round.outcome = round.outcome.worst(failure);
                }
            }
        }
        if round.outstanding == 0 {
            publish(config, env, &round.outcome, now_ms, 0);
        } else {
            self.rounds[env.index()] = Some(round);
        }
    }

    /// A probe answer (the host calls back the root context that dispatched it).
    pub fn on_response(&mut self, config: &Config, token: u32, body_size: usize) {
        let Some(pending) = self.pending.remove(&token) else {
            debug!("probe answer for unknown token {token}");
            return;
        };
        let status = call_response_header(":status")
            .and_then(|s| std::str::from_utf8(&s).ok().and_then(|s| s.parse().ok()));
        let upstream_answered = call_response_header("x-envoy-upstream-service-time").is_some();
        let body_start =
            hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size.min(64))
                .ok()
                .flatten()
                .unwrap_or_default();
        let outcome = classify(&pending.kind, status, upstream_answered, &body_start);
        metrics::increment_named(&probe_metric(pending.env, &outcome), 1);
        let slot = &mut self.rounds[pending.env.index()];
        let Some(round) = slot.as_mut() else { return };
        round.outcome = round.outcome.clone().worst(outcome);
        round.outstanding = round.outstanding.saturating_sub(1);
        if round.outstanding == 0 {
            if let Some(round) = slot.take() {
                let now = calls::now_ms();
                publish(
                    config,
                    pending.env,
                    &round.outcome,
                    now,
                    now.saturating_sub(round.started_ms),
                );
            }
        }
    }
}

fn call_response_header(name: &str) -> Option<Vec<u8>> {
    hostcalls::get_map_value_bytes(MapType::HttpCallResponseHeaders, name)
        .ok()
        .flatten()
}

fn probe_metric(env: Environment, outcome: &Outcome) -> String {
    format!(
        "bluegreen.{}.probes_{}",
        env.as_str(),
        outcome.kind().as_str()
    )
}

/// Writes the round's verdict into the shared record; logs once per state change.
fn publish(config: &Config, env: Environment, outcome: &Outcome, now_ms: u64, latency_ms: u64) {
    let Some(hc) = &config.health_check else {
        return;
    };
    let key = keys::health(env, &config.environment(env).cluster);
    let transition = shared::update(&key, |record: &mut HealthRecord| {
        record.record(
            outcome,
            now_ms,
            latency_ms,
            hc.unhealthy_threshold,
            hc.healthy_threshold,
        )
    });
    if let Some(Some(t)) = transition {
        info!(
            "{}: {} -> {} ({})",
            env.as_str(),
            t.from.as_str(),
            t.to.as_str(),
            t.reason
        );
    }
}
