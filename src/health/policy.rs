//! The split in force, from the configured weights and each environment's state.
//!
//! - The candidate gets its weight only while `healthy` and not tripped by auto-rollback.
//! - The active environment keeps its weight unless degraded or unhealthy; then, if the
//!   candidate is routable, everything goes to the candidate (failover).
//! - If neither is routable, the configured weights apply (fail static: never turn a partial
//!   outage into a total one).

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::environment::Environment;
use crate::health::Health;
use crate::routing::Split;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EnvironmentState {
    pub health: Health,
    /// Held out by auto-rollback (cooldown not over, or no probe passed since).
    pub tripped: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Both environments routable: the configured weights.
    #[default]
    Normal,
    /// The candidate is held out: everything to the active environment.
    CandidateHeld,
    /// The active environment is down: everything to the candidate.
    Failover,
    /// Neither is routable: configured weights, as if nothing were known.
    FailStatic,
}

impl Mode {
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Normal => "normal",
            Mode::CandidateHeld => "candidate_held",
            Mode::Failover => "failover",
            Mode::FailStatic => "fail_static",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub split: Split,
    pub mode: Mode,
    pub routable: [bool; 2],
}

/// `probing` is false when no `health_check` is configured: every environment then counts as
/// healthy.
pub fn decide(config: &Config, states: [EnvironmentState; 2], probing: bool) -> Decision {
    let active = config.active;
    let candidate = active.other();
    let health = |env: Environment| {
        if probing {
            states[env.index()].health
        } else {
            Health::Healthy
        }
    };
    let active_ok = !matches!(health(active), Health::Degraded | Health::Unhealthy);
    let candidate_ok = health(candidate) == Health::Healthy && !states[candidate.index()].tripped;
    let mut routable = [false; 2];
    routable[active.index()] = active_ok;
    routable[candidate.index()] = candidate_ok;
    let configured = config.configured_split();
    let (split, mode) = match (active_ok, candidate_ok) {
        (true, true) => (configured, Mode::Normal),
        (true, false) => (Split::only(active), Mode::CandidateHeld),
        (false, true) => (Split::only(candidate), Mode::Failover),
        (false, false) => (configured, Mode::FailStatic),
    };
    Decision {
        split,
        mode,
        routable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(active: &str) -> Config {
        let json = format!(
            r#"{{"active": "{active}", "environments": {{
                "blue": {{"cluster": "b", "weight": 90, "api_key": "k"}},
                "green": {{"cluster": "g", "weight": 10, "api_key": "k"}}}}}}"#
        );
        Config::parse(json.as_bytes(), &|_| None).unwrap()
    }

    fn state(health: Health) -> EnvironmentState {
        EnvironmentState {
            health,
            tripped: false,
        }
    }

    #[test]
    fn candidate_needs_a_healthy_verdict() {
        let c = config("blue");
        for health in [Health::Unknown, Health::Degraded, Health::Unhealthy] {
            let d = decide(&c, [state(Health::Healthy), state(health)], true);
            assert_eq!(
                (d.split, d.mode),
                (Split::ALL_BLUE, Mode::CandidateHeld),
                "{health:?}"
            );
            assert_eq!(d.routable, [true, false]);
        }
        let d = decide(&c, [state(Health::Healthy), state(Health::Healthy)], true);
        assert_eq!((d.split.green_buckets(), d.mode), (1000, Mode::Normal));
    }

    #[test]
    fn unknown_active_keeps_its_weight() {
        let c = config("blue");
        let d = decide(&c, [state(Health::Unknown), state(Health::Healthy)], true);
        assert_eq!(d.mode, Mode::Normal);
    }

    #[test]
    fn failover_to_a_healthy_candidate() {
        let c = config("blue");
        for health in [Health::Degraded, Health::Unhealthy] {
            let d = decide(&c, [state(health), state(Health::Healthy)], true);
            assert_eq!((d.split, d.mode), (Split::ALL_GREEN, Mode::Failover));
        }
        let c = config("green");
        let d = decide(&c, [state(Health::Healthy), state(Health::Unhealthy)], true);
        assert_eq!((d.split, d.mode), (Split::ALL_BLUE, Mode::Failover));
    }

    #[test]
    fn neither_routable_fails_static() {
        let c = config("blue");
        let d = decide(&c, [state(Health::Unhealthy), state(Health::Unknown)], true);
        assert_eq!((d.split.green_buckets(), d.mode), (1000, Mode::FailStatic));
        assert_eq!(d.routable, [false, false]);
    }

    #[test]
    fn tripped_candidate_is_held() {
        let c = config("blue");
        let tripped = EnvironmentState {
            health: Health::Healthy,
            tripped: true,
        };
        let d = decide(&c, [state(Health::Healthy), tripped], true);
        assert_eq!(d.mode, Mode::CandidateHeld);
        // Even without probes.
        let d = decide(&c, [state(Health::Unknown), tripped], false);
        assert_eq!(d.mode, Mode::CandidateHeld);
    }

    #[test]
    fn without_probing_everything_counts_healthy() {
        let c = config("blue");
        let d = decide(
            &c,
            [state(Health::Unhealthy), state(Health::Unknown)],
            false,
        );
        assert_eq!((d.split.green_buckets(), d.mode), (1000, Mode::Normal));
    }

    #[test]
    fn mode_round_trips_through_the_shared_encoding() {
        for m in [
            Mode::Normal,
            Mode::CandidateHeld,
            Mode::Failover,
            Mode::FailStatic,
        ] {
            let bytes = crate::record::encode(&m);
            assert_eq!(bytes, format!("\"{}\"", m.as_str()).into_bytes());
            assert_eq!(crate::record::decode::<Mode>(&bytes).ok(), Some(m));
        }
        assert!(crate::record::decode::<Mode>(b"\"x\"").is_err());
    }
}
