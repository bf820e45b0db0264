//! The reading layer: JSON syntax, types, unknown, missing and repeated fields, `null`.

use serde_json::{json, Value};

use crate::config::{Config, ConfigError};
use crate::environment::Environment;

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
            .starts_with("invalid configuration: configuration: not valid JSON: trailing characters at line 1 column "),
        "{err}"
    );
    assert_eq!(
        parse_text("[1]").unwrap_err().to_string(),
        "invalid configuration: configuration: must be a JSON object (got an array)"
    );
}

#[test]
fn not_json() {
    for text in ["", "nope", "[1,2]", "{\"environments\": "] {
        let err = parse_text(text).unwrap_err();
        assert!(
            err.to_string().starts_with("invalid configuration: "),
            "{err}"
        );
    }
    let err = parse_text("").unwrap_err();
    assert_eq!(err.problems()[0].field(), "configuration");
    assert_eq!(err.problems().len(), 1);
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
fn unknown_and_missing_fields_are_named() {
    let message = refusal(|v| v["colour"] = json!("blue"));
    assert!(
        message.starts_with("invalid configuration: colour: unknown field (expected one of `environments`, `active`,"),
        "{message}"
    );
    let message = refusal(|v| v["environments"]["green"]["clusterr"] = json!("x"));
    assert!(
        message.starts_with("invalid configuration: environments.green.clusterr: unknown field"),
        "{message}"
    );
    let message = refusal(|v| v["environments"]["red"] = json!({}));
    assert!(
        message.starts_with(
            "invalid configuration: environments.red: unknown field (expected `blue` or `green`)"
        ),
        "{message}"
    );
    assert_eq!(
        refusal(|v| {
            v["environments"].as_object_mut().unwrap().remove("green");
        }),
        "invalid configuration: environments.green: is required"
    );
    assert_eq!(
        refusal(|v| {
            v["environments"]["blue"]
                .as_object_mut()
                .unwrap()
                .remove("cluster");
        }),
        "invalid configuration: environments.blue.cluster: is required"
    );
    assert_eq!(
        refusal(|v| *v = json!({})),
        "invalid configuration: environments: is required"
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
fn a_json_object_only_where_one_is_expected() {
    // serde's derive would read a struct from an array of its fields' values in order.
    let message = refusal(|v| v["health_check"] = json!([5000, 2000, "/v1/models", 2, 1, [], 16]));
    assert_eq!(
        message,
        "invalid configuration: health_check: must be a JSON object (got an array)"
    );
    let message = refusal(|v| v["environments"]["blue"] = json!(["relay_blue", 90]));
    assert_eq!(
        message,
        "invalid configuration: environments.blue: must be a JSON object (got an array)"
    );
    assert_eq!(
        refusal(|v| v["models"] = json!([])),
        "invalid configuration: models: must be a JSON object (got an array)"
    );
    assert_eq!(
        refusal(|v| v["environments"]["green"]["weight"] = json!({"value": 10})),
        "invalid configuration: environments.green.weight: must be a number (got an object)"
    );
    assert_eq!(
        refusal(|v| v["environments"]["green"]["weight"] = json!(null)),
        "invalid configuration: environments.green.weight: must be a number (got null)"
    );
}

#[test]
fn a_type_error_stops_the_reading() {
    // Past a type error nothing is validated: one problem, the first in the document.
    let err = with(|v| {
        v["active"] = json!(7);
        v["environments"]["green"]["weight"] = json!(40);
    })
    .unwrap_err();
    assert_eq!(err.problems().len(), 1, "{err}");
    assert_eq!(err.problems()[0].field(), "active");
}
