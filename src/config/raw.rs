//! The plugin configuration exactly as written (JSON, or Istio's YAML `pluginConfig` turned
//! into JSON). serde refuses unknown and repeated fields and fills defaults from
//! `config::defaults`; a number whose text matters stays as written until its rule reads it.

use serde::Deserialize;

use super::defaults;
use super::health::{RawAutoRollback, RawHealthCheck};
use super::raw_models::RawModel;
use super::read_types::{NumberText, Object, Strings, UniqueMap};
use super::shadow::RawShadow;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig<'a> {
    #[serde(borrow)]
    pub environments: Object<RawEnvironments<'a>>,
    #[serde(default = "defaults::active")]
    pub active: String,
    #[serde(default = "default_affinity_headers")]
    pub affinity_headers: Strings,
    #[serde(default = "defaults::cluster_header")]
    pub cluster_header: String,
    #[serde(default)]
    pub override_header: Option<String>,
    #[serde(default)]
    pub override_token_env: Option<String>,
    #[serde(default = "defaults::status_path")]
    pub status_path: String,
    #[serde(default)]
    pub status_token_env: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub health_check: Option<Object<RawHealthCheck>>,
    #[serde(default, borrow)]
    pub auto_rollback: Option<Object<RawAutoRollback<'a>>>,
    #[serde(default, borrow)]
    pub shadow: Option<Object<RawShadow<'a>>>,
    /// The AI relay's model catalog (see `models.rs`).
    #[serde(default, borrow)]
    pub models: UniqueMap<Object<RawModel<'a>>>,
    #[serde(default)]
    pub enforce_models: bool,
    /// `defaults::max_request_body_bytes` when absent.
    #[serde(default, borrow)]
    pub max_request_body_bytes: Option<NumberText<'a>>,
}

fn default_affinity_headers() -> Strings {
    Strings(defaults::affinity_headers())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnvironments<'a> {
    #[serde(borrow)]
    pub blue: Object<RawEnvironment<'a>>,
    #[serde(borrow)]
    pub green: Object<RawEnvironment<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnvironment<'a> {
    pub cluster: String,
    #[serde(borrow)]
    pub weight: NumberText<'a>,
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// `:authority` for the filter's own probes (default: the cluster name).
    #[serde(default)]
    pub authority: Option<String>,
    /// Where requests are routed when set: an aggregate cluster [this env, the other env] whose
    /// retries move to the other environment. Probes still go to `cluster`.
    #[serde(default)]
    pub failover_cluster: Option<String>,
}

// Hand-written so an inline key can never be printed.
impl std::fmt::Debug for RawEnvironment<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawEnvironment")
            .field("cluster", &self.cluster)
            .field("weight", &self.weight)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("api_key_env", &self.api_key_env)
            .field("authority", &self.authority)
            .field("failover_cluster", &self.failover_cluster)
            .finish()
    }
}

/// The configuration of the same module loaded as an upstream HTTP filter on a failover
/// (aggregate) cluster: it injects the key of the environment each attempt reaches.
/// `{"upstream": {"environment": "blue"}}`; without `environment` (or `null`), each attempt's
/// upstream host metadata (`filter_metadata.bluegreen.environment`) says which environment it
/// reached.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstreamPlugin {
    pub upstream: Object<RawUpstream>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    #[serde(default)]
    pub environment: Option<String>,
}

/// `{"route_after_body": {}}`: the configuration of the second filter instance.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRouteAfterBodyPlugin {
    #[allow(dead_code)] // only its shape matters
    pub route_after_body: Object<Empty>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}
