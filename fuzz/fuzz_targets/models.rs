//! The request-body model check on arbitrary bodies, enforcing and not: never a panic, a
//! refusal is always a 4xx with a JSON error body (a parse error in one shape, without
//! serde_json's position), an accepted model is in the catalog.
#![no_main]

use std::sync::OnceLock;

use bluegreen_relay::ai::body_check::{check_body, is_completion_path, BodyRoute};
use bluegreen_relay::config::{Config, ModelsConfig};
use bluegreen_relay::record;
use libfuzzer_sys::fuzz_target;

fn configs() -> &'static [ModelsConfig; 2] {
    static CONFIGS: OnceLock<[ModelsConfig; 2]> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        [true, false].map(|enforce| {
            let json = format!(
                r#"{{"environments": {{
                    "blue": {{"cluster": "relay_blue", "weight": 90, "api_key": "kb"}},
                    "green": {{"cluster": "relay_green", "weight": 10, "api_key": "kg"}}}},
                  "enforce_models": {enforce}, "max_request_body_bytes": 4096,
                  "models": {{
                    "gpt-4.1": {{"provider": "openai", "max_tokens": 128000, "supports_streaming": true,
                                "price_per_mtok": {{"input": 2.0, "output": 8.0}}}},
                    "o-batch": {{"provider": "x", "max_tokens": 16, "supports_streaming": false,
                                "environments": ["green"]}}}}}}"#
            );
            match Config::parse(json.as_bytes(), &|_| None) {
                Ok(config) => config.models,
                Err(err) => panic!("the fuzz target's own config is refused: {err}"),
            }
        })
    })
}

fuzz_target!(|data: &[u8]| {
    for config in configs() {
        match check_body(config, data) {
            Ok(Some(index)) => assert!(config.catalog.by_index(index).is_some()),
            Ok(None) => {}
            Err(refusal) => {
                assert!(config.enforce_models, "only an enforcing config refuses");
                assert!((400..500).contains(&refusal.status), "{}", refusal.status);
                let body: serde_json::Value = match serde_json::from_str(&refusal.body()) {
                    Ok(body) => body,
                    Err(err) => panic!("refusal body is not JSON: {err}"),
                };
                assert!(body["error"]["message"].is_string());
                let message = refusal.message.as_str();
                if let Some(reason) =
                    message.strip_prefix("We could not parse the JSON body of your request (")
                {
                    assert!(reason.ends_with(")."), "{message}");
                    assert!(!reason.contains(" at line "), "position left in: {message}");
                    assert_eq!((refusal.status, refusal.param), (400, None));
                }
            }
        }
    }
    let _ = is_completion_path(data);
    if let Ok(route) = record::decode::<BodyRoute>(data) {
        let encoded = record::encode(&route);
        assert_eq!(record::decode::<BodyRoute>(&encoded).ok(), Some(route));
    }
});
