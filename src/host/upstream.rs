//! The module as an upstream HTTP filter on a failover (aggregate) cluster. Envoy runs upstream
//! filters once per attempt, after the host is picked, so a retry that the aggregate cluster
//! sends to the other environment carries that environment's key, and the answer is labelled
//! with the environment that served it. The environment comes from the endpoint's metadata
//! `filter_metadata.bluegreen.environment` (or a fixed one from the configuration).

use std::rc::Rc;

use log::warn;

use super::api::{Flow, Host, Map};
use super::vm::Vm;
use super::{keys, local, shared};
use crate::environment::Environment;

const HOST_METADATA: [&str; 5] = [
    "xds",
    "upstream_host_metadata",
    "filter_metadata",
    "bluegreen",
    "environment",
];

/// The relay filter's side: publish each environment's ready-made authorization value. Shared
/// data lives in Envoy's memory only, for the VMs of this `vm_id`.
pub fn publish_keys(host: &impl Host, values: [&str; 2]) {
    for env in Environment::ALL {
        shared::set(
            host,
            &keys::authorization(env),
            values[env.index()].as_bytes(),
        );
    }
}

/// The upstream filter's side, on its timer: re-read the published values.
pub fn refresh_keys<H: Host>(vm: &Vm<H>) {
    for env in Environment::ALL {
        let value = shared::get(&vm.host, &keys::authorization(env))
            .0
            .and_then(|bytes| String::from_utf8(bytes).ok());
        if value.is_some() {
            vm.upstream_keys.borrow_mut()[env.index()] = value;
        }
    }
}

fn authorization<H: Host>(vm: &Vm<H>, env: Environment) -> Option<String> {
    let cached = vm.upstream_keys.borrow()[env.index()].clone();
    if cached.is_some() {
        return cached;
    }
    refresh_keys(vm);
    vm.upstream_keys.borrow()[env.index()].clone()
}

pub struct UpstreamStream<H: Host> {
    vm: Rc<Vm<H>>,
    fixed: Option<Environment>,
    env: Option<Environment>,
}

impl<H: Host> UpstreamStream<H> {
    pub fn new(vm: Rc<Vm<H>>, fixed: Option<Environment>) -> UpstreamStream<H> {
        UpstreamStream {
            vm,
            fixed,
            env: None,
        }
    }

    /// The environment of the host this attempt reached.
    fn attempt_environment(&self) -> Option<Environment> {
        self.vm
            .host
            .property(&HOST_METADATA)
            .ok()
            .flatten()
            .and_then(|value| Environment::from_bytes(&value))
    }

    pub fn on_request_headers(&mut self) -> Flow {
        let vm = &*self.vm;
        let Some(env) = self.fixed.or_else(|| self.attempt_environment()) else {
            return local::error(
                vm,
                503,
                "upstream host has no bluegreen.environment metadata",
            );
        };
        self.env = Some(env);
        let Some(value) = authorization(vm, env) else {
            // No key published yet: never let the client's or the other environment's key through.
            return local::error(vm, 503, "relay key not available yet");
        };
        let set = |name: &str, value: &[u8]| {
            vm.host
                .replace_header(Map::RequestHeaders, name, value)
                .map_err(|err| warn!("setting header {name} failed: {err}"))
                .is_ok()
        };
        if !(set("authorization", value.as_bytes())
            && set("x-environment", env.as_str().as_bytes()))
        {
            return local::error(vm, 500, "the relay filter could not set the key");
        }
        Flow::Continue
    }

    pub fn on_response_headers(&mut self) -> Flow {
        if let Some(env) = self.env {
            let labelled = self.vm.host.replace_header(
                Map::ResponseHeaders,
                "x-relay-environment",
                env.as_str().as_bytes(),
            );
            if let Err(err) = labelled {
                warn!("labelling an answer failed: {err}");
            }
        }
        Flow::Continue
    }
}
