//! The module as the second filter instance in the listener, behind Envoy's `buffer` filter:
//! its request headers callback runs only after the first instance read the whole body (Envoy
//! holds the headers back from the router until then), so it can still change them. It applies a
//! pinned model's environment — cluster header, route cache, key, `x-environment` — and removes
//! the body-check marker. An Envoy matcher runs it only for marked requests.

use log::warn;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;

use crate::ai::body_check::{BodyRoute, BODY_CHECK_HEADER};
use crate::ai::openai_error::error_body;

use super::{ai_calls, calls, keys, shared, vm};

pub struct RouteAfterBody;

impl Context for RouteAfterBody {}

impl HttpContext for RouteAfterBody {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let _removed = ai_calls::remove_request_header(BODY_CHECK_HEADER);
        let Some(bytes) = ai_calls::body_route() else {
            return Action::Continue;
        };
        let Ok(route) = crate::record::decode::<BodyRoute>(&bytes) else {
            warn!("ignoring an unreadable body route in filter state");
            return Action::Continue;
        };
        // The relay filter publishes each environment's `Bearer <key>` in shared data.
        let key = shared::get(&keys::authorization(route.env))
            .0
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let Some(key) = key else {
            return fail(503, "relay key not available yet");
        };
        if !calls::set_request_header(&route.cluster_header, &route.cluster) {
            return fail(500, "the relay filter could not route the request");
        }
        vm::clear_route_cache();
        let keyed = calls::set_request_header("authorization", &key)
            && calls::set_request_header("x-environment", route.env.as_str());
        if !keyed {
            return fail(500, "the relay filter could not set the key");
        }
        ai_calls::set_body_route_applied();
        Action::Continue
    }
}

fn fail(status: u32, message: &str) -> Action {
    let body = error_body(message, "server_error", None, None);
    calls::send_response(
        status,
        &[("content-type", "application/json")],
        body.as_bytes(),
    );
    Action::Pause
}
