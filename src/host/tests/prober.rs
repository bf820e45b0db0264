//! Probes: one prober per interval for the whole Envoy, the probe requests, their verdicts.

use super::*;
use crate::health::HealthRecord;

const LIST: &[u8] = br#"{"object":"list","data":[{"id":"gpt-4.1"},{"id":"deepseek-v3.2"}]}"#;

fn probing() -> Value {
    let mut config = config();
    config["health_check"] = json!({"interval_ms": 1000, "timeout_ms": 500});
    config
}

fn health(envoy: &FakeEnvoy, env: &str) -> HealthRecord {
    let key = format!("bluegreen.health.{env}.relay_{env}");
    crate::record::decode(&envoy.shared(&key).expect("a verdict")).expect("readable")
}

#[test]
fn one_worker_of_the_envoy_probes_each_interval() {
    let envoy = FakeEnvoy::new(1_000_000);
    let mut workers: Vec<Worker> = (0..3).map(|_| Worker::new(&envoy, &probing())).collect();
    let mut calls = Vec::new();
    for _ in 0..25 {
        envoy.advance(u64::from(TICK_MS));
        for worker in &mut workers {
            worker.tick_now();
            // Answered at once, so that no round is still running at the next slot.
            for call in envoy.take_calls() {
                worker.host.call_answer(
                    &[(":status", "200"), ("x-envoy-upstream-service-time", "1")],
                    b"",
                );
                worker.root.on_http_call_response(call.token, 0);
                calls.push(call);
            }
        }
    }
    // 25 ticks of 200 ms from t = 1,000,000 ms touch six 1 s slots; each gets exactly one
    // round (blue + green), whichever of the three workers wins its lease.
    let rounds = calls.len() / 2;
    assert_eq!(rounds, 6, "{} calls", calls.len());
    assert_eq!(
        calls.iter().filter(|c| c.cluster == "relay_blue").count(),
        rounds
    );
}

#[test]
fn probes_carry_the_environments_key_and_authority_and_classify_answers() {
    let envoy = FakeEnvoy::new(1_000_000);
    let mut worker = Worker::new(&envoy, &probing());
    let mut rounds = 0;
    while rounds < 2 {
        worker.tick();
        for call in envoy.take_calls() {
            assert_eq!(call.header(":path"), Some("/v1/models"));
            assert_eq!(call.timeout_ms, 500);
            if call.cluster == "relay_green" {
                assert_eq!(
                    call.header("authorization"),
                    Some(format!("Bearer {GREEN_KEY}").as_str())
                );
                assert_eq!(call.header(":authority"), Some("relay_green"));
                // Envoy's own answer for a relay it cannot reach.
                worker.host.call_answer(
                    &[(":status", "503")],
                    b"upstream connect error or disconnect/reset before headers",
                );
                rounds += 1;
            } else {
                worker.host.call_answer(
                    &[(":status", "200"), ("x-envoy-upstream-service-time", "3")],
                    LIST,
                );
            }
            let body = worker.host.exchange.borrow().call_body.len();
            worker.root.on_http_call_response(call.token, body);
        }
    }
    assert_eq!(
        health(&envoy, "blue").health,
        crate::health::Health::Healthy
    );
    let green = health(&envoy, "green");
    assert_eq!(green.health, crate::health::Health::Unhealthy);
    assert_eq!(green.consecutive_failures, 2);
    let changes: Vec<String> = super::super::fake::logs()
        .into_iter()
        .filter(|l| l.contains("green: unknown -> unhealthy"))
        .collect();
    assert_eq!(
        changes,
        ["INFO: green: unknown -> unhealthy (connection failed on /v1/models, 2 in a row)"]
    );
    assert_eq!(envoy.stat("bluegreen.green.probes_unhealthy"), Some(2));
}

#[test]
fn an_answer_for_an_unknown_token_is_ignored() {
    let envoy = FakeEnvoy::new(1_000_000);
    let mut worker = Worker::new(&envoy, &probing());
    worker.root.on_http_call_response(12345, 0);
    worker.tick();
}

#[test]
fn model_probes_send_one_small_chat_per_model() {
    let envoy = FakeEnvoy::new(1_000_000);
    let mut config = probing();
    config["health_check"]["model_probes"] = json!(["gpt-4.1"]);
    let mut worker = Worker::new(&envoy, &config);
    let mut chats = Vec::new();
    while chats.is_empty() {
        worker.tick();
        chats = envoy
            .take_calls()
            .into_iter()
            .filter(|c| c.header(":path") == Some("/v1/chat/completions"))
            .collect();
    }
    assert_eq!(chats.len(), 2, "one per environment");
    let body: Value = serde_json::from_slice(&chats[0].body).unwrap();
    assert_eq!(body["model"], "gpt-4.1");
    assert_eq!(body["max_tokens"], 16);
    assert_eq!(chats[0].header("content-type"), Some("application/json"));
}
