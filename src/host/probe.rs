//! The prober: on each interval slot, the one root context that wins the lease judges each
//! environment — from its real traffic when it had some, else by a probe round — and publishes
//! the verdicts in shared data for every worker. Its `/v1/models` answers also record each
//! environment's model list.

use std::collections::HashMap;

use log::{debug, info};

use super::api::{Buffer, Host, Map};
use super::runtime::Runtime;
use super::vm::Vm;
use super::{keys, shared};
use crate::ai::catalog;
use crate::ai::usage::from_json_body;
use crate::config::{Config, HealthCheck};
use crate::environment::Environment;
use crate::health::lease::Lease;
use crate::health::passive::PassiveRecord;
use crate::health::probe_plan::plan;
use crate::health::schedule::{schedule, Round as Plan, View};
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
    /// Ran the chat probes and read the model list.
    full: bool,
}

/// Largest probe answer read: a model list of 1,000 ids fits well within it.
const MAX_PROBE_BODY: usize = 512 * 1024;

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

    /// Called on every tick: judges each environment at most once per slot, and only with the
    /// lease, from its real traffic or by probing it (`health::schedule`).
    pub fn tick<H: Host>(&mut self, vm: &Vm<H>, runtime: &Runtime, now_ms: u64, is_current: bool) {
        let config = &runtime.config;
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
        let requested: u64 = shared::read(&vm.host, keys::PROBE_REQUEST).unwrap_or(0);
        for env in Environment::ALL {
            // A round still running (slow relay) is not doubled.
            if self.rounds[env.index()].is_some() {
                continue;
            }
            let cluster = &config.environment(env).cluster;
            let record: HealthRecord =
                shared::read(&vm.host, &keys::health(env, cluster)).unwrap_or_default();
            let passive: Option<PassiveRecord> =
                shared::read(&vm.host, &keys::passive(env, cluster));
            let last_interval = slot.saturating_sub(hc.interval_ms);
            let view = View {
                health: record.health,
                failing: record.consecutive_failures > 0,
                held: runtime.split.get().buckets(env) == 0,
                passive: passive
                    .as_ref()
                    .and_then(|p| p.interval(last_interval))
                    .and_then(|i| i.verdict()),
                full_due: now_ms >= record.last_full_probe_ms + hc.model_probe_interval_ms
                    || requested > record.last_full_probe_ms,
            };
            match schedule(view) {
                Plan::Passive(outcome) => {
                    let name = format!("bluegreen.{}.probes_saved", env.as_str());
                    vm.metrics.borrow_mut().increment_named(&vm.host, &name, 1);
                    publish(&vm.host, config, env, &outcome, now_ms, Judged::ByTraffic);
                }
                Plan::Probe { chats, passive } => {
                    self.start_round(vm, config, hc, env, now_ms, chats, passive)
                }
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

    #[allow(clippy::too_many_arguments)]
    fn start_round<H: Host>(
        &mut self,
        vm: &Vm<H>,
        config: &Config,
        hc: &HealthCheck,
        env: Environment,
        now_ms: u64,
        chats: bool,
        passive: Option<Outcome>,
    ) {
        let target = config.environment(env);
        let mut round = Round {
            started_ms: now_ms,
            outstanding: 0,
            outcome: passive.unwrap_or(Outcome::Pass),
            full: chats,
        };
        for request in plan(hc, chats) {
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
            let sent = vm.host.http_call(&target.cluster, &headers, body, timeout);
            count_sent(vm, env, &request.kind);
            match sent {
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
            let judged = Judged::ByProbe {
                latency_ms: 0,
                full: round.full,
            };
            publish(&vm.host, config, env, &round.outcome, now_ms, judged);
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
        let body = vm
            .host
            .buffer(
                Buffer::HttpCallResponseBody,
                0,
                body_size.min(MAX_PROBE_BODY),
            )
            .ok()
            .flatten()
            .unwrap_or_default();
        let outcome = classify(&pending.kind, status, upstream_answered, &body);
        count_probe(vm, pending.env, &outcome);
        let cluster = &config.environment(pending.env).cluster;
        match &pending.kind {
            ProbeKind::Models { .. } if status == Some(200) => {
                let content_type = header("content-type");
                let catalog = catalog::read(&body, content_type.as_deref(), vm.now_ms());
                shared::set(
                    &vm.host,
                    &keys::catalog(pending.env, cluster),
                    &record::encode(&catalog),
                );
            }
            ProbeKind::Chat { .. } => {
                // What probing costs, counted apart from live usage.
                if let Some(usage) = from_json_body(&body).usage {
                    let tokens = usage.prompt_tokens + usage.completion_tokens;
                    let name = format!("bluegreen.{}.probe_tokens", pending.env.as_str());
                    vm.metrics
                        .borrow_mut()
                        .increment_named(&vm.host, &name, tokens);
                }
            }
            ProbeKind::Models { .. } => {}
        }
        let slot = &mut self.rounds[pending.env.index()];
        let Some(round) = slot.as_mut() else {
            return true;
        };
        round.outcome = round.outcome.clone().worst(outcome);
        round.outstanding = round.outstanding.saturating_sub(1);
        if round.outstanding == 0 {
            if let Some(round) = slot.take() {
                let now = vm.now_ms();
                let judged = Judged::ByProbe {
                    latency_ms: now.saturating_sub(round.started_ms),
                    full: round.full,
                };
                publish(&vm.host, config, pending.env, &round.outcome, now, judged);
            }
        }
        true
    }
}

/// Probes sent, counted apart from live traffic: `probe_requests`, and `probe_chats` for the
/// ones that spend tokens.
fn count_sent<H: Host>(vm: &Vm<H>, env: Environment, kind: &ProbeKind) {
    let mut metrics = vm.metrics.borrow_mut();
    let env = env.as_str();
    metrics.increment_named(&vm.host, &format!("bluegreen.{env}.probe_requests"), 1);
    if matches!(kind, ProbeKind::Chat { .. }) {
        metrics.increment_named(&vm.host, &format!("bluegreen.{env}.probe_chats"), 1);
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

/// How a round reached its verdict.
#[derive(Debug, Clone, Copy)]
enum Judged {
    /// From the last interval's real answers (the last probe latency stays as it was).
    ByTraffic,
    ByProbe {
        latency_ms: u64,
        full: bool,
    },
}

/// Writes the round's verdict into the shared record; logs once per state change.
fn publish(
    host: &impl Host,
    config: &Config,
    env: Environment,
    outcome: &Outcome,
    now_ms: u64,
    judged: Judged,
) {
    let Some(hc) = &config.health_check else {
        return;
    };
    let key = keys::health(env, &config.environment(env).cluster);
    let transition = shared::update(host, &key, |record: &mut HealthRecord| {
        let latency_ms = match judged {
            Judged::ByTraffic => record.latency_ms,
            Judged::ByProbe { latency_ms, .. } => latency_ms,
        };
        let transition = record.record(
            outcome,
            now_ms,
            latency_ms,
            hc.unhealthy_threshold,
            hc.healthy_threshold,
        );
        record.judged_by_traffic = matches!(judged, Judged::ByTraffic);
        if let Judged::ByProbe { full: true, .. } = judged {
            record.last_full_probe_ms = now_ms;
        }
        transition
    });
    if let Some(Some(t)) = transition {
        let by = match judged {
            Judged::ByTraffic => ", from real traffic",
            Judged::ByProbe { .. } => "",
        };
        info!(
            "{}: {} -> {} ({}{by})",
            env.as_str(),
            t.from.as_str(),
            t.to.as_str(),
            t.reason
        );
    }
}
