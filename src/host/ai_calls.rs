//! Host calls of the AI relay part (request and response bodies, the filter state the two
//! listener instances share), each `Status` turned into an `Option` or a `bool`.
//!
//! Two calls go to the ABI directly: the SDK's `set_property` and `remove_map_value` panic on
//! any status but `Ok` — and Envoy answers `BadArgument` to a request-header write once the
//! headers went on, which would trap the VM (fail-closed: 503 for the whole worker).

use log::{debug, warn};
use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType};

/// Filter-state key (`wasm.bluegreen_body_route`) the listener filter writes and the
/// `route_after_body` instance reads.
const BODY_ROUTE: &str = "bluegreen_body_route";

const STATUS_OK: u32 = 0;

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_set_property(
        path_data: *const u8,
        path_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_remove_header_map_value(map_type: u32, key_data: *const u8, key_size: usize) -> u32;
}

/// The buffered request body (the whole body once paused until end of stream).
pub fn request_body(size: usize) -> Option<Vec<u8>> {
    buffer(BufferType::HttpRequestBody, size)
}

/// This callback's piece of the response body (or all of it while paused).
pub fn response_body(size: usize) -> Option<Vec<u8>> {
    buffer(BufferType::HttpResponseBody, size)
}

fn buffer(kind: BufferType, size: usize) -> Option<Vec<u8>> {
    if size == 0 {
        return Some(Vec::new());
    }
    hostcalls::get_buffer(kind, 0, size).unwrap_or_else(|status| {
        debug!("reading a body buffer failed: {status:?}");
        None
    })
}

/// Set by `route_after_body` once it applied the body's route.
const BODY_ROUTE_APPLIED: &str = "bluegreen_body_route_applied";

/// Hands the body's routing decision to the `route_after_body` instance.
#[must_use]
pub fn set_body_route(value: &[u8]) -> bool {
    set_property(BODY_ROUTE, value)
}

pub fn body_route() -> Option<Vec<u8>> {
    property(BODY_ROUTE)
}

pub fn set_body_route_applied() {
    let _acknowledged = set_property(BODY_ROUTE_APPLIED, b"1");
}

pub fn body_route_applied() -> bool {
    property(BODY_ROUTE_APPLIED).is_some()
}

fn set_property(name: &str, value: &[u8]) -> bool {
    // SAFETY: pointers and lengths of live slices; the host copies them before returning.
    let status =
        unsafe { proxy_set_property(name.as_ptr(), name.len(), value.as_ptr(), value.len()) };
    if status != STATUS_OK {
        warn!("setting filter state {name} failed: status {status}");
    }
    status == STATUS_OK
}

fn property(name: &str) -> Option<Vec<u8>> {
    hostcalls::get_property(vec![name]).unwrap_or_else(|status| {
        debug!("reading filter state {name} failed: {status:?}");
        None
    })
}

/// Removes a request header; `false` when the host refused (e.g. the headers went on).
pub fn remove_request_header(name: &str) -> bool {
    // SAFETY: as above.
    let status = unsafe {
        proxy_remove_header_map_value(
            MapType::HttpRequestHeaders as u32,
            name.as_ptr(),
            name.len(),
        )
    };
    if status != STATUS_OK {
        debug!("removing request header {name} failed: status {status}");
    }
    status == STATUS_OK
}
