//! The catalog check of one completion request: which requests it covers, and what their JSON
//! body may ask for. Reads only `model`, `max_tokens`, `max_completion_tokens` and `stream`;
//! serde skips everything else (prompts included) without building it.

use serde::Deserialize;
use serde_json::Value;

use crate::config::{ModelCatalog, ModelsConfig};
use crate::environment::Environment;
use crate::openai_error::error_body;

/// The OpenAI endpoints whose bodies name a model.
pub const COMPLETION_PATHS: [&[u8]; 2] = [b"/v1/chat/completions", b"/v1/completions"];

/// True for `POST` to a completion endpoint (query string ignored).
pub fn is_completion_path(path: &[u8]) -> bool {
    let without_query = path
        .iter()
        .position(|&b| b == b'?')
        .map_or(path, |at| &path[..at]);
    COMPLETION_PATHS.contains(&without_query)
}

/// Set by the listener filter on a request whose body it reads: Envoy's `buffer` filter and the
/// `route_after_body` instance run only when it is `1` (a matcher in the Envoy config), and the
/// latter removes it before the request leaves.
pub const BODY_CHECK_HEADER: &str = "x-relay-body-check";

/// Where a pinned model's request must go, as handed from the listener filter to the
/// `route_after_body` instance in filter state: `<env> <cluster header> <cluster>` (neither
/// name can hold a space).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyRoute<'a> {
    pub env: Environment,
    pub cluster_header: &'a str,
    pub cluster: &'a str,
}

impl BodyRoute<'_> {
    pub fn encode(&self) -> String {
        format!(
            "{} {} {}",
            self.env.as_str(),
            self.cluster_header,
            self.cluster
        )
    }

    pub fn decode(bytes: &[u8]) -> Option<BodyRoute<'_>> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut parts = text.split(' ');
        let env = Environment::from_bytes(parts.next()?.as_bytes())?;
        let cluster_header = parts.next().filter(|s| !s.is_empty())?;
        let cluster = parts.next().filter(|s| !s.is_empty())?;
        parts.next().is_none().then_some(BodyRoute {
            env,
            cluster_header,
            cluster,
        })
    }
}

/// A local answer in OpenAI's error shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u32,
    pub message: String,
    pub param: Option<&'static str>,
    pub code: Option<&'static str>,
}

impl Refusal {
    fn new(status: u32, message: String) -> Refusal {
        Refusal {
            status,
            message,
            param: None,
            code: None,
        }
    }

    pub fn body(&self) -> String {
        error_body(
            &self.message,
            "invalid_request_error",
            self.param,
            self.code,
        )
    }
}

/// 413 for a body over `max_request_body_bytes`.
pub fn too_large(limit: usize) -> Refusal {
    Refusal {
        code: Some("request_too_large"),
        ..Refusal::new(
            413,
            format!("The request body is larger than this relay accepts ({limit} bytes)."),
        )
    }
}

#[derive(Deserialize)]
struct Request {
    #[serde(default)]
    model: Option<Value>,
    #[serde(default)]
    max_tokens: Option<Value>,
    #[serde(default)]
    max_completion_tokens: Option<Value>,
    #[serde(default)]
    stream: Option<Value>,
}

/// Checks a whole request body. `Ok(Some(i))`: the request names catalog model `i`;
/// `Ok(None)`: it names no catalog model (only possible when not enforcing). With
/// `enforce_models` false nothing is ever refused: the body is only read for pinned models.
pub fn check_body(config: &ModelsConfig, body: &[u8]) -> Result<Option<usize>, Refusal> {
    let catalog = &config.catalog;
    let enforce = config.enforce_models;
    // serde would also read a JSON array into the struct, field by position.
    let is_object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let parsed = if is_object {
        serde_json::from_slice::<Request>(body).map_err(|err| err.to_string())
    } else {
        Err("expected a JSON object".to_string())
    };
    let request = match parsed {
        Ok(request) => request,
        Err(err) if enforce => {
            return Err(Refusal::new(
                400,
                format!(
                    "We could not parse the JSON body of your request ({}).",
                    without_position(&err)
                ),
            ))
        }
        Err(_) => return Ok(None),
    };
    let name = match &request.model {
        Some(Value::String(name)) => name.as_str(),
        _ if !enforce => return Ok(None),
        None | Some(Value::Null) => {
            return Err(Refusal {
                param: Some("model"),
                ..Refusal::new(400, "you must provide a model parameter".to_string())
            })
        }
        Some(_) => {
            return Err(Refusal {
                param: Some("model"),
                ..Refusal::new(400, "model must be a string".to_string())
            })
        }
    };
    let Some((index, spec)) = catalog.get(name) else {
        if !enforce {
            return Ok(None);
        }
        return Err(Refusal {
            code: Some("model_not_found"),
            ..Refusal::new(
                404,
                format!("The model `{name}` does not exist or you do not have access to it."),
            )
        });
    };
    if !enforce {
        return Ok(Some(index));
    }
    for (field, value) in [
        ("max_tokens", &request.max_tokens),
        ("max_completion_tokens", &request.max_completion_tokens),
    ] {
        // Only a number over the limit is ours to refuse; other shapes are the relay's to judge.
        let Some(asked) = value.as_ref().and_then(Value::as_f64) else {
            continue;
        };
        if asked > spec.max_tokens as f64 {
            let asked = value.as_ref().map(Value::to_string).unwrap_or_default();
            return Err(Refusal {
                param: Some("max_tokens"),
                ..Refusal::new(
                    400,
                    format!(
                        "{field} is too large: {asked}. The model `{name}` supports at most {} completion tokens, whereas you provided {asked}.",
                        spec.max_tokens
                    ),
                )
            });
        }
    }
    if request.stream == Some(Value::Bool(true)) && !spec.supports_streaming {
        return Err(Refusal {
            param: Some("stream"),
            ..Refusal::new(
                400,
                format!("The model `{name}` does not support streaming; send \"stream\": false."),
            )
        });
    }
    Ok(Some(index))
}

/// The catalog model a name means, if any.
pub fn catalog_index(catalog: &ModelCatalog, name: &str) -> Option<usize> {
    catalog.get(name).map(|(index, _)| index)
}

fn without_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |at| &message[..at])
}

#[cfg(test)]
#[path = "models_tests.rs"]
mod tests;
