//! bluegreen-relay: a proxy-wasm HTTP filter for sticky blue/green and canary releases of an
//! OpenAI-compatible AI relay.
//!
//! Everything that decides something lives in pure modules (no `proxy_wasm` import) that are
//! unit-tested natively; `host` only reads inputs from Envoy, calls the core and applies the result.

pub mod config;
pub mod counters;
pub mod decimal;
pub mod decision;
pub mod environment;
pub mod header_block;
pub mod health;
pub mod json;
pub mod json_writer;
pub mod lease;
pub mod models;
pub mod openai_error;
pub mod policy;
pub mod probe_plan;
pub mod record;
pub mod rollback;
pub mod routing;
pub mod secret;
pub mod status;
pub mod usage;
pub mod usage_counts;
pub mod usage_view;

#[cfg(target_arch = "wasm32")]
mod host;
