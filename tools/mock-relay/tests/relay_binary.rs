//! Runs the built binary the way harnesses do: read the ports line, then talk
//! HTTP to the relay and admin listeners.

// Test helpers outside #[test] fns are not covered by clippy.toml's test
// allowances; in a test, failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct MockRelay {
    child: Child,
    ready: Value,
    listen: SocketAddr,
    admin: SocketAddr,
    agent: ureq::Agent,
}

impl MockRelay {
    fn start(args: &[&str]) -> MockRelay {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mock-relay"))
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ports: Value = serde_json::from_str(&line).unwrap();
        let name = args[args.iter().position(|a| *a == "--name").unwrap() + 1];
        assert_eq!(ports["name"], name);
        assert!(
            line.starts_with(&format!(r#"{{"name":"{name}","listen":""#)),
            "{line}"
        );
        MockRelay {
            child,
            ready: ports.clone(),
            listen: ports["listen"].as_str().unwrap().parse().unwrap(),
            admin: ports["admin"].as_str().unwrap().parse().unwrap(),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(10))
                .build(),
        }
    }

    fn relay(&self, method: &str, path: &str) -> ureq::Request {
        self.agent
            .request(method, &format!("http://{}{path}", self.listen))
    }

    fn admin(&self, method: &str, path: &str) -> ureq::Request {
        self.agent
            .request(method, &format!("http://{}{path}", self.admin))
    }

    fn set_config(&self, patch: Value) -> Value {
        let resp = send(self.admin("POST", "/_mock/config"), Some(patch));
        assert_eq!(resp.status(), 200);
        resp.into_json().unwrap()
    }

    fn chat(&self, body: Value) -> ureq::Response {
        send(self.relay("POST", "/v1/chat/completions"), Some(body))
    }
}

impl Drop for MockRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends a request, treating 4xx/5xx as ordinary responses.
fn send(req: ureq::Request, body: Option<Value>) -> ureq::Response {
    let result = match body {
        Some(body) => req.send_string(&body.to_string()),
        None => req.call(),
    };
    match result {
        Ok(resp) | Err(ureq::Error::Status(_, resp)) => resp,
        Err(e) => panic!("transport error: {e}"),
    }
}

fn chat_body() -> Value {
    // 11 bytes of content -> ceil(11 / 4) = 3 prompt tokens.
    json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "hello there"}]})
}

#[test]
fn models_list_and_chat_json_with_usage() {
    let relay = MockRelay::start(&["--name", "blue"]);

    let resp = send(relay.relay("GET", "/v1/models"), None);
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.header("x-mock-relay"), Some("blue"));
    let models: Value = resp.into_json().unwrap();
    assert_eq!(models["object"], "list");
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "gpt-4.1",
            "claude-sonnet-4.5",
            "gemini-2.5-flash",
            "deepseek-v3.2",
            "some-batch-model"
        ]
    );

    let resp = relay.chat(chat_body());
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.content_type(), "application/json");
    let chat: Value = resp.into_json().unwrap();
    assert_eq!(chat["object"], "chat.completion");
    assert!(chat["id"].as_str().unwrap().starts_with("chatcmpl-mock-"));
    assert_eq!(chat["choices"][0]["message"]["content"], "Hello from blue");
    assert_eq!(
        chat["usage"],
        json!({"prompt_tokens": 3, "completion_tokens": 8, "total_tokens": 11})
    );

    let mut small = chat_body();
    small["max_tokens"] = json!(2);
    let chat: Value = relay.chat(small).into_json().unwrap();
    assert_eq!(chat["usage"]["completion_tokens"], 2);

    let text: Value = send(
        relay.relay("POST", "/v1/completions"),
        Some(json!({"model": "gpt-4.1", "prompt": "abcdefgh"})),
    )
    .into_json()
    .unwrap();
    assert_eq!(text["object"], "text_completion");
    assert_eq!(text["choices"][0]["text"], "Hello from blue");
    assert_eq!(text["usage"]["prompt_tokens"], 2);
}

#[test]
fn bad_requests_get_openai_errors() {
    let relay = MockRelay::start(&["--name", "blue", "--unknown-model", "gpt-4.1"]);

    let resp = send(relay.relay("POST", "/v1/chat/completions"), None);
    assert_eq!(resp.status(), 400);
    let err: Value = resp.into_json().unwrap();
    assert_eq!(err["error"]["type"], "invalid_request_error");
    assert!(err["error"]["param"].is_null());

    assert_eq!(relay.chat(json!({"messages": []})).status(), 400);

    let resp = relay.chat(chat_body());
    assert_eq!(resp.status(), 404);
    let err: Value = resp.into_json().unwrap();
    assert_eq!(err["error"]["code"], "model_not_found");

    let resp = send(relay.relay("GET", "/v1/nothing"), None);
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.header("x-mock-relay"), Some("blue"));
    let err: Value = resp.into_json().unwrap();
    assert_eq!(err["error"]["type"], "invalid_request_error");

    let resp = send(
        relay.admin("POST", "/_mock/config"),
        Some(json!({"chat_stauts": 503})),
    );
    assert_eq!(resp.status(), 400);
}

/// Reads an SSE body line by line, noting when each `data:` line arrived.
fn read_events(resp: ureq::Response) -> Vec<(Instant, String)> {
    let mut events = Vec::new();
    for line in BufReader::new(resp.into_reader()).lines() {
        let line = line.unwrap();
        if let Some(data) = line.strip_prefix("data: ") {
            events.push((Instant::now(), data.to_string()));
        }
    }
    events
}

#[test]
fn streaming_is_paced_and_ends_with_usage_and_done() {
    let relay = MockRelay::start(&["--name", "green", "--chunk-delay-ms", "150"]);
    let mut body = chat_body();
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});

    let started = Instant::now();
    let resp = relay.chat(body.clone());
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.content_type(), "text/event-stream");
    assert_eq!(resp.header("cache-control"), Some("no-cache"));
    let events = read_events(resp);

    assert_eq!(events.len(), 5, "3 chunks + usage + [DONE]");
    let content: String = events[..3]
        .iter()
        .map(|(_, data)| {
            let chunk: Value = serde_json::from_str(data).unwrap();
            assert_eq!(chunk["object"], "chat.completion.chunk");
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(content, "Hello from green");
    let usage: Value = serde_json::from_str(&events[3].1).unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["total_tokens"], 11);
    assert_eq!(events[4].1, "[DONE]");
    // Real streaming: the first event arrives long before the last one.
    let first = events[0].0.duration_since(started);
    let spread = events[4].0.duration_since(events[0].0);
    assert!(
        first < Duration::from_millis(400),
        "first event after {first:?}"
    );
    assert!(
        spread >= Duration::from_millis(500),
        "events spread {spread:?}"
    );

    // Without include_usage, OpenAI's rule sends no usage chunk.
    relay.set_config(json!({"chunk_delay_ms": 0}));
    body["stream_options"] = json!(null);
    let events = read_events(relay.chat(body));
    assert_eq!(events.len(), 4);
    assert!(!events[2].1.contains("\"usage\""));
}

#[test]
fn random_split_stream_reassembles() {
    let relay = MockRelay::start(&["--name", "blue", "--sse-split", "random", "--seed", "7"]);
    relay.set_config(json!({"stream_usage": "always", "chunks": 5}));
    let mut body = chat_body();
    body["stream"] = json!(true);
    let events = read_events(relay.chat(body));
    assert_eq!(events.len(), 7);
    assert_eq!(events[6].1, "[DONE]");
    for (_, data) in &events[..6] {
        serde_json::from_str::<Value>(data).unwrap();
    }
}

#[test]
fn usage_header_overrides_counts() {
    let relay = MockRelay::start(&["--name", "blue", "--stream-usage", "always"]);
    let resp = send(
        relay
            .relay("POST", "/v1/chat/completions")
            .set("x-mock-usage", "100,20"),
        Some(chat_body()),
    );
    let chat: Value = resp.into_json().unwrap();
    assert_eq!(
        chat["usage"],
        json!({"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120})
    );

    let mut body = chat_body();
    body["stream"] = json!(true);
    let resp = send(
        relay
            .relay("POST", "/v1/chat/completions")
            .set("x-mock-usage", "7,5"),
        Some(body),
    );
    let events = read_events(resp);
    let usage: Value = serde_json::from_str(&events[events.len() - 2].1).unwrap();
    assert_eq!(usage["usage"]["total_tokens"], 12);
}

#[test]
fn injected_status_via_admin() {
    let relay = MockRelay::start(&["--name", "blue"]);
    let config = relay.set_config(json!({"chat_status": 503}));
    assert_eq!(config["chat_status"], 503);
    assert_eq!(config["models_status"], 200);

    // Applied before any other check, even to a body that is not JSON.
    let resp = send(relay.relay("POST", "/v1/chat/completions"), None);
    assert_eq!(resp.status(), 503);
    let err: Value = resp.into_json().unwrap();
    assert_eq!(err["error"]["type"], "server_error");
    assert_eq!(send(relay.relay("GET", "/v1/models"), None).status(), 200);

    relay.set_config(json!({"chat_status": 200, "models_status": 429}));
    assert_eq!(relay.chat(chat_body()).status(), 200);
    assert_eq!(send(relay.relay("GET", "/v1/models"), None).status(), 429);

    let config: Value = send(relay.admin("GET", "/_mock/config"), None)
        .into_json()
        .unwrap();
    assert_eq!(config["models_status"], 429);
}

fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    TcpStream::connect_timeout(&addr, Duration::from_secs(2))
}

#[test]
fn refuse_closes_the_relay_and_unrefuse_brings_it_back() {
    let relay = MockRelay::start(&["--name", "blue"]);

    // A keep-alive connection opened while serving.
    let mut kept = connect(relay.listen).unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    kept.write_all(b"GET /_none HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = kept.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 404"));

    assert_eq!(relay.set_config(json!({"refuse": true}))["refuse"], true);
    let err = connect(relay.listen).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    // The kept connection is dead too: EOF or reset, never an answer.
    let _ = kept.write_all(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(!matches!(kept.read(&mut buf), Ok(n) if n > 0));
    // The admin listener stays up.
    assert_eq!(
        send(relay.admin("GET", "/_mock/health"), None).status(),
        200
    );

    relay.set_config(json!({"refuse": false}));
    let resp = send(relay.relay("GET", "/v1/models"), None);
    assert_eq!(resp.status(), 200);
}

#[test]
fn starts_refused_when_asked() {
    let relay = MockRelay::start(&["--name", "green", "--refuse"]);
    assert_eq!(
        connect(relay.listen).unwrap_err().kind(),
        ErrorKind::ConnectionRefused
    );
    relay.set_config(json!({"refuse": false}));
    assert_eq!(send(relay.relay("GET", "/v1/models"), None).status(), 200);
}

#[test]
fn requests_and_stats_are_recorded() {
    let relay = MockRelay::start(&["--name", "blue"]);
    send(
        relay
            .relay("POST", "/v1/chat/completions")
            .set("Authorization", "Bearer sk-test")
            .set("X-Tag", "a")
            .set("x-tag", "b"),
        Some(chat_body()),
    );
    send(relay.relay("GET", "/v1/models"), None);

    let requests: Value = send(relay.admin("GET", "/_mock/requests"), None)
        .into_json()
        .unwrap();
    let requests = requests.as_array().unwrap();
    assert_eq!(requests.len(), 2);
    let chat = &requests[0];
    assert_eq!(chat["method"], "POST");
    assert_eq!(chat["path"], "/v1/chat/completions");
    assert_eq!(chat["headers"]["authorization"], "Bearer sk-test");
    assert_eq!(chat["headers"]["x-tag"], "a, b");
    assert_eq!(
        serde_json::from_str::<Value>(chat["body"].as_str().unwrap()).unwrap(),
        chat_body()
    );
    assert_eq!(chat["body_len"], chat_body().to_string().len());
    assert!(chat["at_ms"].as_u64().unwrap() > 1_600_000_000_000);
    assert_eq!(requests[1]["path"], "/v1/models");

    let stats: Value = send(relay.admin("GET", "/_mock/stats"), None)
        .into_json()
        .unwrap();
    assert_eq!(stats["total"], 2);
    assert_eq!(stats["by_path"]["/v1/models"], 1);
    assert_eq!(stats["by_status"]["200"], 2);

    assert_eq!(
        send(relay.admin("DELETE", "/_mock/requests"), None).status(),
        204
    );
    let requests: Value = send(relay.admin("GET", "/_mock/requests"), None)
        .into_json()
        .unwrap();
    assert_eq!(requests, json!([]));
    let stats: Value = send(relay.admin("GET", "/_mock/stats"), None)
        .into_json()
        .unwrap();
    assert_eq!(stats["total"], 0);
}

// ---- TLS and test certificates ----

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mock-relay-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs `mock-relay certs` and returns its one JSON line.
fn make_certs(dir: &Path, hosts: &[&str]) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mock-relay"));
    cmd.arg("certs").arg("--out").arg(dir);
    for host in hosts {
        cmd.args(["--host", host]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    serde_json::from_str(&stdout).unwrap()
}

fn client_config(ca: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(ca).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

/// One HTTPS request with `Connection: close`: the negotiated ALPN and the raw answer.
fn https_get(
    addr: SocketAddr,
    ca: &str,
    host: &str,
    path: &str,
) -> Result<(Option<Vec<u8>>, String), rustls::Error> {
    let name = ServerName::try_from(host.to_string()).unwrap();
    let mut conn = rustls::ClientConnection::new(client_config(ca), name).unwrap();
    let mut tcp = connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut tcp) {
            let inner = e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
            return Err(inner
                .cloned()
                .unwrap_or(rustls::Error::General(e.to_string())));
        }
    }
    let alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    // The answer is complete at EOF, with or without a close_notify.
    let _ = tls.read_to_end(&mut answer);
    Ok((alpn, String::from_utf8_lossy(&answer).into_owned()))
}

#[test]
fn tls_listener_with_generated_certificates() {
    let dir = temp_dir("tls");
    let certs = make_certs(&dir, &["api.holysheep.ai", "green.test"]);
    let file = |key: &str| certs[key].as_str().unwrap().to_string();
    for key in ["ca", "server_cert", "server_key", "other_ca"] {
        assert!(Path::new(&file(key)).is_file(), "{key}: {certs}");
    }
    assert!(file("server_cert").ends_with("server.pem"));
    assert!(file("server_key").ends_with("server-key.pem"));

    let (cert, key) = (file("server_cert"), file("server_key"));
    let relay = MockRelay::start(&["--name", "blue", "--tls-cert", &cert, "--tls-key", &key]);
    assert_eq!(relay.ready["tls"], true);

    let (alpn, answer) =
        https_get(relay.listen, &file("ca"), "api.holysheep.ai", "/v1/models").unwrap();
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("x-mock-relay: blue"), "{answer}");
    assert!(answer.contains("\"object\":\"list\""), "{answer}");
    // Another name of the certificate works; a name it lacks does not.
    assert!(https_get(relay.listen, &file("ca"), "green.test", "/v1/models").is_ok());
    assert!(https_get(relay.listen, &file("ca"), "other.test", "/v1/models").is_err());
    // A client that trusts the other CA refuses the server.
    let err = https_get(relay.listen, &file("other_ca"), "api.holysheep.ai", "/").unwrap_err();
    assert!(format!("{err:?}").contains("UnknownIssuer"), "{err:?}");
    // Plain HTTP on the TLS port gets no HTTP answer; the admin stays plain HTTP.
    let mut plain = connect(relay.listen).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let _ = plain.read_to_end(&mut buf);
    assert!(
        !buf.starts_with(b"HTTP/1.1"),
        "{}",
        String::from_utf8_lossy(&buf)
    );
    assert_eq!(
        send(relay.admin("GET", "/_mock/health"), None).status(),
        200
    );

    // At runtime: off, a bad file refused with its name, then on again.
    let config = relay.set_config(json!({"tls_cert": null, "tls_key": null}));
    assert!(config["tls_cert"].is_null());
    assert_eq!(send(relay.relay("GET", "/v1/models"), None).status(), 200);
    let missing = dir.join("missing.pem");
    let resp = send(
        relay.admin("POST", "/_mock/config"),
        Some(json!({"tls_cert": missing, "tls_key": key})),
    );
    assert_eq!(resp.status(), 400);
    let err: Value = resp.into_json().unwrap();
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing.pem"),
        "{err}"
    );
    let resp = send(
        relay.admin("POST", "/_mock/config"),
        Some(json!({"tls_cert": cert})),
    );
    assert_eq!(resp.status(), 400, "a cert alone is refused");
    relay.set_config(json!({"tls_cert": cert, "tls_key": key}));
    let (_, answer) =
        https_get(relay.listen, &file("ca"), "api.holysheep.ai", "/v1/models").unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn plain_relay_says_nothing_about_tls_and_bad_tls_files_stop_start_up() {
    let relay = MockRelay::start(&["--name", "blue"]);
    assert!(relay.ready.get("tls").is_none(), "{}", relay.ready);

    let out = Command::new(env!("CARGO_BIN_EXE_mock-relay"))
        .args([
            "--name",
            "b",
            "--tls-cert",
            "/nonexistent/c.pem",
            "--tls-key",
            "/nonexistent/k.pem",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tls_cert /nonexistent/c.pem"), "{stderr}");
}

// ---- failure modes ----

fn statuses(relay: &MockRelay, n: usize) -> Vec<u16> {
    (0..n).map(|_| relay.chat(chat_body()).status()).collect()
}

#[test]
fn every_nth_completion_fails() {
    let relay = MockRelay::start(&["--name", "blue", "--chat-error-every", "3"]);
    assert_eq!(statuses(&relay, 6), [200, 200, 500, 200, 200, 500]);
    let resp = relay.chat(chat_body());
    assert_eq!(resp.status(), 200);

    // Setting it again restarts the count; the status is configurable.
    let config = relay.set_config(json!({"chat_error_every": 10, "chat_error_status": 503}));
    assert_eq!(config["chat_error_every"], 10);
    let got = statuses(&relay, 100);
    assert_eq!(got.iter().filter(|s| **s == 503).count(), 10);
    assert_eq!(got[9], 503);
    assert_eq!(got[0], 200);
    // /v1/models is never counted or failed.
    assert_eq!(send(relay.relay("GET", "/v1/models"), None).status(), 200);

    let resp = send(
        relay.admin("POST", "/_mock/config"),
        Some(json!({"chat_error_status": 200})),
    );
    assert_eq!(resp.status(), 400);
    relay.set_config(json!({"chat_error_every": 0}));
    assert!(statuses(&relay, 20).iter().all(|s| *s == 200));
}

fn models_response(relay: &MockRelay) -> (String, String) {
    let resp = send(relay.relay("GET", "/v1/models"), None);
    assert_eq!(resp.status(), 200);
    let kind = resp.header("content-type").unwrap_or("").to_string();
    (kind, resp.into_string().unwrap())
}

#[test]
fn models_bodies_and_lists() {
    let relay = MockRelay::start(&["--name", "blue", "--models-body", "html"]);
    let (kind, body) = models_response(&relay);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(body.starts_with("<!DOCTYPE html>"), "{body}");

    relay.set_config(json!({"models_body": "empty"}));
    let (kind, body) = models_response(&relay);
    assert_eq!(kind, "application/json");
    assert_eq!(body, "");

    relay.set_config(json!({"models_body": "not_list"}));
    let (_, body) = models_response(&relay);
    let other: Value = serde_json::from_str(&body).unwrap();
    assert!(
        other["models"].is_array() && other.get("data").is_none(),
        "{other}"
    );

    relay.set_config(json!({"models_body": "list", "extra_models": 1000}));
    let (_, body) = models_response(&relay);
    let list: Value = serde_json::from_str(&body).unwrap();
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 1005);
    assert_eq!(data[5]["id"], "extra-model-0001");
    assert_eq!(data[1004]["id"], "extra-model-1000");

    relay.set_config(json!({"model_ids": ["only-this"], "extra_models": 0}));
    let (_, body) = models_response(&relay);
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        list["data"],
        json!([{"id": "only-this", "object": "model", "created": 1_700_000_000, "owned_by": "openai"}])
    );
    let config = relay.set_config(json!({"model_ids": null}));
    assert!(config["model_ids"].is_null());

    let relay = MockRelay::start(&[
        "--name",
        "green",
        "--model-id",
        "a",
        "--model-id",
        "b",
        "--extra-models",
        "2",
    ]);
    let (_, body) = models_response(&relay);
    let list: Value = serde_json::from_str(&body).unwrap();
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b", "extra-model-0001", "extra-model-0002"]);
}

#[test]
fn empty_chat_body_and_forced_completion_tokens() {
    let relay = MockRelay::start(&["--name", "blue", "--chat-body", "empty"]);
    let resp = relay.chat(chat_body());
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.content_type(), "application/json");
    assert_eq!(resp.into_string().unwrap(), "");

    relay.set_config(json!({"chat_body": "normal", "completion_tokens": 1}));
    let mut asked = chat_body();
    asked["max_tokens"] = json!(100);
    let chat: Value = relay.chat(asked).into_json().unwrap();
    assert_eq!(
        chat["usage"],
        json!({"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4})
    );
    // The header still wins.
    let chat: Value = send(
        relay
            .relay("POST", "/v1/chat/completions")
            .set("x-mock-usage", "5,6"),
        Some(chat_body()),
    )
    .into_json()
    .unwrap();
    assert_eq!(chat["usage"]["completion_tokens"], 6);

    let relay = MockRelay::start(&["--name", "green", "--completion-tokens", "2"]);
    let chat: Value = relay.chat(chat_body()).into_json().unwrap();
    assert_eq!(chat["usage"]["completion_tokens"], 2);
}

#[test]
fn first_byte_delay_slows_completions_only() {
    let relay = MockRelay::start(&["--name", "blue", "--first-byte-delay-ms", "400"]);
    let started = Instant::now();
    assert_eq!(send(relay.relay("GET", "/v1/models"), None).status(), 200);
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    assert_eq!(relay.chat(chat_body()).status(), 200);
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );

    relay.set_config(json!({"first_byte_delay_ms": 0}));
    let started = Instant::now();
    relay.chat(chat_body());
    assert!(started.elapsed() < Duration::from_millis(300));
}

/// A raw HTTP/1.1 exchange: everything read until EOF (or the timeout), and when it ended.
fn raw_exchange(addr: SocketAddr, request: &str, timeout: Duration) -> (Vec<u8>, Duration, bool) {
    let mut tcp = connect(addr).unwrap();
    tcp.set_read_timeout(Some(timeout)).unwrap();
    let started = Instant::now();
    tcp.write_all(request.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    let eof = loop {
        match tcp.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    (got, started.elapsed(), eof)
}

fn raw_chat(stream: bool) -> String {
    let body = json!({"model": "gpt-4.1", "messages": [], "stream": stream}).to_string();
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn hang_sends_nothing_then_closes() {
    let relay = MockRelay::start(&["--name", "blue", "--hang-ms", "600"]);
    let (got, took, eof) = raw_exchange(relay.listen, &raw_chat(false), Duration::from_secs(5));
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    assert!(eof);
    assert!(took >= Duration::from_millis(600), "{took:?}");
    let (got, _, eof) = raw_exchange(
        relay.listen,
        "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(5),
    );
    assert!(got.is_empty() && eof);
    let stats: Value = send(relay.admin("GET", "/_mock/stats"), None)
        .into_json()
        .unwrap();
    assert_eq!(stats["by_status"]["closed"], 2, "{stats}");

    relay.set_config(json!({"hang_ms": 0}));
    assert_eq!(relay.chat(chat_body()).status(), 200);
}

#[test]
fn stream_with_long_line_and_malformed_event() {
    let relay = MockRelay::start(&[
        "--name",
        "blue",
        "--sse-long-line-bytes",
        "1048576",
        "--sse-malformed",
        "--stream-usage",
        "always",
    ]);
    let mut body = chat_body();
    body["stream"] = json!(true);
    let events = read_events(relay.chat(body.clone()));
    // 3 chunks + malformed + long line + usage + [DONE]
    assert_eq!(events.len(), 7);
    assert_eq!(events[1].1, "{\"id\": oops");
    assert!(serde_json::from_str::<Value>(&events[1].1).is_err());
    assert_eq!(events[4].1.len(), 1 << 20);
    assert!(events[4].1.bytes().all(|b| b == b'x'));
    let usage: Value = serde_json::from_str(&events[5].1).unwrap();
    assert!(usage["usage"].is_object());
    assert_eq!(events[6].1, "[DONE]");

    relay.set_config(json!({"sse_long_line_bytes": 0, "sse_malformed": false}));
    let events = read_events(relay.chat(body));
    assert_eq!(events.len(), 5);
}

#[test]
fn stream_cut_mid_event() {
    let relay = MockRelay::start(&["--name", "blue", "--sse-cut-after-events", "2"]);
    let (got, _, eof) = raw_exchange(relay.listen, &raw_chat(true), Duration::from_secs(5));
    assert!(eof);
    let text = String::from_utf8_lossy(&got).into_owned();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("transfer-encoding: chunked"), "{text}");
    // One whole event, then half of the second, and no chunked terminator.
    assert_eq!(text.matches("data: {").count(), 2, "{text}");
    assert_eq!(text.matches("\n\n").count(), 1, "{text}");
    assert!(!text.ends_with("0\r\n\r\n"), "{text}");

    relay.set_config(json!({"sse_cut_after_events": 0}));
    let (got, _, _) = raw_exchange(
        relay.listen,
        &raw_chat(true).replace("Host: x", "Host: x\r\nConnection: close"),
        Duration::from_secs(5),
    );
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.contains("data: [DONE]") && text.ends_with("0\r\n\r\n"),
        "{text}"
    );
}
