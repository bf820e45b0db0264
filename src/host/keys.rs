//! Names of the shared-data keys. Health and rollback state are keyed by environment and
//! cluster, so they survive configuration reloads but not a change of cluster.

use crate::environment::Environment;

pub const LEASE: &str = "bluegreen.lease";
pub const CONFIG_VERSION: &str = "bluegreen.config_version";
pub const MODE: &str = "bluegreen.mode";
/// When `relayctl validate` last asked for the model probes (Unix ms).
pub const PROBE_REQUEST: &str = "bluegreen.probe_request";
/// Answered completions per model over the last ten minutes.
pub const MODEL_TRAFFIC: &str = "bluegreen.model_traffic";

pub fn health(env: Environment, cluster: &str) -> String {
    format!("bluegreen.health.{}.{cluster}", env.as_str())
}

/// Real answers per probe interval (passive health).
pub fn passive(env: Environment, cluster: &str) -> String {
    format!("bluegreen.passive.{}.{cluster}", env.as_str())
}

/// The model list of the environment's last `/v1/models` answer.
pub fn catalog(env: Environment, cluster: &str) -> String {
    format!("bluegreen.catalog.{}.{cluster}", env.as_str())
}

pub fn rollback(env: Environment, cluster: &str) -> String {
    format!("bluegreen.rollback.{}.{cluster}", env.as_str())
}

/// `Bearer <key>` for the upstream filter (see `upstream.rs`).
pub fn authorization(env: Environment) -> String {
    format!("bluegreen.authorization.{}", env.as_str())
}

/// The proxy-wasm shared queue that carries shadow copies from the streams to a root context.
pub const SHADOW_QUEUE: &str = "bluegreen.shadow";
/// Shadow copies admitted in the current second, all workers (`shadow::rate::RateWindow`).
pub const SHADOW_RATE: &str = "bluegreen.shadow.rate";

/// The candidate's and the active environment's answers to the requests shadowed to `env`.
pub fn shadow(env: Environment, cluster: &str) -> String {
    format!("bluegreen.shadow.{}.{cluster}", env.as_str())
}
