//! Shared by the integration tests: the harness, config builders and random ids.

// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::collections::HashSet;

use bluegreen_relay::config::defaults;
use bluegreen_relay::routing::{weight, BUCKETS};
use serde_json::{json, Value};
pub use stack::*;

/// Blue (key from `$HOLYSHEEP_API_KEY_BLUE`) and green (inline [`GREEN_KEY`]),
/// green getting `green_hundredths` / 100 percent, affinity on x-session-id then x-request-id.
pub fn config(green_hundredths: u32) -> Value {
    json!({
        "environments": {
            "blue": {
                "cluster": "relay_blue",
                "weight": weight::to_json(BUCKETS - green_hundredths),
                "api_key_env": "HOLYSHEEP_API_KEY_BLUE",
            },
            "green": {
                "cluster": "relay_green",
                "weight": weight::to_json(green_hundredths),
                "api_key": GREEN_KEY,
            },
        },
        "active": "blue",
        "affinity_headers": ["x-session-id", "x-request-id"],
    })
}

/// Starts a stack for `config` (blue's key in Envoy's environment).
pub fn start(config: &Value) -> Stack {
    Stack::start(&config.to_string())
}

/// splitmix64: reproducible randomness without a dependency.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `$TEST_SEED` or the clock; the seed is printed for a failing run.
    pub fn new() -> Rng {
        let seed = std::env::var("TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        println!("TEST_SEED={seed}");
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `n` distinct ids of 1..=40 header-safe characters.
    pub fn ids(&mut self, n: usize) -> Vec<String> {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:";
        // A Vec keeps the order reproducible from the seed; the set only rejects repeats.
        let (mut ids, mut seen) = (Vec::new(), HashSet::new());
        while ids.len() < n {
            let len = 1 + (self.next() % 40) as usize;
            let id: String = (0..len)
                .map(|_| char::from(CHARS[(self.next() % CHARS.len() as u64) as usize]))
                .collect();
            if seen.insert(id.clone()) {
                ids.push(id);
            }
        }
        ids
    }
}

// ---- Health checks, failover and rollback (tests/health.rs, failover.rs, rollback.rs, probes.rs)

/// `cfg` plus a `health_check` block probing every `interval_ms` with `timeout_ms`; the other
/// fields keep their defaults (path /v1/models, 2 failures unhealthy, 1 pass healthy).
pub fn with_health_check(mut cfg: Value, interval_ms: u64, timeout_ms: u64) -> Value {
    cfg["health_check"] = json!({"interval_ms": interval_ms, "timeout_ms": timeout_ms});
    cfg
}

/// A stack whose relays start with extra `mock-relay` arguments (a failure in place before the
/// first probe); blue's key in Envoy's environment, as [`start`].
pub fn start_with_relays(config: &Value, blue_args: &[&str], green_args: &[&str]) -> Stack {
    Stack::try_start_with_relays(
        &config.to_string(),
        &[("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY)],
        blue_args,
        green_args,
    )
    .unwrap_or_else(|exit| panic!("Envoy did not start: {exit:?}"))
}

/// A counter or gauge from admin `/stats` by the dotted name the filter gives it
/// (`bluegreen.failovers`; Envoy lists it as `wasmcustom.bluegreen.failovers`);
/// `None` until the filter first defines it.
pub fn stat(envoy: &Envoy, name: &str) -> Option<u64> {
    let suffix = format!("{name}: ");
    envoy.stats().lines().find_map(|l| {
        let l = l.strip_prefix("wasmcustom.").unwrap_or(l);
        l.strip_prefix(&suffix)?.trim().parse().ok()
    })
}

/// The Envoy log lines containing `needle`.
pub fn log_lines(envoy: &Envoy, needle: &str) -> Vec<String> {
    envoy
        .log()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// Polls the status endpoint (default `status_path`) over fresh connections (so both workers answer) until `settled` has
/// held for 500 ms with no read saying otherwise: each worker re-reads shared health every
/// 200 ms, so by then every worker routes by the new state. Panics after `timeout` with the
/// last status seen, described by `what`.
pub fn status_everywhere(
    envoy: &Envoy,
    what: &str,
    timeout: std::time::Duration,
    settled: impl Fn(&Value) -> bool,
) -> Value {
    let http = Http::fresh_connections(&envoy.url());
    let mut last = Value::Null;
    let mut since: Option<std::time::Instant> = None;
    poll_until(timeout, || {
        let resp = http.get(&defaults::status_path(), &[]);
        assert_eq!(resp.status, 200, "status endpoint: {}", resp.body);
        last = resp.json();
        if !settled(&last) {
            since = None;
            return None;
        }
        let first = *since.get_or_insert_with(std::time::Instant::now);
        (first.elapsed() >= std::time::Duration::from_millis(500)).then(|| last.clone())
    })
    .unwrap_or_else(|| panic!("status never settled on {what} within {timeout:?}; last:\n{last:#}"))
}

/// One chat request per session id, spread over `threads` threads that each open a fresh
/// connection per request (so both Envoy workers route); answers in the order of `ids`.
pub fn chat_sessions(envoy: &Envoy, ids: &[String], threads: usize) -> Vec<Resp> {
    let url = envoy.url();
    let mut answers: Vec<Option<Resp>> = vec![None; ids.len()];
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let url = url.clone();
                scope.spawn(move || {
                    let http = Http::fresh_connections(&url);
                    (t..ids.len())
                        .step_by(threads)
                        .map(|i| {
                            let headers = [("x-session-id", ids[i].as_str())];
                            (i, http.post("/v1/chat/completions", &headers, CHAT_BODY))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for worker in workers {
            for (i, resp) in worker.join().unwrap() {
                answers[i] = Some(resp);
            }
        }
    });
    answers.into_iter().map(Option::unwrap).collect()
}

/// Requests a relay served on `path` (probes included), from its `/_mock/stats`.
pub fn served(relay: &MockRelay, path: &str) -> u64 {
    relay.stats()["by_path"][path].as_u64().unwrap_or(0)
}

/// Unix ms of a status timestamp (`2026-11-25T12:00:00.123Z`); panics on anything else.
pub fn status_time_ms(text: &Value) -> u64 {
    let s = text
        .as_str()
        .filter(|s| s.len() == 24 && s.ends_with('Z'))
        .unwrap_or_else(|| panic!("not a status timestamp: {text}"));
    let num = |at: std::ops::Range<usize>| -> i64 {
        s[at]
            .parse()
            .unwrap_or_else(|e| panic!("bad timestamp {s}: {e}"))
    };
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + num(11..13) * 3600 + num(14..16) * 60 + num(17..19);
    (secs * 1000 + num(20..23)) as u64
}

/// The clock the relays' `at_ms` and the status timestamps use.
pub fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Sends one request per id; returns a description of each answer that was not a 200 served
/// by `want(id)` (by the relay that answered and by `x-relay-environment`).
pub fn misrouted(
    stack: &Stack,
    ids: &[String],
    want: impl Fn(&str) -> &'static str,
) -> Vec<String> {
    chat_sessions(&stack.envoy, ids, 4)
        .iter()
        .zip(ids)
        .filter_map(|(resp, id)| {
            let want = want(id);
            let said = resp.header("x-relay-environment").unwrap_or("-");
            (resp.status != 200 || resp.relay() != want || said != want).then(|| {
                format!(
                    "x-session-id {id:?}: want {want}, got {} from relay {} (x-relay-environment {said})",
                    resp.status,
                    resp.relay()
                )
            })
        })
        .collect()
}
