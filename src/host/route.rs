//! Applying a route to a request, in one place for the relay filter and the `route_after_body`
//! instance: the cluster header the Envoy route reads, the environment's key and
//! `x-environment`. A client-sent cluster header or key never survives: if any write is
//! refused, the request must not go on.
//!
//! No `clear_route_cache` call: every request-header write through the wasm ABI makes Envoy
//! clear the route cache itself (`Context::replaceHeaderMapValue` in Envoy's
//! `source/extensions/common/wasm/context.cc`), so the router picks the route again from the
//! header written here, also in the `route_after_body` instance after a route was cached
//! (tests/routing.rs and tests/models.rs check which relay answered). An explicit call would
//! only repeat that clear, for 5.9 k instructions per request (BENCHMARKS.md, "Profile").

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
    set(route.cluster_header, route.cluster)
        && set("authorization", route.authorization)
        && set("x-environment", route.env.as_str())
}
