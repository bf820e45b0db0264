//! One HTTP request: choose the environment, rewrite cluster and key, label the answer.

use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;

use crate::ai::openai_error::error_body;
use crate::environment::Environment;
use crate::routing::{choose_environment, is_status_path};
use crate::routing::{HeaderBlock, Headers, OneHeader, SomeHeaders};
use crate::status::counters::{parse_status, Counter};
use crate::status::{render, StatusInput};

use super::ai_stream::{AiStream, HeadersStep};
use super::runtime::Runtime;
use super::{ai_metrics, calls, metrics, rollback_window, routing_state, vm};

const JSON: (&str, &str) = ("content-type", "application/json");

pub struct RelayStream {
    runtime: Option<Rc<Runtime>>,
    /// Where this request went; `None` for requests the filter answered itself.
    env: Option<Environment>,
    /// Catalog check, pinned models, token usage (`ai_stream.rs`).
    ai: AiStream,
}

impl RelayStream {
    pub fn new(runtime: Option<Rc<Runtime>>) -> RelayStream {
        RelayStream {
            runtime,
            env: None,
            ai: AiStream::new(),
        }
    }

    /// Rewrites the request for `env`. `false` if the host refused a header, in which case the
    /// request must not go on: a client-sent cluster header or key could otherwise survive.
    fn route_to(runtime: &Runtime, env: Environment) -> bool {
        let target = runtime.config.environment(env);
        if !calls::set_request_header(&runtime.config.cluster_header, &target.route_cluster) {
            return false;
        }
        vm::clear_route_cache();
        calls::set_request_header("authorization", target.api_key.authorization())
            && calls::set_request_header("x-environment", env.as_str())
    }

    /// With failover clusters the upstream filter labels the answer with the environment that
    /// really served it (a retry may have moved it); otherwise it is the one chosen here.
    fn serving_environment(
        &self,
        failover: bool,
        headers: &dyn Headers,
        chosen: Environment,
    ) -> Environment {
        if failover {
            if let Some(env) = headers
                .get("x-relay-environment")
                .and_then(Environment::from_bytes)
            {
                return env;
            }
        }
        let _labelled = calls::set_response_header("x-relay-environment", chosen.as_str());
        chosen
    }

    /// The answer's headers in as few host calls as this stream needs: `:status` alone for a
    /// plain request, the whole map when more than one header will be read.
    fn response_headers(&self, failover: bool) -> SomeHeaders {
        if failover || self.ai.reads_answer_headers() {
            SomeHeaders::All(calls::response_headers())
        } else {
            SomeHeaders::One(OneHeader {
                name: ":status",
                value: calls::response_header(":status"),
            })
        }
    }

    fn answer_status(runtime: &Runtime, headers: &HeaderBlock) {
        let method = headers.get(":method").unwrap_or_default();
        if method != b"GET" && method != b"HEAD" {
            let body = error_body(
                "the status endpoint only answers GET",
                "invalid_request_error",
                None,
                None,
            );
            calls::send_response(405, &[JSON, ("allow", "GET, HEAD")], body.as_bytes());
            return;
        }
        metrics::flush();
        // Read the shared health now rather than at the last tick, so that any worker answers
        // with the verdicts the prober last published.
        routing_state::refresh(runtime, calls::now_ms(), false);
        let body = render(&StatusInput {
            config: &runtime.config,
            effective: runtime.split.get(),
            counts: metrics::totals(),
            health: &runtime.health.borrow(),
            usage: &ai_metrics::totals(&runtime.config.models.catalog),
            loaded_at_ms: runtime.loaded_at_ms,
            now_ms: calls::now_ms(),
        });
        // The version header lets a tool see which configuration answered without parsing JSON.
        let version = runtime.config.version.as_deref().unwrap_or("");
        calls::send_response(
            200,
            &[
                JSON,
                ("cache-control", "no-store"),
                ("x-relay-config-version", version),
            ],
            body.as_bytes(),
        );
    }
}

impl Context for RelayStream {}

impl HttpContext for RelayStream {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let Some(runtime) = self.runtime.clone() else {
            let body = error_body(
                "the relay filter has no configuration",
                "server_error",
                None,
                None,
            );
            calls::send_response(503, &[JSON], body.as_bytes());
            return Action::Pause;
        };
        let headers = calls::request_headers();
        if headers
            .get(":path")
            .is_some_and(|path| is_status_path(&runtime.config, path))
        {
            Self::answer_status(&runtime, &headers);
            return Action::Pause;
        }
        let (env, _reason) = choose_environment(
            &runtime.config,
            runtime.split.get(),
            &headers,
            &mut vm::keyless_bucket,
        );
        if !Self::route_to(&runtime, env) {
            let body = error_body(
                "the relay filter could not route the request",
                "server_error",
                None,
                None,
            );
            calls::send_response(500, &[JSON], body.as_bytes());
            return Action::Pause;
        }
        self.env = Some(env);
        match self
            .ai
            .on_request_headers(&runtime, env, &headers, end_of_stream)
        {
            HeadersStep::Go => metrics::count(env, Counter::Requests),
            // Counted once the body decided the environment.
            HeadersStep::Wait => {}
            HeadersStep::Answered => return Action::Pause,
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        match self.runtime.as_deref() {
            Some(runtime) => {
                self.ai
                    .on_request_body(runtime, &mut self.env, body_size, end_of_stream)
            }
            None => Action::Continue,
        }
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        match self.runtime.as_deref() {
            Some(runtime) => self.ai.on_response_body(runtime, body_size, end_of_stream),
            None => Action::Continue,
        }
    }

    fn on_log(&mut self) {
        if let Some(runtime) = self.runtime.as_deref() {
            self.ai.on_log(runtime);
        }
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if let Some(chosen) = self.env {
            let failover = self.runtime.as_ref().is_some_and(|rt| rt.failover);
            let headers = self.response_headers(failover);
            let env = self.serving_environment(failover, &headers, self.ai.confirmed(chosen));
            let status = headers.get(":status").and_then(parse_status);
            self.ai
                .on_response_headers(env, status, &headers, end_of_stream);
            let class = status.and_then(Counter::for_status);
            if let Some(class) = class {
                metrics::count(env, class);
            }
            if let Some(runtime) = &self.runtime {
                if runtime.config.auto_rollback.is_some() && env != runtime.config.active {
                    rollback_window::count(class == Some(Counter::Responses5xx));
                }
            }
        }
        Action::Continue
    }
}
