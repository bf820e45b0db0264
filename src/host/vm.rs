//! What one VM (one Envoy worker thread, or the main thread) keeps for all its contexts: the
//! host handle, the batched counters, the keyless picker, and what it learnt about the host.
//! Every root context of the VM (a configuration reload adds one) and every stream share it by
//! `Rc`; a VM is single-threaded.

use std::cell::{Cell, RefCell};

use super::api::Host;
use super::metrics::Metrics;
use super::usage_metrics::UsageMetrics;
use crate::environment::Environment;
use crate::health::passive::PassiveCounts;
use crate::routing::KeylessPicker;

pub struct Vm<H: Host> {
    pub host: H,
    pub metrics: RefCell<Metrics>,
    pub usage: RefCell<UsageMetrics>,
    keyless: RefCell<Option<KeylessPicker>>,
    /// The candidate's (responses, errors) since the last flush into the rollback window.
    pub rollback_pending: Cell<(u64, u64)>,
    /// Real answers per environment since the last flush (passive health).
    pub passive_pending: Cell<[PassiveCounts; 2]>,
    /// `Bearer <key>` per environment as the relay filter last published it (upstream role).
    pub upstream_keys: RefCell<[Option<String>; 2]>,
    /// The shared queue that carries shadow copies to a root context, once one registered it.
    pub shadow_queue: Cell<Option<u32>>,
}

impl<H: Host> Vm<H> {
    pub fn new(host: H) -> Vm<H> {
        Vm {
            host,
            metrics: RefCell::default(),
            usage: RefCell::default(),
            keyless: RefCell::new(None),
            rollback_pending: Cell::new((0, 0)),
            passive_pending: Cell::new(Default::default()),
            upstream_keys: RefCell::new([None, None]),
            shadow_queue: Cell::new(None),
        }
    }

    /// Host wall-clock time in Unix ms (0 if the host cannot tell).
    pub fn now_ms(&self) -> u64 {
        self.host.now_ms().unwrap_or(0)
    }

    /// A bucket for a request without an affinity key.
    pub fn keyless_bucket(&self) -> u32 {
        let mut picker = self.keyless.borrow_mut();
        picker
            .get_or_insert_with(|| KeylessPicker::new(self.now_ms()))
            .next_bucket()
    }

    /// Hot path: one request or answer counted in VM memory.
    pub fn count(&self, env: Environment, counter: crate::status::counters::Counter) {
        self.metrics.borrow_mut().count(env, counter);
    }

    /// Pushes the batched counters to Envoy's stats.
    pub fn flush(&self) {
        self.usage.borrow_mut().flush(&self.host, self.now_ms());
        self.metrics.borrow_mut().flush(&self.host);
    }
}
