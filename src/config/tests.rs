use super::*;
use serde_json::{json, Value};

fn env_vars(name: &str) -> Option<String> {
    match name {
        "KEY_BLUE" => Some("sk-blue-from-env".to_string()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

fn base() -> Value {
    json!({
        "environments": {
            "blue": {"cluster": "relay_blue", "weight": 90, "api_key_env": "KEY_BLUE"},
            "green": {"cluster": "relay_green", "weight": 10, "api_key": "sk-green-inline"}
        }
    })
}

fn parse(value: &Value) -> Result<Config, ConfigError> {
    Config::parse(value.to_string().as_bytes(), &env_vars)
}

/// Applies `edit` to the base config and returns the refusal as the log line would print it.
fn refusal(edit: impl FnOnce(&mut Value)) -> String {
    let mut value = base();
    edit(&mut value);
    match parse(&value) {
        Ok(_) => panic!("accepted {value}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn minimal_config_gets_defaults() {
    let config = parse(&base()).unwrap();
    assert_eq!(config.active, Environment::Blue);
    assert_eq!(config.affinity_headers, vec!["x-request-id"]);
    assert_eq!(config.cluster_header, "x-relay-cluster");
    assert_eq!(config.status_path, "/relay/status");
    assert_eq!(config.override_header, None);
    assert_eq!(config.version, None);
    let blue = config.environment(Environment::Blue);
    assert_eq!(blue.cluster, "relay_blue");
    assert_eq!(blue.weight_bp, 9000);
    assert_eq!(blue.api_key.authorization(), "Bearer sk-blue-from-env");
    let green = config.environment(Environment::Green);
    assert_eq!(green.api_key.authorization(), "Bearer sk-green-inline");
    assert_eq!(config.configured_split().green_buckets(), 1000);
}

#[test]
fn full_config_is_read() {
    let mut value = base();
    value["active"] = json!("green");
    value["affinity_headers"] = json!(["X-Session-Id", "x-request-id"]);
    value["cluster_header"] = json!("x-upstream");
    value["override_header"] = json!("x-relay-env");
    value["status_path"] = json!("/status");
    value["version"] = json!("v42");
    let config = parse(&value).unwrap();
    assert_eq!(config.active, Environment::Green);
    assert_eq!(
        config.affinity_headers,
        vec!["x-session-id", "x-request-id"]
    );
    assert_eq!(config.cluster_header, "x-upstream");
    assert_eq!(config.override_header.as_deref(), Some("x-relay-env"));
    assert_eq!(config.status_path, "/status");
    assert_eq!(config.version.as_deref(), Some("v42"));
}

#[test]
fn weights_in_hundredths() {
    let mut value = base();
    value["environments"]["blue"]["weight"] = json!(66.67);
    value["environments"]["green"]["weight"] = json!(33.33);
    let config = parse(&value).unwrap();
    assert_eq!(config.environment(Environment::Green).weight_bp, 3333);
    assert_eq!(config.environment(Environment::Blue).weight_bp, 6667);
    for (blue, green) in [(100.0, 0.0), (0.0, 100.0), (99.99, 0.01)] {
        let mut value = base();
        value["environments"]["blue"]["weight"] = json!(blue);
        value["environments"]["green"]["weight"] = json!(green);
        assert!(parse(&value).is_ok(), "{blue}/{green}");
    }
}

#[test]
fn sum_must_be_100() {
    assert_eq!(
        refusal(|v| v["environments"]["green"]["weight"] = json!(40)),
        "invalid configuration: environments.green.weight: blue + green must sum to 100 (got 90 + 40)"
    );
}

#[test]
fn weight_range_and_precision() {
    assert_eq!(
        refusal(|v| v["environments"]["blue"]["weight"] = json!(-1)),
        "invalid configuration: environments.blue.weight: must be a number from 0 to 100 (got -1)"
    );
    assert_eq!(
        refusal(|v| v["environments"]["green"]["weight"] = json!(100.5)),
        "invalid configuration: environments.green.weight: must be a number from 0 to 100 (got 100.5)"
    );
    assert_eq!(
        refusal(|v| v["environments"]["green"]["weight"] = json!(10.005)),
        "invalid configuration: environments.green.weight: must have at most two decimals (0.01 % steps) (got 10.005)"
    );
    assert_eq!(
        refusal(|v| v["environments"]["green"]["weight"] = json!("ten")),
        "invalid configuration: environments.green.weight: must be a number (got \"ten\")"
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
fn not_json() {
    for text in ["", "nope", "[1,2]", "{\"environments\": "] {
        let err = Config::parse(text.as_bytes(), &env_vars).unwrap_err();
        assert!(
            err.to_string().starts_with("invalid configuration: "),
            "{err}"
        );
    }
    let err = Config::parse(b"", &env_vars).unwrap_err();
    assert_eq!(err.field, "configuration");
}

#[test]
fn exactly_one_key_source() {
    assert_eq!(
        refusal(|v| v["environments"]["green"]["api_key_env"] = json!("KEY_BLUE")),
        "invalid configuration: environments.green: set exactly one of api_key or api_key_env (got both)"
    );
    assert_eq!(
        refusal(|v| {
            v["environments"]["green"].as_object_mut().unwrap().remove("api_key");
        }),
        "invalid configuration: environments.green: set exactly one of api_key or api_key_env (got neither)"
    );
}

#[test]
fn key_from_environment_must_be_set_and_not_empty() {
    for var in ["UNSET", "EMPTY"] {
        let message = refusal(|v| v["environments"]["blue"]["api_key_env"] = json!(var));
        assert!(
            message.starts_with(&format!(
                "invalid configuration: environments.blue.api_key_env: environment variable is unset or empty in the Envoy process (got \"{var}\""
            )),
            "{message}"
        );
    }
}

#[test]
fn inline_key_is_checked_but_never_shown() {
    let message = refusal(|v| v["environments"]["green"]["api_key"] = json!(""));
    assert_eq!(
        message,
        "invalid configuration: environments.green.api_key: the inline key is empty"
    );
    let message = refusal(|v| v["environments"]["green"]["api_key"] = json!("sk secret"));
    assert!(message.contains("environments.green.api_key"), "{message}");
    assert!(!message.contains("secret"), "{message}");
}

#[test]
fn no_message_ever_contains_a_key() {
    let mut value = base();
    value["environments"]["green"]["weight"] = json!(11);
    let message = parse(&value).unwrap_err().to_string();
    assert!(!message.contains("sk-"), "{message}");
    let config = parse(&base()).unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("sk-"), "{debug}");
}

#[test]
fn other_fields() {
    assert_eq!(
        refusal(|v| v["active"] = json!("red")),
        "invalid configuration: active: must be \"blue\" or \"green\" (got \"red\")"
    );
    assert_eq!(
        refusal(|v| v["affinity_headers"] = json!([])),
        "invalid configuration: affinity_headers: must name at least one header (got [])"
    );
    assert_eq!(
        refusal(|v| v["affinity_headers"] = json!(["x-session-id", "bad header"])),
        "invalid configuration: affinity_headers[1]: must be an HTTP header name (got \"bad header\")"
    );
    assert_eq!(
        refusal(|v| v["cluster_header"] = json!("authorization")),
        "invalid configuration: cluster_header: must not be a header the relay needs (got \"authorization\")"
    );
    assert_eq!(
        refusal(|v| v["override_header"] = json!("")),
        "invalid configuration: override_header: must be an HTTP header name (got \"\")"
    );
    assert_eq!(
        refusal(|v| v["status_path"] = json!("relay/status")),
        "invalid configuration: status_path: must be a path starting with \"/\" without query (got \"relay/status\")"
    );
    assert_eq!(
        refusal(|v| v["environments"]["green"]["cluster"] = json!("relay_blue")),
        "invalid configuration: environments.green.cluster: must differ from blue's cluster (got \"relay_blue\")"
    );
    assert_eq!(
        refusal(|v| v["environments"]["blue"]["cluster"] = json!("")),
        "invalid configuration: environments.blue.cluster: must be an Envoy cluster name (got \"\")"
    );
    assert_eq!(
        refusal(|v| v["version"] = json!("")),
        "invalid configuration: version: must be 1 to 128 visible ASCII characters (got \"\")"
    );
}

#[test]
fn failover_cluster_routes_requests_but_not_probes() {
    let mut value = base();
    value["environments"]["green"]["failover_cluster"] = json!("relay_green_failover");
    let config = parse(&value).unwrap();
    let green = config.environment(Environment::Green);
    assert_eq!(
        (green.cluster.as_str(), green.route_cluster.as_str()),
        ("relay_green", "relay_green_failover")
    );
    assert_eq!(
        config.environment(Environment::Blue).route_cluster,
        "relay_blue"
    );
    assert!(config.has_failover());
    assert!(!parse(&base()).unwrap().has_failover());
    assert_eq!(
        refusal(|v| v["environments"]["green"]["failover_cluster"] = json!("relay_blue")),
        "invalid configuration: environments.green.failover_cluster: must be an aggregate cluster, not an environment's own cluster (got \"relay_blue\")"
    );
}

#[test]
fn upstream_plugin_form() {
    let plugin = Plugin::parse(br#"{"upstream": {"environment": "green"}}"#, &env_vars).unwrap();
    assert_eq!(plugin, Plugin::Upstream(Some(Environment::Green)));
    let plugin = Plugin::parse(br#"{"upstream": {}}"#, &env_vars).unwrap();
    assert_eq!(plugin, Plugin::Upstream(None));
    let err = Plugin::parse(br#"{"upstream": {"environment": "red"}}"#, &env_vars).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration: upstream.environment: must be \"blue\" or \"green\" (got \"red\")"
    );
    // Anything else is the relay configuration, refused with its own messages.
    let err = Plugin::parse(
        br#"{"upstream": {"environment": "blue"}, "x": 1}"#,
        &env_vars,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid configuration: upstream: unknown field"),
        "{err}"
    );
    assert!(matches!(
        Plugin::parse(base().to_string().as_bytes(), &env_vars),
        Ok(Plugin::Relay(_))
    ));
}
