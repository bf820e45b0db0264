//! The plugin configuration exactly as written (JSON, or Istio's YAML `pluginConfig`).
//! Unknown and repeated fields are refused; defaults are named functions so the README can
//! point at them. Numbers stay as written until their rule reads them.

use std::collections::BTreeMap;

use super::decode::{self, boolean, number, optional, required, string, strings};
use super::health::{RawAutoRollback, RawHealthCheck};
use super::raw_models::RawModel;
use super::ConfigError;
use crate::json::Value;

#[derive(Debug)]
pub struct RawConfig<'a> {
    pub environments: RawEnvironments<'a>,
    pub active: String,
    pub affinity_headers: Vec<String>,
    pub cluster_header: String,
    pub override_header: Option<String>,
    pub status_path: String,
    pub version: Option<String>,
    pub health_check: Option<RawHealthCheck>,
    pub auto_rollback: Option<RawAutoRollback<'a>>,
    /// The AI relay's model catalog (see `models.rs`).
    pub models: BTreeMap<String, RawModel<'a>>,
    pub enforce_models: bool,
    pub max_request_body_bytes: &'a str,
}

#[derive(Debug)]
pub struct RawEnvironments<'a> {
    pub blue: RawEnvironment<'a>,
    pub green: RawEnvironment<'a>,
}

pub struct RawEnvironment<'a> {
    pub cluster: String,
    pub weight: &'a str,
    pub api_key: Option<String>,
    pub api_key_env: Option<String>,
    /// `:authority` for the filter's own probes (default: the cluster name).
    pub authority: Option<String>,
    /// Where requests are routed when set: an aggregate cluster [this env, the other env] whose
    /// retries move to the other environment. Probes still go to `cluster`.
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

/// 1 MiB.
pub fn default_max_request_body_bytes() -> &'static str {
    "1048576"
}

impl<'a> RawConfig<'a> {
    const FIELDS: &'static [&'static str] = &[
        "environments",
        "active",
        "affinity_headers",
        "cluster_header",
        "override_header",
        "status_path",
        "version",
        "health_check",
        "auto_rollback",
        "models",
        "enforce_models",
        "max_request_body_bytes",
    ];

    /// Reads the whole document's value (path `""`).
    pub fn read(value: Value<'a>) -> Result<RawConfig<'a>, ConfigError> {
        let mut environments = None;
        let mut config = RawConfig::<'a>::defaults();
        decode::object("", value, RawConfig::FIELDS, &mut |name, value, path| {
            match name {
                "environments" => environments = Some(RawEnvironments::read(path, value)?),
                "active" => config.active = string(path, value)?,
                "affinity_headers" => config.affinity_headers = strings(path, value)?,
                "cluster_header" => config.cluster_header = string(path, value)?,
                "override_header" => {
                    config.override_header = optional(value, |v| string(path, v))?;
                }
                "status_path" => config.status_path = string(path, value)?,
                "version" => config.version = optional(value, |v| string(path, v))?,
                "health_check" => {
                    config.health_check = optional(value, |v| RawHealthCheck::read(path, v))?;
                }
                "auto_rollback" => {
                    config.auto_rollback = optional(value, |v| RawAutoRollback::read(path, v))?;
                }
                "models" => config.models = RawModel::read_catalog(path, value)?,
                "enforce_models" => config.enforce_models = boolean(path, value)?,
                "max_request_body_bytes" => config.max_request_body_bytes = number(path, value)?,
                _ => {}
            }
            Ok(())
        })?;
        Ok(RawConfig {
            environments: required("", "environments", environments)?,
            ..config
        })
    }

    /// Every default, with empty environments that `read` always replaces or refuses.
    fn defaults() -> RawConfig<'a> {
        RawConfig {
            environments: RawEnvironments {
                blue: RawEnvironment::empty(),
                green: RawEnvironment::empty(),
            },
            active: default_active(),
            affinity_headers: default_affinity_headers(),
            cluster_header: default_cluster_header(),
            override_header: None,
            status_path: default_status_path(),
            version: None,
            health_check: None,
            auto_rollback: None,
            models: BTreeMap::new(),
            enforce_models: false,
            max_request_body_bytes: default_max_request_body_bytes(),
        }
    }
}

impl<'a> RawEnvironments<'a> {
    fn read(path: &str, value: Value<'a>) -> Result<RawEnvironments<'a>, ConfigError> {
        let (mut blue, mut green) = (None, None);
        decode::object(path, value, &["blue", "green"], &mut |name, value, at| {
            let env = RawEnvironment::read(at, value)?;
            if name == "blue" {
                blue = Some(env);
            } else {
                green = Some(env);
            }
            Ok(())
        })?;
        Ok(RawEnvironments {
            blue: required(path, "blue", blue)?,
            green: required(path, "green", green)?,
        })
    }
}

impl<'a> RawEnvironment<'a> {
    const FIELDS: &'static [&'static str] = &[
        "cluster",
        "weight",
        "api_key",
        "api_key_env",
        "authority",
        "failover_cluster",
    ];

    fn empty() -> RawEnvironment<'a> {
        RawEnvironment {
            cluster: String::new(),
            weight: "",
            api_key: None,
            api_key_env: None,
            authority: None,
            failover_cluster: None,
        }
    }

    fn read(path: &str, value: Value<'a>) -> Result<RawEnvironment<'a>, ConfigError> {
        let (mut cluster, mut weight) = (None, None);
        let mut env = RawEnvironment::empty();
        decode::object(
            path,
            value,
            RawEnvironment::FIELDS,
            &mut |name, value, at| {
                let text = |value| optional(value, |v| string(at, v));
                match name {
                    "cluster" => cluster = Some(string(at, value)?),
                    "weight" => weight = Some(number(at, value)?),
                    "api_key" => env.api_key = text(value)?,
                    "api_key_env" => env.api_key_env = text(value)?,
                    "authority" => env.authority = text(value)?,
                    "failover_cluster" => env.failover_cluster = text(value)?,
                    _ => {}
                }
                Ok(())
            },
        )?;
        Ok(RawEnvironment {
            cluster: required(path, "cluster", cluster)?,
            weight: required(path, "weight", weight)?,
            ..env
        })
    }
}

/// The configuration of the same module loaded as an upstream HTTP filter on a failover
/// (aggregate) cluster: it injects the key of the environment each attempt reaches.
/// `{"upstream": {"environment": "blue"}}` gives `Some(Some("blue"))`; without `environment`
/// (or `null`), each attempt's upstream host metadata (`filter_metadata.bluegreen.environment`)
/// says which environment it reached. `None`: the document is not this form.
pub fn upstream_form(value: Value<'_>) -> Option<Option<String>> {
    let mut environment = None;
    let mut seen = false;
    decode::object("", value, &["upstream"], &mut |_, upstream, path| {
        seen = true;
        decode::object(path, upstream, &["environment"], &mut |_, value, at| {
            environment = optional(value, |v| string(at, v))?;
            Ok(())
        })
    })
    .ok()?;
    seen.then_some(environment)
}

/// `{"route_after_body": {}}`: the configuration of the second filter instance.
pub fn is_route_after_body_form(value: Value<'_>) -> bool {
    let mut seen = false;
    let read = decode::object("", value, &["route_after_body"], &mut |_, inner, path| {
        seen = true;
        decode::object(path, inner, &[], &mut |_, _, _| Ok(()))
    });
    read.is_ok() && seen
}
