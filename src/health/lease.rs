//! The prober lease: exactly one root context (of all workers and the main thread) probes per
//! interval slot. Stored in shared data (`crate::record`) as the slot's start, the owner and the
//! configuration version; a root context
//! whose configuration is not the current one never takes it (the caller checks that).
//!
//! The slot is kept as its start time, not its index, so that a reload to another interval
//! still compares slots in time; and a lease written under another configuration can be taken
//! at once, so a reload never waits out the old configuration's slot.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Start of the slot, Unix ms (a multiple of the interval).
    pub slot: u64,
    pub owner: u64,
    pub config_version: u64,
}

impl Lease {
    /// Whether a root context of `config_version` at the slot starting at `slot` may take over
    /// the stored lease (`None` when the stored value is unreadable).
    pub fn may_take(current: Option<&Lease>, slot: u64, config_version: u64) -> bool {
        current.is_none_or(|lease| lease.slot < slot || lease.config_version != config_version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        crate::record::check_codec(&Lease {
            slot: 42,
            owner: u64::MAX,
            config_version: 99,
        });
        // The text form an older build wrote is not a lease: it is taken over.
        assert!(crate::record::decode::<Lease>(b"1|2|3").is_err());
    }

    #[test]
    fn only_a_later_slot_takes_over() {
        let lease = Lease {
            slot: 10,
            owner: 1,
            config_version: 1,
        };
        assert!(!Lease::may_take(Some(&lease), 10, 1));
        assert!(!Lease::may_take(Some(&lease), 9, 1));
        assert!(Lease::may_take(Some(&lease), 11, 1));
        assert!(Lease::may_take(None, 0, 1));
    }

    #[test]
    fn a_new_configuration_takes_over_at_once() {
        // A reload to a longer interval gives an earlier slot start than the stored one.
        let lease = Lease {
            slot: 1_000_500,
            owner: 1,
            config_version: 1,
        };
        assert!(Lease::may_take(Some(&lease), 1_000_000, 2));
        assert!(!Lease::may_take(Some(&lease), 1_000_000, 1));
    }
}
