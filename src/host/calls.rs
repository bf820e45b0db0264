//! Every host call the filter makes, in one place, with each `Status` turned into an `Option`
//! or a `bool` the callers must look at. Nothing here panics: header writes go to the ABI
//! directly, since the SDK's `set_map_value` panics on any status but `Ok` (Envoy answers
//! `BadArgument` to a header write outside the header phase), which would trap the VM.

use std::ptr::null_mut;
use std::time::{Duration, UNIX_EPOCH};

use log::{debug, warn};
use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType, Status};

use crate::routing::HeaderBlock;

pub fn response_header(name: &str) -> Option<Vec<u8>> {
    header(MapType::HttpResponseHeaders, name)
}

/// Every request header in one host call (a lookup per header would cost a call each).
/// Empty when the host refuses, so lookups then find nothing.
pub fn request_headers() -> HeaderBlock {
    header_block(MapType::HttpRequestHeaders)
}

/// Every response header in one host call, for callers that need more than one.
pub fn response_headers() -> HeaderBlock {
    header_block(MapType::HttpResponseHeaders)
}

fn header_block(map: MapType) -> HeaderBlock {
    let mut data: *mut u8 = null_mut();
    let mut size: usize = 0;
    // SAFETY: the host writes a buffer it allocated through this module's allocator
    // (`proxy_on_memory_allocate`), which this Vec then owns and frees.
    let status = unsafe { proxy_get_header_map_pairs(map as u32, &mut data, &mut size) };
    if status != 0 || data.is_null() {
        debug!("reading the {map:?} failed: status {status}");
        return HeaderBlock::new(Vec::new());
    }
    // SAFETY: see above; `size` bytes at `data` were allocated for us.
    HeaderBlock::new(unsafe { Vec::from_raw_parts(data, size, size) })
}

fn header(map: MapType, name: &str) -> Option<Vec<u8>> {
    hostcalls::get_map_value_bytes(map, name).unwrap_or_else(|status| {
        debug!("reading header {name} failed: {status:?}");
        None
    })
}

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_get_header_map_pairs(
        map_type: u32,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> u32;
    fn proxy_replace_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
}

/// Replaces (or creates) a request header. `false` when the host refused.
#[must_use]
pub fn set_request_header(name: &str, value: &str) -> bool {
    replace_header(MapType::HttpRequestHeaders, name, value)
}

#[must_use]
pub fn set_response_header(name: &str, value: &str) -> bool {
    replace_header(MapType::HttpResponseHeaders, name, value)
}

fn replace_header(map: MapType, name: &str, value: &str) -> bool {
    // SAFETY: pointers and lengths of live slices; the host copies them before returning.
    let status = unsafe {
        proxy_replace_header_map_value(
            map as u32,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    };
    if status != 0 {
        warn!("setting header {name} failed: status {status}");
    }
    status == 0
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
