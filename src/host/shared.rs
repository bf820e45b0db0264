//! Proxy-wasm shared data (one store for every VM with our `vm_id`): typed reads and bounded
//! compare-and-swap updates. Keys are written once before any CAS, since a write without CAS to
//! a missing key always succeeds.
//!
//! A value under our key that does not decode (garbage, or another build's layout) reads as the
//! type's default and is logged once per key and VM, so a bad value can neither trap the VM nor
//! flood the log on every tick.

use std::cell::RefCell;
use std::collections::BTreeSet;

use log::{debug, warn};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::api::{Host, HostError, Shared};
use crate::record;

/// How often an update retries after losing a CAS race before giving up until the next tick.
const CAS_ATTEMPTS: usize = 8;

thread_local! {
    /// Keys whose unreadable value this VM already reported.
    static REPORTED: RefCell<BTreeSet<String>> = const { RefCell::new(BTreeSet::new()) };
}

pub fn get(host: &impl Host, key: &str) -> Shared {
    host.shared_data(key).unwrap_or_else(|err| {
        debug!("reading shared {key} failed: {err}");
        (None, None)
    })
}

/// Writes `value` only if the key still has version `cas`. `false` when another context won.
pub fn compare_and_set(host: &impl Host, key: &str, value: &[u8], cas: u32) -> bool {
    match host.set_shared_data(key, value, Some(cas)) {
        Ok(()) => true,
        Err(HostError::CasMismatch) => false,
        Err(err) => {
            warn!("writing shared {key} failed: {err}");
            false
        }
    }
}

/// Unconditional write, for values that have a single writer per change.
pub fn set(host: &impl Host, key: &str, value: &[u8]) {
    if let Err(err) = host.set_shared_data(key, value, None) {
        warn!("writing shared {key} failed: {err}");
    }
}

/// Creates the key with `initial` if it does not exist yet.
pub fn init(host: &impl Host, key: &str, initial: &[u8]) {
    if get(host, key).1.is_none() {
        set(host, key, initial);
    }
}

/// Decodes a stored value; an unreadable one is `None`, reported once.
pub fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Option<T> {
    match record::decode(bytes) {
        Ok(value) => Some(value),
        Err(err) => {
            let first = REPORTED.with(|keys| keys.borrow_mut().insert(key.to_string()));
            if first {
                warn!("shared {key} holds a value this build cannot read ({err}); using defaults");
            }
            None
        }
    }
}

pub fn read<T: DeserializeOwned>(host: &impl Host, key: &str) -> Option<T> {
    decode(key, &get(host, key).0?)
}

/// Read-modify-write of a record with CAS, retried a bounded number of times.
/// `change` may run more than once; it returns what the caller wants back from the winning run.
pub fn update<T, R>(host: &impl Host, key: &str, mut change: impl FnMut(&mut T) -> R) -> Option<R>
where
    T: Serialize + DeserializeOwned + Default,
{
    for _ in 0..CAS_ATTEMPTS {
        let (bytes, cas) = get(host, key);
        let Some(cas) = cas else {
            init(host, key, &record::encode(&T::default()));
            continue;
        };
        let mut value: T = bytes
            .and_then(|bytes| decode(key, &bytes))
            .unwrap_or_default();
        let result = change(&mut value);
        if compare_and_set(host, key, &record::encode(&value), cas) {
            return Some(result);
        }
    }
    debug!("shared {key}: gave up after {CAS_ATTEMPTS} CAS races");
    None
}
