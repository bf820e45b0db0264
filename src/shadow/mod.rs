//! Shadow traffic, decided in plain Rust: which requests are copied to the candidate, the rate
//! cap shared by the workers, the copy handed to the root context, and the counts of both
//! environments' answers to the copied requests.
//!
//! Which requests: a completion request (`POST` to a completion path) that the bucket rule sends
//! to the active environment, whose *shadow bucket* is below `shadow.percent`. The shadow bucket
//! is the affinity key hashed with a salt of its own, not the routing bucket: the routing bucket
//! already decides the canary (green iff bucket < green's weight), so reusing it would shadow
//! only sessions that the canary sends to the candidate anyway, and none at all once the canary
//! reaches the shadow percent. Salted, it is independent of the split, and as stable: the same
//! key gives the same shadow bucket on every request and every replica, so a shadowed session is
//! shadowed on each of its requests (while the active environment serves it). A keyless request
//! uses a fixed permutation of the keyless bucket it was routed with.

pub mod item;
pub mod rate;
pub mod stats;

use crate::config::Shadow;
use crate::environment::Environment;
use crate::routing::{Reason, BUCKETS};

/// Prepended to the affinity key before hashing: a bucket space of its own.
const SALT: &[u8] = b"bluegreen-relay.shadow\x00";

/// Odd and coprime with 10000: multiplying by it permutes the bucket space.
const KEYLESS_STRIDE: u64 = 7919;

/// The shadow bucket (0..10000) of an affinity key.
pub fn key_bucket(affinity_key: &[u8]) -> u32 {
    use std::hash::Hasher;
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(SALT);
    hasher.write(affinity_key);
    (hasher.finish() % u64::from(BUCKETS)) as u32
}

/// The shadow bucket of a keyless request routed with `routing_bucket`.
pub fn keyless_bucket(routing_bucket: u32) -> u32 {
    ((u64::from(routing_bucket) * KEYLESS_STRIDE) % u64::from(BUCKETS)) as u32
}

/// What the stream knows when it decides.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    /// Where the bucket rule (or an override) sent it.
    pub env: Environment,
    pub reason: Reason,
    /// `POST` to a completion path.
    pub completion: bool,
    /// See [`key_bucket`] and [`keyless_bucket`].
    pub shadow_bucket: u32,
}

/// Whether the request is copied to the candidate. An override names its environment on
/// purpose: it is never shadowed.
pub fn is_shadowed(shadow: &Shadow, active: Environment, request: &Request) -> bool {
    request.completion
        && request.env == active
        && request.reason != Reason::Override
        && request.shadow_bucket < shadow.percent_bp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shadow(percent_bp: u32) -> Shadow {
        Shadow {
            percent_bp,
            max_per_second: 20,
            max_body_bytes: 1024,
        }
    }

    fn request(key: &str) -> Request {
        Request {
            env: Environment::Blue,
            reason: Reason::Affinity,
            completion: true,
            shadow_bucket: key_bucket(key.as_bytes()),
        }
    }

    #[test]
    fn a_session_is_shadowed_on_every_request_or_never() {
        let config = shadow(1000);
        let shadowed = (0..2000)
            .filter(|i| {
                let key = format!("session-{i}");
                let first = is_shadowed(&config, Environment::Blue, &request(&key));
                for _ in 0..3 {
                    assert_eq!(
                        is_shadowed(&config, Environment::Blue, &request(&key)),
                        first
                    );
                }
                first
            })
            .count();
        // 10 % of 2000 sessions, give or take the hash's spread.
        assert!((140..260).contains(&shadowed), "{shadowed}");
    }

    #[test]
    fn independent_of_the_canary_split() {
        // Sessions whose routing bucket is above a 50 % canary (they stay on blue) are shadowed
        // about as often as any.
        let config = shadow(2000);
        let staying: Vec<String> = (0..4000)
            .map(|i| format!("s{i}"))
            .filter(|key| crate::routing::bucket(key.as_bytes()) >= 5000)
            .collect();
        let shadowed = staying
            .iter()
            .filter(|key| is_shadowed(&config, Environment::Blue, &request(key)))
            .count();
        let share = shadowed as f64 / staying.len() as f64;
        assert!((0.15..0.25).contains(&share), "{share}");
    }

    #[test]
    fn only_completions_to_the_active_environment_without_override() {
        let config = shadow(BUCKETS);
        let base = request("k");
        assert!(is_shadowed(&config, Environment::Blue, &base));
        let to_green = Request {
            env: Environment::Green,
            ..base
        };
        assert!(!is_shadowed(&config, Environment::Blue, &to_green));
        assert!(is_shadowed(&config, Environment::Green, &to_green));
        let listing = Request {
            completion: false,
            ..base
        };
        assert!(!is_shadowed(&config, Environment::Blue, &listing));
        let overridden = Request {
            reason: Reason::Override,
            ..base
        };
        assert!(!is_shadowed(&config, Environment::Blue, &overridden));
        assert!(!is_shadowed(&shadow(0), Environment::Blue, &base));
    }

    #[test]
    fn keyless_buckets_are_a_permutation() {
        let mut seen = vec![false; BUCKETS as usize];
        for bucket in 0..BUCKETS {
            seen[keyless_bucket(bucket) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(key_bucket(b"abc"), key_bucket(b"abc"));
        assert_ne!(key_bucket(b"abc"), crate::routing::bucket(b"abc"));
    }
}
