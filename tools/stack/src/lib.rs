//! Harness that runs the real Envoy + bluegreen-relay wasm filter in front of two
//! mock relays, for the integration tests, `stack demo` and `stack load`.

// A harness fails a test by panicking, with a message saying what went wrong;
// returning errors through every helper would only move the unwrap into each test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bucket;
mod certs;
mod curl;
mod ecds;
mod envoy;
mod fleet;
mod http;
pub mod load;
mod local_ip;
mod mock;
mod paths;
mod poll;
mod raw_http;
mod relayctl;
mod rundir;
mod running;
mod stack;
mod tls_stack;

pub use bucket::expected_env;
pub use certs::{TestCerts, RELAY_HOST};
pub use curl::{curl_http2_missing, Curl, CurlResp, CurlStream};
pub use ecds::{default_config_for, failover_config, EcdsStack, ECDS_RESOURCE};
pub use envoy::{render, validate, Envoy, EnvoyExit};
pub use fleet::{stop_load, Fleet, PrometheusServer};
pub use http::{Http, Resp};
pub use load::{stack_bin, LoadBucket, LoadRecord, LoadReport, LoadRun, LoadSpec, LoadSummary};
pub use local_ip::non_loopback_ipv4;
pub use mock::{MockRelay, RecordedRequest};
pub use paths::{envoy_bin, mock_relay_bin, repo_root, template, wasm_path};
pub use poll::poll_until;
pub use raw_http::{chunked, raw_exchange, raw_head, raw_send_and_close, RawResp};
pub use relayctl::{relayctl_bin, run_relayctl, RelayctlRun};
pub use running::RunningStack;
pub use stack::{body_stage, body_stage_yaml, Stack, BLUE_KEY, CHAT_BODY, GREEN_KEY};
pub use tls_stack::{TlsSpec, TlsStack};
