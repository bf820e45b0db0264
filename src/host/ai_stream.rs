//! The AI relay part of one request: the catalog check and pinned-model routing (when the body
//! must be read), then token usage from the answer and time to first byte.
//!
//! Envoy facts this follows (measured, see docs/ai-relay.md): a filter that continued the
//! request headers can no longer change them, and the router picks the upstream as soon as the
//! headers reach it. So a request whose body is read is marked with `BODY_CHECK_HEADER`; a
//! `buffer` filter behind this one then holds the headers back from the router until this filter
//! has the whole body, and a second instance (`route_after_body`) applies a pinned model's
//! environment before the router runs. Other requests are never buffered.

use log::warn;
use proxy_wasm::types::Action;

use crate::ai::body_check::{
    check_body, is_completion_path, too_large, BodyRoute, Refusal, BODY_CHECK_HEADER,
};
use crate::ai::meter::{cost_pico, Answered, OTHER};
use crate::ai::usage::{from_json_body, Seen, SseUsage};
use crate::environment::Environment;
use crate::routing::Headers;
use crate::status::counters::Counter;

use super::runtime::Runtime;
use super::{ai_calls, ai_metrics, calls, metrics};

/// Largest JSON answer held to read its usage: well under Envoy's default 1 MiB buffer limit,
/// past which Envoy would fail the response. A bigger answer is counted without usage.
const MAX_JSON_ANSWER: usize = 256 * 1024;

/// What the stream step told the caller to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadersStep {
    /// Count the request now and continue.
    Go,
    /// Continue; the request is counted once the body decided where it goes.
    Wait,
    /// A local answer was sent (and counted): pause.
    Answered,
}

#[derive(Debug, Default)]
enum Answer {
    /// Not a completion answer we count (or already counted).
    #[default]
    Ignored,
    /// A 2xx completion answer without a readable body (no usage to read).
    Plain,
    Json,
    Sse(SseUsage),
}

#[derive(Debug, Default)]
pub struct AiStream {
    started_ms: u64,
    /// `POST` to a completion endpoint.
    completion: bool,
    reading_body: bool,
    /// The catalog model the request body named.
    model: Option<usize>,
    /// Where a pinned model moved the request (confirmed by `route_after_body`).
    moved: Option<Environment>,
    /// The environment that served the answer.
    served_by: Option<Environment>,
    answer: Answer,
}

impl AiStream {
    pub fn new() -> AiStream {
        AiStream::default()
    }

    /// After the request was routed to `env` by its bucket.
    pub fn on_request_headers(
        &mut self,
        runtime: &Runtime,
        env: Environment,
        headers: &dyn Headers,
        end_of_stream: bool,
    ) -> HeadersStep {
        let models = &runtime.config.models;
        // Metering (usage, cost, time to first byte) is on with a model catalog; without one,
        // requests pay nothing here.
        if models.catalog.is_empty() && !models.reads_request_body() {
            return HeadersStep::Go;
        }
        self.started_ms = calls::now_ms();
        if !headers.get(":path").is_some_and(is_completion_path) {
            return HeadersStep::Go;
        }
        if headers.get(":method") != Some(b"POST".as_slice()) {
            return HeadersStep::Go;
        }
        self.completion = true;
        if !models.reads_request_body() {
            return HeadersStep::Go;
        }
        if end_of_stream {
            return match check_body(models, b"") {
                Ok(_) => HeadersStep::Go,
                Err(refusal) => refuse(env, &refusal),
            };
        }
        let announced = headers.get("content-length").and_then(|value| {
            std::str::from_utf8(value)
                .ok()?
                .trim()
                .parse::<usize>()
                .ok()
        });
        if announced.is_some_and(|len| len > models.max_request_body_bytes) {
            return refuse(env, &too_large(models.max_request_body_bytes));
        }
        if !calls::set_request_header(BODY_CHECK_HEADER, "1") {
            warn!("could not mark a request for its body check");
        }
        self.reading_body = true;
        HeadersStep::Wait
    }

    /// `env` is the bucket's environment; it changes when a pinned model moves the request.
    pub fn on_request_body(
        &mut self,
        runtime: &Runtime,
        env: &mut Option<Environment>,
        body_size: usize,
        end_of_stream: bool,
    ) -> Action {
        if !self.reading_body {
            return Action::Continue;
        }
        let Some(bucket_env) = *env else {
            return Action::Continue;
        };
        let models = &runtime.config.models;
        if body_size > models.max_request_body_bytes {
            self.reading_body = false;
            refuse(bucket_env, &too_large(models.max_request_body_bytes));
            return Action::Pause;
        }
        if !end_of_stream {
            return Action::Pause;
        }
        self.reading_body = false;
        let Some(body) = ai_calls::request_body(body_size) else {
            if models.enforce_models {
                let refusal = Refusal {
                    status: 500,
                    message: "the relay filter could not read the request body".to_string(),
                    param: None,
                    code: None,
                };
                refuse(bucket_env, &refusal);
                return Action::Pause;
            }
            metrics::count(bucket_env, Counter::Requests);
            return Action::Continue;
        };
        match check_body(models, &body) {
            Err(refusal) => {
                refuse(bucket_env, &refusal);
                Action::Pause
            }
            Ok(model) => {
                self.model = model;
                let placed = model
                    .and_then(|index| models.catalog.by_index(index))
                    .map_or(bucket_env, |spec| spec.place(bucket_env));
                if placed != bucket_env && self.hand_over(runtime, placed) {
                    self.moved = Some(placed);
                    *env = Some(placed);
                }
                metrics::count(env.unwrap_or(bucket_env), Counter::Requests);
                Action::Continue
            }
        }
    }

    fn hand_over(&self, runtime: &Runtime, env: Environment) -> bool {
        let route = BodyRoute {
            env,
            cluster_header: runtime.config.cluster_header.clone(),
            cluster: runtime.config.environment(env).route_cluster.clone(),
        };
        ai_calls::set_body_route(&crate::record::encode(&route))
    }

    /// The environment to label the answer with: a move the second instance did not confirm
    /// did not happen (the Envoy config lacks it).
    pub fn confirmed(&self, chosen: Environment) -> Environment {
        match self.moved {
            Some(moved) if moved == chosen && !ai_calls::body_route_applied() => {
                warn!(
                    "a pinned model could not be routed to {}: add the buffer filter and the \
                     route_after_body instance behind this filter (docs/ai-relay.md)",
                    moved.as_str()
                );
                moved.other()
            }
            _ => chosen,
        }
    }

    /// Whether `on_response_headers` will look at more than `:status`.
    pub fn reads_answer_headers(&self) -> bool {
        self.completion
    }

    pub fn on_response_headers(
        &mut self,
        env: Environment,
        status: Option<u32>,
        headers: &dyn Headers,
        end_of_stream: bool,
    ) {
        if self.started_ms > 0 {
            ai_metrics::record_ttfb(env, calls::now_ms().saturating_sub(self.started_ms));
        }
        if !self.completion || !status.is_some_and(|s| (200..300).contains(&s)) {
            return;
        }
        self.served_by = Some(env);
        self.answer = Answer::Plain;
        if end_of_stream {
            return;
        }
        let encoded = headers
            .get("content-encoding")
            .is_some_and(|value| !value.eq_ignore_ascii_case(b"identity"));
        if encoded {
            return;
        }
        let content_type = headers.get("content-type").unwrap_or_default();
        let starts = |prefix: &[u8]| {
            content_type.len() >= prefix.len()
                && content_type[..prefix.len()].eq_ignore_ascii_case(prefix)
        };
        if starts(b"text/event-stream") {
            self.answer = Answer::Sse(SseUsage::new());
        } else if starts(b"application/json") {
            self.answer = Answer::Json;
        }
    }

    /// Never holds a streamed chunk back: SSE pieces are read and passed on at once. Only a
    /// JSON answer is held (bounded) until it is complete.
    pub fn on_response_body(
        &mut self,
        runtime: &Runtime,
        body_size: usize,
        end_of_stream: bool,
    ) -> Action {
        match &mut self.answer {
            Answer::Ignored => {}
            Answer::Plain => {
                if end_of_stream {
                    self.count(runtime, Seen::default());
                }
            }
            Answer::Sse(parser) => {
                if let Some(piece) = ai_calls::response_body(body_size) {
                    parser.feed(&piece);
                }
                if end_of_stream {
                    self.finish(runtime);
                }
            }
            Answer::Json => {
                if body_size > MAX_JSON_ANSWER {
                    self.count(runtime, Seen::default());
                } else if !end_of_stream {
                    return Action::Pause;
                } else {
                    let seen = ai_calls::response_body(body_size)
                        .map(|body| from_json_body(&body))
                        .unwrap_or_default();
                    self.count(runtime, seen);
                }
            }
        }
        Action::Continue
    }

    /// End of the stream (also after a reset): count an answer not counted yet.
    pub fn on_log(&mut self, runtime: &Runtime) {
        self.finish(runtime);
    }

    fn finish(&mut self, runtime: &Runtime) {
        let seen = match std::mem::take(&mut self.answer) {
            Answer::Ignored => return,
            Answer::Plain | Answer::Json => Seen::default(),
            Answer::Sse(parser) => parser.finish(),
        };
        self.count(runtime, seen);
    }

    /// Counts the answer once: by the request's catalog model, else the answer's own model
    /// name if it is in the catalog, else `other`.
    fn count(&mut self, runtime: &Runtime, seen: Seen) {
        let Some(env) = self.served_by else { return };
        self.answer = Answer::Ignored;
        let catalog = &runtime.config.models.catalog;
        let spec = self
            .model
            .and_then(|index| catalog.by_index(index))
            .or_else(|| {
                seen.model
                    .as_deref()
                    .and_then(|name| catalog.get(name))
                    .map(|(_, spec)| spec)
            });
        let usage = seen.usage;
        ai_metrics::count(Answered {
            env,
            stat: spec.map_or(OTHER, |spec| spec.stat_name.as_str()),
            usage,
            cost_pico: spec
                .and_then(|spec| spec.price)
                .map(|price| cost_pico(&price, usage.unwrap_or_default())),
        });
    }
}

/// Answers locally and counts the request for the environment it was addressed to.
fn refuse(env: Environment, refusal: &Refusal) -> HeadersStep {
    metrics::count(env, Counter::Requests);
    calls::send_response(
        refusal.status,
        &[("content-type", "application/json")],
        refusal.body().as_bytes(),
    );
    HeadersStep::Answered
}
