//! Part two of the demo: a whole release under constant load, driven by relayctl against the
//! ECDS bootstrap — validate, canary 10, canary 50, green dies, promote, rollback — and the
//! count of failed requests at the end.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stack::{failover_config, poll_until, EcdsStack, LoadRun, LoadSpec, RunningStack};

/// How long each step's traffic is watched after the command returned.
const WINDOW: Duration = Duration::from_millis(1500);
/// More than the filter's 200 ms counter flush, with room for a busy machine.
const FLUSH: Duration = Duration::from_millis(500);

pub fn run() {
    println!(
        "\n== Part 2: a release under constant load (live configuration through ECDS, relayctl) =="
    );
    let mut config = failover_config(0, "demo-initial");
    config["health_check"] = json!({"interval_ms": 500, "timeout_ms": 400});
    config["auto_rollback"] =
        json!({"max_error_rate": 0.5, "min_requests": 20, "window_ms": 10000, "cooldown_ms": 5000});
    let stack = EcdsStack::start_operations(&config);
    println!(
        "Envoy (2 workers) with the filter's configuration in {}",
        stack.resource_path().display()
    );
    println!("blue 100 % / green 0 %; waiting for green's first passing probe ...");
    wait_for(&stack, "green healthy", |s| {
        s["environments"]["green"]["health"] == "healthy"
    });

    let spec = LoadSpec {
        duration_ms: 120_000,
        concurrency: 4,
        session_ids: 2000,
        max_rps: 400,
        ..LoadSpec::default()
    };
    let load = LoadRun::start(&stack.envoy.url(), &spec);
    println!(
        "Constant load from a second process: up to {} req/s, {} sessions\n",
        spec.max_rps, spec.session_ids
    );
    println!(
        "{:<34} {:>8} {:>8}   green share (configured → observed)",
        "step", "blue", "green"
    );
    window(&stack, "before the release", "0 %");

    relayctl(&stack, &["validate"]);
    relayctl(&stack, &["canary", "10"]);
    window(&stack, "canary 10", "10 %");
    relayctl(&stack, &["canary", "50"]);
    window(&stack, "canary 50", "50 %");

    let _ = stack.green.set_config(&json!({"refuse": true}));
    println!(
        "  >> green's relay now refuses connections (it died); its sessions are retried on blue"
    );
    window(&stack, "green dead (retried on blue)", "50 %");
    wait_for(&stack, "green taken out", |s| {
        s["environments"]["green"]["routable"] == false
    });
    window(&stack, "green taken out by probes", "50 %");
    let _ = stack.green.set_config(&json!({"refuse": false}));
    println!("  >> green's relay is back");
    wait_for(&stack, "green routable again", |s| {
        s["environments"]["green"]["routable"] == true
    });
    window(&stack, "green back", "50 %");

    relayctl(&stack, &["promote"]);
    window(&stack, "promote (green active)", "100 %");
    relayctl(&stack, &["rollback"]);
    window(&stack, "rollback (blue active)", "0 %");

    let report = load.stop();
    let summary = &report.summary;
    println!(
        "\nLoad: {} requests at {:.0} req/s, {} failed.",
        summary.total, summary.requests_per_second, summary.failed
    );
    println!("\n`relayctl status` now:");
    let status = stack.relayctl(&["status"]);
    for line in status.stdout.lines() {
        println!("  {line}");
    }
}

/// Runs one relayctl command and shows its deployment log lines.
fn relayctl(stack: &EcdsStack, args: &[&str]) {
    let run = stack.relayctl(args);
    println!("$ relayctl {}", args.join(" "));
    for line in run.stdout.lines().chain(run.stderr.lines()) {
        println!("  {line}");
    }
    if !run.ok() {
        println!("  (relayctl exited with {:?})", run.code);
    }
}

/// Answers served per environment during the next [`WINDOW`], from the status counts.
fn window(stack: &EcdsStack, step: &str, configured: &str) {
    // Workers flush their counts every 200 ms: let what came before the step land first, and
    // the window's last batch land before reading the end.
    std::thread::sleep(FLUSH);
    let before = counts(&stack.status());
    std::thread::sleep(WINDOW);
    std::thread::sleep(FLUSH);
    let after = counts(&stack.status());
    let blue = after.0.saturating_sub(before.0);
    let green = after.1.saturating_sub(before.1);
    let share = if blue + green == 0 {
        0.0
    } else {
        100.0 * green as f64 / (blue + green) as f64
    };
    println!("{step:<34} {blue:>8} {green:>8}   {configured} → {share:.1} %");
}

fn counts(status: &Value) -> (u64, u64) {
    let requests = |env: &str| {
        status["environments"][env]["requests"]
            .as_u64()
            .unwrap_or(0)
    };
    (requests("blue"), requests("green"))
}

fn wait_for(stack: &EcdsStack, what: &str, done: impl Fn(&Value) -> bool) {
    let started = Instant::now();
    let reached = poll_until(Duration::from_secs(20), || {
        done(&stack.status()).then_some(())
    });
    if reached.is_none() {
        println!("  (gave up waiting for {what} after 20 s)");
    } else {
        println!("  .. {what} after {} ms", started.elapsed().as_millis());
    }
}
