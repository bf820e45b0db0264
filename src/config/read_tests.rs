//! The reading layer: JSON syntax, types, repeated keys, and the number rules read from text.

use serde_json::{json, Value};

use super::*;

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

/// The base config with `member` spliced in at the start of `environments.blue`.
fn blue_with(member: &str) -> String {
    base()
        .to_string()
        .replacen(r#""blue":{"#, &format!(r#""blue":{{{member},"#), 1)
}

#[test]
fn syntax_errors_say_where() {
    let err = parse_text("{\n  \"environments\": {\n    \"blue\" {}\n  }\n}").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration: configuration: not valid JSON: expected `:` at line 3 column 12"
    );
    let err = parse_text(&format!("{} x", base())).unwrap_err();
    assert!(
        err.to_string()
            .contains("trailing characters after the JSON value"),
        "{err}"
    );
    assert_eq!(
        parse_text("[1]").unwrap_err().to_string(),
        "invalid configuration: configuration: must be a JSON object (got an array)"
    );
}

#[test]
fn repeated_keys_are_refused() {
    let err = parse_text(&blue_with(r#""weight": 50"#)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration: environments.blue.weight: is set twice (duplicate key)"
    );
    // The same key spelled with an escape is the same key.
    let text =
        base()
            .to_string()
            .replacen('{', r#"{"act\u0069ve": "blue", "active": "green", "#, 1);
    assert_eq!(
        parse_text(&text).unwrap_err().to_string(),
        "invalid configuration: active: is set twice (duplicate key)"
    );
    let model = r#"{"provider": "x", "max_tokens": 5, "supports_streaming": true}"#;
    let text = base().to_string().replacen(
        '{',
        &format!(r#"{{"models": {{"m": {model}, "m": {model}}}, "#),
        1,
    );
    assert_eq!(
        parse_text(&text).unwrap_err().to_string(),
        "invalid configuration: models.m: is set twice (duplicate key)"
    );
}

#[test]
fn wrong_types_name_path_type_and_value() {
    for (edit, want) in [
        (
            json!({"affinity_headers": "x-id"}),
            "affinity_headers: must be an array of strings (got \"x-id\")",
        ),
        (
            json!({"affinity_headers": ["x-id", 7]}),
            "affinity_headers[1]: must be a string (got 7)",
        ),
        (
            json!({"active": null}),
            "active: must be a string (got null)",
        ),
        (
            json!({"health_check": []}),
            "health_check: must be a JSON object (got an array)",
        ),
        (
            json!({"health_check": {"interval_ms": -1}}),
            "health_check.interval_ms: must be a non-negative integer (got -1)",
        ),
        (
            json!({"health_check": {"timeout_ms": 1.5}}),
            "health_check.timeout_ms: must be a non-negative integer (got 1.5)",
        ),
        (
            json!({"models": {"m": {"provider": "x", "max_tokens": 5, "supports_streaming": 1}}}),
            "models.m.supports_streaming: must be true or false (got 1)",
        ),
    ] {
        let message = refusal(|v| {
            for (key, value) in edit.as_object().unwrap() {
                v[key] = value.clone();
            }
        });
        assert_eq!(message, format!("invalid configuration: {want}"));
    }
    let message = refusal(|v| v["environments"]["blue"] = json!({"cluster": {"a": 1}}));
    assert_eq!(
        message,
        "invalid configuration: environments.blue.cluster: must be a string (got an object)"
    );
}

#[test]
fn null_is_an_absent_optional_field() {
    let config = with(|v| {
        v["override_header"] = json!(null);
        v["version"] = json!(null);
        v["health_check"] = json!(null);
        v["environments"]["blue"]["authority"] = json!(null);
    })
    .unwrap();
    assert_eq!(config.override_header, None);
    assert_eq!(config.health_check, None);
    assert_eq!(
        config.environment(Environment::Blue).authority,
        "relay_blue"
    );
}

#[test]
fn weights_are_read_from_their_text() {
    for (blue, green, green_bp) in [
        ("66.67", "33.33", 3333),
        ("1e1", "9E1", 9000),
        ("90.000", "10", 1000),
        ("100", "-0", 0),
        // A float printer's rendering of 33.33 and 66.67 is still two decimals.
        ("66.670000000000002", "33.329999999999998", 3333),
    ] {
        let text = base()
            .to_string()
            .replace(r#""weight":90}"#, &format!(r#""weight":{blue}}}"#))
            .replace(r#""weight":10}"#, &format!(r#""weight":{green}}}"#));
        let config = parse_text(&text).unwrap_or_else(|e| panic!("{blue}/{green}: {e}"));
        assert_eq!(config.environment(Environment::Green).weight_bp, green_bp);
    }
    let text = base()
        .to_string()
        .replace(r#""weight":10}"#, r#""weight":1e400}"#);
    assert_eq!(
        parse_text(&text).unwrap_err().to_string(),
        "invalid configuration: environments.green.weight: must be a number from 0 to 100 (got 1e400)"
    );
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
fn prices_are_read_from_their_text() {
    let price = |text: &str| {
        let model = format!(
            r#"{{"provider": "x", "max_tokens": 5, "supports_streaming": true,
                 "price_per_mtok": {{"input": {text}, "output": 0}}}}"#
        );
        let text =
            base()
                .to_string()
                .replacen('{', &format!(r#"{{"models": {{"m": {model}}}, "#), 1);
        parse_text(&text).map(|config| {
            let spec = config.models.catalog.get("m").unwrap().1;
            spec.price.unwrap().input_pico_per_token
        })
    };
    assert_eq!(price("2.5e-1"), Ok(250_000));
    assert_eq!(price("0.0000005"), Ok(1), "half a pico-dollar rounds up");
    assert_eq!(price("0.0000004"), Ok(0));
    assert_eq!(price("10000"), Ok(10_000_000_000));
    assert_eq!(
        price("10000.0000001").unwrap_err().to_string(),
        "invalid configuration: models.m.price_per_mtok.input: must be a number from 0 to 10000 (USD per million tokens) (got 10000.0000001)"
    );
}
