//! The running filter, seen through its status endpoint.

use std::time::{Duration, Instant};

use bluegreen_relay::environment::Environment;
use serde_json::Value;

/// Polls that must all report the new version, each on a fresh connection, so that both
/// workers (the kernel spreads new connections over them) are seen to serve it.
pub const CONFIRMING_POLLS: usize = 6;
const POLL_PAUSE: Duration = Duration::from_millis(10);

pub struct Live {
    url: String,
    agent: ureq::Agent,
    /// `Bearer <token>` when relayctl was given the status token; never printed.
    authorization: Option<String>,
}

pub struct Snapshot {
    /// `x-relay-config-version` (empty when the configuration has no version).
    pub version: Option<String>,
    pub status: Value,
}

impl Live {
    pub fn with_token(url: &str, timeout: Duration, token: Option<&str>) -> Live {
        let per_request = timeout.clamp(Duration::from_millis(100), Duration::from_secs(5));
        // No idle connections: every request opens its own, so polls reach both workers.
        let agent = ureq::AgentBuilder::new()
            .max_idle_connections(0)
            .timeout_connect(per_request)
            .timeout(per_request)
            .build();
        Live {
            url: url.to_string(),
            agent,
            authorization: token.map(|t| format!("Bearer {t}")),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn get(&self) -> Result<ureq::Response, String> {
        let mut request = self.agent.get(&self.url);
        if let Some(value) = &self.authorization {
            request = request.set("authorization", value);
        }
        match request.call() {
            Ok(resp) => Ok(resp),
            Err(ureq::Error::Status(401, _)) => {
                Err(refused_401(&self.url, self.authorization.is_some()))
            }
            Err(ureq::Error::Status(403, _)) => Err(format!(
                "the status endpoint {} answers only loopback peers (403): run relayctl where \
                 Envoy runs (in Kubernetes: kubectl port-forward), or give the filter a \
                 status_token_env and relayctl the token in RELAYCTL_STATUS_TOKEN",
                self.url
            )),
            Err(ureq::Error::Status(code, resp)) => {
                let body: String = resp
                    .into_string()
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect();
                Err(format!(
                    "status endpoint {} answered {code}: {body}",
                    self.url
                ))
            }
            // ureq's message names the URL.
            Err(e) => Err(format!("cannot reach the status endpoint: {e}")),
        }
    }

    pub fn fetch(&self) -> Result<Snapshot, String> {
        let resp = self.get()?;
        let version = resp.header("x-relay-config-version").map(str::to_string);
        let body = resp
            .into_string()
            .map_err(|e| format!("cannot read the status from {}: {e}", self.url))?;
        let status: Value = serde_json::from_str(&body)
            .map_err(|e| format!("the status from {} is not JSON: {e}", self.url))?;
        Ok(Snapshot { version, status })
    }

    /// The configuration version the answering worker serves.
    pub fn version(&self) -> Result<Option<String>, String> {
        let resp = self.get()?;
        let version = resp.header("x-relay-config-version").map(str::to_string);
        let _ = resp.into_string();
        Ok(version)
    }

    /// Polls until `CONFIRMING_POLLS` consecutive answers report `version`. `Ok` holds the
    /// time from `since` until the first of those answers arrived; `Err` says what the last
    /// poll saw.
    pub fn wait_for_version(
        &self,
        version: &str,
        since: Instant,
        timeout: Duration,
    ) -> Result<Duration, String> {
        let deadline = since + timeout;
        let mut run_started: Option<Duration> = None;
        let mut run = 0;
        loop {
            let answer = self.version();
            let answered = since.elapsed();
            let last = match answer {
                Ok(Some(seen)) if seen == version => {
                    run += 1;
                    let first = *run_started.get_or_insert(answered);
                    if run >= CONFIRMING_POLLS {
                        return Ok(first);
                    }
                    continue;
                }
                Ok(Some(seen)) => format!("Envoy still serves version {seen:?}"),
                Ok(None) => "Envoy still serves a configuration without a version".to_string(),
                Err(e) => e,
            };
            run = 0;
            run_started = None;
            if Instant::now() >= deadline {
                return Err(last);
            }
            std::thread::sleep(POLL_PAUSE);
        }
    }
}

fn refused_401(url: &str, sent: bool) -> String {
    if sent {
        format!(
            "the status endpoint {url} refused relayctl's token (401): it is not the value of \
             the filter's status_token_env variable"
        )
    } else {
        format!(
            "the status endpoint {url} wants a token (401): set RELAYCTL_STATUS_TOKEN (or \
             --status-token-env NAME) to the value of the filter's status_token_env variable"
        )
    }
}

/// Why `env` could not get traffic now, judged from the status JSON: not healthy, or held
/// back by auto-rollback.
pub fn traffic_blocker(status: &Value, env: Environment) -> Option<String> {
    let name = env.as_str();
    let view = &status["environments"][name];
    if !view.is_object() {
        return Some(format!("the status has no environments.{name}"));
    }
    let health = view["health"].as_str().unwrap_or("unknown");
    if health != "healthy" {
        let failure = view["last_failure"]
            .as_str()
            .map(|f| format!(", last failure: {f}"))
            .unwrap_or_default();
        return Some(format!(
            "{name} is {health} in the filter's health checks ({} consecutive failures{failure})",
            view["consecutive_failures"].as_u64().unwrap_or(0)
        ));
    }
    if let Some(trip) = view["tripped"].as_object() {
        return Some(format!(
            "{name} is tripped by auto-rollback until {} (error rate {} over {} requests)",
            trip.get("until").and_then(Value::as_str).unwrap_or("?"),
            trip.get("error_rate").cloned().unwrap_or(Value::Null),
            trip.get("requests").cloned().unwrap_or(Value::Null),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn healthy_untripped_gets_traffic() {
        let status = json!({"environments": {"green": {"health": "healthy", "tripped": null}}});
        assert_eq!(traffic_blocker(&status, Environment::Green), None);
    }

    #[test]
    fn unhealthy_unknown_tripped_or_missing_do_not() {
        let unhealthy = json!({"environments": {"green": {"health": "unhealthy",
            "consecutive_failures": 3, "last_failure": "503 from /v1/models", "tripped": null}}});
        let why = traffic_blocker(&unhealthy, Environment::Green).unwrap();
        assert!(
            why.contains("green is unhealthy") && why.contains("503 from /v1/models"),
            "{why}"
        );
        let unknown = json!({"environments": {"green": {"health": "unknown", "tripped": null}}});
        assert!(traffic_blocker(&unknown, Environment::Green)
            .unwrap()
            .contains("unknown"));
        let tripped = json!({"environments": {"green": {"health": "healthy",
            "tripped": {"error_rate": 0.5, "requests": 40, "until": "2026-11-25T12:05:00.000Z"}}}});
        let why = traffic_blocker(&tripped, Environment::Green).unwrap();
        assert!(why.contains("tripped") && why.contains("12:05:00"), "{why}");
        assert!(traffic_blocker(&json!({}), Environment::Blue).is_some());
    }
}
