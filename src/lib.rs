//! bluegreen-relay: a proxy-wasm HTTP filter for sticky blue/green and canary releases of an
//! OpenAI-compatible AI relay.
//!
//! Everything that decides something lives in pure modules that never talk to Envoy
//! (`config`, `routing`, `health`, `ai`, `status`, `record`); `host` reads inputs from Envoy
//! through one `Host` trait, calls the core and applies the result.

pub mod ai;
pub mod config;
pub mod environment;
pub mod health;
pub mod host;
pub mod record;
pub mod routing;
pub mod secret;
pub mod shadow;
pub mod status;
