//! The `Host` trait: every call the filter makes into Envoy, each answering a `Result` the caller
//! must look at. It is implemented once over the raw proxy-wasm ABI (`abi.rs`) and once by a
//! fake for native tests (`fake.rs`). The contexts are generic over it, so the hot path pays no
//! dynamic dispatch and the same code runs in Envoy and in `cargo test`.

use std::fmt;

/// A header map the filter can read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Map {
    RequestHeaders = 0,
    ResponseHeaders = 2,
    /// The headers of an answer to our own `http_call`.
    HttpCallResponseHeaders = 6,
}

/// A byte buffer the filter can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Buffer {
    RequestBody = 0,
    ResponseBody = 1,
    HttpCallResponseBody = 4,
    PluginConfiguration = 7,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter = 0,
    Gauge = 1,
    Histogram = 2,
}

/// What a stream callback tells Envoy to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue = 0,
    /// Stop iteration: the filter answered locally, or waits for more of the body.
    Pause = 1,
}

/// A proxy-wasm status other than `Ok`. Envoy answers some calls with statuses the SDK's
/// wrappers do not expect (e.g. `BadArgument` to a header write after the headers went on);
/// here every one of them is a value, never a trap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostError {
    NotFound,
    BadArgument,
    SerializationFailure,
    ParseFailure,
    Empty,
    CasMismatch,
    InternalFailure,
    Unimplemented,
    Other(u32),
}

impl HostError {
    /// The error for a raw status; `None` for `Ok` (0).
    pub fn from_status(status: u32) -> Option<HostError> {
        Some(match status {
            0 => return None,
            1 => HostError::NotFound,
            2 => HostError::BadArgument,
            3 => HostError::SerializationFailure,
            4 => HostError::ParseFailure,
            7 => HostError::Empty,
            8 => HostError::CasMismatch,
            10 => HostError::InternalFailure,
            12 => HostError::Unimplemented,
            other => HostError::Other(other),
        })
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Other(status) => write!(f, "status {status}"),
            known => write!(f, "{known:?}"),
        }
    }
}

pub type HostResult<T> = Result<T, HostError>;

/// A shared-data value and its version (`None` for a key that does not exist).
pub type Shared = (Option<Vec<u8>>, Option<u32>);

/// Everything the filter asks of Envoy. All calls act on the context Envoy is calling back.
pub trait Host {
    /// Wall-clock time in Unix milliseconds.
    fn now_ms(&self) -> HostResult<u64>;
    fn set_tick_period_ms(&self, period_ms: u32) -> HostResult<()>;
    /// At most `max_size` bytes of a buffer from `start`; `None` when there is none.
    fn buffer(&self, kind: Buffer, start: usize, max_size: usize) -> HostResult<Option<Vec<u8>>>;
    /// Every header of a map in one call, serialized as the ABI gives it (see
    /// `routing::headers`).
    fn header_pairs(&self, map: Map) -> HostResult<Vec<u8>>;
    fn header(&self, map: Map, name: &str) -> HostResult<Option<Vec<u8>>>;
    /// Sets a header, replacing every value it had.
    fn replace_header(&self, map: Map, name: &str, value: &[u8]) -> HostResult<()>;
    fn remove_header(&self, map: Map, name: &str) -> HostResult<()>;
    /// Answers the current request from the filter; the callback then returns `Flow::Pause`.
    fn send_response(&self, status: u32, headers: &[(&str, &[u8])], body: &[u8]) -> HostResult<()>;
    /// A property (`["xds", "upstream_host_metadata", ...]`, filter state by its name).
    fn property(&self, path: &[&str]) -> HostResult<Option<Vec<u8>>>;
    fn set_property(&self, path: &[&str], value: &[u8]) -> HostResult<()>;
    fn shared_data(&self, key: &str) -> HostResult<Shared>;
    /// Writes `value`, only if the key still has version `cas` when one is given.
    fn set_shared_data(&self, key: &str, value: &[u8], cas: Option<u32>) -> HostResult<()>;
    /// Sends a request to `cluster`; the answer comes to `on_http_call_response` of the
    /// context that sent it, with the token returned here.
    fn http_call(
        &self,
        cluster: &str,
        headers: &[(&str, &[u8])],
        body: &[u8],
        timeout_ms: u32,
    ) -> HostResult<u32>;
    /// Registers this root context as the receiver of the named queue (`on_queue_ready`); the
    /// last context to register one name receives it. The id is the same in every VM.
    fn register_shared_queue(&self, name: &str) -> HostResult<u32>;
    fn enqueue_shared_queue(&self, queue_id: u32, value: &[u8]) -> HostResult<()>;
    /// The oldest value of the queue; `None` when it is empty.
    fn dequeue_shared_queue(&self, queue_id: u32) -> HostResult<Option<Vec<u8>>>;
    fn define_metric(&self, kind: MetricKind, name: &str) -> HostResult<u32>;
    fn increment_metric(&self, id: u32, delta: i64) -> HostResult<()>;
    fn record_metric(&self, id: u32, value: u64) -> HostResult<()>;
    fn metric(&self, id: u32) -> HostResult<u64>;
    /// One of the host's extension functions (Envoy has `clear_route_cache`).
    fn call_foreign_function(&self, name: &str, args: &[u8]) -> HostResult<Option<Vec<u8>>>;
    /// Writes one log line at `level` (callers go through the `log` crate; see `logger.rs`).
    fn log(&self, level: log::Level, message: &str) -> HostResult<()>;
}
