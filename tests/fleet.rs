//! Releases across a fleet: three real Envoys (`--concurrency 1` each) watching one ECDS
//! directory, a real Prometheus scraping their admin endpoints every second, load spread over
//! the replicas, and `relayctl rollout` with short steps deciding on its own.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use stack::{failover_config, poll_until, relayctl_bin, stop_load, Fleet};

const REPLICAS: usize = 3;

fn config() -> Value {
    let mut config = failover_config(0, "fleet-initial");
    config["health_check"] = json!({"interval_ms": 500, "timeout_ms": 400});
    config
}

fn wait_green_healthy(fleet: &Fleet) {
    let healthy = poll_until(Duration::from_secs(20), || {
        fleet
            .statuses()
            .iter()
            .all(|s| s["environments"]["green"]["health"] == "healthy")
            .then_some(())
    });
    assert!(
        healthy.is_some(),
        "green never healthy: {:#?}",
        fleet.statuses()
    );
}

const SHORT: [&str; 10] = [
    "rollout",
    "--steps",
    "10,50,100",
    "--step-duration",
    "3s",
    "--analysis-interval",
    "1s",
    "--min-requests",
    "20",
    "--timeout=10",
];

fn started(green_args: &[&str], prometheus: bool) -> Fleet {
    let fleet = Fleet::start(&config(), REPLICAS, 0, green_args);
    let fleet = if prometheus {
        fleet.with_prometheus()
    } else {
        fleet
    };
    if let Some(p) = &fleet.prometheus {
        p.wait_scraped(REPLICAS);
    }
    wait_green_healthy(&fleet);
    fleet
}

fn healthy_green_is_promoted(prometheus: bool) {
    let fleet = started(&[], prometheus);
    let runs = fleet.load(60, 60_000);
    let run = fleet.relayctl(&SHORT, prometheus);
    let (requests, failed) = stop_load(runs);
    run.assert_ok();
    let out = &run.stdout;
    for step in ["canary 10:", "canary 50:", "promote:"] {
        let line = out.lines().find(|l| l.contains(step));
        let line = line.unwrap_or_else(|| panic!("no {step} in:\n{out}"));
        assert!(line.contains("live on"), "{line}");
    }
    assert!(out.contains("step 1/3 (10 %) passed"), "{out}");
    assert!(out.contains("step 2/3 (50 %) passed"), "{out}");
    assert!(out.contains("promoted"), "{out}");
    for status in fleet.statuses() {
        assert_eq!(status["active"], "green", "{status:#}");
    }
    assert_eq!(failed, 0, "{failed} of {requests} client requests failed");
    let status = fleet.relayctl(&["status"], false);
    assert!(
        status
            .stdout
            .contains("rollout: step 3/3 (100 %), promoted"),
        "{}",
        status.stdout
    );
}

/// Runs the short rollout under load and returns its abort line (the one containing `needle`),
/// after checking that every replica is back on blue and no client request failed.
fn aborted(fleet: &Fleet, prometheus: bool, needle: &str) -> String {
    let runs = fleet.load(60, 60_000);
    let run = fleet.relayctl(&SHORT, prometheus);
    let (requests, failed) = stop_load(runs);
    assert_eq!(run.code, Some(1), "{run:?}");
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no {needle:?} line:\n{}\n{}", run.stdout, run.stderr))
        .to_string();
    for status in fleet.statuses() {
        assert_eq!(status["active"], "blue", "{status:#}");
        assert_eq!(status["environments"]["green"]["weight"], 0.0, "{status:#}");
    }
    assert_eq!(
        failed, 0,
        "{failed} of {requests} client requests failed (failover clusters)"
    );
    line
}

fn erroring_green_is_aborted(prometheus: bool) {
    let fleet = started(&["--chat-error-every", "10"], prometheus);
    let line = aborted(&fleet, prometheus, "abort at step 1 (10 %): green 5xx");
    assert!(line.contains("> max(1.0 %, 2 × blue 0.0 %) over"), "{line}");
}

#[test]
fn prometheus_healthy_green_goes_through_every_step_and_is_promoted() {
    healthy_green_is_promoted(true);
}

#[test]
fn status_urls_healthy_green_goes_through_every_step_and_is_promoted() {
    healthy_green_is_promoted(false);
}

#[test]
fn prometheus_green_failing_one_chat_in_ten_is_aborted_with_no_failed_request() {
    erroring_green_is_aborted(true);
}

#[test]
fn status_urls_green_failing_one_chat_in_ten_is_aborted_with_no_failed_request() {
    erroring_green_is_aborted(false);
}

#[test]
fn a_replica_that_never_sees_the_change_stops_the_rollout_and_is_named() {
    let fleet = Fleet::start(&config(), REPLICAS, 1, &[]);
    wait_green_healthy(&fleet);
    let run = fleet.relayctl(&["rollout", "--steps", "10,100", "--timeout=3"], false);
    assert_eq!(run.code, Some(1), "{run:?}");
    let stray = &fleet.status_urls()[REPLICAS - 1];
    let said = run
        .stderr
        .lines()
        .find(|l| l.contains("1 of 3 replicas not on version"));
    let said = said.unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(said.contains(stray.as_str()), "{said}");
    assert!(said.contains("rollout paused at step 1/2 (10 %)"), "{said}");
}

#[test]
fn a_killed_rollout_resumes_at_its_step() {
    let fleet = started(&[], false);
    let runs = fleet.load(40, 60_000);
    let urls = fleet.status_urls().join(",");
    let config = fleet.resource_path();
    let mut child = Command::new(relayctl_bin())
        .args(["rollout", "--steps", "10,100", "--step-duration", "5s"])
        .args(["--analysis-interval", "1s", "--min-requests", "10"])
        .env("RELAYCTL_CONFIG", &config)
        .env("RELAYCTL_STATUS_URL", &urls)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start relayctl");
    let state_path = config.with_file_name("bluegreen-relay.json.relayctl-state.json");
    let running = poll_until(Duration::from_secs(20), || {
        let text = std::fs::read_to_string(&state_path).ok()?;
        let state: Value = serde_json::from_str(&text).ok()?;
        state["rollout"]["last_analysis"].is_string().then_some(())
    });
    assert!(running.is_some(), "the rollout never reached its analysis");
    child.kill().expect("kill relayctl");
    let _ = child.wait();
    for status in fleet.statuses() {
        assert_eq!(
            status["environments"]["green"]["weight"], 10.0,
            "a whole step: {status:#}"
        );
    }
    let resumed = fleet.relayctl(&["rollout", "--resume"], false);
    let (requests, failed) = stop_load(runs);
    resumed.assert_ok();
    assert!(
        resumed
            .stdout
            .contains("resuming the rollout at step 1/2 (10 %)"),
        "{}",
        resumed.stdout
    );
    assert!(
        !resumed.stdout.contains("canary 10:"),
        "the step was published again:\n{}",
        resumed.stdout
    );
    assert!(resumed.stdout.contains("promote:"), "{}", resumed.stdout);
    assert_eq!(failed, 0, "{failed} of {requests} failed");
}

#[test]
fn prometheus_stopped_mid_step_pauses_and_never_promotes() {
    let mut fleet = started(&[], true);
    let runs = fleet.load(40, 60_000);
    let prometheus_url = fleet
        .prometheus
        .as_ref()
        .map(|p| p.url())
        .unwrap_or_default();
    let config = fleet.resource_path();
    let child = Command::new(relayctl_bin())
        .args(["rollout", "--steps", "10,100", "--step-duration", "2s"])
        .args(["--analysis-interval", "500ms", "--min-requests", "10"])
        .args(["--prometheus", &prometheus_url])
        .env("RELAYCTL_CONFIG", &config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start relayctl");
    std::thread::sleep(Duration::from_millis(1500));
    if let Some(p) = fleet.prometheus.as_mut() {
        p.stop();
    }
    let out = child.wait_with_output().expect("relayctl output");
    let _ = stop_load(runs);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("rollout paused at step 1/2 (10 %)"),
        "{stderr}"
    );
    assert!(stderr.contains("cannot reach Prometheus"), "{stderr}");
    assert!(!stdout.contains("promote:"), "{stdout}");
    for status in fleet.statuses() {
        assert_eq!(status["active"], "blue", "{status:#}");
        assert_eq!(
            status["environments"]["green"]["weight"], 10.0,
            "{status:#}"
        );
    }
}

#[test]
fn prometheus_green_slower_to_first_byte_is_aborted_on_ttfb() {
    // A model catalog turns metering on, and with it the time-to-first-byte histogram.
    let mut config = config();
    config["models"] = json!({"gpt-4o-mini": {"provider": "openai", "max_tokens": 128000,
        "supports_streaming": true, "price_per_mtok": {"input": 1.0, "output": 2.0}}});
    let fleet =
        Fleet::start(&config, REPLICAS, 0, &["--first-byte-delay-ms", "500"]).with_prometheus();
    if let Some(p) = &fleet.prometheus {
        p.wait_scraped(REPLICAS);
    }
    wait_green_healthy(&fleet);
    let line = aborted(&fleet, true, "abort at step 1 (10 %): green ttfb p95");
    assert!(line.contains("> 1.25 × blue"), "{line}");
}

#[test]
fn a_replica_killed_mid_step_pauses_the_rollout() {
    let mut fleet = started(&[], false);
    let runs = fleet.load(40, 60_000);
    let urls = fleet.status_urls().join(",");
    let child = Command::new(relayctl_bin())
        .args(["rollout", "--steps", "10,100", "--step-duration", "2s"])
        .args(["--analysis-interval", "500ms", "--min-requests", "10"])
        .env("RELAYCTL_CONFIG", fleet.resource_path())
        .env("RELAYCTL_STATUS_URL", &urls)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start relayctl");
    std::thread::sleep(Duration::from_millis(1500));
    drop(fleet.envoys.pop());
    let out = child.wait_with_output().expect("relayctl output");
    let _ = stop_load(runs);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("rollout paused at step 1/2 (10 %)"),
        "{stderr}"
    );
    assert!(stderr.contains("did not answer"), "{stderr}");
    assert!(!stdout.contains("promote:"), "{stdout}");
}
