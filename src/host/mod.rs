//! The thin host layer: reads inputs from Envoy, calls the pure core, applies its decision.
//! Every call into Envoy goes through the `Host` trait (`api.rs`); `abi.rs` implements it over
//! the raw proxy-wasm ABI and `exports.rs` is the module's side of that ABI, so no SDK code
//! that could trap sits between Envoy and the filter. The contexts are generic over `Host`, and
//! native tests drive them with a fake host (`fake.rs`).

#[cfg(target_arch = "wasm32")]
mod abi;
mod ai_stream;
pub mod api;
#[cfg(target_arch = "wasm32")]
mod exports;
mod filter_state;
mod keys;
mod local;
#[cfg(target_arch = "wasm32")]
mod logger;
mod metrics;
mod passive;
mod probe;
mod rollback_window;
pub mod root;
mod route;
mod route_after_body;
mod routing_state;
mod runtime;
mod shadow;
mod shadow_capture;
mod shared;
mod status_endpoint;
mod stream;
mod upstream;
mod usage_metrics;
pub mod vm;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

pub use api::{Buffer, Flow, Host, HostError, HostResult, Map, MetricKind};
pub use root::{Root, Stream, TICK_MS};
pub use vm::Vm;
