//! `health_check` and `auto_rollback`: both optional blocks of the plugin configuration.

use super::decode::{self, integer, number, string, strings};
use super::ConfigError;
use crate::json::{scaled, Value};

#[derive(Debug)]
pub struct RawHealthCheck {
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub path: String,
    pub unhealthy_threshold: u64,
    pub healthy_threshold: u64,
    pub model_probes: Vec<String>,
    /// 16 by default: reasoning models fail `max_tokens: 1`.
    pub probe_max_tokens: u64,
}

#[derive(Debug)]
pub struct RawAutoRollback<'a> {
    /// As written: a decimal from 0 to 1.
    pub max_error_rate: &'a str,
    pub min_requests: u64,
    pub window_ms: u64,
    pub cooldown_ms: u64,
}

impl RawHealthCheck {
    pub fn read(path: &str, value: Value<'_>) -> Result<RawHealthCheck, ConfigError> {
        let mut raw = RawHealthCheck {
            interval_ms: default_interval_ms(),
            timeout_ms: default_timeout_ms(),
            path: default_path(),
            unhealthy_threshold: default_unhealthy_threshold(),
            healthy_threshold: default_healthy_threshold(),
            model_probes: Vec::new(),
            probe_max_tokens: default_probe_max_tokens(),
        };
        let names = [
            "interval_ms",
            "timeout_ms",
            "path",
            "unhealthy_threshold",
            "healthy_threshold",
            "model_probes",
            "probe_max_tokens",
        ];
        decode::object(path, value, &names, &mut |name, value, at| {
            match name {
                "interval_ms" => raw.interval_ms = integer(at, value)?,
                "timeout_ms" => raw.timeout_ms = integer(at, value)?,
                "path" => raw.path = string(at, value)?,
                "unhealthy_threshold" => raw.unhealthy_threshold = integer(at, value)?,
                "healthy_threshold" => raw.healthy_threshold = integer(at, value)?,
                "model_probes" => raw.model_probes = strings(at, value)?,
                "probe_max_tokens" => raw.probe_max_tokens = integer(at, value)?,
                _ => {}
            }
            Ok(())
        })?;
        Ok(raw)
    }
}

impl<'a> RawAutoRollback<'a> {
    pub fn read(path: &str, value: Value<'a>) -> Result<RawAutoRollback<'a>, ConfigError> {
        let mut raw = RawAutoRollback {
            max_error_rate: default_max_error_rate(),
            min_requests: default_min_requests(),
            window_ms: default_window_ms(),
            cooldown_ms: default_cooldown_ms(),
        };
        let names = ["max_error_rate", "min_requests", "window_ms", "cooldown_ms"];
        decode::object(path, value, &names, &mut |name, value, at| {
            match name {
                "max_error_rate" => raw.max_error_rate = number(at, value)?,
                "min_requests" => raw.min_requests = integer(at, value)?,
                "window_ms" => raw.window_ms = integer(at, value)?,
                "cooldown_ms" => raw.cooldown_ms = integer(at, value)?,
                _ => {}
            }
            Ok(())
        })?;
        Ok(raw)
    }
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
fn default_unhealthy_threshold() -> u64 {
    2
}
fn default_healthy_threshold() -> u64 {
    1
}
fn default_probe_max_tokens() -> u64 {
    16
}
fn default_max_error_rate() -> &'static str {
    "0.05"
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

fn in_range(field: &str, value: u64, low: u64, high: u64) -> Result<u64, ConfigError> {
    if value < low || value > high {
        return Err(ConfigError::new(
            field,
            format!("must be from {low} to {high} (got {value})"),
        ));
    }
    Ok(value)
}

/// `in_range` for a u32 field (the range fits a u32).
fn small(field: &str, value: u64, low: u32, high: u32) -> Result<u32, ConfigError> {
    in_range(field, value, low.into(), high.into()).map(|n| n as u32)
}

/// Above 0 and at most 1, read in 10^-18ths so no float is parsed (a rate below 10^-18 is
/// refused: as a float it would be 0 and trip on every window).
fn error_rate(field: &str, text: &str) -> Result<f64, ConfigError> {
    const ONE: u64 = 1_000_000_000_000_000_000;
    let rate = scaled(text, 18).and_then(|s| {
        let in_range = |w: u64| !s.negative && w > 0 && (w < ONE || (w == ONE && s.exact));
        s.whole.filter(|&w| in_range(w))
    });
    match rate {
        Some(rate) => Ok(rate as f64 / ONE as f64),
        None => Err(ConfigError::new(
            field,
            format!("must be above 0 and at most 1 (got {text})"),
        )),
    }
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
    let unhealthy_threshold = small(
        &field("unhealthy_threshold"),
        raw.unhealthy_threshold,
        1,
        100,
    )?;
    let healthy_threshold = small(&field("healthy_threshold"), raw.healthy_threshold, 1, 100)?;
    for (i, model) in raw.model_probes.iter().enumerate() {
        if model.is_empty() || model.len() > 200 || !model.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::new(
                format!("health_check.model_probes[{i}]"),
                format!("must be a model id (got {model:?})"),
            ));
        }
    }
    let probe_max_tokens = small(&field("probe_max_tokens"), raw.probe_max_tokens, 1, 4096)?;
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
    Ok(AutoRollback {
        max_error_rate: error_rate(&field("max_error_rate"), raw.max_error_rate)?,
        min_requests: in_range(&field("min_requests"), raw.min_requests, 1, 1_000_000_000)?,
        window_ms: in_range(&field("window_ms"), raw.window_ms, 1000, 86_400_000)?,
        cooldown_ms: in_range(&field("cooldown_ms"), raw.cooldown_ms, 0, 86_400_000)?,
    })
}
