//! What the relay listener has seen: a bounded list of requests for tests to
//! inspect, and counters by path and status.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::http::request::Parts;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Lowercase names; a repeated header's values joined with ", ".
    pub headers: BTreeMap<String, String>,
    /// Lossy UTF-8, so binary bodies still show up.
    pub body: String,
    pub body_len: usize,
    pub at_ms: u64,
}

impl RecordedRequest {
    pub fn new(parts: &Parts, body: &[u8], at_ms: u64) -> RecordedRequest {
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in &parts.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            headers
                .entry(name.as_str().to_string())
                .and_modify(|joined| {
                    joined.push_str(", ");
                    joined.push_str(&value);
                })
                .or_insert_with(|| value.into_owned());
        }
        RecordedRequest {
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            headers,
            body: String::from_utf8_lossy(body).into_owned(),
            body_len: body.len(),
            at_ms,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub total: u64,
    pub by_path: BTreeMap<String, u64>,
    pub by_status: BTreeMap<String, u64>,
}

impl Stats {
    fn count(&mut self, path: &str, outcome: &str) {
        self.total += 1;
        bump(&mut self.by_path, path);
        bump(&mut self.by_status, outcome);
    }
}

/// Increments without allocating a key on the hot path.
fn bump(counts: &mut BTreeMap<String, u64>, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.to_string(), 1);
        }
    }
}

#[derive(Default)]
struct Inner {
    requests: VecDeque<RecordedRequest>,
    stats: Stats,
}

pub struct RequestLog {
    /// Most requests kept; 0 turns recording off (benchmarks).
    limit: usize,
    inner: Mutex<Inner>,
}

impl RequestLog {
    pub fn new(limit: usize) -> RequestLog {
        RequestLog {
            limit,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn record(&self, parts: &Parts, body: &[u8]) {
        if self.limit == 0 {
            return;
        }
        let request = RecordedRequest::new(parts, body, unix_ms());
        let mut inner = self.lock();
        if inner.requests.len() >= self.limit {
            inner.requests.pop_front();
        }
        inner.requests.push_back(request);
    }

    /// `outcome` is the status code (`"200"`), or `"closed"` for no answer.
    pub fn count(&self, path: &str, outcome: &str) {
        self.lock().stats.count(path, outcome);
    }

    /// The recorded requests as a JSON array, serialized under the lock to avoid a copy.
    pub fn requests_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.lock().requests).unwrap_or_default()
    }

    pub fn stats(&self) -> Stats {
        self.lock().stats.clone()
    }

    pub fn clear(&self) {
        *self.lock() = Inner::default();
    }

    /// A panic elsewhere cannot leave these plain counters half-updated, so a
    /// poisoned lock is still safe to use.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::Request;

    fn parts(path: &str) -> Parts {
        Request::post(path)
            .header("X-Api-Key", "k")
            .header("accept", "a")
            .header("accept", "b")
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    fn recorded(log: &RequestLog) -> Vec<RecordedRequest> {
        serde_json::from_slice(&log.requests_json()).unwrap()
    }

    #[test]
    fn headers_lowercased_and_repeats_joined() {
        let r = RecordedRequest::new(&parts("/v1/models?x=1"), b"ab\xffc", 5);
        assert_eq!(r.headers["x-api-key"], "k");
        assert_eq!(r.headers["accept"], "a, b");
        assert_eq!(r.path, "/v1/models");
        assert_eq!(r.query.as_deref(), Some("x=1"));
        assert_eq!(r.body, "ab\u{fffd}c");
        assert_eq!(r.body_len, 4);
    }

    #[test]
    fn log_is_bounded_keeping_the_newest() {
        let log = RequestLog::new(2);
        for path in ["/a", "/b", "/c"] {
            log.record(&parts(path), b"");
        }
        let paths: Vec<String> = recorded(&log).into_iter().map(|r| r.path).collect();
        assert_eq!(paths, ["/b", "/c"]);
    }

    #[test]
    fn disabled_log_records_nothing_but_still_counts() {
        let log = RequestLog::new(0);
        log.record(&parts("/a"), b"x");
        log.count("/a", "200");
        log.count("/a", "404");
        assert!(recorded(&log).is_empty());
        let stats = log.stats();
        assert_eq!(stats.total, 2);
        assert_eq!(stats.by_path["/a"], 2);
        assert_eq!(stats.by_status["404"], 1);
    }

    #[test]
    fn clear_resets_requests_and_counters() {
        let log = RequestLog::new(10);
        log.record(&parts("/a"), b"");
        log.count("/a", "200");
        log.clear();
        assert!(recorded(&log).is_empty());
        assert_eq!(log.stats(), Stats::default());
    }
}
