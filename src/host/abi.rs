//! `Host` over the raw proxy-wasm ABI (v0.2.1): the functions Envoy exports to the module, each
//! status turned into a `HostResult`. This is the only file with `extern "C"` imports; nothing
//! here can trap, whatever status Envoy answers.

use std::ptr::{null, null_mut};

use super::api::{Buffer, Host, HostError, HostResult, Map, MetricKind, Shared};
use crate::routing::headers::serialize as serialize_pairs;

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32;
    fn proxy_get_log_level(return_level: *mut u32) -> u32;
    fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
    fn proxy_set_tick_period_milliseconds(period: u32) -> u32;
    fn proxy_get_buffer_bytes(
        buffer_type: u32,
        start: usize,
        max_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_pairs(
        map_type: u32,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_replace_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_remove_header_map_value(map_type: u32, key_data: *const u8, key_size: usize) -> u32;
    fn proxy_send_local_response(
        status_code: u32,
        details_data: *const u8,
        details_size: usize,
        body_data: *const u8,
        body_size: usize,
        headers_data: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
    fn proxy_get_property(
        path_data: *const u8,
        path_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_set_property(
        path_data: *const u8,
        path_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_get_shared_data(
        key_data: *const u8,
        key_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
        return_cas: *mut u32,
    ) -> u32;
    fn proxy_set_shared_data(
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
        cas: u32,
    ) -> u32;
    fn proxy_http_call(
        upstream_data: *const u8,
        upstream_size: usize,
        headers_data: *const u8,
        headers_size: usize,
        body_data: *const u8,
        body_size: usize,
        trailers_data: *const u8,
        trailers_size: usize,
        timeout_ms: u32,
        return_token: *mut u32,
    ) -> u32;
    fn proxy_register_shared_queue(
        name_data: *const u8,
        name_size: usize,
        return_queue_id: *mut u32,
    ) -> u32;
    fn proxy_enqueue_shared_queue(queue_id: u32, value_data: *const u8, value_size: usize) -> u32;
    fn proxy_dequeue_shared_queue(
        queue_id: u32,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
    ) -> u32;
    fn proxy_define_metric(
        metric_type: u32,
        name_data: *const u8,
        name_size: usize,
        return_id: *mut u32,
    ) -> u32;
    fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32;
    fn proxy_record_metric(metric_id: u32, value: u64) -> u32;
    fn proxy_get_metric(metric_id: u32, return_value: *mut u64) -> u32;
    fn proxy_call_foreign_function(
        name_data: *const u8,
        name_size: usize,
        args_data: *const u8,
        args_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
}

/// The host of this VM. A unit value: every call goes to the context Envoy is calling back.
#[derive(Debug, Clone, Copy, Default)]
pub struct AbiHost;

fn check(status: u32) -> HostResult<()> {
    match HostError::from_status(status) {
        None => Ok(()),
        Some(err) => Err(err),
    }
}

/// Takes ownership of bytes the host allocated through `proxy_on_memory_allocate`.
///
/// SAFETY: `data` is null, or `size` bytes that the host allocated with this module's
/// allocator for the caller, which now owns them (the ABI's contract).
unsafe fn owned(data: *mut u8, size: usize) -> Option<Vec<u8>> {
    if data.is_null() {
        return None;
    }
    Some(Vec::from_raw_parts(data, size, size))
}

/// A call that hands back host-allocated bytes: `NotFound` reads as `None`.
fn returned(call: impl FnOnce(*mut *mut u8, *mut usize) -> u32) -> HostResult<Option<Vec<u8>>> {
    let mut data: *mut u8 = null_mut();
    let mut size: usize = 0;
    match HostError::from_status(call(&mut data, &mut size)) {
        // SAFETY: see `owned`.
        None => Ok(unsafe { owned(data, size) }),
        Some(HostError::NotFound) => Ok(None),
        Some(err) => Err(err),
    }
}

impl AbiHost {
    /// Envoy's log level for this module (0 trace … 5 critical).
    pub fn log_level(&self) -> HostResult<u32> {
        let mut level = 0;
        // SAFETY: a pointer to a live u32 the host writes.
        check(unsafe { proxy_get_log_level(&mut level) })?;
        Ok(level)
    }
}

impl Host for AbiHost {
    fn now_ms(&self) -> HostResult<u64> {
        let mut nanos = 0u64;
        // SAFETY: a pointer to a live u64 the host writes.
        check(unsafe { proxy_get_current_time_nanoseconds(&mut nanos) })?;
        Ok(nanos / 1_000_000)
    }

    fn set_tick_period_ms(&self, period_ms: u32) -> HostResult<()> {
        // SAFETY: no pointers.
        check(unsafe { proxy_set_tick_period_milliseconds(period_ms) })
    }

    fn buffer(&self, kind: Buffer, start: usize, max_size: usize) -> HostResult<Option<Vec<u8>>> {
        // SAFETY: out-pointers to live locals (see `returned`).
        returned(|data, size| unsafe {
            proxy_get_buffer_bytes(kind as u32, start, max_size, data, size)
        })
    }

    fn header_pairs(&self, map: Map) -> HostResult<Vec<u8>> {
        // SAFETY: as above.
        let pairs =
            returned(|data, size| unsafe { proxy_get_header_map_pairs(map as u32, data, size) })?;
        Ok(pairs.unwrap_or_default())
    }

    fn header(&self, map: Map, name: &str) -> HostResult<Option<Vec<u8>>> {
        // SAFETY: `name` is a live slice the host copies; out-pointers as above.
        returned(|data, size| unsafe {
            proxy_get_header_map_value(map as u32, name.as_ptr(), name.len(), data, size)
        })
    }

    fn replace_header(&self, map: Map, name: &str, value: &[u8]) -> HostResult<()> {
        // SAFETY: live slices the host copies before returning.
        check(unsafe {
            proxy_replace_header_map_value(
                map as u32,
                name.as_ptr(),
                name.len(),
                value.as_ptr(),
                value.len(),
            )
        })
    }

    fn remove_header(&self, map: Map, name: &str) -> HostResult<()> {
        // SAFETY: as above.
        check(unsafe { proxy_remove_header_map_value(map as u32, name.as_ptr(), name.len()) })
    }

    fn send_response(&self, status: u32, headers: &[(&str, &[u8])], body: &[u8]) -> HostResult<()> {
        let headers = serialize_pairs(headers);
        // SAFETY: as above; no details, no gRPC status (-1).
        check(unsafe {
            proxy_send_local_response(
                status,
                null(),
                0,
                body.as_ptr(),
                body.len(),
                headers.as_ptr(),
                headers.len(),
                -1,
            )
        })
    }

    fn property(&self, path: &[&str]) -> HostResult<Option<Vec<u8>>> {
        let path = path.join("\0");
        // SAFETY: as above.
        returned(|data, size| unsafe { proxy_get_property(path.as_ptr(), path.len(), data, size) })
    }

    fn set_property(&self, path: &[&str], value: &[u8]) -> HostResult<()> {
        let path = path.join("\0");
        // SAFETY: as above.
        check(unsafe { proxy_set_property(path.as_ptr(), path.len(), value.as_ptr(), value.len()) })
    }

    fn shared_data(&self, key: &str) -> HostResult<Shared> {
        let mut data: *mut u8 = null_mut();
        let mut size: usize = 0;
        let mut cas: u32 = 0;
        // SAFETY: as above.
        let status = unsafe {
            proxy_get_shared_data(key.as_ptr(), key.len(), &mut data, &mut size, &mut cas)
        };
        match HostError::from_status(status) {
            // SAFETY: see `owned`.
            None => Ok((unsafe { owned(data, size) }, (cas != 0).then_some(cas))),
            Some(HostError::NotFound) => Ok((None, None)),
            Some(err) => Err(err),
        }
    }

    fn set_shared_data(&self, key: &str, value: &[u8], cas: Option<u32>) -> HostResult<()> {
        // SAFETY: as above.
        check(unsafe {
            proxy_set_shared_data(
                key.as_ptr(),
                key.len(),
                value.as_ptr(),
                value.len(),
                cas.unwrap_or(0),
            )
        })
    }

    fn http_call(
        &self,
        cluster: &str,
        headers: &[(&str, &[u8])],
        body: &[u8],
        timeout_ms: u32,
    ) -> HostResult<u32> {
        let headers = serialize_pairs(headers);
        let trailers = serialize_pairs(&[]);
        let mut token = 0;
        // SAFETY: as above.
        check(unsafe {
            proxy_http_call(
                cluster.as_ptr(),
                cluster.len(),
                headers.as_ptr(),
                headers.len(),
                body.as_ptr(),
                body.len(),
                trailers.as_ptr(),
                trailers.len(),
                timeout_ms,
                &mut token,
            )
        })?;
        Ok(token)
    }

    fn register_shared_queue(&self, name: &str) -> HostResult<u32> {
        let mut id = 0;
        // SAFETY: a live slice the host copies; a pointer to a live u32 it writes.
        check(unsafe { proxy_register_shared_queue(name.as_ptr(), name.len(), &mut id) })?;
        Ok(id)
    }

    fn enqueue_shared_queue(&self, queue_id: u32, value: &[u8]) -> HostResult<()> {
        // SAFETY: a live slice the host copies.
        check(unsafe { proxy_enqueue_shared_queue(queue_id, value.as_ptr(), value.len()) })
    }

    fn dequeue_shared_queue(&self, queue_id: u32) -> HostResult<Option<Vec<u8>>> {
        // SAFETY: out-pointers as above.
        match returned(|data, size| unsafe { proxy_dequeue_shared_queue(queue_id, data, size) }) {
            Err(HostError::Empty) => Ok(None),
            other => other,
        }
    }

    fn define_metric(&self, kind: MetricKind, name: &str) -> HostResult<u32> {
        let mut id = 0;
        // SAFETY: as above.
        check(unsafe { proxy_define_metric(kind as u32, name.as_ptr(), name.len(), &mut id) })?;
        Ok(id)
    }

    fn increment_metric(&self, id: u32, delta: i64) -> HostResult<()> {
        // SAFETY: no pointers.
        check(unsafe { proxy_increment_metric(id, delta) })
    }

    fn record_metric(&self, id: u32, value: u64) -> HostResult<()> {
        // SAFETY: no pointers.
        check(unsafe { proxy_record_metric(id, value) })
    }

    fn metric(&self, id: u32) -> HostResult<u64> {
        let mut value = 0;
        // SAFETY: a pointer to a live u64 the host writes.
        check(unsafe { proxy_get_metric(id, &mut value) })?;
        Ok(value)
    }

    fn call_foreign_function(&self, name: &str, args: &[u8]) -> HostResult<Option<Vec<u8>>> {
        let mut data: *mut u8 = null_mut();
        let mut size: usize = 0;
        // SAFETY: as above.
        let status = unsafe {
            proxy_call_foreign_function(
                name.as_ptr(),
                name.len(),
                args.as_ptr(),
                args.len(),
                &mut data,
                &mut size,
            )
        };
        check(status)?;
        // SAFETY: see `owned`.
        Ok(unsafe { owned(data, size) })
    }

    fn log(&self, level: log::Level, message: &str) -> HostResult<()> {
        let level = match level {
            log::Level::Trace => 0,
            log::Level::Debug => 1,
            log::Level::Info => 2,
            log::Level::Warn => 3,
            log::Level::Error => 4,
        };
        // SAFETY: a live slice the host copies.
        check(unsafe { proxy_log(level, message.as_ptr(), message.len()) })
    }
}
