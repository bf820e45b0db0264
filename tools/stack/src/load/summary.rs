//! What a run records per request and the summary it prints: counts per environment and per
//! time bucket for the tests, and the figures the benchmark scripts read (`completed`, `errors`,
//! `non_2xx`, `achieved_rps`, latency percentiles, `statuses`, `failures_at_s`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{LoadSpec, BUCKET_MS};

/// Failed requests the summary keeps whole, for a test's failure message.
const FAILED_EXAMPLES: usize = 10;

/// One request as the generator saw it. Times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadRecord {
    /// Also sent as `x-load-id`, so a relay's recorded request can be matched to it.
    pub id: u64,
    /// When it was sent.
    pub start_ms: u64,
    pub end_ms: u64,
    /// From the time it was due to the end of the answer, in µs (open loop: its slot in the
    /// schedule; capped: when it was sent).
    pub latency_us: u64,
    /// From the send to the end of the answer, in µs.
    pub service_us: u64,
    /// 0 for a transport error (no HTTP answer).
    pub status: u16,
    /// `x-relay-environment`: where the filter says the request was served.
    pub env: Option<String>,
    /// `x-mock-relay`: which relay really answered.
    pub relay: Option<String>,
    pub session: String,
    pub error: Option<String>,
}

impl LoadRecord {
    /// Anything but a 200: what the tests count as a failed request.
    pub fn failed(&self) -> bool {
        self.status != 200
    }

    fn answered(&self) -> bool {
        self.status != 0
    }

    /// A transport error or an answer outside 2xx: what the benchmark counts as failed.
    fn failed_for_bench(&self) -> bool {
        !(200..300).contains(&self.status)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadBucket {
    /// Start of the bucket, from the start of the run.
    pub t_ms: u64,
    /// Requests that started in the bucket, by `x-relay-environment` ("none" when absent).
    pub envs: BTreeMap<String, u64>,
    pub failed: u64,
}

/// Latency percentiles of the answered requests, in µs (nearest rank).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    pub service_p50_us: u64,
    pub service_p99_us: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadSummary {
    pub url: String,
    /// Open loop at this many requests per second; `None` when capped.
    pub rate: Option<u64>,
    pub started_at_ms: u64,
    pub ended_at_ms: u64,
    pub concurrency: usize,
    pub session_ids: usize,
    /// Requests sent.
    pub total: u64,
    /// Requests not answered 200.
    pub failed: u64,
    pub failed_examples: Vec<LoadRecord>,
    pub per_env: BTreeMap<String, u64>,
    /// Requests sent per second of the run.
    pub requests_per_second: f64,
    pub bucket_ms: u64,
    pub buckets: Vec<LoadBucket>,
    /// Requests answered (any status).
    pub completed: u64,
    /// Requests without an answer (connection or read error, timeout).
    pub errors: u64,
    /// Answers outside 2xx.
    pub non_2xx: u64,
    /// Requests answered per second of the run.
    pub achieved_rps: f64,
    /// Answers by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Errors and non-2xx answers by the second of the run they were sent in.
    pub failures_at_s: BTreeMap<u64, u64>,
    #[serde(flatten)]
    pub latency: Latency,
}

/// Totals, failures, per-environment counts per [`BUCKET_MS`] and latency percentiles.
pub fn summarize(
    url: &str,
    spec: &LoadSpec,
    started_at_ms: u64,
    records: &[LoadRecord],
) -> LoadSummary {
    let ended_at_ms = records
        .iter()
        .map(|r| r.end_ms)
        .max()
        .unwrap_or(started_at_ms);
    let since_start = |r: &LoadRecord| r.start_ms.saturating_sub(started_at_ms);
    let mut per_env = BTreeMap::new();
    let mut buckets: Vec<LoadBucket> = Vec::new();
    let mut statuses = BTreeMap::new();
    let mut failures_at_s = BTreeMap::new();
    for r in records {
        let env = r.env.clone().unwrap_or_else(|| "none".to_string());
        *per_env.entry(env.clone()).or_insert(0) += 1;
        let index = (since_start(r) / BUCKET_MS) as usize;
        while buckets.len() <= index {
            let t_ms = buckets.len() as u64 * BUCKET_MS;
            buckets.push(LoadBucket {
                t_ms,
                ..LoadBucket::default()
            });
        }
        let bucket = &mut buckets[index];
        *bucket.envs.entry(env).or_insert(0) += 1;
        if r.failed() {
            bucket.failed += 1;
        }
        if r.answered() {
            *statuses.entry(r.status).or_insert(0) += 1;
        }
        if r.failed_for_bench() {
            *failures_at_s.entry(since_start(r) / 1000).or_insert(0) += 1;
        }
    }
    let failed: Vec<&LoadRecord> = records.iter().filter(|r| r.failed()).collect();
    let answered: Vec<&LoadRecord> = records.iter().filter(|r| r.answered()).collect();
    let non_2xx = answered.iter().filter(|r| r.failed_for_bench()).count();
    let seconds = (ended_at_ms.saturating_sub(started_at_ms)).max(1) as f64 / 1000.0;
    let per_second = |n: usize| (n as f64 / seconds * 10.0).round() / 10.0;
    LoadSummary {
        url: url.to_string(),
        rate: spec.rate,
        started_at_ms,
        ended_at_ms,
        concurrency: spec.concurrency,
        session_ids: spec.session_ids,
        total: records.len() as u64,
        failed: failed.len() as u64,
        failed_examples: failed.into_iter().take(FAILED_EXAMPLES).cloned().collect(),
        per_env,
        requests_per_second: per_second(records.len()),
        bucket_ms: BUCKET_MS,
        buckets,
        completed: answered.len() as u64,
        errors: (records.len() - answered.len()) as u64,
        non_2xx: non_2xx as u64,
        achieved_rps: per_second(answered.len()),
        statuses,
        failures_at_s,
        latency: latency(&answered),
    }
}

fn latency(answered: &[&LoadRecord]) -> Latency {
    let mut due: Vec<u64> = answered.iter().map(|r| r.latency_us).collect();
    let mut service: Vec<u64> = answered.iter().map(|r| r.service_us).collect();
    due.sort_unstable();
    service.sort_unstable();
    Latency {
        p50_us: percentile(&due, 500),
        p90_us: percentile(&due, 900),
        p99_us: percentile(&due, 990),
        p999_us: percentile(&due, 999),
        max_us: due.last().copied().unwrap_or(0),
        service_p50_us: percentile(&service, 500),
        service_p99_us: percentile(&service, 990),
    }
}

/// Nearest rank: the smallest value that at least `per_mille` ‰ of the values do not exceed.
fn percentile(sorted: &[u64], per_mille: usize) -> u64 {
    let rank = (per_mille * sorted.len())
        .div_ceil(1000)
        .clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64, start_ms: u64, status: u16, env: &str) -> LoadRecord {
        LoadRecord {
            id,
            start_ms,
            end_ms: start_ms + 1,
            latency_us: id * 100,
            service_us: id * 10,
            status,
            env: Some(env.to_string()),
            relay: Some(env.to_string()),
            session: "s".into(),
            error: None,
        }
    }

    #[test]
    fn summary_buckets_by_start_time() {
        let records = vec![
            record(1, 1000, 200, "blue"),
            record(2, 1100, 200, "green"),
            record(3, 1600, 503, "blue"),
        ];
        let s = summarize("http://127.0.0.1:1", &LoadSpec::default(), 1000, &records);
        assert_eq!((s.total, s.failed), (3, 1));
        assert_eq!(s.failed_examples[0].id, 3);
        assert_eq!(s.buckets.len(), 3);
        assert_eq!(s.buckets[0].envs["blue"], 1);
        assert_eq!(s.buckets[0].envs["green"], 1);
        assert!(s.buckets[1].envs.is_empty());
        assert_eq!(s.buckets[2].failed, 1);
        assert_eq!(s.per_env["blue"], 2);
    }

    #[test]
    fn summary_has_the_benchmark_figures() {
        let mut records: Vec<LoadRecord> = (1..=100)
            .map(|id| record(id, 1000 + id * 20, 200, "blue"))
            .collect();
        records[10].status = 0;
        records[60].status = 503;
        records[61].status = 201;
        let s = summarize("http://127.0.0.1:1", &LoadSpec::default(), 1000, &records);
        assert_eq!((s.completed, s.errors, s.non_2xx), (99, 1, 1));
        assert_eq!(s.statuses, BTreeMap::from([(200, 97), (201, 1), (503, 1)]));
        // Request 11 was sent at 220 ms, request 61 at 1220 ms.
        assert_eq!(s.failures_at_s, BTreeMap::from([(0, 1), (1, 1)]));
        assert_eq!(s.latency.p50_us, 5100, "50th of the 99 answered: id 51");
        assert_eq!(s.latency.max_us, 10_000);
        assert_eq!(s.latency.service_p99_us, 1000);
        // The line the benchmark scripts read: flat fields, status codes as keys.
        let line = serde_json::to_value(&s).unwrap();
        for field in [
            "completed",
            "errors",
            "non_2xx",
            "achieved_rps",
            "p50_us",
            "p99_us",
        ] {
            assert!(line[field].is_number(), "{field}: {line}");
        }
        assert_eq!(line["statuses"]["503"], 1);
        assert_eq!(line["failures_at_s"]["1"], 1);
        let back: LoadSummary = serde_json::from_value(line).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let values: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&values, 500), 500);
        assert_eq!(percentile(&values, 999), 999);
        assert_eq!(percentile(&values, 1000), 1000);
        assert_eq!(percentile(&values[..99], 990), 99);
        assert_eq!(percentile(&[7], 10), 7);
        assert_eq!(percentile(&[], 500), 0);
    }
}
