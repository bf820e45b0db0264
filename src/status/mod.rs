//! The status endpoint and the per-environment counters behind it and Envoy's stats.

pub mod access;
pub mod catalog_view;
pub mod counters;
mod number;
mod render;
pub mod shadow_view;
pub mod usage_view;
mod version;

pub use render::{render, rfc3339_utc, EnvironmentCounts, HealthView, StatusInput};
pub use version::version_id;
