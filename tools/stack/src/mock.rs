//! A running `mock-relay` and its admin API.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::http::Http;
use crate::paths::mock_relay_bin;
use crate::rundir::RunDir;

/// One request as the relay recorded it.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Lowercased names.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub body_len: u64,
    #[serde(default)]
    pub at_ms: u64,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

#[derive(Deserialize)]
struct Ready {
    listen: String,
    admin: String,
}

pub struct MockRelay {
    pub name: String,
    /// `127.0.0.1:port` of the relay API.
    pub listen: String,
    admin: Http,
    child: Child,
    stderr_path: std::path::PathBuf,
    _dir: RunDir,
}

impl MockRelay {
    /// Spawns `mock-relay --name <name>` on free ports and waits for its ready line.
    pub fn start(name: &str, extra_args: &[&str]) -> MockRelay {
        let dir = RunDir::new(&format!("relay-{name}"));
        let stderr_path = dir.path().join("stderr.log");
        let stderr = File::create(&stderr_path).expect("create relay stderr log");
        let mut child = Command::new(mock_relay_bin())
            .args([
                "--name",
                name,
                "--listen",
                "127.0.0.1:0",
                "--admin",
                "127.0.0.1:0",
            ])
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start mock-relay: {e}"));

        // Read the ready line, then keep draining stdout so the relay never blocks on it.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let log = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                panic!("mock-relay {name} printed no ready line; stderr:\n{log}");
            }
        };
        let ready: Ready = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("bad mock-relay ready line ({e}): {line}"));
        MockRelay {
            name: name.to_string(),
            listen: ready.listen,
            admin: Http::new(&format!("http://{}", ready.admin)),
            child,
            stderr_path,
            _dir: dir,
        }
    }

    /// Host part of the relay address (for Envoy's cluster).
    pub fn host(&self) -> &str {
        self.listen.rsplit_once(':').map_or("", |(h, _)| h)
    }

    pub fn port(&self) -> u16 {
        self.listen
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or_else(|| panic!("bad relay address {}", self.listen))
    }

    /// Merges `patch` into the relay's behaviour (status codes, latency, ...).
    pub fn set_config(&self, patch: &Value) -> Value {
        let resp = self.admin.post("/_mock/config", &[], &patch.to_string());
        assert_eq!(
            resp.status, 200,
            "set_config on {}: {}",
            self.name, resp.body
        );
        resp.json()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        let resp = self.admin.get("/_mock/requests", &[]);
        assert_eq!(resp.status, 200, "requests of {}: {}", self.name, resp.body);
        serde_json::from_str(&resp.body)
            .unwrap_or_else(|e| panic!("bad /_mock/requests ({e}): {}", resp.body))
    }

    /// Forgets the recorded requests.
    pub fn clear(&self) {
        let resp = self.admin.delete("/_mock/requests");
        assert!(resp.status < 300, "clear {}: {}", self.name, resp.body);
    }

    /// `{"total","by_path","by_status"}`.
    pub fn stats(&self) -> Value {
        self.admin.get("/_mock/stats", &[]).json()
    }

    /// Requests served so far.
    pub fn total(&self) -> u64 {
        self.stats()["total"].as_u64().unwrap_or(0)
    }
}

impl Drop for MockRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
            let tail = crate::envoy::tail(&log, 20);
            if !tail.is_empty() {
                eprintln!(
                    "---- mock-relay {} stderr (last lines) ----\n{tail}",
                    self.name
                );
            }
        }
    }
}
