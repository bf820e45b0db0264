//! Validation with the filter's own `Config::parse`, so relayctl refuses exactly what the
//! filter would refuse, with the same one-line message: `invalid configuration: <field>: ...`,
//! or `invalid configuration: N problems: <field>: ...; <field>: ...` listing every problem.

use std::cell::RefCell;

use bluegreen_relay::config::{Config, ConfigError};
use bluegreen_relay::environment::Environment;

/// Stands in for a key or token that lives only in Envoy's environment (visible ASCII, never
/// sent).
pub const PLACEHOLDER_KEY: &str = "relayctl-placeholder-key";

pub struct Checked {
    pub config: Config,
    /// Variables (`api_key_env`, `*_token_env`) unset in relayctl's environment, checked with a
    /// placeholder.
    pub placeholders: Vec<String>,
}

/// Parses `plugin_json` as the filter would. `host_env_keys` (from the resource's vm_config)
/// says which variables Envoy hands the VM: a name outside it is unset for the filter too.
/// A listed name that is unset *here* is answered with a placeholder and reported, since the
/// keys normally live only in Envoy's environment.
pub fn check(
    plugin_json: &str,
    host_env_keys: Option<&[String]>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Checked, ConfigError> {
    let placeholders = RefCell::new(Vec::new());
    let lookup = |name: &str| -> Option<String> {
        if let Some(keys) = host_env_keys {
            if !keys.iter().any(|k| k == name) {
                return None;
            }
        }
        match env(name) {
            Some(value) if !value.is_empty() => Some(value),
            _ => {
                let mut names = placeholders.borrow_mut();
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
                Some(PLACEHOLDER_KEY.to_string())
            }
        }
    };
    let config = Config::parse(plugin_json.as_bytes(), &lookup)?;
    Ok(Checked {
        config,
        placeholders: placeholders.into_inner(),
    })
}

/// relayctl's own environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

pub fn placeholder_warning(name: &str) -> String {
    format!(
        "warning: ${name} is not set in relayctl's environment; checked with a placeholder. \
         The filter reads it from Envoy's environment: make sure Envoy has it."
    )
}

/// One line about a valid configuration (never a key).
pub fn describe(config: &Config) -> String {
    let env = |e: Environment| {
        let c = config.environment(e);
        let via = if c.route_cluster == c.cluster {
            String::new()
        } else {
            format!(" (via {})", c.route_cluster)
        };
        format!(
            "{} {} % -> {}{via}",
            e.as_str(),
            bluegreen_relay::routing::weight::display(c.weight_bp),
            c.cluster
        )
    };
    format!(
        "version {}, active {}, {}, {}, health checks {}, auto rollback {}",
        config.version.as_deref().unwrap_or("(none)"),
        config.active.as_str(),
        env(Environment::Blue),
        env(Environment::Green),
        if config.health_check.is_some() {
            "on"
        } else {
            "off"
        },
        if config.auto_rollback.is_some() {
            "on"
        } else {
            "off"
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"{"environments": {
        "blue": {"cluster": "relay_blue", "weight": 90, "api_key_env": "KEY_BLUE"},
        "green": {"cluster": "relay_green", "weight": 10, "api_key_env": "KEY_GREEN"}}}"#;

    #[test]
    fn unset_keys_are_placeholders_and_reported() {
        let env = |name: &str| (name == "KEY_BLUE").then(|| "sk-blue".to_string());
        let checked = check(CONFIG, None, &env).unwrap();
        assert_eq!(checked.placeholders, ["KEY_GREEN"]);
        assert_eq!(checked.config.active, Environment::Blue);
        assert!(placeholder_warning("KEY_GREEN").contains("$KEY_GREEN"));
    }

    #[test]
    fn a_name_envoy_does_not_pass_fails_like_the_filter() {
        let keys = vec!["KEY_BLUE".to_string()];
        let err = check(CONFIG, Some(&keys), &|_| None).err().unwrap();
        let filter = Config::parse(CONFIG.as_bytes(), &|name| {
            (name == "KEY_BLUE").then(|| "x".to_string())
        })
        .err()
        .unwrap();
        assert_eq!(err, filter);
        assert_eq!(err.problems().len(), 1);
        assert_eq!(err.problems()[0].field(), "environments.green.api_key_env");
    }

    #[test]
    fn messages_are_the_filters() {
        let bad = CONFIG.replace("\"weight\": 10", "\"weight\": 20");
        let err = check(&bad, None, &|_| None).err().unwrap();
        assert_eq!(
            err.to_string(),
            "invalid configuration: environments.green.weight: blue + green must sum to 100 (got 90 + 20)"
        );
    }

    #[test]
    fn every_problem_is_listed_as_the_filter_lists_it() {
        let bad = CONFIG.replace("\"weight\": 10", "\"weight\": 20").replacen(
            '{',
            r#"{"cluster_header": "bad header", "#,
            1,
        );
        let err = check(&bad, Some(&["KEY_BLUE".to_string()]), &|_| None)
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "invalid configuration: 3 problems: environments.green.api_key_env: environment \
             variable is unset or empty in the Envoy process (got \"KEY_GREEN\"; pass it with \
             vm_config.environment_variables.host_env_keys); environments.green.weight: blue + \
             green must sum to 100 (got 90 + 20); cluster_header: must be an HTTP header name \
             (got \"bad header\")"
        );
    }

    #[test]
    fn token_variables_are_placeholders_too() {
        let config = CONFIG.replacen(
            '{',
            r#"{"override_header": "x-relay-env", "override_token_env": "RELAY_OVERRIDE_TOKEN", "#,
            1,
        );
        let env = |name: &str| name.starts_with("KEY_").then(|| "sk-x".to_string());
        let checked = check(&config, None, &env).unwrap();
        assert_eq!(checked.placeholders, ["RELAY_OVERRIDE_TOKEN"]);
    }

    #[test]
    fn describe_names_no_key() {
        let inline = CONFIG.replace(
            r#""api_key_env": "KEY_GREEN""#,
            r#""api_key": "sk-inline-123""#,
        );
        let checked = check(&inline, None, &|_| None).unwrap();
        let line = describe(&checked.config);
        assert!(!line.contains("sk-"), "{line}");
        assert!(line.contains("green 10 % -> relay_green"), "{line}");
    }
}
