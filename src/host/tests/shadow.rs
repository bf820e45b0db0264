//! Shadow copies through the shared queue: the stream copies a shadowed request's body as it
//! passes and enqueues it; the root context sends it to the candidate with the candidate's key
//! and counts the answer apart from live traffic.

use serde_json::json;

use super::{as_refs, chat, config, Worker, GREEN_KEY};
use crate::host::api::Flow;
use crate::host::fake::{FakeEnvoy, FakeHost};
use crate::host::root::Stream;
use crate::record;
use crate::shadow::stats::ShadowComparison;

const BODY: &[u8] = br#"{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}"#;

fn shadowing(percent: u32, max_per_second: u32, max_body_bytes: usize) -> serde_json::Value {
    let mut config = config();
    config["environments"]["blue"]["weight"] = json!(100);
    config["environments"]["green"]["weight"] = json!(0);
    config["shadow"] = json!({"percent": percent, "max_per_second": max_per_second,
                              "max_body_bytes": max_body_bytes});
    config
}

/// A chat for session `id` whose body arrives in `pieces`.
fn send_chat(worker: &Worker, id: &str, pieces: &[&[u8]]) -> Stream<FakeHost> {
    let headers = chat(id);
    worker.host.request(&as_refs(&headers));
    let mut stream = worker.stream();
    assert_eq!(stream.on_request_headers(false), Flow::Continue);
    for (at, piece) in pieces.iter().enumerate() {
        worker.host.exchange.borrow_mut().request_body = piece.to_vec();
        let last = at + 1 == pieces.len();
        assert_eq!(stream.on_request_body(piece.len(), last), Flow::Continue);
    }
    stream
}

fn comparison(envoy: &FakeEnvoy) -> ShadowComparison {
    let bytes = envoy
        .shared("bluegreen.shadow.green.relay_green")
        .unwrap_or_default();
    record::decode(&bytes).unwrap_or_default()
}

#[test]
fn a_shadowed_request_reaches_the_candidate_from_the_root_context() {
    let envoy = FakeEnvoy::new(1_000_000);
    let mut worker = Worker::new(&envoy, &shadowing(100, 20, 1024));
    let mut stream = send_chat(&worker, "s-1", &[&BODY[..10], &BODY[10..]]);
    // The client's request itself still goes to blue with blue's key, unpaused.
    assert_eq!(
        worker.host.request_header("x-relay-cluster").as_deref(),
        Some("relay_blue")
    );
    assert!(
        envoy.take_calls().is_empty(),
        "nothing is sent from the stream"
    );
    assert_eq!(envoy.queued("bluegreen.shadow"), 1);

    for queue in envoy.take_ready_queues() {
        worker.root.on_queue_ready(queue);
    }
    let calls = envoy.take_calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.cluster, "relay_green");
    assert_eq!(call.header(":method"), Some("POST"));
    assert_eq!(call.header(":path"), Some("/v1/chat/completions"));
    assert_eq!(
        call.header("authorization"),
        Some(format!("Bearer {GREEN_KEY}").as_str())
    );
    assert_eq!(call.header("x-session-id"), Some("s-1"));
    assert_eq!(call.header("x-relay-shadow"), Some("1"));
    assert_eq!(call.body, BODY);
    assert_eq!(envoy.queued("bluegreen.shadow"), 0);

    // Blue answers the client; the stream ends before green answers the copy.
    envoy.advance(40);
    worker.answer(&mut stream, "200");
    envoy.advance(1000);
    worker.host.call_answer(&[(":status", "500")], b"{}");
    worker.root.on_http_call_response(call.token, 2);

    let seen = comparison(&envoy);
    assert_eq!(seen.active.responses, [1, 0, 0, 0]);
    assert_eq!(seen.active.latency_quantile_ms(0.95), Some(40));
    assert_eq!(seen.candidate.responses, [0, 0, 1, 0]);
    // Sent at once, answered 1040 ms later: the 1250 ms bucket.
    assert_eq!(seen.candidate.latency_quantile_ms(0.95), Some(1250));
    worker.vm.flush();
    assert_eq!(envoy.stat("bluegreen.green.shadow.responses_5xx"), Some(1));
    assert_eq!(envoy.stat("bluegreen.blue.shadow.responses_2xx"), Some(1));
    worker.send(&[(":method", "GET"), (":path", "/relay/status")]);
    let status = worker.host.answer().unwrap().json();
    let green = &status["environments"]["green"]["shadow"];
    assert_eq!(green["answers"], "copies", "{status:#}");
    assert_eq!(green["responses"]["5xx"], 1, "{status:#}");
    assert_eq!(green["latency_ms"]["p95"], 1250, "{status:#}");
    let blue = &status["environments"]["blue"]["shadow"];
    assert_eq!(blue["answers"], "originals", "{status:#}");
    assert_eq!(blue["responses"]["2xx"], 1, "{status:#}");
    assert_eq!(status["environments"]["green"]["requests"], 0, "{status:#}");
    // Live counters saw one request, blue's, and nothing of the copy.
    assert_eq!(envoy.stat("bluegreen.green.requests").unwrap_or(0), 0);
    assert_eq!(envoy.stat("bluegreen.blue.requests"), Some(1));
}

#[test]
fn the_rate_cap_is_shared_by_the_workers() {
    let envoy = FakeEnvoy::new(2_000_000);
    let mut first = Worker::new(&envoy, &shadowing(100, 3, 1024));
    let second = Worker::new(&envoy, &shadowing(100, 3, 1024));
    for i in 0..4 {
        send_chat(&first, &format!("a-{i}"), &[BODY]);
        send_chat(&second, &format!("b-{i}"), &[BODY]);
    }
    assert_eq!(envoy.queued("bluegreen.shadow"), 3);
    first.vm.flush();
    second.vm.flush();
    assert_eq!(envoy.stat("bluegreen.green.shadow.rate_limited"), Some(5));
    // The next second has room again.
    envoy.advance(1000);
    send_chat(&second, "c", &[BODY]);
    assert_eq!(envoy.queued("bluegreen.shadow"), 4);
    for queue in envoy.take_ready_queues() {
        first.root.on_queue_ready(queue);
    }
    assert_eq!(envoy.take_calls().len(), 4);
}

#[test]
fn large_bodies_other_requests_and_unpicked_sessions_are_not_shadowed() {
    let envoy = FakeEnvoy::new(3_000_000);
    let worker = Worker::new(&envoy, &shadowing(100, 20, 32));
    send_chat(&worker, "big", &[&BODY[..20], &BODY[20..]]);
    assert_eq!(envoy.queued("bluegreen.shadow"), 0, "over max_body_bytes");

    let worker = Worker::new(&envoy, &shadowing(100, 20, 1024));
    let (_, flow) = worker.send(&[
        (":method", "GET"),
        (":path", "/v1/models"),
        ("x-session-id", "m"),
    ]);
    assert_eq!(flow, Flow::Continue);
    assert_eq!(envoy.queued("bluegreen.shadow"), 0, "not a completion");

    // At 0 % no session is picked; at 50 % about half are, each on every request.
    let none = Worker::new(&envoy, &shadowing(0, 20, 1024));
    send_chat(&none, "s", &[BODY]);
    assert_eq!(envoy.queued("bluegreen.shadow"), 0);
    let half = Worker::new(&envoy, &shadowing(50, 10_000, 1024));
    let picked = (0..40)
        .filter(|i| {
            let before = envoy.queued("bluegreen.shadow");
            send_chat(&half, &format!("h-{i}"), &[BODY]);
            send_chat(&half, &format!("h-{i}"), &[BODY]);
            let added = envoy.queued("bluegreen.shadow") - before;
            assert!(added == 0 || added == 2, "{added}");
            added == 2
        })
        .count();
    assert!((10..=30).contains(&picked), "{picked}");
}

#[test]
fn a_body_held_for_the_model_check_is_copied_whole_and_a_left_copy_goes_on_the_tick() {
    let envoy = FakeEnvoy::new(4_000_000);
    let mut config = shadowing(100, 20, 1024);
    config["enforce_models"] = json!(true);
    config["models"] = json!({"gpt-4.1": {"provider": "openai", "max_tokens": 1000,
                                          "supports_streaming": true}});
    let mut worker = Worker::new(&envoy, &config);
    let headers = chat("held");
    worker.host.request(&as_refs(&headers));
    let mut stream = worker.stream();
    assert_eq!(stream.on_request_headers(false), Flow::Continue);
    // Envoy's buffer grows while the stream pauses; the last callback sees all of it.
    worker.host.exchange.borrow_mut().request_body = BODY.to_vec();
    assert_eq!(stream.on_request_body(10, false), Flow::Pause);
    assert_eq!(stream.on_request_body(BODY.len(), true), Flow::Continue);
    assert_eq!(envoy.queued("bluegreen.shadow"), 1);
    envoy.take_ready_queues();
    // The root context that registered last is gone: the timer of a current one sends it.
    worker.tick();
    let calls = envoy.take_calls();
    let copy = calls
        .iter()
        .find(|call| call.header("x-relay-shadow") == Some("1"))
        .expect("the copy was sent on the tick");
    assert_eq!(copy.body, BODY);
    assert_eq!(envoy.queued("bluegreen.shadow"), 0);

    // A refused request is not copied.
    worker.host.request(&as_refs(&headers));
    let mut stream = worker.stream();
    stream.on_request_headers(false);
    let unknown = br#"{"model":"nope","messages":[]}"#;
    worker.host.exchange.borrow_mut().request_body = unknown.to_vec();
    stream.on_request_body(unknown.len(), true);
    assert!(worker.host.answer().is_some(), "refused");
    assert_eq!(envoy.queued("bluegreen.shadow"), 0);
}
