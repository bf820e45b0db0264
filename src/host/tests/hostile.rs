//! A host that refuses every call, and shared data written by another build: the filter never
//! traps, never forwards a request it could not rewrite, and falls back to defaults.

use super::*;
use crate::host::api::HostError;

#[test]
fn a_host_refusing_every_call_traps_nothing_and_forwards_nothing() {
    for err in [
        HostError::BadArgument,
        HostError::NotFound,
        HostError::Other(99),
    ] {
        let envoy = FakeEnvoy::new(1_000_000);
        let mut worker = Worker::new(&envoy, &config());
        worker.host.refuse("*", err);
        // Configuration cannot be read: refused, the last good one stays.
        assert!(!worker.configure(&config()));
        let (mut stream, flow) = worker.send(&as_refs(&chat("a")));
        assert_eq!(
            flow,
            Flow::Pause,
            "{err:?}: a request it could not rewrite must stop"
        );
        assert_eq!(stream.on_request_body(10, true), Flow::Continue);
        assert_eq!(stream.on_response_headers(true), Flow::Continue);
        assert_eq!(stream.on_response_body(10, true), Flow::Continue);
        stream.on_log();
        let (_, flow) = worker.send(&[(":method", "GET"), (":path", "/relay/status")]);
        assert_eq!(flow, Flow::Pause);
        worker.tick();
        worker.root.on_http_call_response(1, 10);
        assert!(worker.root.on_done());
    }
}

#[test]
fn a_refused_header_write_stops_the_request_with_a_500() {
    let envoy = FakeEnvoy::new(1_000_000);
    let worker = Worker::new(&envoy, &config());
    worker.host.refuse("replace_header", HostError::BadArgument);
    let (_, flow) = worker.send(&as_refs(&chat("a")));
    assert_eq!(flow, Flow::Pause);
    let answer = worker.host.answer().expect("answered");
    assert_eq!(answer.status, 500);
    assert_eq!(answer.json()["error"]["type"], "server_error");
}

#[test]
fn garbage_under_our_keys_reads_as_defaults_and_is_logged_once() {
    let envoy = FakeEnvoy::new(1_000_000);
    let mut config = config();
    config["health_check"] = json!({"interval_ms": 1000, "timeout_ms": 500});
    config["auto_rollback"] = json!({});
    for key in [
        "bluegreen.health.green.relay_green",
        "bluegreen.health.blue.relay_blue",
        "bluegreen.rollback.green.relay_green",
        "bluegreen.lease",
        "bluegreen.mode",
        "bluegreen.config_version",
    ] {
        envoy.put_shared(key, &[0xff, 0x00, 0x13, 0x37]);
    }
    let mut worker = Worker::new(&envoy, &config);
    for _ in 0..10 {
        worker.tick();
    }
    let (_, flow) = worker.send(&as_refs(&chat("a")));
    assert_eq!(flow, Flow::Continue);
    assert_eq!(
        worker.host.request_header("x-environment").as_deref(),
        Some("blue")
    );
    let warned: Vec<String> = super::super::fake::logs()
        .into_iter()
        .filter(|l| l.contains("cannot read"))
        .collect();
    assert!(!warned.is_empty());
    let mut keys: Vec<&str> = warned
        .iter()
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    let before = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), before, "each key is reported once: {warned:?}");
}
