//! The configuration version as a number, for the `bluegreen.config_version` gauge: Prometheus
//! can then count the replicas on each version. Stats hold numbers, not strings, so the version
//! string is hashed (FNV-1a 64, as the bucket rule) and cut to 53 bits so that it survives
//! Prometheus's float64 exactly; relayctl computes the same id from the version it published.

use crate::routing::fnv1a64;

/// The gauge value for `version`; 0 for a configuration without one.
pub fn version_id(version: Option<&str>) -> u64 {
    match version {
        Some(version) => fnv1a64(version.as_bytes()) >> 11,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_fit_a_float_exactly_and_differ() {
        let a = version_id(Some("relayctl-1795612175992-canary-10"));
        let b = version_id(Some("relayctl-1795612175993-canary-10"));
        assert_ne!(a, b);
        for id in [a, b, version_id(Some(""))] {
            assert!(id < 1 << 53);
            assert_eq!(id as f64 as u64, id);
        }
        assert_eq!(version_id(None), 0);
        assert_eq!(version_id(Some("a")), 0xaf63_dc4c_8601_ec8c >> 11);
    }
}
