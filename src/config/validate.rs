//! The rules a configuration must follow, turning a `RawConfig` into a `Config`. Every field
//! is checked and every problem collected, in the order of the configuration reference;
//! a rule that needs another field's value is skipped while that field is refused.

use super::error::Problems;
use super::health::{validate_auto_rollback, validate_health_check};
use super::raw::RawConfig;
use super::read_types::Object;
use super::shadow::validate_shadow;
use super::{environments, models, secrets};
use super::{Config, ConfigError};
use crate::environment::Environment;
use crate::secret::Token;

pub fn validate(
    raw: RawConfig,
    lookup_env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let problems = &mut Problems::default();
    let Object(raw_environments) = raw.environments;
    let environments = environments::validate(raw_environments, lookup_env, problems);
    let active = Environment::from_bytes(raw.active.as_bytes());
    if active.is_none() {
        problems.push(
            "active",
            format!("must be \"blue\" or \"green\" (got {:?})", raw.active),
        );
    }
    let affinity_headers = affinity_headers(&raw.affinity_headers.0, problems);
    let cluster_header = problems
        .check(header_name("cluster_header", &raw.cluster_header))
        .and_then(|name| {
            if name == "authorization" || name == "host" {
                problems.push(
                    "cluster_header",
                    format!("must not be a header the relay needs (got {name:?})"),
                );
                return None;
            }
            Some(name)
        });
    let override_header = match &raw.override_header {
        None => Some(None),
        Some(name) => problems
            .check(header_name("override_header", name))
            .map(Some),
    };
    let override_token = match (&raw.override_header, &raw.override_token_env) {
        (None, None) => Some(None),
        (Some(header), None) => {
            problems.push(
                "override_token_env",
                format!(
                    "is required when override_header is set \
                     (got override_header {header:?} without override_token_env)"
                ),
            );
            None
        }
        (None, Some(var)) => {
            problems.push(
                "override_token_env",
                format!("needs override_header (got {var:?} without override_header)"),
            );
            None
        }
        (Some(_), Some(var)) => token("override_token_env", var, lookup_env, problems),
    };
    let status_path = status_path(raw.status_path, problems);
    let status_token = match &raw.status_token_env {
        None => Some(None),
        Some(var) => token("status_token_env", var, lookup_env, problems),
    };
    let version = match raw.version {
        Some(version)
            if version.is_empty()
                || version.len() > 128
                || !version.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            problems.push(
                "version",
                format!("must be 1 to 128 visible ASCII characters (got {version:?})"),
            );
            None
        }
        version => Some(version),
    };
    let health_check = match raw.health_check {
        None => Some(None),
        Some(Object(raw)) => validate_health_check(raw, problems).map(Some),
    };
    let auto_rollback = match raw.auto_rollback {
        None => Some(None),
        Some(Object(raw)) => validate_auto_rollback(raw, problems).map(Some),
    };
    let shadow = match raw.shadow {
        None => Some(None),
        Some(Object(raw)) => validate_shadow(raw, problems).map(Some),
    };
    let models = models::validate(
        raw.models.0,
        raw.enforce_models,
        raw.max_request_body_bytes,
        problems,
    );
    let config = (|| {
        Some(Config {
            environments: environments?,
            active: active?,
            affinity_headers: affinity_headers?,
            cluster_header: cluster_header?,
            override_header: override_header?,
            override_token: override_token?,
            status_path: status_path?,
            status_token: status_token?,
            version: version?,
            health_check: health_check?,
            auto_rollback: auto_rollback?,
            shadow: shadow?,
            models: models?,
        })
    })();
    std::mem::take(problems).finish(config)
}

fn affinity_headers(names: &[String], problems: &mut Problems) -> Option<Vec<String>> {
    if names.is_empty() {
        problems.push("affinity_headers", "must name at least one header (got [])");
        return None;
    }
    let checked: Vec<Option<String>> = names
        .iter()
        .enumerate()
        .map(|(i, name)| problems.check(header_name(&format!("affinity_headers[{i}]"), name)))
        .collect();
    checked.into_iter().collect()
}

fn status_path(path: String, problems: &mut Problems) -> Option<String> {
    if !path.starts_with('/') || path.contains(['?', '#', ' ']) {
        problems.push(
            "status_path",
            format!("must be a path starting with \"/\" without query (got {path:?})"),
        );
        return None;
    }
    Some(path)
}

fn token(
    field: &str,
    var: &str,
    lookup_env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> Option<Option<Token>> {
    problems
        .check(secrets::token(field, var, lookup_env))
        .map(Some)
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

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
