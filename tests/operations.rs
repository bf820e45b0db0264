//! Live reconfiguration by ECDS: how long a published configuration takes to be served, by
//! the harness's own publish and through relayctl. Prints the figures; asserts only a
//! generous bound.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use stack::{failover_config, EcdsStack, RunningStack};

const PUBLISHES: usize = 20;
const BOUND: Duration = Duration::from_secs(5);

fn describe(label: &str, samples: &mut [Duration]) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "{label}: n={} min {:.1} ms, median {:.1} ms, max {:.1} ms",
        samples.len(),
        ms(samples[0]),
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() - 1])
    )
}

#[test]
fn publish_to_effect_time() {
    let stack = EcdsStack::start_operations(&failover_config(0, "ops-0"));
    let reloads_before = stack.ecds_stat("config_reload");
    let mut samples = Vec::new();
    for i in 1..=PUBLISHES {
        let version = format!("ops-{i}");
        let green = [1000, 5000, 2500, 0][i % 4];
        stack.publish(&failover_config(green, &version).to_string());
        // `publish` returns right after the rename over the watched file.
        let renamed = Instant::now();
        let live = stack.wait_version(&version);
        samples.push(live.saturating_duration_since(renamed));
    }
    let line = describe(
        "publish (rename) -> status reports the version",
        &mut samples,
    );
    println!("{line}");
    assert!(
        samples.iter().all(|d| *d < BOUND),
        "a publication took {BOUND:?} or more: {line}"
    );
    assert_eq!(
        stack.ecds_stat("config_reload") - reloads_before,
        PUBLISHES as u64,
        "one ECDS reload per publication"
    );
}

#[test]
fn relayctl_steps_are_live_when_it_returns() {
    let stack = EcdsStack::start_operations(&failover_config(0, "ops-0"));
    let mut live_after = Vec::new();
    let mut wall = Vec::new();
    for step in [
        vec!["canary", "1"],
        vec!["canary", "5"],
        vec!["canary", "12.5"],
        vec!["canary", "50"],
        vec!["promote"],
        vec!["rollback"],
    ] {
        let reloads = stack.ecds_stat("config_reload");
        let run = stack.relayctl(&step);
        run.assert_ok();
        // relayctl returned: every worker already serves the version it published.
        let version = run
            .stdout
            .split("published version ")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .unwrap_or_else(|| panic!("no version in relayctl's log line:\n{run}"))
            .to_string();
        for _ in 0..6 {
            assert_eq!(stack.live_version().as_deref(), Some(version.as_str()));
        }
        // relayctl's own state file sits in the watched directory: writing it must not
        // cause a second reload.
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(
            stack.ecds_stat("config_reload") - reloads,
            1,
            "{step:?}: exactly one ECDS reload"
        );
        let ms: u64 = run
            .stdout
            .split("live on Envoy after ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no 'live on Envoy after' in:\n{run}"));
        live_after.push(Duration::from_millis(ms));
        wall.push(Duration::from_millis(run.returned_ms - run.started_ms));
        print!("{}", run.stdout);
    }
    println!(
        "{}",
        describe("relayctl: publish -> live (its log line)", &mut live_after)
    );
    println!(
        "{}",
        describe("relayctl: whole command, start to exit", &mut wall)
    );
    assert!(wall.iter().all(|d| *d < BOUND));
    // Promote then rollback: blue is active again with everything.
    let status = stack.status();
    assert_eq!(status["active"], "blue", "{status:#}");
    assert_eq!(
        status["environments"]["blue"]["weight"].as_f64(),
        Some(100.0)
    );
}
