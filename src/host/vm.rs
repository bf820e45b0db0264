//! Per-VM state shared by every context in the VM (one VM per Envoy worker thread).

use std::cell::{Cell, RefCell};

use crate::routing::KeylessPicker;

use super::calls;

thread_local! {
    static KEYLESS: RefCell<Option<KeylessPicker>> = const { RefCell::new(None) };
    static HOST_CLEARS_ROUTE_CACHE: Cell<bool> = const { Cell::new(true) };
}

/// A bucket for a request without an affinity key.
pub fn keyless_bucket() -> u32 {
    KEYLESS.with(|slot| {
        let mut slot = slot.borrow_mut();
        slot.get_or_insert_with(|| KeylessPicker::new(calls::now_ms()))
            .next_bucket()
    })
}

/// Clears the route cache where the host has the function; stops asking a host that lacks it.
pub fn clear_route_cache() {
    if HOST_CLEARS_ROUTE_CACHE.with(Cell::get) && !calls::clear_route_cache() {
        HOST_CLEARS_ROUTE_CACHE.with(|flag| flag.set(false));
    }
}
