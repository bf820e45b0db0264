//! What every running stack (static or ECDS bootstrap) offers tests: its relays, a client for
//! Envoy's listener, a chat request and the status endpoint.

use bluegreen_relay::config::defaults;
use serde_json::Value;

use crate::http::{Http, Resp};
use crate::mock::MockRelay;
use crate::stack::CHAT_BODY;

pub trait RunningStack {
    /// The blue and the green relay.
    fn relays(&self) -> [&MockRelay; 2];

    /// A keep-alive client for Envoy's listener.
    fn client(&self) -> &Http;

    /// The relay of environment `name` ("blue" or "green").
    fn relay(&self, name: &str) -> &MockRelay {
        let [blue, green] = self.relays();
        match name {
            "blue" => blue,
            "green" => green,
            other => panic!("no relay named {other}"),
        }
    }

    /// One non-streaming chat completion through Envoy.
    fn chat(&self, headers: &[(&str, &str)]) -> Resp {
        self.client()
            .post("/v1/chat/completions", headers, CHAT_BODY)
    }

    /// The status endpoint (at the filter's default `status_path`) as JSON.
    fn status(&self) -> Value {
        let resp = self.client().get(&defaults::status_path(), &[]);
        assert_eq!(resp.status, 200, "status endpoint: {}", resp.body);
        resp.json()
    }
}
