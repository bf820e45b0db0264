//! The plugin configuration exactly as written (JSON, or Istio's YAML `pluginConfig`).
//! Unknown fields are refused; defaults are named functions so the README can point at them.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub environments: RawEnvironments,
    #[serde(default = "default_active")]
    pub active: String,
    #[serde(default = "default_affinity_headers")]
    pub affinity_headers: Vec<String>,
    #[serde(default = "default_cluster_header")]
    pub cluster_header: String,
    #[serde(default)]
    pub override_header: Option<String>,
    #[serde(default = "default_status_path")]
    pub status_path: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub health_check: Option<super::health::RawHealthCheck>,
    #[serde(default)]
    pub auto_rollback: Option<super::health::RawAutoRollback>,
    /// The AI relay's model catalog (see `models.rs`).
    #[serde(default)]
    pub models: std::collections::BTreeMap<String, super::models::RawModel>,
    #[serde(default)]
    pub enforce_models: bool,
    #[serde(default = "super::models::default_max_request_body_bytes")]
    pub max_request_body_bytes: serde_json::Number,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnvironments {
    pub blue: RawEnvironment,
    pub green: RawEnvironment,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnvironment {
    pub cluster: String,
    pub weight: f64,
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
impl std::fmt::Debug for RawEnvironment {
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

pub fn default_active() -> String {
    "blue".to_string()
}

pub fn default_affinity_headers() -> Vec<String> {
    vec!["x-request-id".to_string()]
}

pub fn default_cluster_header() -> String {
    "x-relay-cluster".to_string()
}

pub fn default_status_path() -> String {
    "/relay/status".to_string()
}

/// The configuration of the same module loaded as an upstream HTTP filter on a failover
/// (aggregate) cluster: it injects the key of the environment each attempt reaches.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstreamPlugin {
    pub upstream: RawUpstream,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    /// Fixed environment; when absent, each attempt's upstream host metadata
    /// (`filter_metadata.bluegreen.environment`) says which environment it reached.
    #[serde(default)]
    pub environment: Option<String>,
}
