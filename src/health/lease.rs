//! The prober lease: exactly one root context (of all workers and the main thread) probes per
//! interval slot. Stored in shared data as `slot-start-ms|owner|config-version`; a root context
//! whose configuration is not the current one never takes it (the caller checks that).
//!
//! The slot is kept as its start time, not its index, so that a reload to another interval
//! still compares slots in time; and a lease written under another configuration can be taken
//! at once, so a reload never waits out the old configuration's slot.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Start of the slot, Unix ms (a multiple of the interval).
    pub slot: u64,
    pub owner: u64,
    pub config_version: u64,
}

impl Lease {
    pub fn encode(&self) -> String {
        format!("{}|{}|{}", self.slot, self.owner, self.config_version)
    }

    pub fn decode(bytes: &[u8]) -> Option<Lease> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut parts = text.split('|');
        let lease = Lease {
            slot: parts.next()?.parse().ok()?,
            owner: parts.next()?.parse().ok()?,
            config_version: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(lease)
    }

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
        let lease = Lease {
            slot: 42,
            owner: 7,
            config_version: 99,
        };
        assert_eq!(Lease::decode(lease.encode().as_bytes()), Some(lease));
        assert_eq!(Lease::decode(b""), None);
        assert_eq!(Lease::decode(b"1|2"), None);
        assert_eq!(Lease::decode(b"1|2|3|4"), None);
        assert_eq!(Lease::decode(b"a|2|3"), None);
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
