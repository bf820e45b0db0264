//! The rules a configuration must follow, turning a `RawConfig` into a `Config`.

use super::raw::{RawConfig, RawEnvironment};
use super::{Config, ConfigError, EnvironmentConfig};
use crate::environment::Environment;
use crate::routing::BUCKETS;
use crate::secret::ApiKey;

pub fn validate(
    raw: RawConfig,
    lookup_env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let blue = environment(Environment::Blue, &raw.environments.blue, lookup_env)?;
    let green = environment(Environment::Green, &raw.environments.green, lookup_env)?;
    if blue.weight_bp + green.weight_bp != BUCKETS {
        return Err(ConfigError::new(
            "environments.green.weight",
            format!(
                "blue + green must sum to 100 (got {} + {})",
                raw.environments.blue.weight, raw.environments.green.weight
            ),
        ));
    }
    if blue.cluster == green.cluster {
        return Err(ConfigError::new(
            "environments.green.cluster",
            format!("must differ from blue's cluster (got {:?})", green.cluster),
        ));
    }
    let clusters = [&blue.cluster, &green.cluster];
    for (env, config) in [(Environment::Blue, &blue), (Environment::Green, &green)] {
        if config.route_cluster != config.cluster && clusters.contains(&&config.route_cluster) {
            return Err(ConfigError::new(
                format!("environments.{}.failover_cluster", env.as_str()),
                format!(
                    "must be an aggregate cluster, not an environment's own cluster (got {:?})",
                    config.route_cluster
                ),
            ));
        }
    }
    let active = Environment::from_bytes(raw.active.as_bytes()).ok_or_else(|| {
        ConfigError::new(
            "active",
            format!("must be \"blue\" or \"green\" (got {:?})", raw.active),
        )
    })?;
    if raw.affinity_headers.is_empty() {
        return Err(ConfigError::new(
            "affinity_headers",
            "must name at least one header (got [])",
        ));
    }
    let affinity_headers = raw
        .affinity_headers
        .iter()
        .enumerate()
        .map(|(i, name)| header_name(&format!("affinity_headers[{i}]"), name))
        .collect::<Result<Vec<_>, _>>()?;
    let cluster_header = header_name("cluster_header", &raw.cluster_header)?;
    if cluster_header == "authorization" || cluster_header == "host" {
        return Err(ConfigError::new(
            "cluster_header",
            format!("must not be a header the relay needs (got {cluster_header:?})"),
        ));
    }
    let override_header = raw
        .override_header
        .as_deref()
        .map(|name| header_name("override_header", name))
        .transpose()?;
    if !raw.status_path.starts_with('/') || raw.status_path.contains(['?', '#', ' ']) {
        return Err(ConfigError::new(
            "status_path",
            format!(
                "must be a path starting with \"/\" without query (got {:?})",
                raw.status_path
            ),
        ));
    }
    if let Some(version) = &raw.version {
        if version.is_empty() || version.len() > 128 || !version.bytes().all(is_visible_ascii) {
            return Err(ConfigError::new(
                "version",
                format!("must be 1 to 128 visible ASCII characters (got {version:?})"),
            ));
        }
    }
    let health_check = raw
        .health_check
        .map(super::health::validate_health_check)
        .transpose()?;
    let auto_rollback = raw
        .auto_rollback
        .map(super::health::validate_auto_rollback)
        .transpose()?;
    let models =
        super::models::validate(&raw.models, raw.enforce_models, raw.max_request_body_bytes)?;
    Ok(Config {
        environments: [blue, green],
        active,
        affinity_headers,
        cluster_header,
        override_header,
        status_path: raw.status_path,
        version: raw.version,
        health_check,
        auto_rollback,
        models,
    })
}

fn environment(
    env: Environment,
    raw: &RawEnvironment,
    lookup_env: &dyn Fn(&str) -> Option<String>,
) -> Result<EnvironmentConfig, ConfigError> {
    let field = |name: &str| format!("environments.{}.{name}", env.as_str());
    if raw.cluster.is_empty() || !raw.cluster.bytes().all(is_visible_ascii) {
        return Err(ConfigError::new(
            field("cluster"),
            format!("must be an Envoy cluster name (got {:?})", raw.cluster),
        ));
    }
    let weight_bp = crate::routing::weight::parse(raw.weight).map_err(|rule| {
        ConfigError::new(field("weight"), format!("{rule} (got {})", raw.weight))
    })?;
    let api_key = match (&raw.api_key, &raw.api_key_env) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                format!("environments.{}", env.as_str()),
                "set exactly one of api_key or api_key_env (got both)",
            ))
        }
        (None, None) => {
            return Err(ConfigError::new(
                format!("environments.{}", env.as_str()),
                "set exactly one of api_key or api_key_env (got neither)",
            ))
        }
        (Some(key), None) => key_value(&field("api_key"), key, "the inline key")?,
        (None, Some(var)) => {
            let value = lookup_env(var).unwrap_or_default();
            if value.is_empty() {
                return Err(ConfigError::new(
                    field("api_key_env"),
                    format!(
                        "environment variable is unset or empty in the Envoy process \
                         (got {var:?}; pass it with vm_config.environment_variables.host_env_keys)"
                    ),
                ));
            }
            key_value(
                &field("api_key_env"),
                &value,
                &format!("the value of {var}"),
            )?
        }
    };
    let authority = raw.authority.clone().unwrap_or_else(|| raw.cluster.clone());
    if authority.is_empty() || !authority.bytes().all(is_visible_ascii) {
        return Err(ConfigError::new(
            field("authority"),
            format!("must be a host name (got {authority:?})"),
        ));
    }
    let route_cluster = raw
        .failover_cluster
        .clone()
        .unwrap_or_else(|| raw.cluster.clone());
    if route_cluster.is_empty() || !route_cluster.bytes().all(is_visible_ascii) {
        return Err(ConfigError::new(
            field("failover_cluster"),
            format!("must be an Envoy cluster name (got {route_cluster:?})"),
        ));
    }
    Ok(EnvironmentConfig {
        route_cluster,
        authority,
        cluster: raw.cluster.clone(),
        weight_bp,
        api_key,
    })
}

/// A key must fit in a header value. The message describes the key, never shows it.
fn key_value(field: &str, key: &str, what: &str) -> Result<ApiKey, ConfigError> {
    if key.is_empty() {
        return Err(ConfigError::new(field, format!("{what} is empty")));
    }
    if !key.bytes().all(is_visible_ascii) {
        return Err(ConfigError::new(
            field,
            format!(
                "{what} must be visible ASCII without spaces (got {} characters)",
                key.len()
            ),
        ));
    }
    Ok(ApiKey::new(key))
}

/// An HTTP header name (RFC 9110 token), stored lowercase as Envoy does.
fn header_name(field: &str, name: &str) -> Result<String, ConfigError> {
    let is_token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(is_token) {
        return Err(ConfigError::new(
            field,
            format!("must be an HTTP header name (got {name:?})"),
        ));
    }
    Ok(name.to_ascii_lowercase())
}

fn is_visible_ascii(b: u8) -> bool {
    b.is_ascii_graphic()
}
