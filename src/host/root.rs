//! The root context: validates the configuration, runs the timer, creates streams.

use std::rc::Rc;
use std::time::Duration;

use log::{error, info};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::ContextType;

use crate::config::{Config, ConfigError};
use crate::environment::Environment;

use super::runtime::Runtime;
use super::stream::RelayStream;
use super::{calls, metrics};

/// How often counters are flushed to Envoy's stats (and, later, health state is read).
const TICK: Duration = Duration::from_millis(200);

#[derive(Default)]
pub struct RelayRoot {
    runtime: Option<Rc<Runtime>>,
}

impl Context for RelayRoot {
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
        let config = match Config::parse(&bytes, &|name| std::env::var(name).ok()) {
            Ok(config) => config,
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
        let runtime = Runtime::new(config, calls::now_ms());
        for env in Environment::ALL {
            metrics::set_weight(env, runtime.split.get().buckets(env));
        }
        info!("{}", describe(&runtime.config));
        self.runtime = Some(Rc::new(runtime));
        calls::set_tick_period(TICK);
        true
    }

    fn on_tick(&mut self) {
        metrics::flush();
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(RelayStream::new(self.runtime.clone())))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// One line per accepted configuration: what operators need to see, never a key.
fn describe(config: &Config) -> String {
    let weight = |env| config.environment(env).weight_bp as f64 / 100.0;
    format!(
        "configuration loaded: version {}, active {}, blue {} % -> {}, green {} % -> {}",
        config.version.as_deref().unwrap_or("(none)"),
        config.active.as_str(),
        weight(Environment::Blue),
        config.environment(Environment::Blue).cluster,
        weight(Environment::Green),
        config.environment(Environment::Green).cluster,
    )
}
