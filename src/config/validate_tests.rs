//! The rules: each field's, the pairs', and every problem of a configuration at once.

use serde_json::{json, Value};

use crate::config::{Config, ConfigError, Plugin};
use crate::environment::Environment;

fn env_vars(name: &str) -> Option<String> {
    match name {
        "KEY_BLUE" => Some("sk-blue-from-env".to_string()),
        "EMPTY" => Some(String::new()),
        "OVERRIDE_TOKEN" => Some("tok-override-1".to_string()),
        "STATUS_TOKEN" => Some("tok-status-2".to_string()),
        "SPACED" => Some("tok with spaces".to_string()),
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
    assert_eq!(config.override_token, None);
    assert_eq!(config.status_token, None);
    assert_eq!(config.shadow, None);
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
    value["override_token_env"] = json!("OVERRIDE_TOKEN");
    value["status_path"] = json!("/status");
    value["status_token_env"] = json!("STATUS_TOKEN");
    value["version"] = json!("v42");
    let config = parse(&value).unwrap();
    assert_eq!(config.active, Environment::Green);
    assert_eq!(
        config.affinity_headers,
        vec!["x-session-id", "x-request-id"]
    );
    assert_eq!(config.cluster_header, "x-upstream");
    assert_eq!(config.override_header.as_deref(), Some("x-relay-env"));
    assert!(config.override_token.unwrap().matches(b"tok-override-1"));
    assert!(config.status_token.unwrap().matches(b"tok-status-2"));
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
        refusal(|v| {
            v["override_header"] = json!("");
            v["override_token_env"] = json!("OVERRIDE_TOKEN");
        }),
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
        let config = Config::parse(text.as_bytes(), &env_vars)
            .unwrap_or_else(|e| panic!("{blue}/{green}: {e}"));
        assert_eq!(config.environment(Environment::Green).weight_bp, green_bp);
    }
    let text = base()
        .to_string()
        .replace(r#""weight":10}"#, r#""weight":1e400}"#);
    assert_eq!(
        Config::parse(text.as_bytes(), &env_vars).unwrap_err().to_string(),
        "invalid configuration: environments.green.weight: must be a number from 0 to 100 (got 1e400)"
    );
}

#[test]
fn every_problem_at_once_in_document_order() {
    let message = refusal(|v| {
        v["environments"]["blue"]["api_key_env"] = json!("UNSET");
        v["environments"]["green"]["weight"] = json!(40);
        v["cluster_header"] = json!("bad header");
    });
    assert_eq!(
        message,
        "invalid configuration: 3 problems: \
         environments.blue.api_key_env: environment variable is unset or empty in the Envoy process \
         (got \"UNSET\"; pass it with vm_config.environment_variables.host_env_keys); \
         environments.green.weight: blue + green must sum to 100 (got 90 + 40); \
         cluster_header: must be an HTTP header name (got \"bad header\")"
    );
    let err = parse(&{
        let mut value = base();
        value["environments"]["blue"]["api_key_env"] = json!("UNSET");
        value["environments"]["green"]["weight"] = json!(40);
        value["cluster_header"] = json!("bad header");
        value
    })
    .unwrap_err();
    let fields: Vec<&str> = err.problems().iter().map(|p| p.field()).collect();
    assert_eq!(
        fields,
        [
            "environments.blue.api_key_env",
            "environments.green.weight",
            "cluster_header"
        ]
    );
}

#[test]
fn every_field_is_checked() {
    let err = parse(&json!({
        "environments": {
            "blue": {"cluster": "", "weight": 101, "api_key": "", "authority": " "},
            "green": {"cluster": "relay_green", "weight": 0.001, "api_key_env": "EMPTY",
                      "failover_cluster": "relay_green_failover"}
        },
        "active": "red",
        "affinity_headers": ["ok", "not ok", ""],
        "cluster_header": "host",
        "override_header": "x y",
        "override_token_env": "UNSET",
        "status_path": "status",
        "status_token_env": "SPACED",
        "version": "",
        "health_check": {"interval_ms": 1},
        "auto_rollback": {"min_requests": 0},
        "shadow": {"percent": 200},
        "models": {"m": {"provider": "", "max_tokens": 1, "supports_streaming": true}},
        "max_request_body_bytes": 0
    }))
    .unwrap_err();
    let fields: Vec<&str> = err.problems().iter().map(|p| p.field()).collect();
    assert_eq!(
        fields,
        [
            "environments.blue.cluster",
            "environments.blue.weight",
            "environments.blue.api_key",
            "environments.blue.authority",
            "environments.green.weight",
            "environments.green.api_key_env",
            "active",
            "affinity_headers[1]",
            "affinity_headers[2]",
            "cluster_header",
            "override_header",
            "override_token_env",
            "status_path",
            "status_token_env",
            "version",
            "health_check.interval_ms",
            "auto_rollback.min_requests",
            "shadow.percent",
            "models.m.provider",
            "max_request_body_bytes",
        ],
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with("invalid configuration: 20 problems: environments.blue.cluster: "),
        "{message}"
    );
    assert!(!message.contains("tok with"), "{message}");
}

#[test]
fn a_rule_on_a_refused_field_is_skipped() {
    // The sum needs both weights; "must differ" needs both clusters.
    assert_eq!(
        refusal(|v| v["environments"]["green"]["weight"] = json!(-5)),
        "invalid configuration: environments.green.weight: must be a number from 0 to 100 (got -5)"
    );
    assert_eq!(
        refusal(|v| {
            v["environments"]["blue"]["cluster"] = json!("");
            v["environments"]["green"]["cluster"] = json!("");
        }),
        "invalid configuration: 2 problems: \
         environments.blue.cluster: must be an Envoy cluster name (got \"\"); \
         environments.green.cluster: must be an Envoy cluster name (got \"\")"
    );
}

#[test]
fn status_token_is_read_from_the_environment() {
    let mut value = base();
    value["status_token_env"] = json!("STATUS_TOKEN");
    let token = parse(&value).unwrap().status_token.unwrap();
    assert!(token.matches(b"tok-status-2"));
    assert!(!token.matches(b"tok-status-3"));
    for var in ["UNSET", "EMPTY"] {
        assert_eq!(
            refusal(|v| v["status_token_env"] = json!(var)),
            format!(
                "invalid configuration: status_token_env: environment variable is unset or empty \
                 in the Envoy process (got \"{var}\"; pass it with vm_config.environment_variables.host_env_keys)"
            )
        );
    }
    assert_eq!(
        refusal(|v| v["status_token_env"] = json!("SPACED")),
        "invalid configuration: status_token_env: the value of SPACED must be visible ASCII without spaces (got 15 characters)"
    );
    assert_eq!(
        refusal(|v| v["status_token_env"] = json!(5)),
        "invalid configuration: status_token_env: must be a string (got 5)"
    );
}

#[test]
fn override_header_and_its_token_go_together() {
    let mut value = base();
    value["override_header"] = json!("X-Relay-Env");
    value["override_token_env"] = json!("OVERRIDE_TOKEN");
    let config = parse(&value).unwrap();
    assert_eq!(config.override_header.as_deref(), Some("x-relay-env"));
    assert!(config.override_token.unwrap().matches(b"tok-override-1"));
    assert_eq!(
        refusal(|v| v["override_header"] = json!("x-relay-env")),
        "invalid configuration: override_token_env: is required when override_header is set \
         (got override_header \"x-relay-env\" without override_token_env)"
    );
    assert_eq!(
        refusal(|v| v["override_token_env"] = json!("OVERRIDE_TOKEN")),
        "invalid configuration: override_token_env: needs override_header (got \"OVERRIDE_TOKEN\" without override_header)"
    );
    assert_eq!(
        refusal(|v| {
            v["override_header"] = json!("x-relay-env");
            v["override_token_env"] = json!("UNSET");
        }),
        "invalid configuration: override_token_env: environment variable is unset or empty in the \
         Envoy process (got \"UNSET\"; pass it with vm_config.environment_variables.host_env_keys)"
    );
    // null is absent, as for every optional field.
    let mut value = base();
    value["override_header"] = json!(null);
    value["override_token_env"] = json!(null);
    assert_eq!(parse(&value).unwrap().override_token, None);
}

#[test]
fn no_token_is_ever_shown() {
    let mut value = base();
    value["override_header"] = json!("x-relay-env");
    value["override_token_env"] = json!("OVERRIDE_TOKEN");
    value["status_token_env"] = json!("STATUS_TOKEN");
    let config = parse(&value).unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("tok-"), "{debug}");
    value["environments"]["green"]["weight"] = json!(11);
    let message = parse(&value).unwrap_err().to_string();
    assert!(!message.contains("tok-"), "{message}");
}

#[test]
fn an_upstream_form_is_an_object() {
    let err = Plugin::parse(br#"[{"environment": "blue"}]"#, &env_vars).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration: configuration: must be a JSON object (got an array)"
    );
    let err = Plugin::parse(br#"{"upstream": ["blue"]}"#, &env_vars).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid configuration: upstream: unknown field"),
        "{err}"
    );
}
