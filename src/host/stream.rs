//! One HTTP request through the relay filter: choose the environment, rewrite cluster and key,
//! answer the status endpoint, label and count the answer.

use std::rc::Rc;

use log::warn;

use super::ai_stream::{AiStream, BodyStep, HeadersStep};
use super::api::{Flow, Host, Map};
use super::route::{self, Route};
use super::runtime::Runtime;
use super::shadow_capture::{self, ShadowCapture};
use super::status_endpoint;
use super::vm::Vm;
use super::{filter_state, local, passive, rollback_window};
use crate::ai::body_check::{BodyRoute, Refusal};
use crate::config::Config;
use crate::environment::Environment;
use crate::routing::{
    choose_environment, is_status_path, HeaderBlock, Headers, OneHeader, Reason, SomeHeaders,
    OVERRIDE_TOKEN_HEADER,
};
use crate::status::counters::{parse_status, Counter};

/// Where the request stands, one state for its whole life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RouteState {
    /// Not routed: answered by the filter itself (or not seen yet).
    Local,
    /// Routed to the environment, not counted yet: the body decides whether a pinned model
    /// moves it.
    AwaitingBody(Environment),
    /// Routed and counted.
    Routed(Environment),
    /// A pinned model handed it to `route_after_body` for this environment; counted.
    Moved(Environment),
}

pub struct RelayStream<H: Host> {
    vm: Rc<Vm<H>>,
    runtime: Option<Rc<Runtime>>,
    state: RouteState,
    /// Catalog check, pinned models, token usage.
    ai: AiStream,
    /// Routed by an accepted override (the answer says so).
    overridden: bool,
    /// The copy of a shadowed request, until it is sent and the answer counted.
    shadow: Option<Box<ShadowCapture>>,
}

impl<H: Host> RelayStream<H> {
    pub fn new(vm: Rc<Vm<H>>, runtime: Option<Rc<Runtime>>) -> RelayStream<H> {
        RelayStream {
            vm,
            runtime,
            state: RouteState::Local,
            ai: AiStream::default(),
            overridden: false,
            shadow: None,
        }
    }

    pub fn on_request_headers(&mut self, end_of_stream: bool) -> Flow {
        let vm = &*self.vm;
        let Some(runtime) = self.runtime.clone() else {
            return local::error(vm, 503, "the relay filter has no configuration");
        };
        let headers = match vm.host.header_pairs(Map::RequestHeaders) {
            Ok(pairs) => HeaderBlock::new(pairs),
            Err(err) => {
                warn!("reading the request headers failed: {err}");
                return local::error(vm, 500, "the relay filter could not read the request");
            }
        };
        let config = &runtime.config;
        if headers
            .get(":path")
            .is_some_and(|path| is_status_path(config, path))
        {
            return status_endpoint::answer(vm, &runtime, &headers);
        }
        let mut keyless = None;
        let (env, reason) = choose_environment(config, runtime.split.get(), &headers, &mut || {
            let bucket = vm.keyless_bucket();
            keyless = Some(bucket);
            bucket
        });
        self.overridden = reason == Reason::Override;
        if !strip_override_headers(vm, config, &headers) {
            return local::error(vm, 500, "the relay filter could not route the request");
        }
        let target = config.environment(env);
        let routed = route::apply(
            vm,
            &Route {
                env,
                cluster_header: &config.cluster_header,
                cluster: &target.route_cluster,
                authorization: target.api_key.authorization(),
            },
        );
        if !routed {
            return local::error(vm, 500, "the relay filter could not route the request");
        }
        match self
            .ai
            .on_request_headers(vm, &config.models, &headers, end_of_stream)
        {
            HeadersStep::Go => self.routed(RouteState::Routed(env)),
            HeadersStep::AwaitBody => self.state = RouteState::AwaitingBody(env),
            HeadersStep::Refuse(refusal) => return self.refuse(env, &refusal),
        }
        if config.shadow.is_some() {
            let vm = &*self.vm;
            self.shadow = shadow_capture::decide(vm, config, &headers, env, reason, keyless)
                .map(Box::new)
                .filter(|capture| {
                    let announced = headers.get("content-length").and_then(|value| {
                        std::str::from_utf8(value)
                            .ok()?
                            .trim()
                            .parse::<usize>()
                            .ok()
                    });
                    !announced.is_some_and(|length| capture.too_large(length))
                });
            if end_of_stream {
                if let Some(capture) = &mut self.shadow {
                    capture.send(vm, config, None);
                }
            }
        }
        Flow::Continue
    }

    /// Keeps the shadow copy's body as it passes; sends the copy at the end of a body the
    /// stream did not refuse.
    fn shadow_body(
        &mut self,
        runtime: &Runtime,
        body_size: usize,
        end_of_stream: bool,
        held: bool,
    ) {
        match self.state {
            // Refused: the request went nowhere, so neither does its copy.
            RouteState::Local => self.shadow = None,
            // A pinned model sent it to the candidate itself: nothing to compare.
            RouteState::Moved(env) if env != runtime.config.active => self.shadow = None,
            _ => {}
        }
        let Some(capture) = &mut self.shadow else {
            return;
        };
        if !capture.on_body(&self.vm, body_size, end_of_stream, held) {
            self.shadow = None;
            return;
        }
        if end_of_stream {
            let model = self.ai.model_name(&runtime.config.models);
            capture.send(&self.vm, &runtime.config, model);
        }
    }

    pub fn on_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Flow {
        // Held: the model check pauses the stream until the whole body is in Envoy's buffer.
        let held = matches!(self.state, RouteState::AwaitingBody(_)) && self.ai.holds_body();
        let flow = self.route_body(body_size, end_of_stream);
        if let (Some(runtime), true) = (self.runtime.clone(), self.shadow.is_some()) {
            self.shadow_body(&runtime, body_size, end_of_stream, held);
        }
        flow
    }

    fn route_body(&mut self, body_size: usize, end_of_stream: bool) -> Flow {
        let (Some(runtime), RouteState::AwaitingBody(env)) = (self.runtime.clone(), self.state)
        else {
            return Flow::Continue;
        };
        let models = &runtime.config.models;
        match self
            .ai
            .on_request_body(&self.vm, models, env, body_size, end_of_stream)
        {
            BodyStep::Pass => self.routed(RouteState::Routed(env)),
            BodyStep::Wait => return Flow::Pause,
            BodyStep::Refuse(refusal) => return self.refuse(env, &refusal),
            BodyStep::Go { pinned: None } => self.routed(RouteState::Routed(env)),
            BodyStep::Go {
                pinned: Some(moved),
            } => {
                let config = &runtime.config;
                let handed = filter_state::set_body_route(
                    &self.vm.host,
                    &BodyRoute {
                        env: moved,
                        cluster_header: config.cluster_header.clone(),
                        cluster: config.environment(moved).route_cluster.clone(),
                    },
                );
                let state = if handed {
                    RouteState::Moved(moved)
                } else {
                    RouteState::Routed(env)
                };
                self.routed(state);
            }
        }
        Flow::Continue
    }

    pub fn on_response_headers(&mut self, end_of_stream: bool) -> Flow {
        let Some(runtime) = self.runtime.clone() else {
            return Flow::Continue;
        };
        let chosen = match self.state {
            RouteState::Local => return Flow::Continue,
            RouteState::AwaitingBody(env) | RouteState::Routed(env) => env,
            RouteState::Moved(env) => self.confirm_move(env),
        };
        let vm = &*self.vm;
        // As few host calls as this stream needs: `:status` alone for a plain request, the
        // whole map when more than one header will be read.
        let headers = if runtime.failover || self.ai.reads_answer_headers() {
            SomeHeaders::All(HeaderBlock::new(
                vm.host
                    .header_pairs(Map::ResponseHeaders)
                    .unwrap_or_default(),
            ))
        } else {
            SomeHeaders::One(OneHeader {
                name: ":status",
                value: vm
                    .host
                    .header(Map::ResponseHeaders, ":status")
                    .ok()
                    .flatten(),
            })
        };
        let env = self.serving_environment(runtime.failover, &headers, chosen);
        if env != chosen {
            vm.count(chosen, Counter::RetriedAway);
        }
        if self.overridden {
            let said =
                vm.host
                    .replace_header(Map::ResponseHeaders, "x-relay-override", b"accepted");
            if let Err(err) = said {
                warn!("labelling an override failed: {err}");
            }
        }
        let status = headers.get(":status").and_then(parse_status);
        if let Some(capture) = &mut self.shadow {
            capture.on_response_status(status);
        }
        self.ai
            .on_response_headers(vm, env, status, &headers, end_of_stream);
        let class = status.and_then(Counter::for_status);
        if let Some(class) = class {
            vm.count(env, class);
        }
        if runtime.config.health_check.is_some() {
            passive::count(vm, env, status, &headers);
        }
        if runtime.config.auto_rollback.is_some() && env != runtime.config.active {
            rollback_window::count(vm, class == Some(Counter::Responses5xx));
        }
        Flow::Continue
    }

    pub fn on_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Flow {
        match self.runtime.as_deref() {
            Some(runtime)
                if self.ai.on_response_body(
                    &self.vm,
                    &runtime.config.models,
                    body_size,
                    end_of_stream,
                ) =>
            {
                Flow::Pause
            }
            _ => Flow::Continue,
        }
    }

    /// End of the stream (also after a reset).
    pub fn on_log(&mut self) {
        if let Some(runtime) = self.runtime.as_deref() {
            self.ai.finish(&self.vm, &runtime.config.models);
            if let Some(capture) = self.shadow.take() {
                capture.finish(&self.vm, &runtime.config, self.ai.counted());
            }
        }
    }

    /// The request's one count, when its environment is final.
    fn routed(&mut self, state: RouteState) {
        if let RouteState::Routed(env) | RouteState::Moved(env) = state {
            self.vm.count(env, Counter::Requests);
        }
        self.state = state;
    }

    /// Answers locally and counts the request for the environment it was addressed to.
    fn refuse(&mut self, env: Environment, refusal: &Refusal) -> Flow {
        self.vm.count(env, Counter::Requests);
        self.state = RouteState::Local;
        local::json(&self.vm, refusal.status, &refusal.body(), &[])
    }

    /// A move the second instance did not confirm did not happen (the Envoy config lacks it).
    fn confirm_move(&self, moved: Environment) -> Environment {
        if filter_state::body_route_applied(&self.vm.host) {
            return moved;
        }
        warn!(
            "a pinned model could not be routed to {}: add the buffer filter and the \
             route_after_body instance behind this filter (docs/ai-relay.md)",
            moved.as_str()
        );
        moved.other()
    }

    /// With failover clusters the upstream filter labels the answer with the environment that
    /// really served it (a retry may have moved it); otherwise it is the one chosen here.
    fn serving_environment(
        &self,
        failover: bool,
        headers: &impl Headers,
        chosen: Environment,
    ) -> Environment {
        if failover {
            if let Some(env) = headers
                .get("x-relay-environment")
                .and_then(Environment::from_bytes)
            {
                return env;
            }
        }
        let label = self.vm.host.replace_header(
            Map::ResponseHeaders,
            "x-relay-environment",
            chosen.as_str().as_bytes(),
        );
        if let Err(err) = label {
            warn!("labelling an answer failed: {err}");
        }
        chosen
    }
}

/// The override header and its token never reach a relay (a token must not leak upstream,
/// and a relay must not act on a header meant for us). Only headers present are removed, so a
/// request without them costs no host call. `false` if the host refused.
fn strip_override_headers<H: Host>(vm: &Vm<H>, config: &Config, headers: &impl Headers) -> bool {
    let Some(name) = &config.override_header else {
        return true;
    };
    [name.as_str(), OVERRIDE_TOKEN_HEADER]
        .into_iter()
        .filter(|name| headers.get(name).is_some())
        .all(|name| {
            vm.host
                .remove_header(Map::RequestHeaders, name)
                .map_err(|err| warn!("removing {name} failed: {err}"))
                .is_ok()
        })
}
