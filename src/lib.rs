//! bluegreen-relay: a proxy-wasm HTTP filter for sticky blue/green and canary releases of an
//! OpenAI-compatible AI relay.
//!
//! Everything that decides something lives in pure modules (no `proxy_wasm` import) that are
//! unit-tested natively; `host` only reads inputs from Envoy, calls the core and applies the result.

pub mod ai;
pub mod config;
pub mod environment;
pub mod health;
pub mod json;
pub mod record;
pub mod routing;
pub mod secret;
pub mod status;

#[cfg(target_arch = "wasm32")]
mod host;
