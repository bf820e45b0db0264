//! `health_check` and `auto_rollback`: both optional blocks of the plugin configuration.

use serde::Deserialize;

use super::defaults;
use super::error::Problems;
use super::number::scaled;
use super::read_types::{NumberText, Strings};
use super::ConfigError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    #[serde(default = "defaults::interval_ms")]
    pub interval_ms: u64,
    #[serde(default = "defaults::timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "defaults::health_path")]
    pub path: String,
    #[serde(default = "defaults::unhealthy_threshold")]
    pub unhealthy_threshold: u64,
    #[serde(default = "defaults::healthy_threshold")]
    pub healthy_threshold: u64,
    #[serde(default)]
    pub model_probes: Strings,
    #[serde(default = "defaults::probe_max_tokens")]
    pub probe_max_tokens: u64,
    /// When absent: `defaults::model_probe_interval_ms`, or `interval_ms` if that is longer.
    #[serde(default)]
    pub model_probe_interval_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAutoRollback<'a> {
    /// As written: a decimal from 0 to 1 (`defaults::max_error_rate` when absent).
    #[serde(default, borrow)]
    pub max_error_rate: Option<NumberText<'a>>,
    #[serde(default = "defaults::min_requests")]
    pub min_requests: u64,
    #[serde(default = "defaults::window_ms")]
    pub window_ms: u64,
    #[serde(default = "defaults::cooldown_ms")]
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
    /// How often the chat `model_probes` run (at least `interval_ms`).
    pub model_probe_interval_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AutoRollback {
    pub max_error_rate: f64,
    pub min_requests: u64,
    pub window_ms: u64,
    pub cooldown_ms: u64,
}

pub fn in_range(field: &str, value: u64, low: u64, high: u64) -> Result<u64, ConfigError> {
    if value < low || value > high {
        return Err(ConfigError::new(
            field,
            format!("must be from {low} to {high} (got {value})"),
        ));
    }
    Ok(value)
}

/// `in_range` for a u32 field (the range fits a u32).
pub fn small(field: &str, value: u64, low: u32, high: u32) -> Result<u32, ConfigError> {
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

pub fn validate_health_check(raw: RawHealthCheck, problems: &mut Problems) -> Option<HealthCheck> {
    let field = |name: &str| format!("health_check.{name}");
    let interval_ms = problems.check(in_range(
        &field("interval_ms"),
        raw.interval_ms,
        100,
        3_600_000,
    ));
    let timeout_ms = problems.check(in_range(&field("timeout_ms"), raw.timeout_ms, 10, 600_000));
    // One probe per environment in flight: a probe must end before the next interval starts.
    let timeout_ms = match (interval_ms, timeout_ms) {
        (Some(interval_ms), Some(timeout_ms)) if timeout_ms >= interval_ms => {
            problems.push(
                field("timeout_ms"),
                format!("must be less than interval_ms {interval_ms} (got {timeout_ms})"),
            );
            None
        }
        (_, timeout_ms) => timeout_ms,
    };
    let path = if !raw.path.starts_with('/') || raw.path.contains(' ') {
        problems.push(
            field("path"),
            format!("must be a path starting with \"/\" (got {:?})", raw.path),
        );
        None
    } else {
        Some(raw.path)
    };
    let unhealthy_threshold = problems.check(small(
        &field("unhealthy_threshold"),
        raw.unhealthy_threshold,
        1,
        100,
    ));
    let healthy_threshold = problems.check(small(
        &field("healthy_threshold"),
        raw.healthy_threshold,
        1,
        100,
    ));
    let mut model_probes_ok = true;
    for (i, model) in raw.model_probes.0.iter().enumerate() {
        if model.is_empty() || model.len() > 200 || !model.bytes().all(|b| b.is_ascii_graphic()) {
            problems.push(
                format!("health_check.model_probes[{i}]"),
                format!("must be a model id (got {model:?})"),
            );
            model_probes_ok = false;
        }
    }
    let probe_max_tokens = problems.check(small(
        &field("probe_max_tokens"),
        raw.probe_max_tokens,
        1,
        4096,
    ));
    let model_probe_interval_ms = match raw.model_probe_interval_ms {
        // A long `interval_ms` alone does not make the default chat probe interval wrong.
        None => interval_ms.map(|every| every.max(defaults::model_probe_interval_ms())),
        Some(every) => problems
            .check(in_range(
                &field("model_probe_interval_ms"),
                every,
                1000,
                86_400_000,
            ))
            .and_then(|every| match interval_ms {
                // A chat probe never runs more often than the health probe it follows.
                Some(interval_ms) if every < interval_ms => {
                    problems.push(
                        field("model_probe_interval_ms"),
                        format!("must be at least interval_ms {interval_ms} (got {every})"),
                    );
                    None
                }
                _ => Some(every),
            }),
    };
    Some(HealthCheck {
        interval_ms: interval_ms?,
        timeout_ms: timeout_ms?,
        path: path?,
        unhealthy_threshold: unhealthy_threshold?,
        healthy_threshold: healthy_threshold?,
        model_probes: model_probes_ok.then_some(raw.model_probes.0)?,
        probe_max_tokens: probe_max_tokens?,
        model_probe_interval_ms: model_probe_interval_ms?,
    })
}

pub fn validate_auto_rollback(
    raw: RawAutoRollback,
    problems: &mut Problems,
) -> Option<AutoRollback> {
    let field = |name: &str| format!("auto_rollback.{name}");
    let max_error_rate = match raw.max_error_rate {
        None => Some(defaults::max_error_rate()),
        Some(text) => problems.check(error_rate(&field("max_error_rate"), text.text())),
    };
    let min_requests = problems.check(in_range(
        &field("min_requests"),
        raw.min_requests,
        1,
        1_000_000_000,
    ));
    let window_ms = problems.check(in_range(
        &field("window_ms"),
        raw.window_ms,
        1000,
        86_400_000,
    ));
    let cooldown_ms = problems.check(in_range(
        &field("cooldown_ms"),
        raw.cooldown_ms,
        0,
        86_400_000,
    ));
    Some(AutoRollback {
        max_error_rate: max_error_rate?,
        min_requests: min_requests?,
        window_ms: window_ms?,
        cooldown_ms: cooldown_ms?,
    })
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
