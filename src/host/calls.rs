//! Every host call the filter makes, in one place, with each `Status` turned into an `Option`
//! or a `bool` the callers must look at. Nothing here panics.

use std::time::{Duration, UNIX_EPOCH};

use log::{debug, warn};
use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType, Status};

pub fn request_header(name: &str) -> Option<Vec<u8>> {
    header(MapType::HttpRequestHeaders, name)
}

pub fn response_header(name: &str) -> Option<Vec<u8>> {
    header(MapType::HttpResponseHeaders, name)
}

fn header(map: MapType, name: &str) -> Option<Vec<u8>> {
    hostcalls::get_map_value_bytes(map, name).unwrap_or_else(|status| {
        debug!("reading header {name} failed: {status:?}");
        None
    })
}

/// Replaces (or creates) a request header. `false` when the host refused.
#[must_use]
pub fn set_request_header(name: &str, value: &str) -> bool {
    ok(
        hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value)),
        "setting request header",
        name,
    )
}

#[must_use]
pub fn set_response_header(name: &str, value: &str) -> bool {
    ok(
        hostcalls::set_map_value(MapType::HttpResponseHeaders, name, Some(value)),
        "setting response header",
        name,
    )
}

fn ok(result: Result<(), Status>, what: &str, name: &str) -> bool {
    match result {
        Ok(()) => true,
        Err(status) => {
            warn!("{what} {name} failed: {status:?}");
            false
        }
    }
}

/// Asks Envoy to pick the route again after the cluster header changed. Returns whether the
/// host has the function, so callers can stop asking a host that lacks it.
pub fn clear_route_cache() -> bool {
    match hostcalls::call_foreign_function("clear_route_cache", None) {
        Ok(_) => true,
        Err(Status::NotFound) => false,
        Err(status) => {
            debug!("clear_route_cache failed: {status:?}");
            true
        }
    }
}

/// Answers the request from the filter; the caller then returns `Action::Pause`.
pub fn send_response(status: u32, headers: &[(&str, &str)], body: &[u8]) {
    if let Err(err) = hostcalls::send_http_response(status, headers.to_vec(), Some(body)) {
        warn!("sending a local {status} response failed: {err:?}");
    }
}

pub fn plugin_configuration() -> Option<Vec<u8>> {
    match hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX) {
        Ok(bytes) => bytes,
        Err(status) => {
            warn!("reading the plugin configuration failed: {status:?}");
            None
        }
    }
}

/// Host wall-clock time in Unix milliseconds (0 if the host cannot tell).
pub fn now_ms() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as u64)
}

pub fn set_tick_period(period: Duration) {
    if let Err(status) = hostcalls::set_tick_period(period) {
        warn!("setting the timer failed: {status:?}");
    }
}
