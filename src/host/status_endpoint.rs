//! The status endpoint, answered by the filter itself and never forwarded, to those allowed to
//! read it (`status::access`).

use super::api::Flow;
use super::api::Host;
use super::local;
use super::runtime::Runtime;
use super::vm::Vm;
use super::{keys, routing_state, shared};
use crate::ai::openai_error::error_body;
use crate::ai::traffic::ModelTraffic;
use crate::config::Config;
use crate::environment::Environment;
use crate::record;
use crate::routing::Headers;
use crate::shadow::stats::ShadowComparison;
use crate::status::access::{decide, Access};
use crate::status::catalog_view::CatalogInput;
use crate::status::{render, StatusInput};

pub fn answer<H: Host>(vm: &Vm<H>, runtime: &Runtime, headers: &impl Headers) -> Flow {
    let token = runtime.config.status_token.as_ref();
    // The peer is asked for only when it decides.
    let peer = match token {
        Some(_) => None,
        None => vm.host.property(&["source", "address"]).ok().flatten(),
    };
    match decide(token, headers.get("authorization"), peer.as_deref()) {
        Access::Allowed => {}
        Access::Unauthorized => {
            let body = error_body(
                "the status endpoint needs `authorization: Bearer <status token>`",
                "invalid_request_error",
                None,
                Some("invalid_api_key"),
            );
            return local::json(vm, 401, &body, &[("www-authenticate", b"Bearer")]);
        }
        Access::Forbidden => {
            let body = error_body(
                "the status endpoint answers only loopback peers when no status token is \
                 configured (set status_token_env, or use a port-forward)",
                "invalid_request_error",
                None,
                Some("forbidden"),
            );
            return local::json(vm, 403, &body, &[]);
        }
    }
    let method = headers.get(":method").unwrap_or_default();
    if method != b"GET" && method != b"HEAD" {
        let body = error_body(
            "the status endpoint only answers GET",
            "invalid_request_error",
            None,
            None,
        );
        return local::json(vm, 405, &body, &[("allow", b"GET, HEAD")]);
    }
    vm.flush();
    let now = vm.now_ms();
    let config = &runtime.config;
    if config.health_check.is_some() && asks_for_model_probes(headers.get(":path")) {
        // `relayctl validate`: the next probe round runs the model probes and reads the lists.
        shared::set(&vm.host, keys::PROBE_REQUEST, &record::encode(&now));
    }
    let catalog = catalog_input(vm, config, now);
    let candidate = config.active.other();
    let shadow: Option<ShadowComparison> = config.shadow.map(|_| {
        let key = keys::shadow(candidate, &config.environment(candidate).cluster);
        shared::read(&vm.host, &key).unwrap_or_default()
    });
    // Read the shared health now rather than at the last tick, so that any worker answers
    // with the verdicts the prober last published.
    routing_state::refresh(vm, runtime, now, false);
    let counts = vm.metrics.borrow().totals(&vm.host);
    let usage = vm
        .usage
        .borrow_mut()
        .totals(&vm.host, &runtime.config.models.catalog);
    let body = render(&StatusInput {
        config: &runtime.config,
        effective: runtime.split.get(),
        counts,
        health: &runtime.health.borrow(),
        usage: &usage,
        catalog: &catalog,
        shadow: shadow.as_ref(),
        loaded_at_ms: runtime.loaded_at_ms,
        now_ms: now,
    });
    // The version header lets a tool see which configuration answered without parsing JSON.
    let version = runtime.config.version.as_deref().unwrap_or("");
    local::json(
        vm,
        200,
        &body,
        &[
            ("cache-control", b"no-store"),
            ("x-relay-config-version", version.as_bytes()),
        ],
    )
}

/// `?probe=models` in the status request's query.
fn asks_for_model_probes(path: Option<&[u8]>) -> bool {
    let Some(path) = path else { return false };
    let Some(at) = path.iter().position(|&b| b == b'?') else {
        return false;
    };
    path.get(at + 1..)
        .unwrap_or_default()
        .split(|&b| b == b'&')
        .any(|pair| pair == b"probe=models")
}

fn catalog_input<H: Host>(vm: &Vm<H>, config: &Config, now_ms: u64) -> CatalogInput {
    let catalogs = Environment::ALL.map(|env| {
        let key = keys::catalog(env, &config.environment(env).cluster);
        shared::read(&vm.host, &key).unwrap_or_default()
    });
    let traffic: ModelTraffic = shared::read(&vm.host, keys::MODEL_TRAFFIC).unwrap_or_default();
    let (traffic_total, shares) = traffic.shares(now_ms);
    CatalogInput {
        catalogs,
        traffic_total,
        traffic_shares: shares
            .into_iter()
            .map(|(model, share)| (model.to_string(), share))
            .collect(),
    }
}
