//! Plugin configuration: read with serde into raw structs (`raw.rs`), then validated into an
//! immutable `Config`. A syntax or type error stops the reading; past that, every rule is
//! checked and a refusal lists every problem (`ConfigError`), each naming field, rule and
//! value. No key or token is ever part of a message.
//!
//! Fields (defaults in `defaults.rs`; README's "Configuration reference" has the full table):
//! - `environments.{blue,green}`: `cluster`, `weight` (0 to 100, two decimals, the two sum
//!   to 100), one of `api_key` / `api_key_env`, optional `authority` and `failover_cluster`.
//! - `active`, `affinity_headers`, `cluster_header`, `status_path`, `version`.
//! - `override_header`: a request carrying `blue` or `green` in it goes there. Needs
//!   `override_token_env`.
//! - `override_token_env`: the Envoy process variable holding the token a request must present
//!   to use `override_header` (read like `api_key_env`: refused when unset or empty). Required
//!   with `override_header` and refused without it. `Config::override_token`.
//! - `status_token_env`: optional; the variable holding the token the status endpoint asks
//!   for (same rules). `Config::status_token`.
//! - `health_check`: `interval_ms`, `timeout_ms`, `path`, thresholds, `model_probes`,
//!   `probe_max_tokens`, and `model_probe_interval_ms`: how often the chat `model_probes` run,
//!   1000 to 86400000 and at least `interval_ms` (default 300000, or `interval_ms` when that
//!   is longer).
//! - `auto_rollback`: `max_error_rate`, `min_requests`, `window_ms`, `cooldown_ms`.
//! - `shadow`: optional `{"percent": 5, "max_per_second": 20, "max_body_bytes": 262144}`: the
//!   share of requests copied to the candidate environment (`percent` required, like a
//!   weight: 0 to 100 with two decimals), at most `max_per_second` copies a second (1 to
//!   10000) of bodies up to `max_body_bytes` (1 to 64 MiB). `Config::shadow`.
//! - `models`, `enforce_models`, `max_request_body_bytes`: the model catalog (`models.rs`).

pub mod defaults;
mod environments;
mod error;
mod health;
mod models;
pub mod number;
mod raw;
mod raw_models;
mod read;
mod read_types;
mod secrets;
mod shadow;
mod validate;

pub use error::{ConfigError, Problem};
pub use health::{AutoRollback, HealthCheck};
pub use models::{ModelCatalog, ModelSpec, ModelsConfig, Price};
pub use shadow::Shadow;

use read_types::Object;

use crate::environment::Environment;
use crate::routing::Split;
use crate::secret::{ApiKey, Token};

/// A validated configuration. Everything the hot path needs is precomputed here.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    environments: [EnvironmentConfig; 2],
    pub active: Environment,
    /// Lowercase header names, in order of preference.
    pub affinity_headers: Vec<String>,
    pub cluster_header: String,
    pub override_header: Option<String>,
    /// What a request must present to use `override_header` (set exactly when it is).
    pub override_token: Option<Token>,
    pub status_path: String,
    /// What the status endpoint asks for, when set.
    pub status_token: Option<Token>,
    pub version: Option<String>,
    pub health_check: Option<HealthCheck>,
    pub auto_rollback: Option<AutoRollback>,
    /// Requests copied to the candidate environment, when set.
    pub shadow: Option<Shadow>,
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
        // Only a document that is exactly the upstream form is one; anything else is read (and
        // refused) as the relay configuration, with its messages.
        if let Ok(Object(raw)) = read::read::<Object<raw::RawUpstreamPlugin>>(json) {
            let Object(raw::RawUpstream { environment }) = raw.upstream;
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
        if read::reads_as::<Object<raw::RawRouteAfterBodyPlugin>>(json) {
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
        let Object(raw) = read::read::<Object<raw::RawConfig>>(json)?;
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
