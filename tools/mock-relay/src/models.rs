//! `GET /v1/models`: the model list, and the broken bodies a misbehaving relay sends instead.

use serde_json::{json, Value};

use crate::config::{Config, ModelsBody};
use crate::http::{self, Resp};
use hyper::StatusCode;

/// Models the relay serves unless `model_ids` replaces them, minus `unknown_models`.
pub const MODELS: [&str; 5] = [
    "gpt-4.1",
    "claude-sonnet-4.5",
    "gemini-2.5-flash",
    "deepseek-v3.2",
    "some-batch-model",
];

/// Fixed so that model listings are byte-for-byte stable across runs.
const MODELS_CREATED: u64 = 1_700_000_000;

/// What a relay behind a login page or a wrong route answers.
const HTML_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\
<body><h1>Sign in</h1><form method=\"post\"><input name=\"user\"></form></body></html>\n";

fn owned_by(model: &str) -> &'static str {
    match model.split('-').next() {
        Some("claude") => "anthropic",
        Some("gemini") => "google",
        Some("deepseek") => "deepseek",
        _ => "openai",
    }
}

/// The ids listed: `model_ids` (else the built-in ones), then `extra-model-0001`...
/// `extra_models` of them, all minus `unknown_models`.
pub fn model_ids(config: &Config) -> Vec<String> {
    let base: Vec<String> = match &config.model_ids {
        Some(ids) => ids.clone(),
        None => MODELS.iter().map(|id| id.to_string()).collect(),
    };
    let extra = (1..=config.extra_models).map(|i| format!("extra-model-{i:04}"));
    base.into_iter()
        .chain(extra)
        .filter(|id| !config.is_unknown_model(id))
        .collect()
}

fn entries(config: &Config) -> Vec<Value> {
    model_ids(config)
        .iter()
        .map(|id| {
            json!({
                "id": id,
                "object": "model",
                "created": MODELS_CREATED,
                "owned_by": owned_by(id),
            })
        })
        .collect()
}

pub fn models_list(config: &Config) -> Value {
    json!({ "object": "list", "data": entries(config) })
}

/// The 200 answer `models_body` asks for.
pub fn response(config: &Config) -> Resp {
    match config.models_body {
        ModelsBody::List => http::json(StatusCode::OK, &models_list(config)),
        ModelsBody::Html => http::with_type(
            StatusCode::OK,
            "text/html; charset=utf-8",
            http::full(HTML_PAGE),
        ),
        ModelsBody::Empty => http::json_bytes(StatusCode::OK, Vec::new()),
        ModelsBody::NotList => http::json(StatusCode::OK, &json!({ "models": entries(config) })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn ids(list: &Value) -> Vec<&str> {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn models_list_skips_unknown_models() {
        let config = Config {
            unknown_models: vec!["deepseek-v3.2".into()],
            ..Config::default()
        };
        let list = models_list(&config);
        assert_eq!(list["object"], "list");
        assert_eq!(
            ids(&list),
            [
                "gpt-4.1",
                "claude-sonnet-4.5",
                "gemini-2.5-flash",
                "some-batch-model"
            ]
        );
        assert_eq!(list["data"][0]["owned_by"], "openai");
        assert_eq!(list["data"][1]["owned_by"], "anthropic");
        assert_eq!(list["data"][0]["created"], 1_700_000_000);
    }

    #[test]
    fn model_ids_replace_and_extra_models_append() {
        let config = Config {
            model_ids: Some(vec!["only-a".into(), "only-b".into()]),
            extra_models: 3,
            unknown_models: vec!["extra-model-0002".into()],
            ..Config::default()
        };
        assert_eq!(
            model_ids(&config),
            ["only-a", "only-b", "extra-model-0001", "extra-model-0003"]
        );
        let many = Config {
            extra_models: 1001,
            ..Config::default()
        };
        let all = model_ids(&many);
        assert_eq!(all.len(), 1006);
        assert_eq!(all[5], "extra-model-0001");
        assert_eq!(all[1005], "extra-model-1001");
        let none = Config {
            model_ids: Some(Vec::new()),
            ..Config::default()
        };
        assert!(model_ids(&none).is_empty());
    }

    async fn body_of(config: &Config) -> (String, Vec<u8>) {
        let resp = response(config);
        assert_eq!(resp.status(), StatusCode::OK);
        let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (content_type, body)
    }

    #[tokio::test]
    async fn each_models_body() {
        let with = |models_body| Config {
            models_body,
            ..Config::default()
        };
        let (kind, body) = body_of(&with(ModelsBody::List)).await;
        assert_eq!(kind, "application/json");
        let list: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(ids(&list).len(), 5);

        let (kind, body) = body_of(&with(ModelsBody::Html)).await;
        assert_eq!(kind, "text/html; charset=utf-8");
        assert!(body.starts_with(b"<!DOCTYPE html>"));

        let (kind, body) = body_of(&with(ModelsBody::Empty)).await;
        assert_eq!(kind, "application/json");
        assert!(body.is_empty());

        let (_, body) = body_of(&with(ModelsBody::NotList)).await;
        let other: Value = serde_json::from_slice(&body).unwrap();
        assert!(other.get("object").is_none() && other.get("data").is_none());
        assert_eq!(other["models"][0]["id"], "gpt-4.1");
    }
}
