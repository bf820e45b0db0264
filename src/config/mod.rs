//! Plugin configuration: parsed with serde, then validated into an immutable `Config`.
//! Every refusal names the field, the rule and the value; no key is ever part of a message.

mod error;
mod health;
mod models;
mod raw;
mod validate;

pub use error::ConfigError;
pub use health::{AutoRollback, HealthCheck};
pub use models::{ModelCatalog, ModelSpec, ModelsConfig, Price};
pub use raw::RawConfig;

use crate::environment::Environment;
use crate::routing::Split;
use crate::secret::ApiKey;

/// A validated configuration. Everything the hot path needs is precomputed here.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    environments: [EnvironmentConfig; 2],
    pub active: Environment,
    /// Lowercase header names, in order of preference.
    pub affinity_headers: Vec<String>,
    pub cluster_header: String,
    pub override_header: Option<String>,
    pub status_path: String,
    pub version: Option<String>,
    pub health_check: Option<HealthCheck>,
    pub auto_rollback: Option<AutoRollback>,
    /// Model catalog, its enforcement and the request-body bound.
    pub models: ModelsConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnvironmentConfig {
    pub cluster: String,
    /// Weight in basis points of a percent (0..=10000).
    pub weight_bp: u32,
    pub api_key: ApiKey,
    /// The cluster requests are routed to: `failover_cluster` when set, else `cluster`.
    pub route_cluster: String,
    /// `:authority` of the filter's probes.
    pub authority: String,
}

/// What a plugin configuration asks the module to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Plugin {
    /// The HTTP filter in the listener: routing, keys, status, probes.
    Relay(Box<Config>),
    /// The upstream filter of a failover cluster (per-attempt key injection): a fixed
    /// environment, or `None` to read it from each attempt's upstream host metadata.
    Upstream(Option<Environment>),
    /// The second instance in the listener, after a `buffer` filter: applies the environment a
    /// pinned model's body chose (see `host/route_after_body.rs`).
    RouteAfterBody,
}

impl Plugin {
    pub fn parse(
        json: &[u8],
        lookup_env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Plugin, ConfigError> {
        // Only a document with a top-level `upstream` is the upstream form; anything else is
        // parsed (and refused) as the relay configuration, with its messages.
        if let Ok(raw) = serde_json::from_slice::<raw::RawUpstreamPlugin>(json) {
            let env = match raw.upstream.environment {
                None => None,
                Some(name) => Some(Environment::from_bytes(name.as_bytes()).ok_or_else(|| {
                    ConfigError::new(
                        "upstream.environment",
                        format!("must be \"blue\" or \"green\" (got {name:?})"),
                    )
                })?),
            };
            return Ok(Plugin::Upstream(env));
        }
        if serde_json::from_slice::<models::RawRouteAfterBodyPlugin>(json).is_ok() {
            return Ok(Plugin::RouteAfterBody);
        }
        Config::parse(json, lookup_env).map(|config| Plugin::Relay(Box::new(config)))
    }
}

impl Config {
    /// True when requests are routed through failover clusters (retries change environment).
    pub fn has_failover(&self) -> bool {
        self.environments
            .iter()
            .any(|e| e.route_cluster != e.cluster)
    }

    /// Parses and validates `json`; `lookup_env` reads the process environment (injected so the
    /// rule can be tested without touching the real environment).
    pub fn parse(
        json: &[u8],
        lookup_env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let raw = raw_from_json(json)?;
        validate::validate(raw, lookup_env)
    }

    pub fn environment(&self, env: Environment) -> &EnvironmentConfig {
        &self.environments[env.index()]
    }

    /// The configured split, before health or rollback adjust it.
    pub fn configured_split(&self) -> Split {
        Split::from_green_buckets(self.environment(Environment::Green).weight_bp)
    }
}

fn raw_from_json(json: &[u8]) -> Result<RawConfig, ConfigError> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let message = without_position(&err.inner().to_string());
        serde_error(&path, &message)
    })
}

/// serde_json appends "at line L column C"; the field path says more.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

/// Turns serde's "missing field `x`" / "unknown field `x`, expected …" into a message about
/// the field itself, so the path always names the offending field.
fn serde_error(path: &str, message: &str) -> ConfigError {
    let parent = if path == "." { "" } else { path };
    let join = |name: &str| {
        if parent.is_empty() {
            name.to_string()
        } else {
            format!("{parent}.{name}")
        }
    };
    if let Some(name) = backticked_after(message, "missing field ") {
        return ConfigError::new(join(name), "is required");
    }
    if let Some(name) = backticked_after(message, "unknown field ") {
        let expected = message
            .split_once(", expected ")
            .map(|(_, rest)| format!(" (expected {rest})"))
            .unwrap_or_default();
        // serde_path_to_error already ends the path with the unknown field's name.
        let field = if parent.ends_with(name) {
            parent.to_string()
        } else {
            join(name)
        };
        return ConfigError::new(field, format!("unknown field{expected}"));
    }
    if parent.is_empty() {
        return ConfigError::new(
            "configuration",
            format!("not a valid JSON object: {message}"),
        );
    }
    ConfigError::new(parent, message)
}

fn backticked_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?.strip_prefix('`')?;
    rest.split_once('`').map(|(name, _)| name)
}

#[cfg(test)]
mod tests;
