//! The AI relay part of one request: the catalog check and pinned-model routing (when the body
//! must be read), then token usage from the answer and time to first byte. It decides; the
//! stream routes, answers and counts.
//!
//! Envoy facts this follows (measured, see docs/ai-relay.md): a filter that continued the
//! request headers can no longer change them, and the router picks the upstream as soon as the
//! headers reach it. So a request whose body is read is marked with `BODY_CHECK_HEADER`; a
//! `buffer` filter behind this one then holds the headers back from the router until this filter
//! has the whole body, and a second instance (`route_after_body`) applies a pinned model's
//! environment before the router runs. Other requests are never buffered.

use log::warn;

use super::api::{Buffer, Host, Map};
use super::vm::Vm;
use crate::ai::body_check::{
    check_body, is_completion_path, too_large, Refusal, BODY_CHECK_HEADER,
};
use crate::ai::meter::{cost_pico, Answered, OTHER};
use crate::ai::usage::{from_json_body, Seen, SseUsage, Usage};
use crate::config::ModelsConfig;
use crate::environment::Environment;
use crate::routing::Headers;

/// Largest JSON answer held to read its usage: well under Envoy's default 1 MiB buffer limit,
/// past which Envoy would fail the response. A bigger answer is counted without usage.
const MAX_JSON_ANSWER: usize = 256 * 1024;

/// What the request headers tell the stream to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadersStep {
    /// Routed as chosen: count it and continue.
    Go,
    /// Continue; the body decides (and the request is counted once it has).
    AwaitBody,
    /// Answer locally with this refusal.
    Refuse(Refusal),
}

/// What a piece of the request body tells the stream to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyStep {
    /// Not ours to look at: continue.
    Pass,
    /// Hold the body until its end.
    Wait,
    /// The body is fine; a pinned model sends it to `Some(env)` if that differs from its bucket's.
    Go {
        pinned: Option<Environment>,
    },
    Refuse(Refusal),
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
    /// The environment that served the answer.
    served_by: Option<Environment>,
    answer: Answer,
    /// Usage and cost (pico-USD) of the answer, once counted with usage.
    counted: Option<(Usage, u64)>,
}

impl AiStream {
    /// After the request was routed by its bucket.
    pub fn on_request_headers<H: Host>(
        &mut self,
        vm: &Vm<H>,
        models: &ModelsConfig,
        headers: &impl Headers,
        end_of_stream: bool,
    ) -> HeadersStep {
        // Metering (usage, cost, time to first byte) is on with a model catalog; without one,
        // requests pay nothing here.
        if models.catalog.is_empty() && !models.reads_request_body() {
            return HeadersStep::Go;
        }
        self.started_ms = vm.now_ms();
        if !headers.get(":path").is_some_and(is_completion_path)
            || headers.get(":method") != Some(b"POST".as_slice())
        {
            return HeadersStep::Go;
        }
        self.completion = true;
        if !models.reads_request_body() {
            return HeadersStep::Go;
        }
        if end_of_stream {
            return match check_body(models, b"") {
                Ok(_) => HeadersStep::Go,
                Err(refusal) => HeadersStep::Refuse(refusal),
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
            return HeadersStep::Refuse(too_large(models.max_request_body_bytes));
        }
        if let Err(err) = vm
            .host
            .replace_header(Map::RequestHeaders, BODY_CHECK_HEADER, b"1")
        {
            warn!("could not mark a request for its body check: {err}");
        }
        self.reading_body = true;
        HeadersStep::AwaitBody
    }

    /// `bucket_env` is where the request's bucket sent it.
    pub fn on_request_body<H: Host>(
        &mut self,
        vm: &Vm<H>,
        models: &ModelsConfig,
        bucket_env: Environment,
        body_size: usize,
        end_of_stream: bool,
    ) -> BodyStep {
        if !self.reading_body {
            return BodyStep::Pass;
        }
        if body_size > models.max_request_body_bytes {
            self.reading_body = false;
            return BodyStep::Refuse(too_large(models.max_request_body_bytes));
        }
        if !end_of_stream {
            return BodyStep::Wait;
        }
        self.reading_body = false;
        let body = match vm.host.buffer(Buffer::RequestBody, 0, body_size) {
            Ok(body) => body.unwrap_or_default(),
            Err(err) if models.enforce_models => {
                warn!("reading a request body failed: {err}");
                return BodyStep::Refuse(Refusal {
                    status: 500,
                    message: "the relay filter could not read the request body".to_string(),
                    param: None,
                    code: None,
                });
            }
            Err(_) => return BodyStep::Go { pinned: None },
        };
        match check_body(models, &body) {
            Err(refusal) => BodyStep::Refuse(refusal),
            Ok(model) => {
                self.model = model;
                let placed = model
                    .and_then(|index| models.catalog.by_index(index))
                    .map_or(bucket_env, |spec| spec.place(bucket_env));
                BodyStep::Go {
                    pinned: (placed != bucket_env).then_some(placed),
                }
            }
        }
    }

    /// Whether the stream holds the request body in Envoy's buffer until its end.
    pub fn holds_body(&self) -> bool {
        self.reading_body
    }

    /// The catalog model the request body named.
    pub fn model_name<'a>(&self, models: &'a ModelsConfig) -> Option<&'a str> {
        let spec = models.catalog.by_index(self.model?)?;
        Some(spec.name.as_str())
    }

    /// The answer's usage and cost, when it was counted with usage.
    pub fn counted(&self) -> Option<(Usage, u64)> {
        self.counted
    }

    /// Whether `on_response_headers` will look at more than `:status`.
    pub fn reads_answer_headers(&self) -> bool {
        self.completion
    }

    pub fn on_response_headers<H: Host>(
        &mut self,
        vm: &Vm<H>,
        env: Environment,
        status: Option<u32>,
        headers: &impl Headers,
        end_of_stream: bool,
    ) {
        if self.started_ms > 0 {
            let ttfb = vm.now_ms().saturating_sub(self.started_ms);
            vm.usage.borrow_mut().record_ttfb(&vm.host, env, ttfb);
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
            content_type
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        };
        if starts(b"text/event-stream") {
            self.answer = Answer::Sse(SseUsage::new());
        } else if starts(b"application/json") {
            self.answer = Answer::Json;
        }
    }

    /// Never holds a streamed chunk back: SSE pieces are read and passed on at once. Only a
    /// JSON answer is held (bounded) until it is complete; `true` asks the stream to wait.
    pub fn on_response_body<H: Host>(
        &mut self,
        vm: &Vm<H>,
        models: &ModelsConfig,
        body_size: usize,
        end_of_stream: bool,
    ) -> bool {
        let read = |size| vm.host.buffer(Buffer::ResponseBody, 0, size).ok().flatten();
        match &mut self.answer {
            Answer::Ignored => {}
            Answer::Plain => {
                if end_of_stream {
                    self.count(vm, models, Seen::default());
                }
            }
            Answer::Sse(parser) => {
                if body_size > 0 {
                    if let Some(piece) = read(body_size) {
                        parser.feed(&piece);
                    }
                }
                if end_of_stream {
                    self.finish(vm, models);
                }
            }
            Answer::Json => {
                if body_size > MAX_JSON_ANSWER {
                    self.count(vm, models, Seen::default());
                } else if !end_of_stream {
                    return true;
                } else {
                    let seen = read(body_size)
                        .map(|body| from_json_body(&body))
                        .unwrap_or_default();
                    self.count(vm, models, seen);
                }
            }
        }
        false
    }

    /// End of the stream (also after a reset): count an answer not counted yet.
    pub fn finish<H: Host>(&mut self, vm: &Vm<H>, models: &ModelsConfig) {
        let seen = match std::mem::take(&mut self.answer) {
            Answer::Ignored => return,
            Answer::Plain | Answer::Json => Seen::default(),
            Answer::Sse(parser) => {
                // Lines past the bound were passed on to the client but not read for usage.
                let skipped = parser.skipped_lines();
                if let (true, Some(env)) = (skipped > 0, self.served_by) {
                    let name = format!("bluegreen.{}.sse_lines_skipped", env.as_str());
                    vm.metrics
                        .borrow_mut()
                        .increment_named(&vm.host, &name, skipped);
                }
                parser.finish()
            }
        };
        self.count(vm, models, seen);
    }

    /// Counts the answer once: by the request's catalog model, else the answer's own model
    /// name if it is in the catalog, else `other`.
    fn count<H: Host>(&mut self, vm: &Vm<H>, models: &ModelsConfig, seen: Seen) {
        let Some(env) = self.served_by else { return };
        self.answer = Answer::Ignored;
        let catalog = &models.catalog;
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
        let cost = spec
            .and_then(|spec| spec.price)
            .map(|price| cost_pico(&price, usage.unwrap_or_default()));
        self.counted = usage.map(|usage| (usage, cost.unwrap_or(0)));
        vm.usage.borrow_mut().count(Answered {
            env,
            model: spec.map_or(OTHER, |spec| spec.name.as_str()),
            stat: spec.map_or(OTHER, |spec| spec.stat_name.as_str()),
            usage,
            cost_pico: cost,
        });
    }
}
