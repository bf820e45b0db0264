//! Status endpoint access and the override token.

use super::*;
use crate::secret::Token;

fn status(worker: &Worker, peer: &str, authorization: Option<&str>) -> u32 {
    let mut headers = vec![(":method", "GET"), (":path", "/relay/status")];
    headers.extend(authorization.map(|value| ("authorization", value)));
    worker.host.request_from(peer, &headers);
    let mut stream = worker.stream();
    assert_eq!(
        stream.on_request_headers(true),
        Flow::Pause,
        "never forwarded"
    );
    worker.host.answer().expect("answered").status
}

#[test]
fn without_a_token_the_status_endpoint_answers_loopback_peers_only() {
    let envoy = FakeEnvoy::new(1_000_000);
    let worker = Worker::new(&envoy, &config());
    assert_eq!(status(&worker, "127.0.0.1:5000", None), 200);
    assert_eq!(status(&worker, "[::1]:5000", None), 200);
    assert_eq!(status(&worker, "10.2.3.4:5000", None), 403);
    let answer = worker.host.answer().unwrap();
    assert_eq!(answer.json()["error"]["type"], "invalid_request_error");
    assert!(
        !answer.body.contains("relay_blue"),
        "nothing of the status leaks"
    );
}

#[test]
fn with_a_token_only_its_bearer_reads_the_status() {
    let envoy = FakeEnvoy::new(1_000_000);
    let mut worker = Worker::unconfigured(&envoy);
    // The configuration names a variable; the token itself is in Envoy's environment.
    let mut config = config();
    config["status_token_env"] = json!("BLUEGREEN_FAKE_STATUS_TOKEN");
    std::env::set_var("BLUEGREEN_FAKE_STATUS_TOKEN", "tok-status-123");
    assert!(worker.configure(&config));
    assert_eq!(status(&worker, "127.0.0.1:1", None), 401);
    let answer = worker.host.answer().unwrap();
    assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
    assert!(!answer.body.contains("tok-status"));
    assert_eq!(status(&worker, "127.0.0.1:1", Some("Bearer wrong")), 401);
    assert_eq!(
        status(&worker, "10.0.0.9:1", Some("Bearer tok-status-123")),
        200
    );
    assert!(Token::new("tok-status-123").matches(b"tok-status-123"));
}

#[test]
fn the_override_header_needs_its_token_and_neither_reaches_the_relay() {
    let envoy = FakeEnvoy::new(1_000_000);
    let mut worker = Worker::unconfigured(&envoy);
    let mut config = config();
    config["override_header"] = json!("x-relay-env");
    config["override_token_env"] = json!("BLUEGREEN_FAKE_OVERRIDE_TOKEN");
    std::env::set_var("BLUEGREEN_FAKE_OVERRIDE_TOKEN", "tok-override-9");
    assert!(worker.configure(&config));
    // A blue session asking for green without the token stays on blue.
    let split = crate::routing::Split::from_green_buckets(1000);
    let id = (0..)
        .map(|i| format!("s{i}"))
        .find(|id| split.pick_for_key(id.as_bytes()) == crate::environment::Environment::Blue)
        .unwrap();
    let mut headers = chat(&id);
    headers.push(("x-relay-env", "green".to_string()));
    let (mut stream, _) = worker.send(&as_refs(&headers));
    assert_eq!(
        worker.host.request_header("x-environment").as_deref(),
        Some("blue")
    );
    assert_eq!(worker.host.request_header("x-relay-env"), None, "stripped");
    worker.answer(&mut stream, "200");
    assert_eq!(worker.host.response_header("x-relay-override"), None);

    headers.push(("x-relay-override-token", "tok-override-9".to_string()));
    let (mut stream, _) = worker.send(&as_refs(&headers));
    assert_eq!(
        worker.host.request_header("x-environment").as_deref(),
        Some("green")
    );
    assert_eq!(worker.host.request_header("x-relay-env"), None);
    assert_eq!(worker.host.request_header("x-relay-override-token"), None);
    worker.answer(&mut stream, "200");
    assert_eq!(
        worker.host.response_header("x-relay-override").as_deref(),
        Some("accepted")
    );
}
