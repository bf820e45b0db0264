//! What each step does to the plugin configuration: pure edits of its JSON.

use bluegreen_relay::config::defaults;
use bluegreen_relay::environment::Environment;
use bluegreen_relay::routing::weight;
use serde_json::Value;

use crate::percent::ALL;
use crate::state::State;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The candidate gets this many basis points, the active environment the rest.
    Canary(u32),
    /// The candidate takes everything and becomes the active environment.
    Promote,
    /// Everything back to the active environment (or, right after a promote, to the one
    /// that was active before it).
    Rollback,
}

impl Step {
    pub fn kind(self) -> &'static str {
        match self {
            Step::Canary(_) => "canary",
            Step::Promote => "promote",
            Step::Rollback => "rollback",
        }
    }

    /// `canary 12.5`, `promote`, `rollback`.
    pub fn describe(self) -> String {
        match self {
            Step::Canary(bp) => format!("canary {}", weight::display(bp)),
            other => other.kind().to_string(),
        }
    }

    /// The `version` relayctl publishes: `relayctl-<unix ms>-canary-12.5`.
    pub fn version(self, unix_ms: u64) -> String {
        format!("relayctl-{unix_ms}-{}", self.describe().replace(' ', "-"))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub plugin: Value,
    pub previous_version: Option<String>,
    pub active_before: Environment,
    pub active_after: Environment,
    /// Basis points, indexed by `Environment::index`.
    pub weights: [u32; 2],
    /// Said in the deployment log, e.g. which promote a rollback undoes.
    pub note: Option<String>,
}

impl Plan {
    pub fn plugin_json(&self) -> String {
        serde_json::to_string(&self.plugin).unwrap_or_default()
    }

    /// `blue 90 % / green 10 %, active blue`.
    pub fn summary(&self) -> String {
        format!(
            "blue {} % / green {} %, active {}",
            weight::display(self.weights[0]),
            weight::display(self.weights[1]),
            self.active_after.as_str()
        )
    }
}

/// The active environment the configuration names (the filter's default when it names none).
pub fn active_of(plugin: &Value) -> Result<Environment, String> {
    let default = defaults::active();
    match plugin.get("active") {
        None => Environment::from_bytes(default.as_bytes())
            .ok_or_else(|| format!("active: the default {default:?} is not an environment")),
        Some(Value::String(name)) => Environment::from_bytes(name.as_bytes())
            .ok_or_else(|| format!("active: must be \"blue\" or \"green\" (got {name:?})")),
        Some(other) => Err(format!(
            "active: must be \"blue\" or \"green\" (got {other})"
        )),
    }
}

/// Applies `step` to the plugin JSON `current`, stamping `version`.
pub fn plan(current: &str, step: Step, state: &State, version: &str) -> Result<Plan, String> {
    let mut plugin: Value = serde_json::from_str(current)
        .map_err(|e| format!("the current plugin configuration is not JSON: {e}"))?;
    if !plugin.is_object() {
        return Err("the current plugin configuration is not a JSON object".into());
    }
    for env in Environment::ALL {
        if !plugin["environments"][env.as_str()].is_object() {
            return Err(format!(
                "environments.{}: missing from the current plugin configuration",
                env.as_str()
            ));
        }
    }
    let active_before = active_of(&plugin)?;
    let previous_version = plugin
        .get("version")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut note = None;
    let (active_after, candidate_bp) = match step {
        Step::Canary(bp) => (active_before, bp.min(ALL)),
        Step::Promote => (active_before.other(), 0),
        Step::Rollback => match state.promote_to_undo(previous_version.as_deref()) {
            Some(promote) => {
                let back = Environment::from_bytes(promote.active_before.as_bytes())
                    .unwrap_or(active_before);
                note = Some(format!(
                    "undoes promote {} (active {} -> {})",
                    promote.version, promote.active_before, promote.active_after
                ));
                (back, 0)
            }
            None => (active_before, 0),
        },
    };
    let mut weights = [0; 2];
    weights[active_after.index()] = ALL - candidate_bp;
    weights[active_after.other().index()] = candidate_bp;
    for env in Environment::ALL {
        plugin["environments"][env.as_str()]["weight"] = weight::to_json(weights[env.index()]);
    }
    plugin["active"] = Value::from(active_after.as_str());
    plugin["version"] = Value::from(version);
    Ok(Plan {
        plugin,
        previous_version,
        active_before,
        active_after,
        weights,
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Entry;
    use serde_json::json;

    fn current(active: &str, blue: f64, green: f64) -> String {
        json!({
            "version": "v1",
            "active": active,
            "environments": {
                "blue": {"cluster": "relay_blue", "weight": blue, "api_key_env": "B", "failover_cluster": "relay_blue_failover"},
                "green": {"cluster": "relay_green", "weight": green, "api_key_env": "G"},
            },
            "health_check": {"interval_ms": 1000},
        })
        .to_string()
    }

    #[test]
    fn canary_moves_the_candidate_and_keeps_the_rest() {
        let p = plan(
            &current("blue", 100.0, 0.0),
            Step::Canary(1250),
            &State::default(),
            "v2",
        )
        .unwrap();
        assert_eq!(p.weights, [8750, 1250]);
        assert_eq!(p.plugin["environments"]["blue"]["weight"], json!(87.5));
        assert_eq!(p.plugin["environments"]["green"]["weight"], json!(12.5));
        assert_eq!(p.plugin["active"], "blue");
        assert_eq!(p.plugin["version"], "v2");
        assert_eq!(p.previous_version.as_deref(), Some("v1"));
        assert_eq!(p.plugin["health_check"], json!({"interval_ms": 1000}));
        assert_eq!(
            p.plugin["environments"]["blue"]["failover_cluster"],
            "relay_blue_failover"
        );
        assert_eq!(p.summary(), "blue 87.5 % / green 12.5 %, active blue");
        // With green active, the candidate is blue.
        let p = plan(
            &current("green", 0.0, 100.0),
            Step::Canary(3333),
            &State::default(),
            "v3",
        )
        .unwrap();
        assert_eq!(p.weights, [3333, 6667]);
        assert_eq!(p.plugin["environments"]["green"]["weight"], json!(66.67));
    }

    #[test]
    fn promote_swaps_the_active_environment() {
        let p = plan(
            &current("blue", 50.0, 50.0),
            Step::Promote,
            &State::default(),
            "v2",
        )
        .unwrap();
        assert_eq!(p.weights, [0, 10_000]);
        assert_eq!(p.plugin["active"], "green");
        assert_eq!(p.plugin["environments"]["green"]["weight"], json!(100));
        assert_eq!(
            (p.active_before, p.active_after),
            (Environment::Blue, Environment::Green)
        );
    }

    #[test]
    fn rollback_keeps_the_active_unless_undoing_a_promote() {
        let p = plan(
            &current("blue", 50.0, 50.0),
            Step::Rollback,
            &State::default(),
            "v2",
        )
        .unwrap();
        assert_eq!(p.weights, [10_000, 0]);
        assert_eq!(p.plugin["active"], "blue");
        assert_eq!(p.note, None);

        let mut state = State::default();
        state.record(Entry {
            at: String::new(),
            kind: "promote".into(),
            step: "promote".into(),
            version: "v1".into(),
            previous_version: Some("v0".into()),
            active_before: "blue".into(),
            active_after: "green".into(),
            blue_weight: 0.0,
            green_weight: 100.0,
        });
        // The config still carries the promote's version: back to blue.
        let p = plan(&current("green", 0.0, 100.0), Step::Rollback, &state, "v2").unwrap();
        assert_eq!(p.plugin["active"], "blue");
        assert_eq!(p.weights, [10_000, 0]);
        assert!(p.note.unwrap().contains("undoes promote v1"));
        // Someone published something else since: green stays active, blue gets nothing.
        let edited = current("green", 10.0, 90.0).replace("\"v1\"", "\"by-hand\"");
        let p = plan(&edited, Step::Rollback, &state, "v3").unwrap();
        assert_eq!(p.plugin["active"], "green");
        assert_eq!(p.weights, [0, 10_000]);
    }

    #[test]
    fn versions_name_the_step() {
        assert_eq!(Step::Canary(1000).version(42), "relayctl-42-canary-10");
        assert_eq!(Step::Canary(1).version(42), "relayctl-42-canary-0.01");
        assert_eq!(Step::Promote.version(42), "relayctl-42-promote");
    }

    #[test]
    fn refuses_what_it_cannot_edit() {
        assert!(plan("[]", Step::Rollback, &State::default(), "v").is_err());
        assert!(plan("{", Step::Rollback, &State::default(), "v").is_err());
        let err = plan(
            r#"{"environments":{"blue":{}}}"#,
            Step::Rollback,
            &State::default(),
            "v",
        )
        .unwrap_err();
        assert!(err.contains("environments.green"), "{err}");
        let err = plan(
            &current("purple", 100.0, 0.0),
            Step::Promote,
            &State::default(),
            "v",
        )
        .unwrap_err();
        assert!(err.starts_with("active:"), "{err}");
    }
}
