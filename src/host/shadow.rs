//! Shadow copies, root side: the root context receives the copies the streams enqueued on the
//! shared queue, sends each to the candidate with the candidate's key, and counts the answer.
//! Sending from the root context, not from the request's stream, lets the copy outlive the
//! client's stream: Envoy cancels a stream context's pending `http_call` when that stream ends
//! (measured, see README "Shadow traffic").
//!
//! Counts go to the shared `ShadowComparison` of the candidate and to the stats
//! `bluegreen.<env>.shadow.*`, never to the live usage and cost counters.

use std::collections::HashMap;

use fnv::FnvBuildHasher;
use log::{debug, warn};

use super::api::{Buffer, Host, Map};
use super::vm::Vm;
use super::{keys, shared};
use crate::ai::meter::cost_pico;
use crate::ai::usage::{from_json_body, SseUsage, Usage};
use crate::config::{Config, ModelsConfig};
use crate::environment::Environment;
use crate::record;
use crate::shadow::item::ShadowItem;
use crate::shadow::stats::{AnswerStats, Outcome, ShadowComparison};

/// A copy waits at most this long for the candidate's whole answer.
pub const SHADOW_TIMEOUT_MS: u32 = 60_000;

/// Copies taken from the queue per `on_queue_ready`: the rest wait for the next call (Envoy
/// calls again for each enqueue).
const MAX_PER_WAKE: usize = 64;

/// Which side of the comparison an answer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The candidate's answer to a copy.
    Candidate,
    /// The active environment's answer to the shadowed request itself.
    Active,
}

struct Pending {
    env: Environment,
    sent_ms: u64,
    model: Option<String>,
}

/// The copies this root context sent and awaits.
#[derive(Default)]
pub struct ShadowSender {
    pending: HashMap<u32, Pending, FnvBuildHasher>,
}

impl ShadowSender {
    /// Registers this root context as the queue's receiver; the id goes to every stream of the
    /// VM (streams of other workers get the same id from their own root context).
    pub fn register<H: Host>(vm: &Vm<H>) {
        match vm.host.register_shared_queue(keys::SHADOW_QUEUE) {
            Ok(id) => vm.shadow_queue.set(Some(id)),
            Err(err) => {
                warn!("registering the shadow queue failed: {err}; nothing will be shadowed");
                vm.shadow_queue.set(None);
            }
        }
    }

    /// Envoy calls `on_queue_ready` of the last root context that registered the queue, and
    /// that one may be gone (a configuration validated and dropped, a drained reload): every
    /// current root context registers again on its timer, and sends what waits.
    pub fn tick<H: Host>(&mut self, vm: &Vm<H>, config: &Config) {
        ShadowSender::register(vm);
        if let Some(queue) = vm.shadow_queue.get() {
            self.on_queue_ready(vm, config, queue);
        }
    }

    /// Sends the copies waiting in the queue.
    pub fn on_queue_ready<H: Host>(&mut self, vm: &Vm<H>, config: &Config, queue_id: u32) {
        for _ in 0..MAX_PER_WAKE {
            let bytes = match vm.host.dequeue_shared_queue(queue_id) {
                Ok(Some(bytes)) => bytes,
                Ok(None) => return,
                Err(err) => {
                    debug!("dequeuing a shadow copy failed: {err}");
                    return;
                }
            };
            let Ok(item) = record::decode::<ShadowItem>(&bytes) else {
                warn!("a shadow copy this build cannot read was dropped");
                continue;
            };
            self.send(vm, config, item);
        }
    }

    fn send<H: Host>(&mut self, vm: &Vm<H>, config: &Config, item: ShadowItem) {
        let Some(env) = item.env else { return };
        // The configuration may have changed since the copy was made: copies go only to the
        // candidate of the configuration in force.
        if env == config.active || config.shadow.is_none() {
            return;
        }
        let target = config.environment(env);
        let mut headers: Vec<(&str, &[u8])> = vec![
            (":method", item.method.as_bytes()),
            (":path", item.path.as_bytes()),
            (":authority", target.authority.as_bytes()),
            ("authorization", target.api_key.authorization().as_bytes()),
            ("x-environment", env.as_str().as_bytes()),
            ("x-relay-shadow", b"1"),
        ];
        if let Some(content_type) = &item.content_type {
            headers.push(("content-type", content_type.as_bytes()));
        }
        if let Some((name, value)) = &item.affinity {
            headers.push((name.as_str(), value.as_bytes()));
        }
        let now = vm.now_ms();
        match vm
            .host
            .http_call(&target.cluster, &headers, &item.body, SHADOW_TIMEOUT_MS)
        {
            Ok(token) => {
                self.pending.insert(
                    token,
                    Pending {
                        env,
                        sent_ms: now,
                        model: item.model,
                    },
                );
            }
            Err(err) => {
                debug!("sending a shadow copy to {} failed: {err}", target.cluster);
                record(vm, config, env, Side::Candidate, Outcome::Failed, 0, None);
            }
        }
    }

    /// `false` if `token` is not a copy of ours (a probe's answer).
    pub fn on_response<H: Host>(
        &mut self,
        vm: &Vm<H>,
        config: &Config,
        token: u32,
        body_size: usize,
    ) -> bool {
        let Some(pending) = self.pending.remove(&token) else {
            return false;
        };
        let latency = vm.now_ms().saturating_sub(pending.sent_ms);
        let status = vm
            .host
            .header(Map::HttpCallResponseHeaders, ":status")
            .ok()
            .flatten()
            .and_then(|value| std::str::from_utf8(&value).ok()?.trim().parse::<u32>().ok());
        let Some(status) = status else {
            record(
                vm,
                config,
                pending.env,
                Side::Candidate,
                Outcome::Failed,
                0,
                None,
            );
            return true;
        };
        let metered = (!config.models.catalog.is_empty() && (200..300).contains(&status))
            .then(|| answer_usage(vm, &config.models, pending.model.as_deref(), body_size))
            .flatten();
        record(
            vm,
            config,
            pending.env,
            Side::Candidate,
            Outcome::Status(status),
            latency,
            metered,
        );
        true
    }
}

/// Usage and cost (pico-USD) of the candidate's whole answer, JSON or an event stream.
fn answer_usage<H: Host>(
    vm: &Vm<H>,
    models: &ModelsConfig,
    model: Option<&str>,
    body_size: usize,
) -> Option<(Usage, u64)> {
    let body = vm
        .host
        .buffer(Buffer::HttpCallResponseBody, 0, body_size)
        .ok()
        .flatten()
        .unwrap_or_default();
    let seen = if body.trim_ascii_start().starts_with(b"{") {
        from_json_body(&body)
    } else {
        let mut parser = SseUsage::new();
        parser.feed(&body);
        parser.finish()
    };
    let usage = seen.usage?;
    let spec = model
        .or(seen.model.as_deref())
        .and_then(|name| models.catalog.get(name))
        .map(|(_, spec)| spec);
    let cost = spec
        .and_then(|spec| spec.price)
        .map_or(0, |price| cost_pico(&price, usage));
    Some((usage, cost))
}

/// Counts one answer to a shadowed request: in the shared comparison of `candidate` and in the
/// stats of the environment that answered.
pub fn record<H: Host>(
    vm: &Vm<H>,
    config: &Config,
    candidate: Environment,
    side: Side,
    outcome: Outcome,
    latency_ms: u64,
    metered: Option<(Usage, u64)>,
) {
    let key = keys::shadow(candidate, &config.environment(candidate).cluster);
    shared::init(
        &vm.host,
        &key,
        &record::encode(&ShadowComparison::default()),
    );
    let (usage, cost) = match metered {
        Some((usage, cost)) => (Some(usage), cost),
        None => (None, 0),
    };
    shared::update(&vm.host, &key, |comparison: &mut ShadowComparison| {
        let stats: &mut AnswerStats = match side {
            Side::Candidate => &mut comparison.candidate,
            Side::Active => &mut comparison.active,
        };
        stats.record(outcome, latency_ms, usage, cost);
    });
    let answered_by = match side {
        Side::Candidate => candidate,
        Side::Active => candidate.other(),
    };
    let class = match outcome {
        Outcome::Status(200..=299) => "responses_2xx",
        Outcome::Status(400..=499) => "responses_4xx",
        Outcome::Status(500..=599) => "responses_5xx",
        Outcome::Status(_) => "responses_other",
        Outcome::Failed => "responses_failed",
    };
    let env = answered_by.as_str();
    let mut metrics = vm.metrics.borrow_mut();
    metrics.increment_named(&vm.host, &format!("bluegreen.{env}.shadow.requests"), 1);
    metrics.increment_named(&vm.host, &format!("bluegreen.{env}.shadow.{class}"), 1);
    if let Some(usage) = usage {
        metrics.increment_named(
            &vm.host,
            &format!("bluegreen.{env}.shadow.completion_tokens"),
            usage.completion_tokens,
        );
    }
}
