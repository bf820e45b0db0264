//! The prober lease: exactly one root context (of all workers and the main thread) probes per
//! interval slot. Stored in shared data as `slot|owner|config-version`; a root context whose
//! configuration is not the current one never takes it.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
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

    /// Whether a root context at `slot` may take over a lease currently stored as `self`
    /// (`None` when the stored value is unreadable).
    pub fn may_take(current: Option<&Lease>, slot: u64) -> bool {
        current.is_none_or(|lease| lease.slot < slot)
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
        assert!(!Lease::may_take(Some(&lease), 10));
        assert!(!Lease::may_take(Some(&lease), 9));
        assert!(Lease::may_take(Some(&lease), 11));
        assert!(Lease::may_take(None, 0));
    }
}
