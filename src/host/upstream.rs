//! The module as an upstream HTTP filter on a failover (aggregate) cluster. Envoy runs upstream
//! filters once per attempt, after the host is picked, so a retry that the aggregate cluster
//! sends to the other environment carries that environment's key, and the answer is labelled
//! with the environment that served it. The environment comes from the endpoint's metadata
//! `filter_metadata.bluegreen.environment` (or a fixed one from the configuration).

use std::cell::RefCell;

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;

use crate::environment::Environment;

use super::{calls, keys, shared};

thread_local! {
    /// `Bearer <key>` per environment, as the relay filter last published it.
    static AUTHORIZATION: RefCell<[Option<String>; 2]> = const { RefCell::new([None, None]) };
}

/// The relay filter's side: publish each environment's ready-made authorization value. Shared
/// data lives in Envoy's memory only, for the VMs of this `vm_id`.
pub fn publish_keys(values: [&str; 2]) {
    for env in Environment::ALL {
        shared::set(&keys::authorization(env), values[env.index()].as_bytes());
    }
}

/// The upstream filter's side, on its timer: re-read the published values.
pub fn refresh_keys() {
    for env in Environment::ALL {
        let value = shared::get(&keys::authorization(env))
            .0
            .and_then(|bytes| String::from_utf8(bytes).ok());
        if value.is_some() {
            AUTHORIZATION.with(|slot| slot.borrow_mut()[env.index()] = value);
        }
    }
}

fn authorization(env: Environment) -> Option<String> {
    if let Some(value) = AUTHORIZATION.with(|slot| slot.borrow()[env.index()].clone()) {
        return Some(value);
    }
    refresh_keys();
    AUTHORIZATION.with(|slot| slot.borrow()[env.index()].clone())
}

/// The environment of the host this attempt reached.
fn attempt_environment() -> Option<Environment> {
    let path = vec![
        "xds",
        "upstream_host_metadata",
        "filter_metadata",
        "bluegreen",
        "environment",
    ];
    proxy_wasm::hostcalls::get_property(path)
        .ok()
        .flatten()
        .and_then(|value| Environment::from_bytes(&value))
}

pub struct UpstreamStream {
    fixed: Option<Environment>,
    env: Option<Environment>,
}

impl UpstreamStream {
    pub fn new(fixed: Option<Environment>) -> UpstreamStream {
        UpstreamStream { fixed, env: None }
    }
}

impl Context for UpstreamStream {}

impl HttpContext for UpstreamStream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(env) = self.fixed.or_else(attempt_environment) else {
            calls::send_response(503, &[("content-type", "application/json")], br#"{"error":{"message":"upstream host has no bluegreen.environment metadata","type":"server_error","param":null,"code":null}}"#);
            return Action::Pause;
        };
        self.env = Some(env);
        let Some(value) = authorization(env) else {
            // No key published yet: never let the client's or the other environment's key through.
            calls::send_response(503, &[("content-type", "application/json")], br#"{"error":{"message":"relay key not available yet","type":"server_error","param":null,"code":null}}"#);
            return Action::Pause;
        };
        let ok = calls::set_request_header("authorization", &value)
            && calls::set_request_header("x-environment", env.as_str());
        if !ok {
            calls::send_response(500, &[("content-type", "application/json")], br#"{"error":{"message":"the relay filter could not set the key","type":"server_error","param":null,"code":null}}"#);
            return Action::Pause;
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let Some(env) = self.env {
            let _labelled = calls::set_response_header("x-relay-environment", env.as_str());
        }
        Action::Continue
    }
}
