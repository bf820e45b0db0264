//! A tiny HTTP client that returns every status as a value (ureq makes 4xx/5xx errors).

use std::time::Duration;

/// A response, whatever its status.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    /// Lowercased names, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("response is not JSON ({e}): {}", self.body))
    }

    /// Which mock relay answered (`x-mock-relay`), or "-" for none.
    pub fn relay(&self) -> &str {
        self.header("x-mock-relay").unwrap_or("-")
    }
}

/// A base URL plus an agent; `fresh_connections` opens one TCP connection per request
/// so that the kernel spreads requests over Envoy's workers.
#[derive(Clone)]
pub struct Http {
    base: String,
    agent: ureq::Agent,
}

impl Http {
    pub fn new(base: &str) -> Http {
        Http::build(base, ureq::AgentBuilder::new())
    }

    pub fn fresh_connections(base: &str) -> Http {
        Http::build(base, ureq::AgentBuilder::new().max_idle_connections(0))
    }

    fn build(base: &str, builder: ureq::AgentBuilder) -> Http {
        let agent = builder.timeout(Duration::from_secs(30)).build();
        Http {
            base: base.trim_end_matches('/').to_string(),
            agent,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        self.send("GET", path, headers, None)
    }

    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
        self.send("POST", path, headers, Some(body))
    }

    pub fn delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, &[], None)
    }

    /// Sends a request; panics only if there is no HTTP answer at all.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Resp {
        self.try_send(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {}{path} failed: {e}", self.base))
    }

    /// GET that yields `None` when nothing answers (yet).
    pub fn try_get(&self, path: &str) -> Option<Resp> {
        self.try_send("GET", path, &[], None).ok()
    }

    fn try_send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Result<Resp, String> {
        let mut req = self.agent.request(method, &format!("{}{path}", self.base));
        for (name, value) in headers {
            req = req.set(name, value);
        }
        let result = match body {
            Some(body) => req
                .set("content-type", "application/json")
                .send_string(body),
            None => req.call(),
        };
        match result {
            Ok(resp) | Err(ureq::Error::Status(_, resp)) => Ok(to_resp(resp)),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn to_resp(resp: ureq::Response) -> Resp {
    let status = resp.status();
    let headers = resp
        .headers_names()
        .into_iter()
        .flat_map(|name| {
            let values: Vec<String> = resp.all(&name).iter().map(|v| v.to_string()).collect();
            values
                .into_iter()
                .map(move |v| (name.to_ascii_lowercase(), v))
        })
        .collect();
    let body = resp
        .into_string()
        .unwrap_or_else(|e| panic!("cannot read response body: {e}"));
    Resp {
        status,
        headers,
        body,
    }
}
