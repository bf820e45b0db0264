//! The prober: on each interval slot, the one root context that wins the lease sends a probe
//! round to each environment and publishes the verdicts in shared data for every worker.

use std::collections::HashMap;

use log::{debug, info};

use super::api::{Buffer, Host, Map};
use super::vm::Vm;
use super::{keys, shared};
use crate::config::{Config, HealthCheck};
use crate::environment::Environment;
use crate::health::lease::Lease;
use crate::health::probe_plan::plan;
use crate::health::{classify, HealthRecord, Outcome, ProbeKind};
use crate::record;
use crate::status::counters::parse_status;

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
    pub fn tick<H: Host>(&mut self, vm: &Vm<H>, config: &Config, now_ms: u64, is_current: bool) {
        let Some(hc) = &config.health_check else {
            return;
        };
        let slot = now_ms - now_ms % hc.interval_ms;
        if slot <= self.last_slot || !is_current {
            return;
        }
        self.last_slot = slot;
        if !self.take_lease(&vm.host, slot) {
            return;
        }
        for env in Environment::ALL {
            // A round still running (slow relay) is not doubled.
            if self.rounds[env.index()].is_none() {
                self.start_round(vm, config, hc, env, now_ms);
            }
        }
    }

    fn take_lease(&self, host: &impl Host, slot: u64) -> bool {
        let (bytes, cas) = shared::get(host, keys::LEASE);
        let Some(cas) = cas else {
            shared::init(host, keys::LEASE, &record::encode(&Lease::default()));
            return false;
        };
        let current: Option<Lease> = bytes.and_then(|bytes| shared::decode(keys::LEASE, &bytes));
        if !Lease::may_take(current.as_ref(), slot, self.config_version) {
            return false;
        }
        let mine = Lease {
            slot,
            owner: self.owner,
            config_version: self.config_version,
        };
        shared::compare_and_set(host, keys::LEASE, &record::encode(&mine), cas)
    }

    fn start_round<H: Host>(
        &mut self,
        vm: &Vm<H>,
        config: &Config,
        hc: &HealthCheck,
        env: Environment,
        now_ms: u64,
    ) {
        let target = config.environment(env);
        let mut round = Round {
            started_ms: now_ms,
            outstanding: 0,
            outcome: Outcome::Pass,
        };
        for request in plan(hc) {
            let mut headers: Vec<(&str, &[u8])> = vec![
                (":method", request.method.as_bytes()),
                (":path", request.path.as_bytes()),
                (":authority", target.authority.as_bytes()),
                ("authorization", target.api_key.authorization().as_bytes()),
                ("x-environment", env.as_str().as_bytes()),
                ("user-agent", b"bluegreen-relay-probe"),
            ];
            if request.body.is_some() {
                headers.push(("content-type", b"application/json"));
            }
            let body = request.body.as_deref().unwrap_or_default();
            let timeout = u32::try_from(hc.timeout_ms).unwrap_or(u32::MAX);
            match vm.host.http_call(&target.cluster, &headers, body, timeout) {
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
                Err(err) => {
                    let failure = Outcome::Unhealthy(format!(
                        "dispatch of {} to cluster {} failed: {err}",
                        request.kind.describe(),
                        target.cluster
                    ));
                    count_probe(vm, env, &failure);
                    round.outcome = round.outcome.worst(failure);
                }
            }
        }
        if round.outstanding == 0 {
            publish(&vm.host, config, env, &round.outcome, now_ms, 0);
        } else {
            self.rounds[env.index()] = Some(round);
        }
    }

    /// A probe answer (the host calls back the root context that dispatched it). `false` when
    /// the token is not one of this prober's.
    pub fn on_response<H: Host>(
        &mut self,
        vm: &Vm<H>,
        config: &Config,
        token: u32,
        body_size: usize,
    ) -> bool {
        let Some(pending) = self.pending.remove(&token) else {
            debug!("probe answer for unknown token {token}");
            return false;
        };
        let header = |name| {
            vm.host
                .header(Map::HttpCallResponseHeaders, name)
                .ok()
                .flatten()
        };
        let status = header(":status").and_then(|s| parse_status(&s));
        let upstream_answered = header("x-envoy-upstream-service-time").is_some();
        let body_start = vm
            .host
            .buffer(Buffer::HttpCallResponseBody, 0, body_size.min(64))
            .ok()
            .flatten()
            .unwrap_or_default();
        let outcome = classify(&pending.kind, status, upstream_answered, &body_start);
        count_probe(vm, pending.env, &outcome);
        let slot = &mut self.rounds[pending.env.index()];
        let Some(round) = slot.as_mut() else {
            return true;
        };
        round.outcome = round.outcome.clone().worst(outcome);
        round.outstanding = round.outstanding.saturating_sub(1);
        if round.outstanding == 0 {
            if let Some(round) = slot.take() {
                let now = vm.now_ms();
                let latency = now.saturating_sub(round.started_ms);
                publish(&vm.host, config, pending.env, &round.outcome, now, latency);
            }
        }
        true
    }
}

fn count_probe<H: Host>(vm: &Vm<H>, env: Environment, outcome: &Outcome) {
    let name = format!(
        "bluegreen.{}.probes_{}",
        env.as_str(),
        outcome.kind().as_str()
    );
    vm.metrics.borrow_mut().increment_named(&vm.host, &name, 1);
}

/// Writes the round's verdict into the shared record; logs once per state change.
fn publish(
    host: &impl Host,
    config: &Config,
    env: Environment,
    outcome: &Outcome,
    now_ms: u64,
    latency_ms: u64,
) {
    let Some(hc) = &config.health_check else {
        return;
    };
    let key = keys::health(env, &config.environment(env).cluster);
    let transition = shared::update(host, &key, |record: &mut HealthRecord| {
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
