//! A load generator that runs in its own process (`stack load ...`), so that the traffic a
//! test measures is not slowed or paused by the test itself, and the harness side that starts
//! it and reads its results.
//!
//! It sends non-streaming chat completions with random session ids (`x-session-id`), without
//! pause, over keep-alive connections (one per thread), records every request (times, status,
//! `x-relay-environment`, the relay that answered, session id) and stops by itself at the end
//! of its duration, printing a JSON summary. Bounded: loopback targets only, at most
//! [`MAX_RPS`] requests per second, [`MAX_DURATION_MS`] at most.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::rundir::RunDir;
use crate::stack::CHAT_BODY;

/// The most requests per second the generator will send, whatever it is asked.
pub const MAX_RPS: u64 = 5000;
/// The longest run it will do.
pub const MAX_DURATION_MS: u64 = 600_000;
const MAX_CONCURRENCY: usize = 64;
/// Width of the summary's time buckets.
pub const BUCKET_MS: u64 = 250;
const FAILED_EXAMPLES: usize = 10;

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub duration_ms: u64,
    pub concurrency: usize,
    pub session_ids: usize,
    /// Whole-run ceiling; each thread paces itself to its share.
    pub max_rps: u64,
    pub seed: u64,
    pub path: String,
}

impl Default for LoadSpec {
    fn default() -> LoadSpec {
        LoadSpec {
            duration_ms: 10_000,
            concurrency: 8,
            session_ids: 1000,
            max_rps: 2000,
            seed: 1,
            path: "/v1/chat/completions".to_string(),
        }
    }
}

/// One request as the generator saw it. Times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadRecord {
    /// Also sent as `x-load-id`, so a relay's recorded request can be matched to it.
    pub id: u64,
    pub start_ms: u64,
    pub end_ms: u64,
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
    pub fn failed(&self) -> bool {
        self.status != 200
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadSummary {
    pub url: String,
    pub started_at_ms: u64,
    pub ended_at_ms: u64,
    pub concurrency: usize,
    pub session_ids: usize,
    pub total: u64,
    pub failed: u64,
    pub failed_examples: Vec<LoadRecord>,
    pub per_env: BTreeMap<String, u64>,
    pub requests_per_second: f64,
    pub bucket_ms: u64,
    pub buckets: Vec<LoadBucket>,
}

pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// splitmix64, as the tests use: reproducible ids from a seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// `n` distinct session ids of 8..=24 header-safe characters.
pub fn session_ids(n: usize, seed: u64) -> Vec<String> {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.";
    let mut rng = Rng(seed);
    let mut seen = std::collections::HashSet::new();
    let mut ids = Vec::with_capacity(n);
    while ids.len() < n {
        let len = 8 + (rng.next() % 17) as usize;
        let id: String = (0..len)
            .map(|_| char::from(CHARS[(rng.next() % CHARS.len() as u64) as usize]))
            .collect();
        if seen.insert(id.clone()) {
            ids.push(id);
        }
    }
    ids
}

/// Only loopback targets: `http://127.x.y.z:port`, `http://localhost:port`, `http://[::1]:port`.
pub fn check_loopback(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("--url must be http:// on the loopback (got {url:?})"))?;
    let authority = rest.split('/').next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    let loopback = host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(format!(
            "--url must point at the loopback (127.0.0.0/8, localhost, [::1]); got host {host:?}"
        ))
    }
}

/// Runs the load; `stop` ends it early. Records come back sorted by start time.
pub fn generate(url: &str, spec: &LoadSpec, stop: &AtomicBool) -> Vec<LoadRecord> {
    let ids = Arc::new(session_ids(spec.session_ids.max(1), spec.seed));
    let concurrency = spec.concurrency.clamp(1, MAX_CONCURRENCY);
    let rps = spec.max_rps.clamp(1, MAX_RPS);
    // Each thread's pause between request starts, so that all together stay under `rps`.
    let interval = Duration::from_secs_f64(concurrency as f64 / rps as f64);
    let deadline = Instant::now() + Duration::from_millis(spec.duration_ms.min(MAX_DURATION_MS));
    let next_id = AtomicU64::new(1);
    let target = format!("{}{}", url.trim_end_matches('/'), spec.path);
    let mut records: Vec<LoadRecord> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..concurrency)
            .map(|t| {
                let ids = Arc::clone(&ids);
                let (target, next_id) = (&target, &next_id);
                let mut rng = Rng(spec.seed ^ (t as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
                scope.spawn(move || {
                    // One agent per thread: its connection is kept alive request after request.
                    let agent = ureq::AgentBuilder::new()
                        .timeout(Duration::from_secs(30))
                        .build();
                    let mut out = Vec::new();
                    let mut next_start = Instant::now();
                    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                        let now = Instant::now();
                        if next_start > now {
                            std::thread::sleep(next_start - now);
                        }
                        next_start = next_start.max(now) + interval;
                        let session = &ids[(rng.next() % ids.len() as u64) as usize];
                        let id = next_id.fetch_add(1, Ordering::Relaxed);
                        out.push(one_request(&agent, target, session, id));
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
    records
}

fn one_request(agent: &ureq::Agent, target: &str, session: &str, id: u64) -> LoadRecord {
    let start_ms = unix_ms();
    let result = agent
        .post(target)
        .set("content-type", "application/json")
        .set("x-session-id", session)
        .set("x-load-id", &id.to_string())
        .send_string(CHAT_BODY);
    let mut record = LoadRecord {
        id,
        start_ms,
        end_ms: 0,
        status: 0,
        env: None,
        relay: None,
        session: session.to_string(),
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
                record.error = Some(body.chars().take(300).collect());
            }
        }
        Err(e) => record.error = Some(e.to_string().chars().take(300).collect()),
    }
    record.end_ms = unix_ms();
    record
}

/// Totals, failures and per-environment counts per [`BUCKET_MS`].
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
    let mut per_env = BTreeMap::new();
    let mut buckets: Vec<LoadBucket> = Vec::new();
    for r in records {
        let env = r.env.clone().unwrap_or_else(|| "none".to_string());
        *per_env.entry(env.clone()).or_insert(0) += 1;
        let index = (r.start_ms.saturating_sub(started_at_ms) / BUCKET_MS) as usize;
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
    }
    let failed: Vec<&LoadRecord> = records.iter().filter(|r| r.failed()).collect();
    let seconds = (ended_at_ms.saturating_sub(started_at_ms)).max(1) as f64 / 1000.0;
    LoadSummary {
        url: url.to_string(),
        started_at_ms,
        ended_at_ms,
        concurrency: spec.concurrency,
        session_ids: spec.session_ids,
        total: records.len() as u64,
        failed: failed.len() as u64,
        failed_examples: failed.into_iter().take(FAILED_EXAMPLES).cloned().collect(),
        per_env,
        requests_per_second: (records.len() as f64 / seconds * 10.0).round() / 10.0,
        bucket_ms: BUCKET_MS,
        buckets,
    }
}

pub const USAGE: &str = "usage: stack load --url URL [--duration-ms N] [--concurrency N] \
[--session-ids K] [--max-rps R] [--seed S] [--path P] [--records FILE] [--stop-on-stdin-eof]
  Sends chat completions with random session ids (x-session-id) to URL (loopback only) without
  pause over keep-alive connections, one per thread, for N ms (default 10000), at most R req/s
  (default 2000, ceiling 5000). Prints a JSON summary; --records writes every request as a JSON
  line; --stop-on-stdin-eof also stops when standard input closes.";

/// `stack load ...`: returns the process exit status.
pub fn main(args: &[&str]) -> i32 {
    let mut spec = LoadSpec::default();
    let mut url = None;
    let mut records_path: Option<PathBuf> = None;
    let mut stop_on_eof = false;
    let mut i = 0;
    while i < args.len() {
        let flag = args[i];
        if flag == "--stop-on-stdin-eof" {
            stop_on_eof = true;
            i += 1;
            continue;
        }
        let Some(value) = args.get(i + 1).copied() else {
            eprintln!("stack load: {flag} needs a value\n{USAGE}");
            return 2;
        };
        let number = |what: &str| -> Result<u64, String> {
            value
                .parse()
                .map_err(|_| format!("{what} must be a whole number (got {value:?})"))
        };
        let parsed = match flag {
            "--url" => {
                url = Some(value.to_string());
                Ok(())
            }
            "--duration-ms" => number(flag).map(|n| spec.duration_ms = n),
            "--concurrency" => number(flag).map(|n| spec.concurrency = n as usize),
            "--session-ids" => number(flag).map(|n| spec.session_ids = n as usize),
            "--max-rps" => number(flag).map(|n| spec.max_rps = n),
            "--seed" => number(flag).map(|n| spec.seed = n),
            "--path" => {
                spec.path = value.to_string();
                Ok(())
            }
            "--records" => {
                records_path = Some(PathBuf::from(value));
                Ok(())
            }
            other => Err(format!("unknown option {other}")),
        };
        if let Err(e) = parsed {
            eprintln!("stack load: {e}\n{USAGE}");
            return 2;
        }
        i += 2;
    }
    let Some(url) = url else {
        eprintln!("stack load: --url is required\n{USAGE}");
        return 2;
    };
    if let Err(e) = check_loopback(&url) {
        eprintln!("stack load: {e}");
        return 2;
    }
    if spec.duration_ms > MAX_DURATION_MS
        || !(1..=MAX_CONCURRENCY).contains(&spec.concurrency)
        || spec.session_ids == 0
        || !(1..=MAX_RPS).contains(&spec.max_rps)
    {
        eprintln!(
            "stack load: out of bounds: duration at most {MAX_DURATION_MS} ms, concurrency 1..={MAX_CONCURRENCY}, \
             session ids at least 1, max rps 1..={MAX_RPS}"
        );
        return 2;
    }

    let stop = Arc::new(AtomicBool::new(false));
    if stop_on_eof {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = std::io::stdin().lock().read_to_end(&mut sink);
            stop.store(true, Ordering::Relaxed);
        });
    }
    let started_at_ms = unix_ms();
    eprintln!(
        "stack load: {} threads, {} session ids, up to {} req/s for {} ms -> {url}",
        spec.concurrency, spec.session_ids, spec.max_rps, spec.duration_ms
    );
    let records = generate(&url, &spec, &stop);
    let summary = summarize(&url, &spec, started_at_ms, &records);
    if let Some(path) = records_path {
        if let Err(e) = write_records(&path, &records) {
            eprintln!("stack load: cannot write {}: {e}", path.display());
            return 1;
        }
    }
    match serde_json::to_string_pretty(&summary) {
        Ok(text) => println!("{text}"),
        Err(e) => {
            eprintln!("stack load: {e}");
            return 1;
        }
    }
    0
}

fn write_records(path: &Path, records: &[LoadRecord]) -> std::io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    for r in records {
        serde_json::to_writer(&mut out, r)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

// ---- The harness side: a load generator process a test starts and reads.

/// The `stack` binary: `$STACK_BIN`, else the release build next to mock-relay.
pub fn stack_bin() -> PathBuf {
    let bin = match std::env::var_os("STACK_BIN") {
        Some(bin) if !bin.is_empty() => PathBuf::from(bin),
        _ => crate::paths::mock_relay_bin().with_file_name("stack"),
    };
    if !bin.is_file() {
        panic!(
            "stack not found at {}: run ./build.sh build first",
            bin.display()
        );
    }
    bin
}

/// What a finished run gives back.
pub struct LoadReport {
    pub summary: LoadSummary,
    pub records: Vec<LoadRecord>,
}

/// A `stack load` process; killed if dropped before it finished.
pub struct LoadRun {
    child: Child,
    stdin: Option<ChildStdin>,
    records_path: PathBuf,
    stderr_path: PathBuf,
    _dir: RunDir,
}

impl LoadRun {
    /// Starts `stack load` against `url` (loopback); it runs until `spec.duration_ms` passes
    /// or [`LoadRun::stop`] is called.
    pub fn start(url: &str, spec: &LoadSpec) -> LoadRun {
        let dir = RunDir::new("load");
        let records_path = dir.path().join("records.jsonl");
        let stderr_path = dir.path().join("stderr.log");
        let stderr = File::create(&stderr_path).expect("create load stderr log");
        let mut child = Command::new(stack_bin())
            .arg("load")
            .args(["--url", url])
            .args(["--duration-ms", &spec.duration_ms.to_string()])
            .args(["--concurrency", &spec.concurrency.to_string()])
            .args(["--session-ids", &spec.session_ids.to_string()])
            .args(["--max-rps", &spec.max_rps.to_string()])
            .args(["--seed", &spec.seed.to_string()])
            .args(["--path", &spec.path])
            .arg("--records")
            .arg(&records_path)
            .arg("--stop-on-stdin-eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start stack load: {e}"));
        let stdin = child.stdin.take();
        LoadRun {
            child,
            stdin,
            records_path,
            stderr_path,
            _dir: dir,
        }
    }

    /// Ends the run now (closes its standard input) and reads its results.
    pub fn stop(mut self) -> LoadReport {
        self.stdin = None;
        self.finish()
    }

    /// Waits for the run to end by itself and reads its results.
    pub fn wait(self) -> LoadReport {
        self.finish()
    }

    fn finish(mut self) -> LoadReport {
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = out.read_to_string(&mut stdout);
        }
        let status = self.child.wait().expect("wait for stack load");
        let stderr = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        assert!(
            status.success(),
            "stack load exited with {status}; stderr:\n{stderr}"
        );
        let summary: LoadSummary = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("stack load printed no summary ({e}): {stdout}\n{stderr}"));
        let file = File::open(&self.records_path)
            .unwrap_or_else(|e| panic!("no records from stack load ({e})"));
        let records = BufReader::new(file)
            .lines()
            .map(|line| {
                let line = line.expect("read a load record");
                serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("bad load record ({e}): {line}"))
            })
            .collect();
        LoadReport { summary, records }
    }
}

impl Drop for LoadRun {
    fn drop(&mut self) {
        // Still running only if the test failed before reading the results.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only() {
        for ok in [
            "http://127.0.0.1:10000",
            "http://127.1.2.3:1/x",
            "http://localhost:8080/",
            "http://[::1]:9000",
        ] {
            assert!(check_loopback(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1:80",
            "http://192.168.1.1:80",
            "http://example.com:80",
            "https://127.0.0.1:1",
            "127.0.0.1:80",
            "http://[::2]:1",
        ] {
            assert!(check_loopback(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_are_distinct_and_reproducible() {
        let ids = session_ids(500, 7);
        assert_eq!(ids, session_ids(500, 7));
        let set: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(set.len(), 500);
        assert!(ids.iter().all(|id| (8..=24).contains(&id.len())));
    }

    #[test]
    fn summary_buckets_by_start_time() {
        let record = |id, start_ms, status, env: &str| LoadRecord {
            id,
            start_ms,
            end_ms: start_ms + 1,
            status,
            env: Some(env.to_string()),
            relay: Some(env.to_string()),
            session: "s".into(),
            error: None,
        };
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
}
