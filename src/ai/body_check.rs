//! The catalog check of one completion request: which requests it covers, and what their JSON
//! body may ask for. Reads only `model`, `max_tokens`, `max_completion_tokens` and `stream`
//! in one pass over the body; everything else (prompts included) is checked and skipped,
//! never copied.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::ai::openai_error::error_body;
use crate::ai::raw_field::{self, Text};
use crate::config::number::scaled;
use crate::config::{ModelCatalog, ModelsConfig};
use crate::environment::Environment;

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
/// `route_after_body` instance in filter state (encoded with `crate::record`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyRoute {
    pub env: Environment,
    pub cluster_header: String,
    pub cluster: String,
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

/// The fields read from a request body, each as its raw text (`None` when absent or `null`);
/// serde skips every other field without building it, and refuses a read field given twice.
#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    /// Number texts, judged exactly (other types are the relay's to judge).
    #[serde(borrow)]
    max_tokens: Option<&'a RawValue>,
    #[serde(borrow)]
    max_completion_tokens: Option<&'a RawValue>,
    #[serde(borrow)]
    stream: Option<&'a RawValue>,
}

impl<'a> Request<'a> {
    /// A whole body: one JSON object in UTF-8, nothing after it.
    fn read(body: &'a [u8]) -> Result<Request<'a>, String> {
        if !raw_field::is_object(body) {
            return Err("expected a JSON object".to_string());
        }
        // serde_json checks UTF-8 only in the strings it returns; a client gets one clear reason.
        if std::str::from_utf8(body).is_err() {
            return Err("invalid UTF-8".to_string());
        }
        serde_json::from_slice(body).map_err(|err| raw_field::reason(&err))
    }
}

/// True when the JSON number `text` is above `limit` (exactly, without floats).
fn exceeds(text: &str, limit: u64) -> bool {
    scaled(text, 0).is_some_and(|n| {
        !n.negative
            && n.whole
                .is_none_or(|whole| whole > limit || (whole == limit && !n.exact))
    })
}

/// Checks a whole request body. `Ok(Some(i))`: the request names catalog model `i`;
/// `Ok(None)`: it names no catalog model (only possible when not enforcing). With
/// `enforce_models` false nothing is ever refused: the body is only read for pinned models.
pub fn check_body(config: &ModelsConfig, body: &[u8]) -> Result<Option<usize>, Refusal> {
    let catalog = &config.catalog;
    let enforce = config.enforce_models;
    let parse_error = |reason: String| {
        Refusal::new(
            400,
            format!("We could not parse the JSON body of your request ({reason})."),
        )
    };
    let request = match Request::read(body) {
        Ok(request) => request,
        Err(reason) if enforce => return Err(parse_error(reason)),
        Err(_) => return Ok(None),
    };
    let name = match request.model.map(raw_field::text) {
        Some(Ok(Text::Str(name))) => name,
        _ if !enforce => return Ok(None),
        Some(Err(err)) => return Err(parse_error(raw_field::reason(&err))),
        None => {
            return Err(Refusal {
                param: Some("model"),
                ..Refusal::new(400, "you must provide a model parameter".to_string())
            })
        }
        Some(Ok(Text::NotAString)) => {
            return Err(Refusal {
                param: Some("model"),
                ..Refusal::new(400, "model must be a string".to_string())
            })
        }
    };
    let name = name.as_ref();
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
    for (field, asked) in [
        ("max_tokens", request.max_tokens),
        ("max_completion_tokens", request.max_completion_tokens),
    ] {
        // Only a number over the limit is ours to refuse; other shapes are the relay's to judge.
        let Some(asked) = asked
            .map(RawValue::get)
            .filter(|asked| exceeds(asked, spec.max_tokens))
        else {
            continue;
        };
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
    let stream = request.stream.is_some_and(|raw| raw.get() == "true");
    if stream && !spec.supports_streaming {
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

#[cfg(test)]
#[path = "body_check_tests.rs"]
mod tests;
