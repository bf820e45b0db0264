//! What one root context's configuration gives its streams: the validated config and the split
//! in force, shared by `Rc` (one VM is single-threaded).

use std::cell::Cell;

use crate::config::Config;
use crate::routing::Split;

pub struct Runtime {
    pub config: Config,
    /// The split requests use now; the timer updates it from health and rollback state.
    pub split: Cell<Split>,
    pub loaded_at_ms: u64,
}

impl Runtime {
    pub fn new(config: Config, loaded_at_ms: u64) -> Runtime {
        let split = Cell::new(config.configured_split());
        Runtime {
            config,
            split,
            loaded_at_ms,
        }
    }
}
