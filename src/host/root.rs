//! The root context: validates the configuration, runs the timer (flush counters, probe when
//! holding the lease, re-read shared health), creates streams.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::rc::Rc;
use std::time::Duration;

use log::{error, info};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::ContextType;

use crate::config::{Config, ConfigError, Plugin};
use crate::environment::Environment;
use crate::routing::{fnv1a64, weight};

use super::probe::Prober;
use super::route_after_body::RouteAfterBody;
use super::runtime::Runtime;
use super::stream::RelayStream;
use super::upstream::{self, UpstreamStream};
use super::{calls, keys, metrics, rollback_window, routing_state, shared};

/// How often counters are flushed and shared health is re-read; probes follow their own interval.
const TICK: Duration = Duration::from_millis(200);

#[derive(Default)]
pub struct RelayRoot {
    runtime: Option<Rc<Runtime>>,
    prober: Option<Prober>,
    /// fnv1a64 of the configuration bytes: a root context whose version is not the one last
    /// published in shared data is stale (draining after a reload) and must not probe.
    config_version: u64,
    /// Set when loaded as the upstream filter of a failover cluster.
    upstream: Option<Option<Environment>>,
    /// Set when loaded as the listener's second instance (`{"route_after_body": {}}`).
    route_after_body: bool,
}

impl RelayRoot {
    fn is_current(&self) -> bool {
        let (bytes, _) = shared::get(keys::CONFIG_VERSION);
        bytes.as_deref() == Some(self.config_version.to_string().as_bytes())
    }
}

impl Context for RelayRoot {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        _num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        if let (Some(prober), Some(runtime)) = (self.prober.as_mut(), self.runtime.as_ref()) {
            prober.on_response(&runtime.config, token_id, body_size);
        }
    }

    fn on_done(&mut self) -> bool {
        metrics::flush();
        true
    }
}

impl RootContext for RelayRoot {
    fn on_vm_start(&mut self, _vm_configuration_size: usize) -> bool {
        true
    }

    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let bytes = calls::plugin_configuration().unwrap_or_default();
        let config = match Plugin::parse(&bytes, &|name| std::env::var(name).ok()) {
            Ok(Plugin::Relay(config)) => *config,
            Ok(Plugin::RouteAfterBody) => {
                info!("route_after_body: applies the environment a pinned model's body chose");
                self.route_after_body = true;
                return true;
            }
            Ok(Plugin::Upstream(env)) => {
                let which = env.map_or(
                    "the environment in each host's metadata",
                    Environment::as_str,
                );
                info!("upstream filter: injects the key of {which} on every attempt");
                self.upstream = Some(env);
                upstream::refresh_keys();
                calls::set_tick_period(TICK);
                return true;
            }
            Err(err) => {
                // Refusing keeps the last good configuration serving (or stops a fresh start).
                error!("{err}");
                return false;
            }
        };
        if !metrics::define() {
            error!(
                "{}",
                ConfigError::new("configuration", "could not define the filter's metrics")
            );
            return false;
        }
        let now = calls::now_ms();
        self.config_version = fnv1a64(&bytes);
        shared::set(
            keys::CONFIG_VERSION,
            self.config_version.to_string().as_bytes(),
        );
        upstream::publish_keys(
            Environment::ALL.map(|env| config.environment(env).api_key.authorization()),
        );
        let owner = RandomState::new().hash_one(now);
        self.prober = Some(Prober::new(owner, self.config_version));
        let runtime = Runtime::new(config, now);
        for env in Environment::ALL {
            metrics::set_weight(env, runtime.split.get().buckets(env));
        }
        info!("{}", describe(&runtime.config));
        // Not announced here: a bootstrap default config and the published one load within
        // milliseconds of each other; the next tick reports the mode once.
        routing_state::refresh(&runtime, now, false);
        self.runtime = Some(Rc::new(runtime));
        calls::set_tick_period(TICK);
        true
    }

    fn on_tick(&mut self) {
        if self.upstream.is_some() {
            upstream::refresh_keys();
            return;
        }
        metrics::flush();
        let Some(runtime) = self.runtime.clone() else {
            return;
        };
        let now = calls::now_ms();
        let is_current = self.is_current();
        rollback_window::flush(&runtime.config, now);
        if let Some(prober) = self.prober.as_mut() {
            prober.tick(&runtime.config, now, is_current);
        }
        routing_state::refresh(&runtime, now, is_current);
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        if self.route_after_body {
            return Some(Box::new(RouteAfterBody));
        }
        if let Some(env) = self.upstream {
            return Some(Box::new(UpstreamStream::new(env)));
        }
        Some(Box::new(RelayStream::new(self.runtime.clone())))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// One line per accepted configuration: what operators need to see, never a key.
fn describe(config: &Config) -> String {
    let weight = |env| weight::display(config.environment(env).weight_bp);
    format!(
        "configuration loaded: version {}, active {}, blue {} % -> {}, green {} % -> {}, health checks {}, auto rollback {}",
        config.version.as_deref().unwrap_or("(none)"),
        config.active.as_str(),
        weight(Environment::Blue),
        config.environment(Environment::Blue).cluster,
        weight(Environment::Green),
        config.environment(Environment::Green).cluster,
        if config.health_check.is_some() { "on" } else { "off" },
        if config.auto_rollback.is_some() { "on" } else { "off" },
    )
}
