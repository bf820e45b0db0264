//! A load generator that runs in its own process (`stack load ...`), so that the traffic a
//! test or a benchmark measures is not slowed or paused by whoever started it, and the harness
//! side that starts it and reads its results.
//!
//! It sends chat completions ([`LoadSpec::body`]) with session ids drawn at random from a pool
//! (`x-session-id`) over keep-alive connections, one per thread, records every request (times,
//! latency, status, `x-relay-environment`, the relay that answered, session id), stops by itself
//! at the end of its duration and prints a JSON summary on one line. Two ways to pace:
//! - capped (the tests and the demo): each connection sends its next request as soon as the
//!   previous one is answered, no faster than its share of [`LoadSpec::max_rps`];
//! - open loop ([`LoadSpec::rate`], the benchmark, the soak, callgrind): request k of the run is
//!   due at `start + k / rate` and connection i sends requests i, i + C, i + 2C, ... Latency is
//!   measured from the time a request was *due*, so a stall that delays later requests counts
//!   against them (no coordinated omission, as wrk2 does); the service time from the actual send
//!   is kept too.
//!
//! Bounded: loopback targets only, at most [`MAX_RPS`] requests per second, [`MAX_CONCURRENCY`]
//! connections, [`MAX_DURATION_MS`], [`MAX_REQUESTS`] planned.

mod cli;
mod generate;
mod process;
mod sessions;
mod summary;

pub use cli::{check_loopback, run, LoadArgs};
pub use generate::generate;
pub use process::{stack_bin, LoadReport, LoadRun};
pub use sessions::session_ids;
pub use summary::{summarize, Latency, LoadBucket, LoadRecord, LoadSummary};

use crate::stack::CHAT_BODY;

/// The most requests per second the generator will send, whatever it is asked.
pub const MAX_RPS: u64 = 5000;
/// The longest run it will do: one hour, for a long soak.
pub const MAX_DURATION_MS: u64 = 3_600_000;
/// The most connections (threads).
pub const MAX_CONCURRENCY: usize = 64;
/// The most requests one run may plan (rate × duration): every request is kept in memory for
/// the summary (a few hundred bytes each), so this bounds the generator's memory to about 1 GB.
pub const MAX_REQUESTS: u64 = 3_000_000;
/// Width of the summary's time buckets.
pub const BUCKET_MS: u64 = 250;

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadSpec {
    pub duration_ms: u64,
    /// Keep-alive connections, one thread each.
    pub concurrency: usize,
    pub session_ids: usize,
    /// Capped pacing: whole-run ceiling; each connection paces itself to its share.
    pub max_rps: u64,
    /// Open loop at this many requests per second (`max_rps` is then not used).
    pub rate: Option<u64>,
    pub seed: u64,
    pub path: String,
    /// The JSON body of every request.
    pub body: String,
}

impl Default for LoadSpec {
    fn default() -> LoadSpec {
        LoadSpec {
            duration_ms: 10_000,
            concurrency: 8,
            session_ids: 1000,
            max_rps: 2000,
            rate: None,
            seed: 1,
            path: "/v1/chat/completions".to_string(),
            body: CHAT_BODY.to_string(),
        }
    }
}

impl LoadSpec {
    /// Refuses what is out of the generator's bounds, saying which bound.
    pub fn check(&self) -> Result<(), String> {
        let rps_bound = format!("1..={MAX_RPS}");
        if self.duration_ms > MAX_DURATION_MS {
            return Err(format!(
                "--duration-ms must be at most {MAX_DURATION_MS} (got {})",
                self.duration_ms
            ));
        }
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            return Err(format!(
                "--concurrency must be in 1..={MAX_CONCURRENCY} (got {})",
                self.concurrency
            ));
        }
        if self.session_ids == 0 {
            return Err("--session-ids must be at least 1 (got 0)".to_string());
        }
        if !(1..=MAX_RPS).contains(&self.max_rps) {
            return Err(format!(
                "--max-rps must be in {rps_bound} (got {})",
                self.max_rps
            ));
        }
        if let Some(rate) = self.rate.filter(|rate| !(1..=MAX_RPS).contains(rate)) {
            return Err(format!("--rate must be in {rps_bound} (got {rate})"));
        }
        let planned = self.rate.unwrap_or(self.max_rps) * self.duration_ms / 1000;
        if planned > MAX_REQUESTS {
            return Err(format!(
                "--duration-ms {} at {} req/s plans {planned} requests; at most {MAX_REQUESTS} \
                 (every request is kept for the summary)",
                self.duration_ms,
                self.rate.unwrap_or(self.max_rps)
            ));
        }
        Ok(())
    }
}

pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
