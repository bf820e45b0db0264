//! What one root context's configuration gives its streams: the validated config and the split
//! in force, shared by `Rc` (one VM is single-threaded).

use std::cell::{Cell, RefCell};

use crate::config::Config;
use crate::environment::Environment;
use crate::health::policy::decide;
use crate::routing::Split;
use crate::status::HealthView;

pub struct Runtime {
    pub config: Config,
    /// The split requests use now; the timer updates it from health and rollback state.
    pub split: Cell<Split>,
    /// Health as last read from shared data, for the status endpoint.
    pub health: RefCell<HealthView>,
    pub loaded_at_ms: u64,
    /// Requests go through failover clusters, whose upstream filter labels each answer.
    pub failover: bool,
    /// `bluegreen.<env>.health` and `.tripped`, named once rather than on every tick.
    pub health_gauges: [String; 2],
    pub tripped_gauges: [String; 2],
}

impl Runtime {
    pub fn new(config: Config, loaded_at_ms: u64) -> Runtime {
        // Until the first tick has read shared health: a candidate that was never validated gets
        // nothing when probes are configured.
        let split =
            Cell::new(decide(&config, Default::default(), config.health_check.is_some()).split);
        Runtime {
            failover: config.has_failover(),
            config,
            split,
            health: RefCell::new(HealthView::default()),
            loaded_at_ms,
            health_gauges: Environment::ALL.map(|env| format!("bluegreen.{}.health", env.as_str())),
            tripped_gauges: Environment::ALL
                .map(|env| format!("bluegreen.{}.tripped", env.as_str())),
        }
    }
}
