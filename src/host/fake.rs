//! A fake host for native tests of the contexts: one `FakeEnvoy` (shared data, stats and the
//! clock are process-wide, as in Envoy) and a `FakeHost` per VM, which also holds what Envoy
//! shows the context being called (headers, bodies, properties, a local answer, call answers).
//! It can refuse calls with any status, to prove the filter never traps on one.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::sync::Once;

use super::api::{Buffer, Host, HostError, HostResult, Map, MetricKind, Shared};
use crate::routing::headers::serialize;

/// What the module sent as its own answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAnswer {
    pub status: u32,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl LocalAnswer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("local answer is JSON")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A request the module sent with `http_call`.
#[derive(Debug, Clone)]
pub struct Call {
    pub token: u32,
    pub cluster: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub timeout_ms: u32,
}

impl Call {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
pub struct FakeEnvoy {
    pub now_ms: Cell<u64>,
    shared: RefCell<HashMap<String, (Vec<u8>, u32)>>,
    /// Stats by name: (kind, value); an id is the index + 1.
    stats: RefCell<Vec<(String, MetricKind, u64)>>,
    next_token: Cell<u32>,
    pub calls: RefCell<Vec<Call>>,
    /// Shared queues by name (the id is the index + 1) and their values.
    queues: RefCell<Vec<(String, VecDeque<Vec<u8>>)>>,
    /// Queue ids enqueued to since the last `take_ready_queues`: Envoy would call
    /// `on_queue_ready` of the registered root context for each.
    ready: RefCell<Vec<u32>>,
}

impl FakeEnvoy {
    pub fn new(now_ms: u64) -> Rc<FakeEnvoy> {
        capture_logs();
        let envoy = FakeEnvoy::default();
        envoy.now_ms.set(now_ms);
        Rc::new(envoy)
    }

    pub fn advance(&self, ms: u64) {
        self.now_ms.set(self.now_ms.get() + ms);
    }

    /// A stat's value by the name the filter gave it (`bluegreen.green.requests`).
    pub fn stat(&self, name: &str) -> Option<u64> {
        self.stats
            .borrow()
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, v)| *v)
    }

    pub fn shared(&self, key: &str) -> Option<Vec<u8>> {
        self.shared
            .borrow()
            .get(key)
            .map(|(value, _)| value.clone())
    }

    pub fn put_shared(&self, key: &str, value: &[u8]) {
        let mut store = self.shared.borrow_mut();
        let cas = store.get(key).map_or(1, |(_, cas)| cas + 1);
        store.insert(key.to_string(), (value.to_vec(), cas));
    }

    /// The ids of queues that got a value since the last call (each once).
    pub fn take_ready_queues(&self) -> Vec<u32> {
        let mut ready = std::mem::take(&mut *self.ready.borrow_mut());
        ready.dedup();
        ready
    }

    /// Values waiting in the named queue.
    pub fn queued(&self, name: &str) -> usize {
        self.queues
            .borrow()
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, values)| values.len())
    }

    /// Takes the requests sent since the last call.
    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.borrow_mut())
    }
}

/// What Envoy shows the context being called back.
#[derive(Default)]
pub struct Exchange {
    pub plugin_config: Vec<u8>,
    pub request_headers: Vec<(String, Vec<u8>)>,
    pub response_headers: Vec<(String, Vec<u8>)>,
    pub request_body: Vec<u8>,
    pub response_body: Vec<u8>,
    pub call_headers: Vec<(String, Vec<u8>)>,
    pub call_body: Vec<u8>,
    pub properties: HashMap<String, Vec<u8>>,
    pub answer: Option<LocalAnswer>,
    pub tick_period_ms: Option<u32>,
}

fn get<'a>(map: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a Vec<u8>> {
    map.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

fn replace(map: &mut Vec<(String, Vec<u8>)>, name: &str, value: &[u8]) {
    map.retain(|(n, _)| n != name);
    map.push((name.to_string(), value.to_vec()));
}

#[derive(Clone)]
pub struct FakeHost {
    pub envoy: Rc<FakeEnvoy>,
    pub exchange: Rc<RefCell<Exchange>>,
    /// Calls that fail, by method name (`"*"` for every call).
    refusals: Rc<RefCell<HashMap<&'static str, HostError>>>,
    /// Whether `clear_route_cache` exists.
    pub has_clear_route_cache: Rc<Cell<bool>>,
    pub route_cache_clears: Rc<Cell<u32>>,
}

impl FakeHost {
    pub fn new(envoy: &Rc<FakeEnvoy>) -> FakeHost {
        FakeHost {
            envoy: envoy.clone(),
            exchange: Rc::default(),
            refusals: Rc::default(),
            has_clear_route_cache: Rc::new(Cell::new(true)),
            route_cache_clears: Rc::default(),
        }
    }

    /// Makes `method` (or every method, `"*"`) answer `err`.
    pub fn refuse(&self, method: &'static str, err: HostError) {
        self.refusals.borrow_mut().insert(method, err);
    }

    fn check(&self, method: &'static str) -> HostResult<()> {
        let refusals = self.refusals.borrow();
        match refusals.get(method).or_else(|| refusals.get("*")) {
            Some(err) => Err(*err),
            None => Ok(()),
        }
    }

    /// A new request from a loopback peer: its headers, and a clean slate for everything else
    /// of the exchange.
    pub fn request(&self, headers: &[(&str, &str)]) {
        self.request_from("127.0.0.1:40000", headers);
    }

    /// A new request from `peer` (the connection's source address).
    pub fn request_from(&self, peer: &str, headers: &[(&str, &str)]) {
        let mut exchange = self.exchange.borrow_mut();
        let plugin_config = std::mem::take(&mut exchange.plugin_config);
        *exchange = Exchange {
            plugin_config,
            properties: HashMap::from([("source.address".to_string(), peer.as_bytes().to_vec())]),
            request_headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                .collect(),
            ..Exchange::default()
        };
    }

    pub fn respond(&self, headers: &[(&str, &str)]) {
        self.exchange.borrow_mut().response_headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect();
    }

    /// The answer to an `http_call`, as the next callback will see it.
    pub fn call_answer(&self, headers: &[(&str, &str)], body: &[u8]) {
        let mut exchange = self.exchange.borrow_mut();
        exchange.call_headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect();
        exchange.call_body = body.to_vec();
    }

    pub fn request_header(&self, name: &str) -> Option<String> {
        let exchange = self.exchange.borrow();
        get(&exchange.request_headers, name).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    pub fn response_header(&self, name: &str) -> Option<String> {
        let exchange = self.exchange.borrow();
        get(&exchange.response_headers, name).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    pub fn answer(&self) -> Option<LocalAnswer> {
        self.exchange.borrow().answer.clone()
    }

    pub fn set_plugin_config(&self, json: &str) {
        self.exchange.borrow_mut().plugin_config = json.as_bytes().to_vec();
    }
}

impl Host for FakeHost {
    fn now_ms(&self) -> HostResult<u64> {
        self.check("now_ms")?;
        Ok(self.envoy.now_ms.get())
    }

    fn set_tick_period_ms(&self, period_ms: u32) -> HostResult<()> {
        self.check("set_tick_period_ms")?;
        self.exchange.borrow_mut().tick_period_ms = Some(period_ms);
        Ok(())
    }

    fn buffer(&self, kind: Buffer, start: usize, max_size: usize) -> HostResult<Option<Vec<u8>>> {
        self.check("buffer")?;
        let exchange = self.exchange.borrow();
        let bytes = match kind {
            Buffer::RequestBody => &exchange.request_body,
            Buffer::ResponseBody => &exchange.response_body,
            Buffer::HttpCallResponseBody => &exchange.call_body,
            Buffer::PluginConfiguration => &exchange.plugin_config,
        };
        let end = start.saturating_add(max_size).min(bytes.len());
        Ok(bytes.get(start..end).map(<[u8]>::to_vec))
    }

    fn header_pairs(&self, map: Map) -> HostResult<Vec<u8>> {
        self.check("header_pairs")?;
        let exchange = self.exchange.borrow();
        let map = match map {
            Map::RequestHeaders => &exchange.request_headers,
            Map::ResponseHeaders => &exchange.response_headers,
            Map::HttpCallResponseHeaders => &exchange.call_headers,
        };
        let pairs: Vec<(&str, &[u8])> = map
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        Ok(serialize(&pairs))
    }

    fn header(&self, map: Map, name: &str) -> HostResult<Option<Vec<u8>>> {
        self.check("header")?;
        let exchange = self.exchange.borrow();
        let map = match map {
            Map::RequestHeaders => &exchange.request_headers,
            Map::ResponseHeaders => &exchange.response_headers,
            Map::HttpCallResponseHeaders => &exchange.call_headers,
        };
        Ok(get(map, name).cloned())
    }

    fn replace_header(&self, map: Map, name: &str, value: &[u8]) -> HostResult<()> {
        self.check("replace_header")?;
        let mut exchange = self.exchange.borrow_mut();
        match map {
            Map::RequestHeaders => replace(&mut exchange.request_headers, name, value),
            Map::ResponseHeaders => replace(&mut exchange.response_headers, name, value),
            Map::HttpCallResponseHeaders => return Err(HostError::BadArgument),
        }
        Ok(())
    }

    fn remove_header(&self, map: Map, name: &str) -> HostResult<()> {
        self.check("remove_header")?;
        let mut exchange = self.exchange.borrow_mut();
        match map {
            Map::RequestHeaders => exchange.request_headers.retain(|(n, _)| n != name),
            Map::ResponseHeaders => exchange.response_headers.retain(|(n, _)| n != name),
            Map::HttpCallResponseHeaders => return Err(HostError::BadArgument),
        }
        Ok(())
    }

    fn send_response(&self, status: u32, headers: &[(&str, &[u8])], body: &[u8]) -> HostResult<()> {
        self.check("send_response")?;
        self.exchange.borrow_mut().answer = Some(LocalAnswer {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v).into_owned()))
                .collect(),
            body: String::from_utf8_lossy(body).into_owned(),
        });
        Ok(())
    }

    fn property(&self, path: &[&str]) -> HostResult<Option<Vec<u8>>> {
        self.check("property")?;
        Ok(self
            .exchange
            .borrow()
            .properties
            .get(&path.join("."))
            .cloned())
    }

    fn set_property(&self, path: &[&str], value: &[u8]) -> HostResult<()> {
        self.check("set_property")?;
        self.exchange
            .borrow_mut()
            .properties
            .insert(path.join("."), value.to_vec());
        Ok(())
    }

    fn shared_data(&self, key: &str) -> HostResult<Shared> {
        self.check("shared_data")?;
        Ok(match self.envoy.shared.borrow().get(key) {
            Some((value, cas)) => (Some(value.clone()), Some(*cas)),
            None => (None, None),
        })
    }

    fn set_shared_data(&self, key: &str, value: &[u8], cas: Option<u32>) -> HostResult<()> {
        self.check("set_shared_data")?;
        let mut store = self.envoy.shared.borrow_mut();
        let current = store.get(key).map(|(_, cas)| *cas);
        if let (Some(want), Some(have)) = (cas, current) {
            if want != have {
                return Err(HostError::CasMismatch);
            }
        }
        store.insert(key.to_string(), (value.to_vec(), current.unwrap_or(0) + 1));
        Ok(())
    }

    fn http_call(
        &self,
        cluster: &str,
        headers: &[(&str, &[u8])],
        body: &[u8],
        timeout_ms: u32,
    ) -> HostResult<u32> {
        self.check("http_call")?;
        let token = self.envoy.next_token.get() + 1;
        self.envoy.next_token.set(token);
        self.envoy.calls.borrow_mut().push(Call {
            token,
            cluster: cluster.to_string(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v).into_owned()))
                .collect(),
            body: body.to_vec(),
            timeout_ms,
        });
        Ok(token)
    }

    fn register_shared_queue(&self, name: &str) -> HostResult<u32> {
        self.check("register_shared_queue")?;
        let mut queues = self.envoy.queues.borrow_mut();
        if let Some(at) = queues.iter().position(|(n, _)| n == name) {
            return Ok(at as u32 + 1);
        }
        queues.push((name.to_string(), VecDeque::new()));
        Ok(queues.len() as u32)
    }

    fn enqueue_shared_queue(&self, queue_id: u32, value: &[u8]) -> HostResult<()> {
        self.check("enqueue_shared_queue")?;
        let mut queues = self.envoy.queues.borrow_mut();
        let (_, values) = queues
            .get_mut((queue_id as usize).wrapping_sub(1))
            .ok_or(HostError::NotFound)?;
        values.push_back(value.to_vec());
        self.envoy.ready.borrow_mut().push(queue_id);
        Ok(())
    }

    fn dequeue_shared_queue(&self, queue_id: u32) -> HostResult<Option<Vec<u8>>> {
        self.check("dequeue_shared_queue")?;
        let mut queues = self.envoy.queues.borrow_mut();
        let (_, values) = queues
            .get_mut((queue_id as usize).wrapping_sub(1))
            .ok_or(HostError::NotFound)?;
        Ok(values.pop_front())
    }

    fn define_metric(&self, kind: MetricKind, name: &str) -> HostResult<u32> {
        self.check("define_metric")?;
        let mut stats = self.envoy.stats.borrow_mut();
        if let Some(at) = stats.iter().position(|(n, _, _)| n == name) {
            return Ok(at as u32 + 1);
        }
        stats.push((name.to_string(), kind, 0));
        Ok(stats.len() as u32)
    }

    fn increment_metric(&self, id: u32, delta: i64) -> HostResult<()> {
        self.check("increment_metric")?;
        let mut stats = self.envoy.stats.borrow_mut();
        let stat = stats
            .get_mut((id as usize).wrapping_sub(1))
            .ok_or(HostError::NotFound)?;
        stat.2 = stat.2.saturating_add_signed(delta);
        Ok(())
    }

    fn record_metric(&self, id: u32, value: u64) -> HostResult<()> {
        self.check("record_metric")?;
        let mut stats = self.envoy.stats.borrow_mut();
        let stat = stats
            .get_mut((id as usize).wrapping_sub(1))
            .ok_or(HostError::NotFound)?;
        // A histogram keeps its last sample, enough to see that one was recorded.
        stat.2 = value;
        Ok(())
    }

    fn metric(&self, id: u32) -> HostResult<u64> {
        self.check("metric")?;
        let stats = self.envoy.stats.borrow();
        let stat = stats
            .get((id as usize).wrapping_sub(1))
            .ok_or(HostError::NotFound)?;
        Ok(stat.2)
    }

    fn call_foreign_function(&self, name: &str, _args: &[u8]) -> HostResult<Option<Vec<u8>>> {
        self.check("call_foreign_function")?;
        if name == "clear_route_cache" && self.has_clear_route_cache.get() {
            self.route_cache_clears
                .set(self.route_cache_clears.get() + 1);
            return Ok(None);
        }
        Err(HostError::NotFound)
    }

    fn log(&self, level: log::Level, message: &str) -> HostResult<()> {
        self.check("log")?;
        LINES.with(|lines| lines.borrow_mut().push(format!("{level}: {message}")));
        Ok(())
    }
}

thread_local! {
    /// The log lines of the test running on this thread.
    static LINES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{}: {}", record.level(), record.args());
        LINES.with(|lines| lines.borrow_mut().push(line));
    }

    fn flush(&self) {}
}

/// Sends the `log` crate's lines to this thread's capture (each test runs on its own thread).
fn capture_logs() {
    static INSTALL: Once = Once::new();
    static CAPTURE: Capture = Capture;
    INSTALL.call_once(|| {
        if log::set_logger(&CAPTURE).is_ok() {
            log::set_max_level(log::LevelFilter::Debug);
        }
    });
}

/// The log lines this test's code wrote so far (`"INFO: ..."`).
pub fn logs() -> Vec<String> {
    LINES.with(|lines| lines.borrow().clone())
}
