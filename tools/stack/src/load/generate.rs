//! Sending the requests: one thread and keep-alive connection each, on one of two schedules.

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::sessions::{session_ids, Rng};
use super::{unix_ms, LoadRecord, LoadSpec, MAX_CONCURRENCY, MAX_DURATION_MS, MAX_RPS};

/// Time for every connection's thread to be up before the first open-loop request is due, so
/// that thread start-up does not count as latency.
const OPEN_LOOP_LEAD: Duration = Duration::from_millis(50);
/// How long one request may take before it counts as a transport error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// What is kept of an error body or message.
const ERROR_CHARS: usize = 300;

/// When one connection sends its requests.
enum Schedule {
    /// The next request `interval` after the previous one started, never before now (a slow
    /// answer delays the rest: no catch-up), until `deadline`.
    Capped {
        next: Instant,
        interval: Duration,
        deadline: Instant,
    },
    /// Request `k` of the run due at `start + k / rate`; this connection sends `k`, `k + step`, ...
    /// below `total`, however late it runs.
    Open {
        start: Instant,
        rate: u64,
        k: u64,
        step: u64,
        total: u64,
    },
}

impl Schedule {
    fn next_due(&mut self) -> Option<Instant> {
        match self {
            Schedule::Capped {
                next,
                interval,
                deadline,
            } => {
                let now = Instant::now();
                if now >= *deadline {
                    return None;
                }
                let due = (*next).max(now);
                *next = due + *interval;
                Some(due)
            }
            Schedule::Open {
                start,
                rate,
                k,
                step,
                total,
            } => {
                if *k >= *total {
                    return None;
                }
                let due = *start + Duration::from_nanos(*k * 1_000_000_000 / *rate);
                *k += *step;
                Some(due)
            }
        }
    }
}

/// Runs the load; `stop` ends it early. Returns when the run started (Unix ms: the first
/// request's due time) and the records, sorted by start time.
pub fn generate(url: &str, spec: &LoadSpec, stop: &AtomicBool) -> (u64, Vec<LoadRecord>) {
    let ids = session_ids(spec.session_ids.max(1), spec.seed);
    let concurrency = spec.concurrency.clamp(1, MAX_CONCURRENCY);
    let duration = Duration::from_millis(spec.duration_ms.min(MAX_DURATION_MS));
    let lead = if spec.rate.is_some() {
        OPEN_LOOP_LEAD
    } else {
        Duration::ZERO
    };
    let start = Instant::now() + lead;
    let started_at_ms = unix_ms() + lead.as_millis() as u64;
    let schedule = |index: usize| match spec.rate {
        Some(rate) => {
            let rate = rate.clamp(1, MAX_RPS);
            Schedule::Open {
                start,
                rate,
                k: index as u64,
                step: concurrency as u64,
                total: rate * duration.as_millis() as u64 / 1000,
            }
        }
        None => Schedule::Capped {
            next: start,
            // Each connection's share of the ceiling: all together stay under it.
            interval: Duration::from_secs_f64(
                concurrency as f64 / spec.max_rps.clamp(1, MAX_RPS) as f64,
            ),
            deadline: start + duration,
        },
    };
    let next_id = AtomicU64::new(1);
    let target = format!("{}{}", url.trim_end_matches('/'), spec.path);
    let mut records: Vec<LoadRecord> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..concurrency)
            .map(|index| {
                let (ids, target, next_id) = (&ids, &target, &next_id);
                let mut schedule = schedule(index);
                let mut rng = Rng::for_connection(spec.seed, index);
                scope.spawn(move || {
                    // One agent per thread: its connection is kept alive request after request.
                    let agent = ureq::AgentBuilder::new()
                        .timeout(REQUEST_TIMEOUT)
                        .redirects(0)
                        .build();
                    let mut out = Vec::new();
                    while let Some(due) = schedule.next_due() {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let now = Instant::now();
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                        let session = &ids[(rng.next() % ids.len() as u64) as usize];
                        let id = next_id.fetch_add(1, Ordering::Relaxed);
                        let request = Request {
                            target,
                            body: &spec.body,
                            session,
                            id,
                            due,
                        };
                        out.push(request.send(&agent));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    records.sort_by_key(|r| (r.start_ms, r.id));
    (started_at_ms, records)
}

struct Request<'a> {
    target: &'a str,
    body: &'a str,
    session: &'a str,
    id: u64,
    due: Instant,
}

impl Request<'_> {
    fn send(&self, agent: &ureq::Agent) -> LoadRecord {
        let start_ms = unix_ms();
        let sent = Instant::now();
        let result = agent
            .post(self.target)
            .set("content-type", "application/json")
            .set("x-session-id", self.session)
            .set("x-load-id", &self.id.to_string())
            .send_string(self.body);
        let mut record = LoadRecord {
            id: self.id,
            start_ms,
            end_ms: 0,
            latency_us: 0,
            service_us: 0,
            status: 0,
            env: None,
            relay: None,
            session: self.session.to_string(),
            error: None,
        };
        match result {
            Ok(resp) | Err(ureq::Error::Status(_, resp)) => {
                record.status = resp.status();
                record.env = resp.header("x-relay-environment").map(str::to_string);
                record.relay = resp.header("x-mock-relay").map(str::to_string);
                // Read the whole body so the connection can be kept alive.
                let mut body = String::new();
                if let Err(e) = resp.into_reader().take(1 << 20).read_to_string(&mut body) {
                    record.status = 0;
                    record.error = Some(format!("reading the body: {e}"));
                } else if record.status != 200 {
                    record.error = Some(body.chars().take(ERROR_CHARS).collect());
                }
            }
            Err(e) => record.error = Some(e.to_string().chars().take(ERROR_CHARS).collect()),
        }
        let done = Instant::now();
        record.end_ms = unix_ms();
        record.latency_us = micros(done.saturating_duration_since(self.due));
        record.service_us = micros(done.saturating_duration_since(sent));
        record
    }
}

fn micros(d: Duration) -> u64 {
    d.as_micros().min(u128::from(u64::MAX)) as u64
}
