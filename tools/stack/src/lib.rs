//! Harness that runs the real Envoy + bluegreen-relay wasm filter in front of two
//! mock relays, for the integration tests, `stack demo` and `stack load`.

// A harness fails a test by panicking, with a message saying what went wrong;
// returning errors through every helper would only move the unwrap into each test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bucket;
mod ecds;
mod envoy;
mod fleet;
mod http;
pub mod load;
mod mock;
mod paths;
mod poll;
mod relayctl;
mod rundir;
mod running;
mod stack;

pub use bucket::expected_env;
pub use ecds::{default_config_for, failover_config, EcdsStack, ECDS_RESOURCE};
pub use envoy::{render, validate, Envoy, EnvoyExit};
pub use fleet::{Fleet, PrometheusServer};
pub use http::{Http, Resp};
pub use load::{stack_bin, LoadBucket, LoadRecord, LoadReport, LoadRun, LoadSpec, LoadSummary};
pub use mock::{MockRelay, RecordedRequest};
pub use paths::{envoy_bin, mock_relay_bin, repo_root, template, wasm_path};
pub use poll::poll_until;
pub use relayctl::{relayctl_bin, run_relayctl, RelayctlRun};
pub use running::RunningStack;
pub use stack::{body_stage, body_stage_yaml, Stack, BLUE_KEY, CHAT_BODY, GREEN_KEY};
