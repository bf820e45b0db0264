//! The relay filter's request path: rewrite, status endpoint, labels and counts.

use super::*;
use crate::environment::Environment;
use crate::routing::Split;

/// Session ids the 90/10 rule sends to `env`.
fn sessions(env: Environment, n: usize) -> Vec<String> {
    let split = Split::from_green_buckets(1000);
    (0..)
        .map(|i| format!("session-{i}"))
        .filter(|id| split.pick_for_key(id.as_bytes()) == env)
        .take(n)
        .collect()
}

#[test]
fn each_session_gets_its_environments_cluster_key_and_name() {
    let envoy = FakeEnvoy::new(1_000_000);
    let worker = Worker::new(&envoy, &config());
    for (env, cluster, key) in [
        (Environment::Blue, "relay_blue", BLUE_KEY),
        (Environment::Green, "relay_green", GREEN_KEY),
    ] {
        for id in sessions(env, 5) {
            let mut headers = chat(&id);
            // A client-sent cluster header must never choose the upstream.
            headers.push(("x-relay-cluster", "relay_evil".to_string()));
            let (_stream, flow) = worker.send(&as_refs(&headers));
            assert_eq!(flow, Flow::Continue);
            let host = &worker.host;
            assert_eq!(
                host.request_header("x-relay-cluster").as_deref(),
                Some(cluster)
            );
            assert_eq!(
                host.request_header("authorization"),
                Some(format!("Bearer {key}"))
            );
            assert_eq!(
                host.request_header("x-environment").as_deref(),
                Some(env.as_str())
            );
            assert!(host.answer().is_none());
        }
    }
    // Envoy clears the route cache on each request-header write; the filter never asks again.
    assert_eq!(worker.host.route_cache_clears.get(), 0);
}

#[test]
fn answers_are_labelled_counted_in_the_vm_and_flushed_on_the_tick() {
    let envoy = FakeEnvoy::new(1_000_000);
    let mut worker = Worker::new(&envoy, &config());
    for (i, id) in sessions(Environment::Green, 3).iter().enumerate() {
        let (mut stream, _) = worker.send(&as_refs(&chat(id)));
        worker.answer(&mut stream, if i == 0 { "503" } else { "200" });
        assert_eq!(
            worker
                .host
                .response_header("x-relay-environment")
                .as_deref(),
            Some("green")
        );
    }
    // Batched: nothing reaches Envoy's stats before the timer.
    assert_eq!(envoy.stat("bluegreen.green.requests"), Some(0));
    worker.tick();
    assert_eq!(envoy.stat("bluegreen.green.requests"), Some(3));
    assert_eq!(envoy.stat("bluegreen.green.responses_2xx"), Some(2));
    assert_eq!(envoy.stat("bluegreen.green.responses_5xx"), Some(1));
    assert_eq!(envoy.stat("bluegreen.blue.requests"), Some(0));
    assert_eq!(envoy.stat("bluegreen.green.weight_bp"), Some(1000));
    // Prometheus counts replicas per configuration version with this gauge.
    assert_eq!(
        envoy.stat("bluegreen.config_version"),
        Some(crate::status::version_id(Some("v1")))
    );
}

#[test]
fn the_status_endpoint_answers_get_with_whole_envoy_counts_and_refuses_post() {
    let envoy = FakeEnvoy::new(1_795_000_000_000);
    let other_worker = Worker::new(&envoy, &config());
    let worker = Worker::new(&envoy, &config());
    // One request counted (and not yet flushed) by another worker, one by this one.
    let (mut stream, _) = other_worker.send(&as_refs(&chat("x")));
    other_worker.answer(&mut stream, "200");
    other_worker.vm.flush();
    let (mut stream, _) = worker.send(&as_refs(&chat("y")));
    worker.answer(&mut stream, "200");

    let (_, flow) = worker.send(&[(":method", "GET"), (":path", "/relay/status?pretty")]);
    assert_eq!(flow, Flow::Pause);
    let answer = worker.host.answer().expect("answered");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("x-relay-config-version"), Some("v1"));
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let status = answer.json();
    assert_eq!(status["total_requests"], 2);
    assert_eq!(status["version"], "v1");
    assert!(!answer.body.contains("sk-fake"), "{}", answer.body);

    let (_, flow) = worker.send(&[(":method", "POST"), (":path", "/relay/status")]);
    assert_eq!(flow, Flow::Pause);
    let answer = worker.host.answer().expect("answered");
    assert_eq!(answer.status, 405);
    assert_eq!(answer.header("allow"), Some("GET, HEAD"));
    assert_eq!(answer.json()["error"]["type"], "invalid_request_error");
}

#[test]
fn a_stream_before_any_configuration_is_refused_with_an_openai_error() {
    let envoy = FakeEnvoy::new(1_000_000);
    let worker = Worker::unconfigured(&envoy);
    let (_, flow) = worker.send(&as_refs(&chat("a")));
    assert_eq!(flow, Flow::Pause);
    let answer = worker.host.answer().expect("answered");
    assert_eq!(answer.status, 503);
    assert_eq!(answer.json()["error"]["type"], "server_error");
    // The client's key never went on.
    assert_eq!(
        worker.host.request_header("authorization").as_deref(),
        Some("Bearer client-key")
    );
}

#[test]
fn a_refused_configuration_is_logged_with_its_field_and_keeps_the_last_good_one() {
    let envoy = FakeEnvoy::new(1_000_000);
    let mut worker = Worker::new(&envoy, &config());
    let mut bad = config();
    bad["environments"]["green"]["weight"] = json!(40);
    assert!(!worker.configure(&bad));
    let refused: Vec<String> = super::super::fake::logs()
        .into_iter()
        .filter(|line| line.contains("invalid configuration"))
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].contains("environments.green.weight"),
        "{}",
        refused[0]
    );
    assert!(!refused[0].contains("sk-fake"));
    // The stream still routes with the last good configuration.
    let (_, flow) = worker.send(&as_refs(&chat("a")));
    assert_eq!(flow, Flow::Continue);
    assert!(worker.host.request_header("x-relay-cluster").is_some());
}

#[test]
fn a_pinned_model_moves_its_request_through_the_second_instance() {
    let envoy = FakeEnvoy::new(1_000_000);
    let mut config = config();
    config["models"] = json!({
        "gpt-4.1": {"provider": "openai", "max_tokens": 1000, "supports_streaming": true,
                    "environments": ["green"]}
    });
    let relay = Worker::new(&envoy, &config);
    let id = sessions(Environment::Blue, 1).remove(0);
    let body = br#"{"model": "gpt-4.1", "messages": []}"#;
    let mut headers = chat(&id);
    headers.push(("content-length", body.len().to_string()));
    relay.host.request(&as_refs(&headers));
    relay.host.exchange.borrow_mut().request_body = body.to_vec();
    let mut stream = relay.stream();
    assert_eq!(stream.on_request_headers(false), Flow::Continue);
    assert_eq!(
        relay.host.request_header("x-relay-body-check").as_deref(),
        Some("1")
    );
    assert_eq!(
        stream.on_request_body(10, false),
        Flow::Pause,
        "held to its end"
    );
    assert_eq!(stream.on_request_body(body.len(), true), Flow::Continue);

    // The second instance sees the same request (same exchange) after Envoy's buffer filter.
    let mut after = Stream::RouteAfterBody(super::super::route_after_body::RouteAfterBody::new(
        Rc::new(Vm::new(relay.host.clone())),
    ));
    assert_eq!(after.on_request_headers(false), Flow::Continue);
    assert_eq!(
        relay.host.request_header("x-relay-cluster").as_deref(),
        Some("relay_green")
    );
    assert_eq!(
        relay.host.request_header("authorization"),
        Some(format!("Bearer {GREEN_KEY}"))
    );
    assert_eq!(relay.host.request_header("x-relay-body-check"), None);

    relay.host.respond(&[(":status", "200")]);
    stream.on_response_headers(true);
    assert_eq!(
        relay.host.response_header("x-relay-environment").as_deref(),
        Some("green")
    );
    relay.vm.flush();
    assert_eq!(envoy.stat("bluegreen.green.requests"), Some(1));
    assert_eq!(envoy.stat("bluegreen.blue.requests"), Some(0));
}

#[test]
fn a_model_outside_the_catalog_is_refused_before_the_relay_when_enforcing() {
    let envoy = FakeEnvoy::new(1_000_000);
    let mut config = config();
    config["enforce_models"] = json!(true);
    config["models"] = json!({
        "gpt-4.1": {"provider": "openai", "max_tokens": 1000, "supports_streaming": true}
    });
    let worker = Worker::new(&envoy, &config);
    let body = br#"{"model": "gpt-9", "messages": []}"#;
    worker.host.request(&as_refs(&chat("a")));
    worker.host.exchange.borrow_mut().request_body = body.to_vec();
    let mut stream = worker.stream();
    assert_eq!(stream.on_request_headers(false), Flow::Continue);
    assert_eq!(stream.on_request_body(body.len(), true), Flow::Pause);
    let answer = worker.host.answer().expect("refused");
    assert_eq!(answer.status, 404);
    assert_eq!(answer.json()["error"]["code"], "model_not_found");
}
