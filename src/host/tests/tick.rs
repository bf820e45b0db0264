//! The timer: the split follows shared health and the rollback window on every worker.

use super::*;
use crate::environment::Environment;
use crate::health::{Health, HealthRecord};
use crate::routing::Split;

fn green_session() -> String {
    let split = Split::from_green_buckets(1000);
    (0..)
        .map(|i| format!("s{i}"))
        .find(|id| split.pick_for_key(id.as_bytes()) == Environment::Green)
        .expect("a green session")
}

fn routed_to(worker: &Worker, id: &str) -> String {
    let (_stream, flow) = worker.send(&as_refs(&chat(id)));
    assert_eq!(flow, Flow::Continue);
    worker.host.request_header("x-environment").expect("routed")
}

fn publish(envoy: &FakeEnvoy, env: &str, health: Health, last_pass_ms: u64) {
    let record = HealthRecord {
        health,
        last_probe_ms: last_pass_ms,
        last_pass_ms,
        ..HealthRecord::default()
    };
    envoy.put_shared(
        &format!("bluegreen.health.{env}.relay_{env}"),
        &crate::record::encode(&record),
    );
}

#[test]
fn a_candidate_gets_its_share_only_once_every_worker_read_it_healthy() {
    let envoy = FakeEnvoy::new(1_000_000);
    let mut config = config();
    config["health_check"] = json!({"interval_ms": 1000, "timeout_ms": 500});
    let mut workers: Vec<Worker> = (0..2).map(|_| Worker::new(&envoy, &config)).collect();
    let id = green_session();
    for worker in &workers {
        assert_eq!(
            routed_to(worker, &id),
            "blue",
            "an unvalidated green gets nothing"
        );
    }
    publish(&envoy, "green", Health::Healthy, 1_000_000);
    envoy.advance(u64::from(TICK_MS));
    for worker in &mut workers {
        worker.tick_now();
        assert_eq!(routed_to(worker, &id), "green");
    }
    assert_eq!(
        envoy.stat("bluegreen.green.health"),
        Some(Health::Healthy.gauge())
    );
}

#[test]
fn real_errors_trip_the_candidate_on_every_worker() {
    let envoy = FakeEnvoy::new(1_000_000);
    let mut config = config();
    config["auto_rollback"] =
        json!({"max_error_rate": 0.5, "min_requests": 4, "window_ms": 10000, "cooldown_ms": 60000});
    let mut workers: Vec<Worker> = (0..2).map(|_| Worker::new(&envoy, &config)).collect();
    let id = green_session();
    for worker in &workers {
        for _ in 0..2 {
            let (mut stream, _) = worker.send(&as_refs(&chat(&id)));
            worker.answer(&mut stream, "500");
        }
    }
    for _ in 0..2 {
        envoy.advance(u64::from(TICK_MS));
        for worker in &mut workers {
            worker.tick_now();
        }
    }
    for worker in &workers {
        assert_eq!(routed_to(worker, &id), "blue");
    }
    let tripped: Vec<String> = super::super::fake::logs()
        .into_iter()
        .filter(|l| l.contains("tripped by auto_rollback"))
        .collect();
    assert_eq!(tripped.len(), 1, "{tripped:?}");
    assert!(
        tripped[0].contains("error rate 1.00 over 4 requests"),
        "{}",
        tripped[0]
    );
    assert_eq!(envoy.stat("bluegreen.green.rollbacks"), Some(1));
    assert_eq!(envoy.stat("bluegreen.green.tripped"), Some(1));
    assert_eq!(envoy.stat("bluegreen.blue.tripped"), Some(0));
    // Every worker announced the same mode change; only one logged it.
    let held: Vec<String> = super::super::fake::logs()
        .into_iter()
        .filter(|l| l.contains("routing: normal -> candidate_held"))
        .collect();
    assert_eq!(held.len(), 1, "{held:?}");
}
