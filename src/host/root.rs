//! The root context: validates the configuration, runs the timer (flush counters, probe when
//! holding the lease, re-read shared health), creates streams for its role.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::rc::Rc;

use log::{error, info};

use super::api::{Buffer, Host};
use super::probe::Prober;
use super::route_after_body::RouteAfterBody;
use super::runtime::Runtime;
use super::shadow::ShadowSender;
use super::stream::RelayStream;
use super::upstream::{self, UpstreamStream};
use super::vm::Vm;
use super::{keys, passive, rollback_window, routing_state, shared};
use crate::config::{Config, ConfigError, Plugin};
use crate::environment::Environment;
use crate::record;
use crate::routing::{fnv1a64, weight};
use crate::status::version_id;

/// How often counters are flushed and shared health is re-read; probes follow their own interval.
pub const TICK_MS: u32 = 200;

/// What the configuration made this root context (one module, three places in Envoy).
enum Role {
    /// Before the first accepted configuration: streams are refused.
    Unconfigured,
    /// The HTTP filter in the listener: routing, keys, status, probes.
    Relay {
        runtime: Rc<Runtime>,
        prober: Box<Prober>,
        /// fnv1a64 of the configuration bytes: a root context whose version is not the one
        /// last published in shared data is stale (draining after a reload) and must not probe.
        config_version: u64,
        /// Shadow copies this root context sent and awaits.
        shadow: Box<ShadowSender>,
    },
    /// The upstream filter of a failover cluster: a fixed environment, or each attempt's host
    /// metadata.
    Upstream(Option<Environment>),
    /// The listener's second instance (`{"route_after_body": {}}`).
    RouteAfterBody,
}

/// One stream of whichever role the root context has.
pub enum Stream<H: Host> {
    Relay(RelayStream<H>),
    Upstream(UpstreamStream<H>),
    RouteAfterBody(RouteAfterBody<H>),
}

pub struct Root<H: Host> {
    vm: Rc<Vm<H>>,
    role: Role,
}

impl<H: Host> Root<H> {
    pub fn new(vm: Rc<Vm<H>>) -> Root<H> {
        Root {
            vm,
            role: Role::Unconfigured,
        }
    }

    /// `false` refuses the configuration: the last good one keeps serving (or a fresh start
    /// stops).
    pub fn on_configure(&mut self) -> bool {
        let vm = &*self.vm;
        let bytes = match vm.host.buffer(Buffer::PluginConfiguration, 0, usize::MAX) {
            Ok(bytes) => bytes.unwrap_or_default(),
            Err(err) => {
                error!("reading the plugin configuration failed: {err}");
                return false;
            }
        };
        let config = match Plugin::parse(&bytes, &|name| std::env::var(name).ok()) {
            Ok(Plugin::Relay(config)) => *config,
            Ok(Plugin::RouteAfterBody) => {
                info!("route_after_body: applies the environment a pinned model's body chose");
                self.role = Role::RouteAfterBody;
                return true;
            }
            Ok(Plugin::Upstream(env)) => {
                let which = env.map_or(
                    "the environment in each host's metadata",
                    Environment::as_str,
                );
                info!("upstream filter: injects the key of {which} on every attempt");
                upstream::refresh_keys(vm);
                self.role = Role::Upstream(env);
                self.start_timer();
                return true;
            }
            Err(err) => {
                error!("{err}");
                return false;
            }
        };
        if !vm.metrics.borrow_mut().define(&vm.host) {
            let err = ConfigError::new("configuration", "could not define the filter's metrics");
            error!("{err}");
            return false;
        }
        let now = vm.now_ms();
        let config_version = fnv1a64(&bytes);
        shared::set(
            &vm.host,
            keys::CONFIG_VERSION,
            &record::encode(&config_version),
        );
        upstream::publish_keys(
            &vm.host,
            Environment::ALL.map(|env| config.environment(env).api_key.authorization()),
        );
        let owner = RandomState::new().hash_one(now);
        let runtime = Runtime::new(config, now);
        {
            let mut metrics = vm.metrics.borrow_mut();
            for env in Environment::ALL {
                metrics.set_weight(&vm.host, env, runtime.split.get().buckets(env));
            }
            let version = version_id(runtime.config.version.as_deref());
            metrics.set_named_gauge(&vm.host, "bluegreen.config_version", version);
        }
        info!("{}", describe(&runtime.config));
        // Not announced here: a bootstrap default config and the published one load within
        // milliseconds of each other; the next tick reports the mode once.
        routing_state::refresh(vm, &runtime, now, false);
        if runtime.config.shadow.is_some() {
            ShadowSender::register(vm);
        }
        self.role = Role::Relay {
            runtime: Rc::new(runtime),
            prober: Box::new(Prober::new(owner, config_version)),
            config_version,
            shadow: Box::default(),
        };
        self.start_timer();
        true
    }

    fn start_timer(&self) {
        if let Err(err) = self.vm.host.set_tick_period_ms(TICK_MS) {
            error!("setting the timer failed: {err}");
        }
    }

    pub fn on_tick(&mut self) {
        let vm = &*self.vm;
        match &mut self.role {
            Role::Upstream(_) => upstream::refresh_keys(vm),
            Role::Relay {
                runtime,
                prober,
                config_version,
                shadow,
            } => {
                vm.flush();
                let now = vm.now_ms();
                let is_current =
                    shared::read::<u64>(&vm.host, keys::CONFIG_VERSION) == Some(*config_version);
                rollback_window::flush(vm, &runtime.config, now);
                passive::flush(vm, &runtime.config, now);
                prober.tick(vm, runtime, now, is_current);
                routing_state::refresh(vm, runtime, now, is_current);
                if is_current && runtime.config.shadow.is_some() {
                    shadow.tick(vm, &runtime.config);
                }
            }
            Role::Unconfigured | Role::RouteAfterBody => {}
        }
    }

    pub fn on_http_call_response(&mut self, token: u32, body_size: usize) {
        if let Role::Relay {
            runtime,
            prober,
            shadow,
            ..
        } = &mut self.role
        {
            if !shadow.on_response(&self.vm, &runtime.config, token, body_size) {
                prober.on_response(&self.vm, &runtime.config, token, body_size);
            }
        }
    }

    /// A stream put shadow copies on the queue this root context registered.
    pub fn on_queue_ready(&mut self, queue_id: u32) {
        if let Role::Relay {
            runtime, shadow, ..
        } = &mut self.role
        {
            shadow.on_queue_ready(&self.vm, &runtime.config, queue_id);
        }
    }

    /// The root context is going away (reload or shutdown): nothing counted may be lost.
    pub fn on_done(&mut self) -> bool {
        self.vm.flush();
        true
    }

    pub fn create_stream(&self) -> Stream<H> {
        let vm = self.vm.clone();
        match &self.role {
            Role::Relay { runtime, .. } => {
                Stream::Relay(RelayStream::new(vm, Some(runtime.clone())))
            }
            Role::Upstream(env) => Stream::Upstream(UpstreamStream::new(vm, *env)),
            Role::RouteAfterBody => Stream::RouteAfterBody(RouteAfterBody::new(vm)),
            Role::Unconfigured => Stream::Relay(RelayStream::new(vm, None)),
        }
    }
}

/// One line per accepted configuration: what operators need to see, never a key.
fn describe(config: &Config) -> String {
    let env = |e| {
        let c = config.environment(e);
        format!(
            "{} {} % -> {}",
            e.as_str(),
            weight::display(c.weight_bp),
            c.cluster
        )
    };
    format!(
        "configuration loaded: version {}, active {}, {}, {}, health checks {}, auto rollback {}",
        config.version.as_deref().unwrap_or("(none)"),
        config.active.as_str(),
        env(Environment::Blue),
        env(Environment::Green),
        if config.health_check.is_some() {
            "on"
        } else {
            "off"
        },
        if config.auto_rollback.is_some() {
            "on"
        } else {
            "off"
        },
    )
}

/// The callbacks Envoy makes on a stream, sent to its role (a role ignores what it has no use
/// for).
impl<H: Host> Stream<H> {
    pub fn on_request_headers(&mut self, end_of_stream: bool) -> super::api::Flow {
        match self {
            Stream::Relay(stream) => stream.on_request_headers(end_of_stream),
            Stream::Upstream(stream) => stream.on_request_headers(),
            Stream::RouteAfterBody(stream) => stream.on_request_headers(),
        }
    }

    pub fn on_request_body(&mut self, body_size: usize, end_of_stream: bool) -> super::api::Flow {
        match self {
            Stream::Relay(stream) => stream.on_request_body(body_size, end_of_stream),
            _ => super::api::Flow::Continue,
        }
    }

    pub fn on_response_headers(&mut self, end_of_stream: bool) -> super::api::Flow {
        match self {
            Stream::Relay(stream) => stream.on_response_headers(end_of_stream),
            Stream::Upstream(stream) => stream.on_response_headers(),
            Stream::RouteAfterBody(_) => super::api::Flow::Continue,
        }
    }

    pub fn on_response_body(&mut self, body_size: usize, end_of_stream: bool) -> super::api::Flow {
        match self {
            Stream::Relay(stream) => stream.on_response_body(body_size, end_of_stream),
            _ => super::api::Flow::Continue,
        }
    }

    pub fn on_log(&mut self) {
        if let Stream::Relay(stream) = self {
            stream.on_log();
        }
    }
}
