//! Part three of the demo: a release that runs itself across a fleet. Three Envoys watch one
//! ECDS directory, a real Prometheus scrapes them every second, and `relayctl rollout` steps
//! the canary on its own: it promotes a good green, then aborts a bad one, under load.

use std::time::Duration;

use serde_json::json;
use stack::{failover_config, poll_until, stop_load, Fleet};

const REPLICAS: usize = 3;
const STEPS: [&str; 8] = [
    "--steps",
    "10,50,100",
    "--step-duration",
    "4s",
    "--analysis-interval",
    "1s",
    "--min-requests",
    "20",
];

pub fn run() {
    println!(
        "\n== Part 3: a rollout across a fleet ({REPLICAS} Envoys, Prometheus, relayctl rollout) =="
    );
    let mut config = failover_config(0, "fleet-initial");
    config["health_check"] = json!({"interval_ms": 500, "timeout_ms": 400});
    let fleet = Fleet::start(&config, REPLICAS, 0, &[]).with_prometheus();
    let prometheus = fleet
        .prometheus
        .as_ref()
        .map(|p| p.url())
        .unwrap_or_default();
    if let Some(p) = &fleet.prometheus {
        p.wait_scraped(REPLICAS);
    }
    for (i, url) in fleet.status_urls().iter().enumerate() {
        println!("replica {}: {url}", i + 1);
    }
    println!("Prometheus {prometheus} scrapes each replica's /stats/prometheus every second");
    let healthy = poll_until(Duration::from_secs(20), || {
        fleet
            .statuses()
            .iter()
            .all(|s| s["environments"]["green"]["health"] == "healthy")
            .then_some(())
    });
    if healthy.is_none() {
        println!("  (green never became healthy; the rollout will refuse it)");
    }
    let runs = fleet.load(80, 120_000);
    println!("Load: 80 req/s on each replica, sticky sessions\n");

    let rollout = |what: &str| {
        let mut args = vec!["rollout", "--prometheus", prometheus.as_str()];
        args.extend(STEPS);
        println!("$ relayctl {}   # {what}", args.join(" "));
        let run = fleet.relayctl(&args, false);
        for line in run.stdout.lines().chain(run.stderr.lines()) {
            println!("  {line}");
        }
        println!("  (exit {})", run.code.unwrap_or(-1));
    };
    rollout("a good green");

    println!("\n$ relayctl rollback   # back to blue, to release green's next build");
    let back = fleet.relayctl(&["rollback"], false);
    for line in back.stdout.lines().chain(back.stderr.lines()) {
        println!("  {line}");
    }
    let _ = fleet.green.set_config(&json!({"chat_error_every": 10}));
    println!("  >> green's next build fails one chat in ten with a 500 (the failover clusters retry it on blue)\n");
    rollout("a bad green");

    let (total, failed) = stop_load(runs);
    println!("\nLoad over the whole part: {total} requests, {failed} failed.");
    println!("\n`relayctl status` of the fleet now:");
    let status = fleet.relayctl(&["status"], false);
    for line in status.stdout.lines() {
        println!("  {line}");
    }
}
