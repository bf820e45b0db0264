//! The relay (data) listener: an OpenAI-compatible API with injected failures.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, ALLOW};
use hyper::http::request::Parts;
use hyper::{Method, Request, StatusCode};
use serde_json::Value;

use crate::config::{ChatBody, Config, StreamUsage};
use crate::http::{self, Resp};
use crate::openai::{Answer, CompletionKind};
use crate::state::AppState;
use crate::usage::Usage;
use crate::{models, sse, sse_faults, stream};

const X_MOCK_RELAY: HeaderName = HeaderName::from_static("x-mock-relay");
const X_MOCK_USAGE: &str = "x-mock-usage";

/// Entry point for one relay request: record it, answer it, count it.
pub async fn serve_request(state: Arc<AppState>, req: Request<Incoming>) -> Resp {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let mut resp = match http::read_body(body).await {
        Ok(body) => {
            state.log.record(&parts, &body);
            respond(&state, &parts, &body).await
        }
        Err(resp) => resp,
    };
    resp.headers_mut()
        .insert(X_MOCK_RELAY, state.name_header.clone());
    // A connection closed without an answer has no status; stats call it "closed".
    let status = resp.status();
    let outcome = if http::is_close_without_answer(&resp) {
        "closed"
    } else {
        status.as_str()
    };
    state.log.count(parts.uri.path(), outcome);
    if state.verbose {
        eprintln!(
            "{} {} {} {} {}ms",
            state.name,
            parts.method,
            parts.uri.path(),
            outcome,
            started.elapsed().as_millis()
        );
    }
    resp
}

async fn respond(state: &AppState, parts: &Parts, body: &Bytes) -> Resp {
    let config = state.config();
    if config.hang_ms > 0 {
        sleep_ms(config.hang_ms).await;
        return http::close_without_answer();
    }
    if config.latency_ms > 0 {
        sleep_ms(config.latency_ms).await;
    }
    let path = parts.uri.path();
    let kind = match path {
        "/v1/models" if parts.method == Method::GET => return models(&config),
        "/v1/models" => return method_not_allowed(parts, "GET"),
        "/v1/chat/completions" => CompletionKind::Chat,
        "/v1/completions" => CompletionKind::Text,
        _ => return invalid_url(parts),
    };
    if parts.method != Method::POST {
        return method_not_allowed(parts, "POST");
    }
    if config.first_byte_delay_ms > 0 {
        sleep_ms(config.first_byte_delay_ms).await;
    }
    completion(state, &config, parts, body, kind)
}

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

fn models(config: &Config) -> Resp {
    match injected_failure(config.models_status) {
        Some(failure) => failure,
        None => models::response(config),
    }
}

fn completion(
    state: &AppState,
    config: &Config,
    parts: &Parts,
    body: &[u8],
    kind: CompletionKind,
) -> Resp {
    if let Some(failure) = injected_failure(config.chat_status) {
        return failure;
    }
    if config.chat_error_every > 0
        && state
            .next_completion_number()
            .is_multiple_of(config.chat_error_every)
    {
        if let Some(failure) = injected_failure(config.chat_error_status) {
            return failure;
        }
    }
    let request: Value = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(e) => return bad_request(&format!("request body is not valid JSON: {e}")),
    };
    let Some(model) = request.get("model").and_then(Value::as_str) else {
        return bad_request("you must provide a model parameter");
    };
    if config.is_unknown_model(model) {
        return http::openai_error(
            StatusCode::NOT_FOUND,
            &format!("The model `{model}` does not exist or you do not have access to it."),
            Some("model_not_found"),
        );
    }
    let usage = match parts.headers.get(X_MOCK_USAGE) {
        None => Usage::for_request(&request, kind, config.completion_tokens),
        Some(header) => match header.to_str().ok().and_then(Usage::from_override) {
            Some(usage) => usage,
            None => return bad_request("x-mock-usage must be `PROMPT,COMPLETION`"),
        },
    };
    if config.chat_body == ChatBody::Empty {
        return http::json_bytes(StatusCode::OK, Vec::new());
    }
    let number = state.next_answer_number();
    let answer = Answer::new(kind, number, unix_secs(), model, &state.name, usage);
    if request.get("stream").and_then(Value::as_bool) != Some(true) {
        return http::json(StatusCode::OK, &answer.completion());
    }
    let send_usage = match config.stream_usage {
        StreamUsage::Always => true,
        StreamUsage::Never => false,
        StreamUsage::Requested => {
            request.pointer("/stream_options/include_usage") == Some(&Value::Bool(true))
        }
    };
    let mut events = sse::answer_events(&answer, config.chunks, send_usage);
    let content_chunks = config.chunks as usize;
    let cut = sse_faults::apply(&mut events, content_chunks, config);
    stream::sse_response(stream::plan(events, config, number), cut)
}

/// The injected error for a configured status, or None to answer normally.
fn injected_failure(status: u16) -> Option<Resp> {
    if status == 200 {
        return None;
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Some(http::openai_error(status, "mock failure", None))
}

fn bad_request(message: &str) -> Resp {
    http::openai_error(StatusCode::BAD_REQUEST, message, None)
}

/// OpenAI's answer for a path it does not serve.
fn invalid_url(parts: &Parts) -> Resp {
    let message = format!("Invalid URL ({} {})", parts.method, parts.uri.path());
    http::openai_error(StatusCode::NOT_FOUND, &message, None)
}

fn method_not_allowed(parts: &Parts, allow: &'static str) -> Resp {
    let message = format!(
        "Method {} not allowed on {}",
        parts.method,
        parts.uri.path()
    );
    let mut resp = http::openai_error(StatusCode::METHOD_NOT_ALLOWED, &message, None);
    resp.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    resp
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
#[path = "relay_tests.rs"]
mod tests;
