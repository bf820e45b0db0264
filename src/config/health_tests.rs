//! `health_check` and `auto_rollback`: defaults, ranges, and the error rate read from its text.

use serde_json::{json, Value};

use crate::config::{Config, ConfigError};

fn base() -> Value {
    json!({
        "environments": {
            "blue": {"cluster": "relay_blue", "weight": 90, "api_key": "sk-b"},
            "green": {"cluster": "relay_green", "weight": 10, "api_key": "sk-g"}
        }
    })
}

fn parse_text(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text.as_bytes(), &|_| None)
}

fn with(edit: impl FnOnce(&mut Value)) -> Result<Config, ConfigError> {
    let mut value = base();
    edit(&mut value);
    parse_text(&value.to_string())
}

fn refusal(edit: impl FnOnce(&mut Value)) -> String {
    match with(edit) {
        Ok(_) => panic!("accepted"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn health_check_defaults_and_ranges() {
    let config = with(|v| v["health_check"] = json!({})).unwrap();
    let health = config.health_check.unwrap();
    assert_eq!(
        (health.interval_ms, health.timeout_ms, health.path.as_str()),
        (5000, 2000, "/v1/models")
    );
    assert_eq!(
        (
            health.unhealthy_threshold,
            health.healthy_threshold,
            health.probe_max_tokens
        ),
        (2, 1, 16)
    );
    assert!(health.model_probes.is_empty());
    assert_eq!(health.model_probe_interval_ms, 300_000);
    assert_eq!(
        refusal(|v| v["health_check"] = json!({"unhealthy_threshold": 5_000_000_000u64})),
        "invalid configuration: health_check.unhealthy_threshold: must be from 1 to 100 (got 5000000000)"
    );
    assert_eq!(
        refusal(|v| v["health_check"] = json!({"model_probes": ["gpt-4.1", ""]})),
        "invalid configuration: health_check.model_probes[1]: must be a model id (got \"\")"
    );
}

#[test]
fn error_rate_is_read_from_its_text() {
    let config = with(|v| v["auto_rollback"] = json!({})).unwrap();
    let rules = config.auto_rollback.unwrap();
    assert_eq!(rules.max_error_rate, 0.05);
    assert_eq!((rules.min_requests, rules.window_ms), (20, 60_000));
    for (rate, want) in [("0.5", 0.5), ("1", 1.0), ("1.000", 1.0), ("25e-2", 0.25)] {
        let text = base().to_string().replacen(
            '{',
            &format!(r#"{{"auto_rollback": {{"max_error_rate": {rate}}}, "#),
            1,
        );
        let rules = parse_text(&text).unwrap().auto_rollback.unwrap();
        assert_eq!(rules.max_error_rate, want, "{rate}");
    }
    for rate in ["0", "-0.1", "1.0001", "1e-30"] {
        let text = base().to_string().replacen(
            '{',
            &format!(r#"{{"auto_rollback": {{"max_error_rate": {rate}}}, "#),
            1,
        );
        assert_eq!(
            parse_text(&text).unwrap_err().to_string(),
            format!("invalid configuration: auto_rollback.max_error_rate: must be above 0 and at most 1 (got {rate})")
        );
    }
}

#[test]
fn model_probes_run_every_model_probe_interval() {
    let health =
        |block: Value| with(|v| v["health_check"] = block).map(|c| c.health_check.unwrap());
    let hc = health(json!({"model_probe_interval_ms": 60_000})).unwrap();
    assert_eq!(hc.model_probe_interval_ms, 60_000);
    let hc =
        health(json!({"interval_ms": 1000, "timeout_ms": 500, "model_probe_interval_ms": 1000}))
            .unwrap();
    assert_eq!(hc.model_probe_interval_ms, 1000);
    assert_eq!(
        health(json!({"model_probe_interval_ms": 86_400_000}))
            .unwrap()
            .model_probe_interval_ms,
        86_400_000
    );
    // Unset, it is never shorter than the health probe interval.
    let hc = health(json!({"interval_ms": 600_000, "timeout_ms": 1000})).unwrap();
    assert_eq!(hc.model_probe_interval_ms, 600_000);
    for (every, range) in [(999, "999"), (86_400_001, "86400001")] {
        assert_eq!(
            refusal(|v| v["health_check"] = json!({"model_probe_interval_ms": every})),
            format!("invalid configuration: health_check.model_probe_interval_ms: must be from 1000 to 86400000 (got {range})")
        );
    }
    assert_eq!(
        refusal(|v| v["health_check"] = json!({"interval_ms": 10_000, "model_probe_interval_ms": 5000})),
        "invalid configuration: health_check.model_probe_interval_ms: must be at least interval_ms 10000 (got 5000)"
    );
    assert_eq!(
        refusal(|v| v["health_check"] = json!({"model_probe_interval_ms": "often"})),
        "invalid configuration: health_check.model_probe_interval_ms: must be a non-negative integer (got \"often\")"
    );
}

#[test]
fn every_problem_of_the_blocks_is_reported() {
    let message = refusal(|v| {
        v["health_check"] = json!({
            "interval_ms": 50, "timeout_ms": 5, "path": "models",
            "model_probes": ["", "gpt-4.1", "a b"], "probe_max_tokens": 0
        });
        v["auto_rollback"] = json!({"max_error_rate": 2, "window_ms": 10});
    });
    assert_eq!(
        message,
        "invalid configuration: 8 problems: \
         health_check.interval_ms: must be from 100 to 3600000 (got 50); \
         health_check.timeout_ms: must be from 10 to 600000 (got 5); \
         health_check.path: must be a path starting with \"/\" (got \"models\"); \
         health_check.model_probes[0]: must be a model id (got \"\"); \
         health_check.model_probes[2]: must be a model id (got \"a b\"); \
         health_check.probe_max_tokens: must be from 1 to 4096 (got 0); \
         auto_rollback.max_error_rate: must be above 0 and at most 1 (got 2); \
         auto_rollback.window_ms: must be from 1000 to 86400000 (got 10)"
    );
    // The timeout rule needs a valid interval.
    assert_eq!(
        refusal(|v| v["health_check"] = json!({"interval_ms": 1000, "timeout_ms": 1000})),
        "invalid configuration: health_check.timeout_ms: must be less than interval_ms 1000 (got 1000)"
    );
}
