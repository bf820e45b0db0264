//! The status endpoint and the per-environment counters behind it and Envoy's stats.

pub mod counters;
mod number;
mod render;
pub mod usage_view;

pub use render::{render, rfc3339_utc, EnvironmentCounts, HealthView, StatusInput};
