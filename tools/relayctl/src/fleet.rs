//! Every replica of the gateway: the status URLs given, and/or the replicas Prometheus scrapes.
//! A change is live only when every one of them serves it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bluegreen_relay::status::version_id;

use bluegreen_relay::environment::Environment;

use crate::live::{traffic_blocker, Live, Snapshot};
use crate::prometheus::Prometheus;

const PROMETHEUS_POLL: Duration = Duration::from_millis(250);

pub struct Fleet {
    pub replicas: Vec<Live>,
    pub prometheus: Option<Prometheus>,
}

impl Fleet {
    /// The replica asked when one answer is enough (the health of an environment is shared
    /// through the relays it probes, so every replica reports the same verdicts).
    pub fn first(&self) -> Option<&Live> {
        self.replicas.first()
    }

    /// `3 replicas` / `Envoy`: who confirmed a change.
    pub fn describe_replicas(&self) -> String {
        match (self.replicas.len(), &self.prometheus) {
            (1, None) => "Envoy".to_string(),
            (n, None) => format!("all {n} replicas"),
            (_, Some(_)) => "every replica".to_string(),
        }
    }

    /// Why `target` could not get traffic now: from the first status URL, else from the
    /// replicas' health and tripped gauges in Prometheus.
    pub fn blocker(&self, target: Environment) -> Option<String> {
        if let Some(first) = self.first() {
            return match first.fetch() {
                Ok(snapshot) => traffic_blocker(&snapshot.status, target),
                Err(e) => Some(e),
            };
        }
        let p = self.prometheus.as_ref()?;
        let name = target.as_str();
        let sel = p.selector(&format!("bluegreen_env=\"{name}\""));
        let health = match p.query(&format!("bluegreen_health{sel}")) {
            Ok(samples) => samples,
            Err(e) => return Some(e),
        };
        if health.is_empty() {
            return Some(format!(
                "Prometheus has no bluegreen_health series for {name}"
            ));
        }
        if let Some(s) = health.iter().find(|s| s.value != 1.0) {
            return Some(format!(
                "{name} is not healthy on {} (health gauge {})",
                s.replica(),
                s.value
            ));
        }
        match p.query(&format!("bluegreen_tripped{sel} > 0")) {
            Ok(tripped) => tripped
                .first()
                .map(|s| format!("{name} is tripped by auto-rollback on {}", s.replica())),
            Err(e) => Some(e),
        }
    }

    /// One line per status URL: the version it serves.
    pub fn versions(&self) -> String {
        let mut out = String::new();
        for replica in &self.replicas {
            let seen = match replica.version() {
                Ok(Some(v)) => v,
                Ok(None) => "(no version)".to_string(),
                Err(e) => format!("unreachable: {e}"),
            };
            out.push_str(&format!("replica {}: version {seen}\n", replica.url()));
        }
        out
    }

    /// Every status URL's answer, in order.
    pub fn fetch_all(&self) -> Vec<(&str, Result<Snapshot, String>)> {
        self.replicas.iter().map(|r| (r.url(), r.fetch())).collect()
    }

    /// Waits until every replica serves `version`. `Ok` is the time from `since` until the
    /// last replica was seen on it; `Err` names the replicas that were not, and what they serve.
    pub fn wait_for_version(
        &self,
        version: &str,
        since: Instant,
        timeout: Duration,
    ) -> Result<Duration, String> {
        let mut behind = Vec::new();
        let mut latest = Duration::ZERO;
        for replica in &self.replicas {
            match replica.wait_for_version(version, since, timeout) {
                Ok(after) => latest = latest.max(after),
                Err(last) => behind.push(format!("{} ({last})", replica.url())),
            }
        }
        let mut total = self.replicas.len();
        if let Some(prometheus) = &self.prometheus {
            match wait_in_prometheus(prometheus, version, since, timeout) {
                Ok((after, replicas)) => {
                    latest = latest.max(after);
                    total = total.max(replicas);
                }
                Err((lagging, replicas)) => {
                    total = total.max(replicas);
                    behind.extend(lagging);
                }
            }
        }
        if behind.is_empty() {
            return Ok(latest);
        }
        Err(format!(
            "{} of {total} replicas not on version {version}: {}",
            behind.len(),
            behind.join("; ")
        ))
    }
}

/// Polls `bluegreen_config_version` until every series of the selector carries the version's
/// id in a sample scraped after the publish. `Err` holds the lagging replicas; both hold how
/// many replicas Prometheus knows.
fn wait_in_prometheus(
    prometheus: &Prometheus,
    version: &str,
    since: Instant,
    timeout: Duration,
) -> Result<(Duration, usize), (Vec<String>, usize)> {
    let want = version_id(Some(version)) as f64;
    let published_unix = unix_now() - since.elapsed().as_secs_f64();
    let query = format!("bluegreen_config_version{}", prometheus.selector(""));
    let deadline = since + timeout;
    loop {
        let (lagging, count) = match prometheus.query(&query) {
            Ok(samples) if samples.is_empty() => (
                vec![format!(
                    "Prometheus has no {query} series (no replica scraped)"
                )],
                0,
            ),
            Ok(samples) => {
                let lagging = samples
                    .iter()
                    .filter(|s| s.value != want || s.at < published_unix)
                    .map(|s| {
                        if s.value == want {
                            format!("{} (not scraped since the publish)", s.replica())
                        } else {
                            format!("{} (Prometheus sees version id {})", s.replica(), s.value)
                        }
                    })
                    .collect();
                (lagging, samples.len())
            }
            Err(e) => (vec![e], 0),
        };
        if lagging.is_empty() {
            return Ok((since.elapsed(), count));
        }
        if Instant::now() >= deadline {
            return Err((lagging, count));
        }
        std::thread::sleep(PROMETHEUS_POLL);
    }
}

pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
