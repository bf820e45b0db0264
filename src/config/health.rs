//! `health_check` and `auto_rollback`: both optional blocks of the plugin configuration.

use serde::Deserialize;

use super::ConfigError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "default_path")]
    pub path: String,
    #[serde(default = "default_unhealthy_threshold")]
    pub unhealthy_threshold: u32,
    #[serde(default = "default_healthy_threshold")]
    pub healthy_threshold: u32,
    #[serde(default)]
    pub model_probes: Vec<String>,
    /// 16 by default: reasoning models fail `max_tokens: 1`.
    #[serde(default = "default_probe_max_tokens")]
    pub probe_max_tokens: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAutoRollback {
    #[serde(default = "default_max_error_rate")]
    pub max_error_rate: f64,
    #[serde(default = "default_min_requests")]
    pub min_requests: u64,
    #[serde(default = "default_window_ms")]
    pub window_ms: u64,
    #[serde(default = "default_cooldown_ms")]
    pub cooldown_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheck {
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub path: String,
    pub unhealthy_threshold: u32,
    pub healthy_threshold: u32,
    pub model_probes: Vec<String>,
    pub probe_max_tokens: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AutoRollback {
    pub max_error_rate: f64,
    pub min_requests: u64,
    pub window_ms: u64,
    pub cooldown_ms: u64,
}

fn default_interval_ms() -> u64 {
    5000
}
fn default_timeout_ms() -> u64 {
    2000
}
fn default_path() -> String {
    "/v1/models".to_string()
}
fn default_unhealthy_threshold() -> u32 {
    2
}
fn default_healthy_threshold() -> u32 {
    1
}
fn default_probe_max_tokens() -> u32 {
    16
}
fn default_max_error_rate() -> f64 {
    0.05
}
fn default_min_requests() -> u64 {
    20
}
fn default_window_ms() -> u64 {
    60_000
}
fn default_cooldown_ms() -> u64 {
    300_000
}

fn in_range<T: PartialOrd + std::fmt::Display>(
    field: &str,
    value: T,
    low: T,
    high: T,
) -> Result<T, ConfigError> {
    if value < low || value > high {
        return Err(ConfigError::new(
            field,
            format!("must be from {low} to {high} (got {value})"),
        ));
    }
    Ok(value)
}

pub fn validate_health_check(raw: RawHealthCheck) -> Result<HealthCheck, ConfigError> {
    let field = |name: &str| format!("health_check.{name}");
    let interval_ms = in_range(&field("interval_ms"), raw.interval_ms, 100, 3_600_000)?;
    let timeout_ms = in_range(&field("timeout_ms"), raw.timeout_ms, 10, 600_000)?;
    // One probe per environment in flight: a probe must end before the next interval starts.
    if timeout_ms >= interval_ms {
        return Err(ConfigError::new(
            field("timeout_ms"),
            format!("must be less than interval_ms {interval_ms} (got {timeout_ms})"),
        ));
    }
    if !raw.path.starts_with('/') || raw.path.contains(' ') {
        return Err(ConfigError::new(
            field("path"),
            format!("must be a path starting with \"/\" (got {:?})", raw.path),
        ));
    }
    let unhealthy_threshold = in_range(
        &field("unhealthy_threshold"),
        raw.unhealthy_threshold,
        1,
        100,
    )?;
    let healthy_threshold = in_range(&field("healthy_threshold"), raw.healthy_threshold, 1, 100)?;
    for (i, model) in raw.model_probes.iter().enumerate() {
        if model.is_empty() || model.len() > 200 || !model.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::new(
                format!("health_check.model_probes[{i}]"),
                format!("must be a model id (got {model:?})"),
            ));
        }
    }
    let probe_max_tokens = in_range(&field("probe_max_tokens"), raw.probe_max_tokens, 1, 4096)?;
    Ok(HealthCheck {
        interval_ms,
        timeout_ms,
        path: raw.path,
        unhealthy_threshold,
        healthy_threshold,
        model_probes: raw.model_probes,
        probe_max_tokens,
    })
}

pub fn validate_auto_rollback(raw: RawAutoRollback) -> Result<AutoRollback, ConfigError> {
    let field = |name: &str| format!("auto_rollback.{name}");
    if !raw.max_error_rate.is_finite() || raw.max_error_rate <= 0.0 || raw.max_error_rate > 1.0 {
        return Err(ConfigError::new(
            field("max_error_rate"),
            format!("must be above 0 and at most 1 (got {})", raw.max_error_rate),
        ));
    }
    Ok(AutoRollback {
        max_error_rate: raw.max_error_rate,
        min_requests: in_range(&field("min_requests"), raw.min_requests, 1, 1_000_000_000)?,
        window_ms: in_range(&field("window_ms"), raw.window_ms, 1000, 86_400_000)?,
        cooldown_ms: in_range(&field("cooldown_ms"), raw.cooldown_ms, 0, 86_400_000)?,
    })
}
