//! Probes that cost nothing while traffic flows: real answers are the health signal, model
//! probes run on their own interval, and the model lists feed the catalog diff.

use super::*;
use crate::environment::Environment;
use crate::routing::Split;

const LIST: &[u8] = br#"{"object":"list","data":[{"id":"gpt-4.1"},{"id":"deepseek-v3.2"}]}"#;
const FEWER: &[u8] = br#"{"object":"list","data":[{"id":"gpt-4.1"}]}"#;

fn config_with_probes() -> Value {
    let mut config = config();
    config["health_check"] = json!({
        "interval_ms": 1000, "timeout_ms": 500, "model_probes": ["gpt-4.1"],
        "model_probe_interval_ms": 60000
    });
    config
}

fn session(env: Environment) -> String {
    let split = Split::from_green_buckets(1000);
    (0..)
        .map(|i| format!("s{i}"))
        .find(|id| split.pick_for_key(id.as_bytes()) == env)
        .unwrap()
}

/// One interval of 200 ms ticks; each tick `per_tick` requests per environment answered 200,
/// and every probe answered like a healthy relay (`list` for green's model list). Returns the
/// probes sent, by (cluster, path).
fn interval(worker: &mut Worker, per_tick: usize, green_list: &[u8]) -> Vec<(String, String)> {
    let mut sent = Vec::new();
    for _ in 0..5 {
        for env in Environment::ALL {
            for _ in 0..per_tick {
                let (mut stream, _) = worker.send(&as_refs(&chat(&session(env))));
                worker.answer(&mut stream, "200");
            }
        }
        worker.tick();
        for call in worker.host.envoy.take_calls() {
            let path = call.header(":path").unwrap_or_default().to_string();
            let body: &[u8] = match (path.as_str(), call.cluster.as_str()) {
                ("/v1/models", "relay_green") => green_list,
                ("/v1/models", _) => LIST,
                _ => br#"{"choices":[{"message":{"content":"ok"}}],"usage":{"prompt_tokens":9,"completion_tokens":7}}"#,
            };
            worker.host.call_answer(
                &[(":status", "200"), ("x-envoy-upstream-service-time", "2")],
                body,
            );
            worker.root.on_http_call_response(call.token, body.len());
            sent.push((call.cluster, path));
        }
    }
    sent
}

#[test]
fn steady_traffic_replaces_every_probe_until_the_model_probes_are_due() {
    let envoy = FakeEnvoy::new(1_000_000);
    let mut worker = Worker::new(&envoy, &config_with_probes());
    // First intervals: the lease, then a full round (models + chats) for both.
    let mut first = Vec::new();
    for _ in 0..3 {
        first.extend(interval(&mut worker, 2, LIST));
    }
    let chats = first
        .iter()
        .filter(|(_, p)| p == "/v1/chat/completions")
        .count();
    assert_eq!(chats, 2, "one chat probe per environment: {first:?}");
    // Then 40 s of steady traffic: not one probe.
    let mut later = Vec::new();
    for _ in 0..40 {
        later.extend(interval(&mut worker, 2, LIST));
    }
    assert!(later.is_empty(), "probes while traffic flowed: {later:?}");
    assert!(envoy.stat("bluegreen.blue.probes_saved").unwrap_or(0) >= 39);
    // Chat probes spend tokens, counted apart from live usage.
    assert_eq!(envoy.stat("bluegreen.green.probe_tokens"), Some(16));
    assert_eq!(envoy.stat("bluegreen.green.probe_chats"), Some(1));
    // At the model probe interval (60 s) the chats run again, with traffic or not.
    let mut due = Vec::new();
    for _ in 0..20 {
        due.extend(interval(&mut worker, 2, LIST));
    }
    let chats = due
        .iter()
        .filter(|(_, p)| p == "/v1/chat/completions")
        .count();
    assert_eq!(chats, 2, "{due:?}");
}

#[test]
fn real_failures_mark_an_environment_down_without_a_probe() {
    let envoy = FakeEnvoy::new(1_000_000);
    let mut worker = Worker::new(&envoy, &config_with_probes());
    for _ in 0..3 {
        interval(&mut worker, 2, LIST);
    }
    // Blue's relay is gone: Envoy answers 503 itself for every real request.
    for _ in 0..3 {
        for _ in 0..5 {
            for _ in 0..3 {
                let (mut stream, _) = worker.send(&as_refs(&chat(&session(Environment::Blue))));
                worker.answer(&mut stream, "503");
            }
            worker.tick();
            for call in envoy.take_calls() {
                // Green has no traffic now and is probed (healthy); blue once it is unwell,
                // answered as Envoy answers for a dead relay.
                if call.cluster == "relay_green" {
                    let body: &[u8] = if call.header(":path") == Some("/v1/models") {
                        LIST
                    } else {
                        br#"{"choices":[{}]}"#
                    };
                    let ok = [(":status", "200"), ("x-envoy-upstream-service-time", "1")];
                    worker.host.call_answer(&ok, body);
                    worker.root.on_http_call_response(call.token, body.len());
                } else {
                    let dead = b"upstream connect error";
                    worker.host.call_answer(&[(":status", "503")], dead);
                    worker.root.on_http_call_response(call.token, dead.len());
                }
            }
        }
    }
    let lines: Vec<String> = super::super::fake::logs()
        .into_iter()
        .filter(|l| l.contains("blue: healthy -> unhealthy"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("real requests failed"), "{}", lines[0]);
}

#[test]
fn the_status_names_the_models_the_candidate_lacks_with_their_share() {
    let envoy = FakeEnvoy::new(1_000_000);
    let mut config = config_with_probes();
    config["models"] = json!({
        "gpt-4.1": {"provider": "openai", "max_tokens": 100, "supports_streaming": true},
        "deepseek-v3.2": {"provider": "deepseek", "max_tokens": 100, "supports_streaming": true}
    });
    let mut worker = Worker::new(&envoy, &config);
    interval(&mut worker, 0, FEWER);
    interval(&mut worker, 0, FEWER);
    // Live traffic on blue: three deepseek answers, one gpt-4.1.
    for (model, n) in [("deepseek-v3.2", 3), ("gpt-4.1", 1)] {
        for _ in 0..n {
            let (mut stream, _) = worker.send(&as_refs(&chat(&session(Environment::Blue))));
            worker
                .host
                .respond(&[(":status", "200"), ("content-type", "application/json")]);
            let body = format!(
                r#"{{"model":"{model}","usage":{{"prompt_tokens":1,"completion_tokens":1}}}}"#
            );
            worker.host.exchange.borrow_mut().response_body = body.clone().into_bytes();
            stream.on_response_headers(false);
            stream.on_response_body(body.len(), true);
            stream.on_log();
        }
    }
    let (_, _) = worker.send(&[(":method", "GET"), (":path", "/relay/status")]);
    let status = worker.host.answer().unwrap().json();
    let green = &status["environments"]["green"];
    assert_eq!(green["models"]["ids"], json!(["gpt-4.1"]));
    assert_eq!(
        green["missing_models"],
        json!([{"id": "deepseek-v3.2", "share": 0.75}])
    );
    assert_eq!(status["environments"]["blue"]["models"]["count"], 2);
    assert!(status["environments"]["blue"]
        .get("missing_models")
        .is_none());
}

#[test]
fn an_html_model_list_is_reported_as_such() {
    let envoy = FakeEnvoy::new(1_000_000);
    let mut worker = Worker::new(&envoy, &config_with_probes());
    for _ in 0..3 {
        interval(&mut worker, 0, b"<html><body>Bad gateway</body></html>");
    }
    let (_, _) = worker.send(&[(":method", "GET"), (":path", "/relay/status")]);
    let status = worker.host.answer().unwrap().json();
    let green = &status["environments"]["green"];
    assert_eq!(
        green["models"]["not_a_list"],
        "an HTML page, not an OpenAI model list"
    );
    assert_eq!(green["health"], "degraded");
    assert_eq!(green["missing_models"], json!([]));
}

#[test]
fn validate_can_ask_for_the_model_probes_now() {
    let envoy = FakeEnvoy::new(1_000_000);
    let mut worker = Worker::new(&envoy, &config_with_probes());
    for _ in 0..3 {
        interval(&mut worker, 2, LIST);
    }
    assert!(interval(&mut worker, 2, LIST).is_empty());
    worker.send(&[(":method", "GET"), (":path", "/relay/status?probe=models")]);
    let sent = interval(&mut worker, 2, LIST);
    let chats = sent
        .iter()
        .filter(|(_, p)| p == "/v1/chat/completions")
        .count();
    assert_eq!(chats, 2, "{sent:?}");
}
