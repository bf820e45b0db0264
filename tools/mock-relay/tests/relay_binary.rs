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
