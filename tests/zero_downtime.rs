//! Zero-downtime operations under constant load: a second process (`stack load`) sends chat
//! requests without pause while relayctl walks a release (canary 10 → canary 50 → promote →
//! rollback), a bad configuration is published, and green dies and comes back at canary 50.
//! No request may fail, and a second after each step every session lands where the bucket
//! rule says for the new weights.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;
use stack::load::unix_ms;
use stack::{
    expected_env, failover_config, poll_until, EcdsStack, LoadRecord, LoadRun, LoadSpec, BLUE_KEY,
    GREEN_KEY,
};

/// How long after a command returns its split must hold for every request.
const EFFECT_MS: u64 = 1000;
/// How long each state is observed after that.
const OBSERVE: Duration = Duration::from_millis(2200);

/// What the requests started in `[from_ms, to_ms)` must show.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Served by the environment the bucket rule names for green at `green_bp` basis points.
    Split { green_bp: u32 },
    /// Green is down: everything served by blue (the green half through a retry).
    BlueServesAll,
}

struct Window {
    label: String,
    /// When the step's command started and returned (Unix ms).
    started_ms: u64,
    returned_ms: u64,
    from_ms: u64,
    to_ms: u64,
    expect: Expect,
}

fn seed() -> u64 {
    let seed = std::env::var("TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(unix_ms);
    println!("TEST_SEED={seed}");
    seed
}

fn expected(record: &LoadRecord, expect: Expect) -> &'static str {
    match expect {
        Expect::Split { green_bp } => expected_env(&record.session, green_bp),
        Expect::BlueServesAll => "blue",
    }
}

/// Checks one window; returns (requests in it, green share) for the report.
fn check_window(records: &[LoadRecord], w: &Window) -> (usize, f64) {
    let inside: Vec<&LoadRecord> = records
        .iter()
        .filter(|r| r.start_ms >= w.from_ms && r.start_ms < w.to_ms)
        .collect();
    assert!(
        inside.len() >= 100,
        "{}: only {} requests in [{}, {}): the load did not flow",
        w.label,
        inside.len(),
        w.from_ms,
        w.to_ms
    );
    let wrong: Vec<&&LoadRecord> = inside
        .iter()
        .filter(|r| {
            let want = expected(r, w.expect);
            r.env.as_deref() != Some(want) || r.relay.as_deref() != Some(want)
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{}: {} of {} requests from {} ms after the command returned landed elsewhere than \
         {:?} says; first: {:#?}",
        w.label,
        wrong.len(),
        inside.len(),
        w.from_ms.saturating_sub(w.returned_ms),
        w.expect,
        wrong.iter().take(3).collect::<Vec<_>>()
    );
    let green = inside
        .iter()
        .filter(|r| r.env.as_deref() == Some("green"))
        .count();
    (inside.len(), green as f64 / inside.len() as f64)
}

/// The last request started after the step began that still followed something else than
/// the new split, relative to when the command returned (negative: before it returned).
fn last_stale_ms(records: &[LoadRecord], w: &Window) -> Option<i64> {
    records
        .iter()
        .filter(|r| r.start_ms >= w.started_ms && r.start_ms < w.to_ms)
        .filter(|r| r.env.as_deref() != Some(expected(r, w.expect)))
        .map(|r| r.start_ms as i64 - w.returned_ms as i64)
        .max()
}

#[test]
fn release_under_load_fails_no_request() {
    let stack = EcdsStack::start_operations(&failover_config(0, "zd-initial"));
    let spec = LoadSpec {
        duration_ms: 90_000, // an upper bound: stopped as soon as the scenario ends
        concurrency: 8,
        session_ids: 2000,
        max_rps: 1500,
        seed: seed(),
        ..LoadSpec::default()
    };
    let load = LoadRun::start(&stack.envoy.url(), &spec);
    poll_until(Duration::from_secs(10), || {
        (stack.blue.total() > 200).then_some(())
    })
    .expect("the load generator's traffic never reached blue");

    let mut windows: Vec<Window> = Vec::new();
    let t0 = unix_ms();
    std::thread::sleep(Duration::from_millis(500));
    windows.push(Window {
        label: "before any step (green 0 %)".into(),
        started_ms: t0,
        returned_ms: t0,
        from_ms: t0,
        to_ms: unix_ms(),
        expect: Expect::Split { green_bp: 0 },
    });

    // The release, through the relayctl binary.
    step(&stack, &mut windows, &["canary", "10"], 1000, "");
    step(&stack, &mut windows, &["canary", "50"], 5000, "");
    step(&stack, &mut windows, &["promote"], 10_000, "");
    step(&stack, &mut windows, &["rollback"], 0, "");

    // A configuration the filter refuses, written straight into the watched resource:
    // ECDS rejects it and the rollback's configuration keeps serving.
    let live_before = stack.live_version().expect("status answers");
    let rejected_before = stack.ecds_stat("update_rejected");
    let mut bad = failover_config(1000, "zd-bad");
    bad["environments"]["green"]["weight"] = json!(20); // 90 + 20
    let bad_at = unix_ms();
    stack.publish(&bad.to_string());
    poll_until(Duration::from_secs(5), || {
        (stack.ecds_stat("update_rejected") > rejected_before).then_some(())
    })
    .unwrap_or_else(|| {
        let stats = stack.envoy.stats();
        let ecds: Vec<&str> = stats
            .lines()
            .filter(|l| l.starts_with("extension_config_discovery."))
            .collect();
        panic!("the bad configuration was not counted as rejected; ECDS stats:\n{ecds:#?}")
    });
    assert!(
        !stack
            .envoy
            .log()
            .lines()
            .filter(|l| l.contains("invalid configuration: environments.green.weight"))
            .collect::<Vec<_>>()
            .is_empty(),
        "Envoy's log does not say why the configuration was refused"
    );
    let stats = stack.envoy.stats();
    for line in stats
        .lines()
        .filter(|l| l.starts_with("extension_config_discovery.") && l.contains("update_"))
    {
        println!("  {line}");
    }
    std::thread::sleep(OBSERVE);
    assert_eq!(stack.live_version(), Some(live_before.clone()));
    windows.push(Window {
        label: "bad configuration published (rejected)".into(),
        started_ms: bad_at,
        returned_ms: bad_at,
        from_ms: bad_at,
        to_ms: unix_ms(),
        expect: Expect::Split { green_bp: 0 },
    });

    // Green dies at canary 50 and comes back.
    step(
        &stack,
        &mut windows,
        &["canary", "50"],
        5000,
        " (over the rejected file)",
    );
    stack.blue.clear();
    let killed_at = unix_ms();
    stack.green.set_config(&json!({"refuse": true}));
    let refused_at = unix_ms();
    std::thread::sleep(OBSERVE);
    let revived_at = unix_ms();
    stack.green.set_config(&json!({"refuse": false}));
    windows.push(Window {
        label: "green refusing connections at canary 50".into(),
        started_ms: killed_at,
        returned_ms: refused_at,
        // Requests already on green when it closed its sockets may have been answered by it
        // (on a busy machine a request started just before reaches the relay late).
        from_ms: refused_at + 250,
        to_ms: revived_at,
        expect: Expect::BlueServesAll,
    });
    let back_at = unix_ms();
    std::thread::sleep(OBSERVE);
    // Fetched after the revival window, so every request of the outage has finished.
    let blue_seen = stack.blue.requests();
    windows.push(Window {
        label: "green revived at canary 50".into(),
        started_ms: revived_at,
        returned_ms: back_at,
        from_ms: back_at + EFFECT_MS,
        to_ms: unix_ms(),
        expect: Expect::Split { green_bp: 5000 },
    });

    let report = load.stop();
    let records = &report.records;
    let summary = &report.summary;
    println!(
        "load: {} requests in {:.1} s ({} req/s), {} failed, per environment {:?}",
        summary.total,
        (summary.ended_at_ms - summary.started_at_ms) as f64 / 1000.0,
        summary.requests_per_second,
        summary.failed,
        summary.per_env
    );
    if summary.failed > 0 {
        // Say when they failed and what Envoy counted (e.g. upstream_rq_retry_overflow).
        let failed: Vec<&LoadRecord> = records.iter().filter(|r| r.failed()).collect();
        let stats = stack.envoy.stats();
        let counters: Vec<&str> = stats
            .lines()
            .filter(|l| l.starts_with("cluster.relay_") && !l.ends_with(": 0"))
            .filter(|l| {
                ["retry", "cx_connect_fail", "rq_5xx", "overflow"]
                    .iter()
                    .any(|k| l.contains(k))
            })
            .collect();
        println!(
            "{} failed requests, started from {} to {} (green refused at {refused_at}, revived at {revived_at}); cluster counters:\n{}",
            failed.len(),
            failed[0].start_ms,
            failed[failed.len() - 1].start_ms,
            counters.join("\n")
        );
    }
    assert_eq!(
        summary.failed, 0,
        "requests failed: {:#?}",
        summary.failed_examples
    );
    assert_eq!(summary.total as usize, records.len());

    for w in &windows {
        let (n, green) = check_window(records, w);
        let stale = last_stale_ms(records, w)
            .map(|ms| format!("last request on the old split started {ms} ms after it returned"))
            .unwrap_or_else(|| "no request on the old split after it started".into());
        println!(
            "  {:<48} took {:>4} ms; {n:>5} requests checked, green {:.3}; {stale}",
            w.label,
            w.returned_ms - w.started_ms,
            green
        );
    }

    // The requests green should have served went to blue, each with blue's key.
    let kill = windows
        .iter()
        .find(|w| matches!(w.expect, Expect::BlueServesAll))
        .unwrap();
    let retried: HashSet<String> = records
        .iter()
        .filter(|r| r.start_ms >= kill.from_ms && r.start_ms < kill.to_ms)
        .filter(|r| expected_env(&r.session, 5000) == "green")
        .map(|r| r.id.to_string())
        .collect();
    assert!(
        retried.len() >= 50,
        "only {} retried requests",
        retried.len()
    );
    let at_blue: Vec<_> = blue_seen
        .iter()
        .filter(|r| r.header("x-load-id").is_some_and(|id| retried.contains(id)))
        .collect();
    assert_eq!(
        at_blue.len(),
        retried.len(),
        "every retried request reached blue"
    );
    let blue_auth = format!("Bearer {BLUE_KEY}");
    for r in &at_blue {
        assert_eq!(r.header("authorization"), Some(blue_auth.as_str()));
        assert_eq!(r.header("x-environment"), Some("blue"));
    }
    for r in &blue_seen {
        let leaked = r.headers.values().any(|v| v.contains(GREEN_KEY));
        assert!(!leaked, "blue saw green's key");
    }
    println!(
        "  green down: {} requests of green's sessions were retried on blue with blue's key",
        at_blue.len()
    );
}

/// Runs one relayctl step and watches the split for [`OBSERVE`]: every request that starts
/// [`EFFECT_MS`] after relayctl returned must follow the bucket rule for `green_bp`.
fn step(stack: &EcdsStack, windows: &mut Vec<Window>, args: &[&str], green_bp: u32, note: &str) {
    let run = stack.relayctl(args);
    run.assert_ok();
    print!("{}", run.stdout);
    std::thread::sleep(OBSERVE);
    windows.push(Window {
        label: format!("relayctl {}{note}", args.join(" ")),
        started_ms: run.started_ms,
        returned_ms: run.returned_ms,
        from_ms: run.returned_ms + EFFECT_MS,
        to_ms: unix_ms(),
        expect: Expect::Split { green_bp },
    });
}
