//! The contexts against a fake host: what the real-Envoy integration tests prove end to end,
//! here in milliseconds, plus what only a fake can do (a host refusing every call).

mod access;
mod hostile;
mod passive;
mod prober;
mod shadow;
mod stream;
mod tick;
mod upstream;

use std::rc::Rc;

use serde_json::{json, Value};

use super::api::Flow;
use super::fake::{FakeEnvoy, FakeHost};
use super::root::{Root, Stream};
use super::vm::Vm;
use super::TICK_MS;

pub const BLUE_KEY: &str = "sk-fake-blue-0123456789";
pub const GREEN_KEY: &str = "sk-fake-green-9876543210";

/// 90/10 with both keys inline, affinity on `x-session-id`.
pub fn config() -> Value {
    json!({
        "version": "v1",
        "environments": {
            "blue": {"cluster": "relay_blue", "weight": 90, "api_key": BLUE_KEY},
            "green": {"cluster": "relay_green", "weight": 10, "api_key": GREEN_KEY}
        },
        "affinity_headers": ["x-session-id"]
    })
}

/// One Envoy worker: its VM's fake host and a root context configured with `config`.
pub struct Worker {
    pub host: FakeHost,
    pub vm: Rc<Vm<FakeHost>>,
    pub root: Root<FakeHost>,
}

impl Worker {
    /// A worker of `envoy` whose root context took `config`; panics if it was refused.
    pub fn new(envoy: &Rc<FakeEnvoy>, config: &Value) -> Worker {
        let worker = Worker::unconfigured(envoy);
        let mut worker = worker;
        assert!(worker.configure(config), "configuration refused: {config}");
        worker
    }

    pub fn unconfigured(envoy: &Rc<FakeEnvoy>) -> Worker {
        let host = FakeHost::new(envoy);
        let vm = Rc::new(Vm::new(host.clone()));
        let root = Root::new(vm.clone());
        Worker { host, vm, root }
    }

    pub fn configure(&mut self, config: &Value) -> bool {
        self.host.set_plugin_config(&config.to_string());
        self.root.on_configure()
    }

    pub fn stream(&self) -> Stream<FakeHost> {
        self.root.create_stream()
    }

    /// A request with `headers` through a new stream (headers only, no body).
    pub fn send(&self, headers: &[(&str, &str)]) -> (Stream<FakeHost>, Flow) {
        self.host.request(headers);
        let mut stream = self.stream();
        let flow = stream.on_request_headers(true);
        (stream, flow)
    }

    /// The relay's answer with `status` through `stream`, to its end.
    pub fn answer(&self, stream: &mut Stream<FakeHost>, status: &str) {
        self.host.respond(&[(":status", status)]);
        assert_eq!(stream.on_response_headers(true), Flow::Continue);
        stream.on_log();
    }

    /// One timer tick, `TICK_MS` after the last (for a test with one worker).
    pub fn tick(&mut self) {
        self.host.envoy.advance(u64::from(TICK_MS));
        self.root.on_tick();
    }

    /// This worker's timer fires now (several workers tick at the same time).
    pub fn tick_now(&mut self) {
        self.root.on_tick();
    }
}

/// A chat request for session `id`, as a client sends it.
pub fn chat(id: &str) -> Vec<(&'static str, String)> {
    vec![
        (":method", "POST".to_string()),
        (":path", "/v1/chat/completions".to_string()),
        (":authority", "gateway".to_string()),
        ("authorization", "Bearer client-key".to_string()),
        ("x-session-id", id.to_string()),
    ]
}

pub fn as_refs<'a>(headers: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    headers.iter().map(|(n, v)| (*n, v.as_str())).collect()
}
