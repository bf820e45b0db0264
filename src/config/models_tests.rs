use serde_json::{json, Value};

use crate::config::{Config, ConfigError};
use crate::environment::Environment;

fn base() -> Value {
    json!({
        "environments": {
            "blue": {"cluster": "relay_blue", "weight": 90, "api_key": "sk-blue"},
            "green": {"cluster": "relay_green", "weight": 10, "api_key": "sk-green"}
        },
        "models": {
            "gpt-4.1": {"provider": "openai", "max_tokens": 128000, "supports_streaming": true,
                        "price_per_mtok": {"input": 2.00, "output": 8.00}},
            "claude-sonnet-4.5": {"provider": "anthropic", "max_tokens": 200000, "supports_streaming": true},
            "gemini-2.5-flash": {"provider": "google", "max_tokens": 1000000, "supports_streaming": true},
            "deepseek-v3.2": {"provider": "deepseek", "max_tokens": 64000, "supports_streaming": true,
                              "price_per_mtok": {"input": 0.28, "output": 0.42}},
            "some-batch-model": {"provider": "x", "max_tokens": 4096, "supports_streaming": false,
                                 "environments": ["green"]}
        },
        "enforce_models": true,
        "max_request_body_bytes": 1048576
    })
}

fn parse(value: &Value) -> Result<Config, ConfigError> {
    Config::parse(value.to_string().as_bytes(), &|_| None)
}

fn refusal(edit: impl FnOnce(&mut Value)) -> String {
    let mut value = base();
    edit(&mut value);
    match parse(&value) {
        Ok(_) => panic!("accepted {value}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn catalog_is_read() {
    let config = parse(&base()).unwrap();
    let models = &config.models;
    assert!(models.enforce_models);
    assert_eq!(models.max_request_body_bytes, 1_048_576);
    assert!(models.catalog.has_pins());
    assert!(models.reads_request_body());
    let (_, gpt) = models.catalog.get("gpt-4.1").unwrap();
    assert_eq!(gpt.provider, "openai");
    assert_eq!(gpt.max_tokens, 128_000);
    assert!(gpt.supports_streaming);
    assert_eq!(gpt.stat_name, "gpt-4_1");
    let price = gpt.price.unwrap();
    assert_eq!(price.input_pico_per_token, 2_000_000);
    assert_eq!(price.output_pico_per_token, 8_000_000);
    let deepseek = models.catalog.get("deepseek-v3.2").unwrap().1;
    assert_eq!(deepseek.price.unwrap().input_pico_per_token, 280_000);
    assert_eq!(deepseek.price.unwrap().output_pico_per_token, 420_000);
    let batch = models.catalog.get("some-batch-model").unwrap().1;
    assert!(!batch.supports_streaming);
    assert!(batch.is_pinned());
    assert_eq!(batch.place(Environment::Blue), Environment::Green);
    assert_eq!(batch.place(Environment::Green), Environment::Green);
    assert_eq!(gpt.place(Environment::Blue), Environment::Blue);
    assert!(models.catalog.get("gpt-4").is_none());
    assert_eq!(models.catalog.iter().count(), 5);
}

#[test]
fn defaults_without_models() {
    let mut value = base();
    let object = value.as_object_mut().unwrap();
    object.remove("models");
    object.remove("enforce_models");
    object.remove("max_request_body_bytes");
    let config = parse(&value).unwrap();
    assert!(config.models.catalog.is_empty());
    assert!(!config.models.enforce_models);
    assert_eq!(config.models.max_request_body_bytes, 1024 * 1024);
    assert!(!config.models.reads_request_body());
}

#[test]
fn both_environments_is_no_pin() {
    let mut value = base();
    value["models"]["some-batch-model"]["environments"] = json!(["green", "blue"]);
    value["enforce_models"] = json!(false);
    let config = parse(&value).unwrap();
    assert!(!config.models.catalog.has_pins());
    assert!(!config.models.reads_request_body());
}

#[test]
fn max_tokens_must_be_a_positive_integer() {
    for (bad, shown) in [(json!(0), "0"), (json!(-5), "-5"), (json!(1.5), "1.5")] {
        assert_eq!(
            refusal(|v| v["models"]["gpt-4.1"]["max_tokens"] = bad),
            format!("invalid configuration: models.gpt-4.1.max_tokens: must be a positive integer (got {shown})")
        );
    }
    assert_eq!(
        refusal(|v| v["models"]["gpt-4.1"]["max_tokens"] = json!("many")),
        "invalid configuration: models.gpt-4.1.max_tokens: must be a number (got \"many\")"
    );
}

#[test]
fn required_and_unknown_model_fields() {
    assert_eq!(
        refusal(|v| {
            v["models"]["gpt-4.1"]
                .as_object_mut()
                .unwrap()
                .remove("provider");
        }),
        "invalid configuration: models.gpt-4.1.provider: is required"
    );
    assert_eq!(
        refusal(|v| {
            v["models"]["gpt-4.1"]
                .as_object_mut()
                .unwrap()
                .remove("supports_streaming");
        }),
        "invalid configuration: models.gpt-4.1.supports_streaming: is required"
    );
    let message = refusal(|v| v["models"]["gpt-4.1"]["max_token"] = json!(5));
    assert!(
        message.starts_with("invalid configuration: models.gpt-4.1.max_token: unknown field"),
        "{message}"
    );
    let message = refusal(|v| v["models"]["gpt-4.1"]["price_per_mtok"]["cached"] = json!(1));
    assert!(
        message.starts_with(
            "invalid configuration: models.gpt-4.1.price_per_mtok.cached: unknown field"
        ),
        "{message}"
    );
    assert_eq!(
        refusal(|v| v["models"]["gpt-4.1"]["provider"] = json!(" ")),
        "invalid configuration: models.gpt-4.1.provider: must not be empty (got \" \")"
    );
}

#[test]
fn prices() {
    assert_eq!(
        refusal(|v| v["models"]["gpt-4.1"]["price_per_mtok"]["input"] = json!(-1)),
        "invalid configuration: models.gpt-4.1.price_per_mtok.input: must be a number from 0 to 10000 (USD per million tokens) (got -1)"
    );
    assert_eq!(
        refusal(|v| v["models"]["gpt-4.1"]["price_per_mtok"]["output"] = json!(20000)),
        "invalid configuration: models.gpt-4.1.price_per_mtok.output: must be a number from 0 to 10000 (USD per million tokens) (got 20000)"
    );
    assert_eq!(
        refusal(|v| {
            v["models"]["gpt-4.1"]["price_per_mtok"]
                .as_object_mut()
                .unwrap()
                .remove("output");
        }),
        "invalid configuration: models.gpt-4.1.price_per_mtok.output: is required"
    );
    let mut free = base();
    free["models"]["gpt-4.1"]["price_per_mtok"] = json!({"input": 0, "output": 0});
    assert!(parse(&free).is_ok());
}

#[test]
fn environments_rules() {
    assert_eq!(
        refusal(|v| v["models"]["some-batch-model"]["environments"] = json!([])),
        "invalid configuration: models.some-batch-model.environments: must name at least one environment (got [])"
    );
    assert_eq!(
        refusal(|v| v["models"]["some-batch-model"]["environments"] = json!(["green", "red"])),
        "invalid configuration: models.some-batch-model.environments[1]: must be \"blue\" or \"green\" (got \"red\")"
    );
    assert_eq!(
        refusal(|v| v["models"]["some-batch-model"]["environments"] = json!(["green", "green"])),
        "invalid configuration: models.some-batch-model.environments[1]: names an environment twice (got \"green\")"
    );
}

#[test]
fn model_names_and_stat_names() {
    assert_eq!(
        refusal(|v| v["models"]["gpt 4"] = v["models"]["gpt-4.1"].clone()),
        "invalid configuration: models.gpt 4: a model name must be 1 to 128 visible ASCII characters (got \"gpt 4\")"
    );
    assert_eq!(
        refusal(|v| v["models"]["gpt-4_1"] = v["models"]["gpt-4.1"].clone()),
        "invalid configuration: models.gpt-4_1: its stat name \"gpt-4_1\" is also model \"gpt-4.1\"'s; rename one (got \"gpt-4_1\")"
    );
    assert_eq!(
        refusal(|v| v["models"]["other"] = v["models"]["gpt-4.1"].clone()),
        "invalid configuration: models.other: the stat name \"other\" is kept for models outside the catalog (got \"other\")"
    );
}

#[test]
fn enforcement_needs_a_catalog() {
    assert_eq!(
        refusal(|v| v["models"] = json!({})),
        "invalid configuration: enforce_models: needs at least one model in models (got true with no models)"
    );
    assert_eq!(
        refusal(|v| v["enforce_models"] = json!("yes")),
        "invalid configuration: enforce_models: must be true or false (got \"yes\")"
    );
}

#[test]
fn body_limit() {
    for (bad, shown) in [
        (json!(0), "0"),
        (json!(-1), "-1"),
        (json!(1.5), "1.5"),
        (json!(67108865), "67108865"),
    ] {
        assert_eq!(
            refusal(|v| v["max_request_body_bytes"] = bad),
            format!("invalid configuration: max_request_body_bytes: must be a positive integer of at most 67108864 (got {shown})")
        );
    }
    let mut value = base();
    value["max_request_body_bytes"] = json!(67108864);
    assert_eq!(
        parse(&value).unwrap().models.max_request_body_bytes,
        67_108_864
    );
}

#[test]
fn route_after_body_plugin() {
    use crate::config::Plugin;
    let plugin = Plugin::parse(br#"{"route_after_body": {}}"#, &|_| None).unwrap();
    assert_eq!(plugin, Plugin::RouteAfterBody);
    // Anything else is read (and refused) as the relay configuration.
    let err = Plugin::parse(br#"{"route_after_body": {"x": 1}}"#, &|_| None).unwrap_err();
    assert_eq!(err.problems()[0].field(), "route_after_body");
}

#[test]
fn prices_are_read_from_their_text() {
    let price = |text: &str| {
        let model = format!(
            r#"{{"provider": "x", "max_tokens": 5, "supports_streaming": true,
                 "price_per_mtok": {{"input": {text}, "output": 0}}}}"#
        );
        let text = base().to_string().replacen(
            r#""models":{"#,
            &format!(r#""models":{{"m": {model},"#),
            1,
        );
        Config::parse(text.as_bytes(), &|_| None).map(|config| {
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

#[test]
fn every_model_problem_is_reported_in_document_order() {
    let text = base().to_string().replacen(
        r#""models":{"#,
        r#""models":{"zeta": {"provider": " ", "max_tokens": 0, "supports_streaming": true,
                     "price_per_mtok": {"input": -1, "output": 1e5}, "environments": ["red", "blue", "blue"]},
                   "alpha": {"provider": "x", "max_tokens": 1.5, "supports_streaming": true},"#,
        1,
    );
    let err = Config::parse(text.as_bytes(), &|_| None).unwrap_err();
    let fields: Vec<&str> = err.problems().iter().map(|p| p.field()).collect();
    assert_eq!(
        fields,
        [
            "models.zeta.provider",
            "models.zeta.max_tokens",
            "models.zeta.price_per_mtok.input",
            "models.zeta.price_per_mtok.output",
            "models.zeta.environments[0]",
            "models.zeta.environments[2]",
            "models.alpha.max_tokens",
        ],
        "{err}"
    );
}

#[test]
fn the_catalog_is_sorted_by_name_whatever_the_document_order() {
    let text = base().to_string().replacen(
        r#""models":{"#,
        r#""models":{"zz-last": {"provider": "x", "max_tokens": 5, "supports_streaming": true},"#,
        1,
    );
    let config = Config::parse(text.as_bytes(), &|_| None).unwrap();
    let names: Vec<&str> = config
        .models
        .catalog
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    assert!(config.models.catalog.get("zz-last").is_some());
    assert!(config.models.catalog.get("claude-sonnet-4.5").is_some());
}
