//! Applying a route to a request, in one place for the relay filter and the `route_after_body`
//! instance: the cluster header the Envoy route reads, the route cache, the environment's key
//! and `x-environment`. A client-sent cluster header or key never survives: if any write is
//! refused, the request must not go on.

use super::api::{Host, Map};
use super::vm::Vm;
use crate::environment::Environment;

pub struct Route<'a> {
    pub env: Environment,
    pub cluster_header: &'a str,
    pub cluster: &'a str,
    /// `Bearer <key>` of `env`.
    pub authorization: &'a str,
}

/// Rewrites the request headers for `route`; `false` if the host refused a write.
#[must_use]
pub fn apply<H: Host>(vm: &Vm<H>, route: &Route<'_>) -> bool {
    let host = &vm.host;
    let set = |name: &str, value: &str| {
        host.replace_header(Map::RequestHeaders, name, value.as_bytes())
            .map_err(|err| log::warn!("setting header {name} failed: {err}"))
            .is_ok()
    };
    if !set(route.cluster_header, route.cluster) {
        return false;
    }
    vm.clear_route_cache();
    set("authorization", route.authorization) && set("x-environment", route.env.as_str())
}
