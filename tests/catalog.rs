//! `relayctl validate`'s model catalog check against a real Envoy (ECDS, 2 workers), real wasm
//! and mock relays: a candidate lacking a model that carries live traffic is refused by name
//! and share unless accepted with `--allow-missing`; a `/v1/models` that is not a model list is
//! reported as such.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{json, Value};
use stack::{default_config_for, failover_config, poll_until, EcdsStack, BLUE_KEY, GREEN_KEY};

const DETECT: Duration = Duration::from_secs(10);

/// Green at 0 %, probed every 300 ms, both models in the catalog; green's relay runs with
/// `green_args`.
fn start(version: &str, green_args: &[&str]) -> EcdsStack {
    let mut config = failover_config(0, version);
    config["health_check"] = json!({"interval_ms": 300, "timeout_ms": 200});
    config["models"] = json!({
        "gpt-4.1": {"provider": "openai", "max_tokens": 1000, "supports_streaming": true},
        "deepseek-v3.2": {"provider": "deepseek", "max_tokens": 1000, "supports_streaming": true}
    });
    let text = config.to_string();
    let stack = EcdsStack::try_start_with(
        &default_config_for(&text),
        Some(&text),
        &[
            ("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY),
            ("HOLYSHEEP_API_KEY_GREEN", GREEN_KEY),
        ],
        &[],
        green_args,
    )
    .unwrap_or_else(|exit| panic!("Envoy (ECDS) did not start: {exit:?}"));
    stack.wait_version(version);
    stack
}

fn chats(stack: &EcdsStack, counts: &[(&str, usize)]) {
    let http = stack.envoy.client();
    for (model, n) in counts {
        for _ in 0..*n {
            let body =
                format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"hi"}}]}}"#);
            let resp = http.post("/v1/chat/completions", &[], &body);
            assert_eq!(resp.status, 200, "{}", resp.body);
        }
    }
}

fn status(stack: &EcdsStack) -> Value {
    let resp = stack
        .envoy
        .client()
        .get(&bluegreen_relay::config::defaults::status_path(), &[]);
    serde_json::from_str(&resp.body).unwrap()
}

#[test]
fn validate_refuses_a_candidate_lacking_a_model_with_traffic_unless_allowed() {
    let stack = start("cat-missing", &["--unknown-model", "deepseek-v3.2"]);
    chats(&stack, &[("deepseek-v3.2", 3), ("gpt-4.1", 1)]);
    poll_until(DETECT, || {
        let s = status(&stack);
        (s["environments"]["green"]["health"] == "healthy"
            && s["environments"]["green"]["missing_models"][0]["share"].is_f64())
        .then_some(())
    })
    .unwrap_or_else(|| panic!("green's missing model never showed: {:#}", status(&stack)));

    let run = stack.relayctl(&["validate"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr.contains(
            "the candidate lacks model deepseek-v3.2, which carried 75.0 % of live requests"
        ),
        "{run}"
    );

    let run = stack.relayctl(&["validate", "--allow-missing", "deepseek-v3.2"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.stdout.contains("lacks model deepseek-v3.2") && run.stdout.contains("accepted"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("green (the candidate) could get traffic"),
        "{run}"
    );
}

#[test]
fn validate_names_a_models_answer_that_is_not_a_list() {
    let stack = start("cat-html", &[]);
    stack.green.set_config(&json!({"models_body": "html"}));
    let run = stack.relayctl(&["validate"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr.contains(
            "green's /v1/models is not a model list: an HTML page, not an OpenAI model list"
        ),
        "{run}"
    );
    assert!(!run.stderr.contains("no models"), "{run}");
}
