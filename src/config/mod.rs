//! Plugin configuration: read with the crate's own JSON reader, then validated into an
//! immutable `Config`.
//! Every refusal names the field, the rule and the value; no key is ever part of a message.

mod decode;
mod error;
mod health;
mod models;
pub mod number;
mod raw;
mod raw_models;
mod validate;

pub use error::ConfigError;
pub use health::{AutoRollback, HealthCheck};
pub use models::{ModelCatalog, ModelSpec, ModelsConfig, Price};

use crate::environment::Environment;
use crate::json;
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
        let root = json::parse(json).map_err(decode::syntax)?;
        // Only a document with a top-level `upstream` is the upstream form; anything else is
        // read (and refused) as the relay configuration, with its messages.
        if let Some(environment) = raw::upstream_form(root) {
            let env = match environment {
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
        if raw::is_route_after_body_form(root) {
            return Ok(Plugin::RouteAfterBody);
        }
        Config::from_json(root, lookup_env).map(|config| Plugin::Relay(Box::new(config)))
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
        let root = json::parse(json).map_err(decode::syntax)?;
        Config::from_json(root, lookup_env)
    }

    fn from_json(
        root: json::Value<'_>,
        lookup_env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        validate::validate(raw::RawConfig::read(root)?, lookup_env)
    }

    pub fn environment(&self, env: Environment) -> &EnvironmentConfig {
        &self.environments[env.index()]
    }

    /// The configured split, before health or rollback adjust it.
    pub fn configured_split(&self) -> Split {
        Split::from_green_buckets(self.environment(Environment::Green).weight_bp)
    }
}

#[cfg(test)]
mod read_tests;
#[cfg(test)]
mod tests;
