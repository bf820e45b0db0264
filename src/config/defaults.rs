//! Every default of the plugin configuration, in one place: serde fills absent fields from
//! these, and relayctl and the test harness read them here instead of restating them.
//! Values are what a configuration would say (`"blue"`, `5000`); a number whose text a rule
//! reads (`max_error_rate`, `max_request_body_bytes`) is given as the value that rule yields.

/// `active`.
pub fn active() -> String {
    "blue".to_string()
}

/// `affinity_headers`.
pub fn affinity_headers() -> Vec<String> {
    vec!["x-request-id".to_string()]
}

/// `cluster_header`.
pub fn cluster_header() -> String {
    "x-relay-cluster".to_string()
}

/// `status_path`.
pub fn status_path() -> String {
    "/relay/status".to_string()
}

/// `max_request_body_bytes`: 1 MiB.
pub fn max_request_body_bytes() -> u64 {
    1024 * 1024
}

/// `health_check.interval_ms`.
pub fn interval_ms() -> u64 {
    5000
}

/// `health_check.timeout_ms`.
pub fn timeout_ms() -> u64 {
    2000
}

/// `health_check.path`.
pub fn health_path() -> String {
    "/v1/models".to_string()
}

/// `health_check.unhealthy_threshold`.
pub fn unhealthy_threshold() -> u64 {
    2
}

/// `health_check.healthy_threshold`.
pub fn healthy_threshold() -> u64 {
    1
}

/// `health_check.probe_max_tokens`: 16, since reasoning models fail `max_tokens: 1`.
pub fn probe_max_tokens() -> u64 {
    16
}

/// `health_check.model_probe_interval_ms`: 5 minutes (a chat probe costs tokens).
pub fn model_probe_interval_ms() -> u64 {
    300_000
}

/// `auto_rollback.max_error_rate`.
pub fn max_error_rate() -> f64 {
    0.05
}

/// `auto_rollback.min_requests`.
pub fn min_requests() -> u64 {
    20
}

/// `auto_rollback.window_ms`.
pub fn window_ms() -> u64 {
    60_000
}

/// `auto_rollback.cooldown_ms`.
pub fn cooldown_ms() -> u64 {
    300_000
}

/// `shadow.max_per_second`.
pub fn shadow_max_per_second() -> u64 {
    20
}

/// `shadow.max_body_bytes`: 256 KiB.
pub fn shadow_max_body_bytes() -> u64 {
    256 * 1024
}
