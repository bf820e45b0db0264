//! The upstream filter of a failover cluster: each attempt gets the key of the environment its
//! host belongs to.

use super::*;

const METADATA: &str = "xds.upstream_host_metadata.filter_metadata.bluegreen.environment";

/// A relay worker that published the keys, and an upstream-filter worker of the same Envoy.
fn workers(envoy: &Rc<FakeEnvoy>) -> (Worker, Worker) {
    let relay = Worker::new(envoy, &config());
    let upstream = Worker::new(envoy, &json!({"upstream": {}}));
    (relay, upstream)
}

#[test]
fn each_attempt_carries_the_key_of_the_host_it_reached() {
    let envoy = FakeEnvoy::new(1_000_000);
    let (_relay, upstream) = workers(&envoy);
    for (env, key) in [("blue", BLUE_KEY), ("green", GREEN_KEY)] {
        upstream.host.request(&[
            (":path", "/v1/chat/completions"),
            ("authorization", "Bearer other"),
        ]);
        upstream
            .host
            .exchange
            .borrow_mut()
            .properties
            .insert(METADATA.to_string(), env.as_bytes().to_vec());
        let mut stream = upstream.stream();
        assert_eq!(stream.on_request_headers(false), Flow::Continue);
        assert_eq!(
            upstream.host.request_header("authorization"),
            Some(format!("Bearer {key}"))
        );
        assert_eq!(
            upstream.host.request_header("x-environment").as_deref(),
            Some(env)
        );
        upstream.host.respond(&[(":status", "200")]);
        stream.on_response_headers(true);
        assert_eq!(
            upstream
                .host
                .response_header("x-relay-environment")
                .as_deref(),
            Some(env)
        );
    }
}

#[test]
fn an_attempt_without_metadata_or_key_is_refused_not_forwarded_with_the_clients_key() {
    let envoy = FakeEnvoy::new(1_000_000);
    let upstream = Worker::new(&envoy, &json!({"upstream": {}}));
    upstream.host.request(&[("authorization", "Bearer client")]);
    let mut stream = upstream.stream();
    assert_eq!(stream.on_request_headers(false), Flow::Pause);
    assert_eq!(upstream.host.answer().map(|a| a.status), Some(503));

    // A fixed environment, but no relay filter published its key yet.
    let fixed = Worker::new(&envoy, &json!({"upstream": {"environment": "green"}}));
    fixed.host.request(&[("authorization", "Bearer client")]);
    let mut stream = fixed.stream();
    assert_eq!(stream.on_request_headers(false), Flow::Pause);
    let answer = fixed.host.answer().expect("answered");
    assert_eq!(answer.status, 503);
    assert!(answer.body.contains("relay key not available yet"));
}
