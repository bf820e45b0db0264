//! Waiting for something that settles asynchronously (Envoy start, batched counters).

use std::time::{Duration, Instant};

/// Calls `probe` every 50 ms until it returns `Some` or `timeout` passes.
pub fn poll_until<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
