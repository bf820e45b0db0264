//! Answers the filter sends itself, always in OpenAI's error shape for errors, so a client's
//! SDK parses them like any relay error.

use log::warn;

use super::api::{Flow, Host};
use super::vm::Vm;
use crate::ai::openai_error::error_body;

pub const JSON: (&str, &[u8]) = ("content-type", b"application/json");

/// Sends `body` as a JSON answer; the callback then pauses (the stream is answered).
pub fn json<H: Host>(vm: &Vm<H>, status: u32, body: &str, extra: &[(&str, &[u8])]) -> Flow {
    let mut headers = Vec::with_capacity(1 + extra.len());
    headers.push(JSON);
    headers.extend_from_slice(extra);
    if let Err(err) = vm.host.send_response(status, &headers, body.as_bytes()) {
        warn!("sending a local {status} answer failed: {err}");
    }
    Flow::Pause
}

/// A server-side failure of the filter itself (`server_error`).
pub fn error<H: Host>(vm: &Vm<H>, status: u32, message: &str) -> Flow {
    json(
        vm,
        status,
        &error_body(message, "server_error", None, None),
        &[],
    )
}
