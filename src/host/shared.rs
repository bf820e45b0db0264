//! Proxy-wasm shared data (one store for every VM with our `vm_id`): typed reads and bounded
//! compare-and-swap updates. Keys are written once before any CAS, since a write without CAS to
//! a missing key always succeeds.

use log::{debug, warn};
use proxy_wasm::hostcalls;
use proxy_wasm::types::Status;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::record;

/// How often an update retries after losing a CAS race before giving up until the next tick.
const CAS_ATTEMPTS: usize = 8;

pub fn get(key: &str) -> (Option<Vec<u8>>, Option<u32>) {
    hostcalls::get_shared_data(key).unwrap_or_else(|status| {
        debug!("reading shared {key} failed: {status:?}");
        (None, None)
    })
}

/// Writes `value` only if the key still has version `cas`. `false` when another context won.
pub fn compare_and_set(key: &str, value: &[u8], cas: u32) -> bool {
    match hostcalls::set_shared_data(key, Some(value), Some(cas)) {
        Ok(()) => true,
        Err(Status::CasMismatch) => false,
        Err(status) => {
            warn!("writing shared {key} failed: {status:?}");
            false
        }
    }
}

/// Unconditional write, for values that have a single writer per change (e.g. the config version).
pub fn set(key: &str, value: &[u8]) {
    if let Err(status) = hostcalls::set_shared_data(key, Some(value), None) {
        warn!("writing shared {key} failed: {status:?}");
    }
}

/// Creates the key with `initial` if it does not exist yet.
pub fn init(key: &str, initial: &[u8]) {
    if get(key).1.is_none() {
        set(key, initial);
    }
}

pub fn read<T: DeserializeOwned>(key: &str) -> Option<T> {
    record::decode(&get(key).0?).ok()
}

/// Read-modify-write of a record with CAS, retried a bounded number of times.
/// `change` may run more than once; it returns what the caller wants back from the winning run.
pub fn update<T, R>(key: &str, mut change: impl FnMut(&mut T) -> R) -> Option<R>
where
    T: Serialize + DeserializeOwned + Default,
{
    for _ in 0..CAS_ATTEMPTS {
        let (bytes, cas) = get(key);
        let Some(cas) = cas else {
            init(key, &record::encode(&T::default()));
            continue;
        };
        let mut value: T = bytes
            .and_then(|b| record::decode(&b).ok())
            .unwrap_or_default();
        let result = change(&mut value);
        if compare_and_set(key, &record::encode(&value), cas) {
            return Some(result);
        }
    }
    debug!("shared {key}: gave up after {CAS_ATTEMPTS} CAS races");
    None
}
