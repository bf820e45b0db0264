//! Health of one environment: how a probe answer is classed, and how consecutive results move
//! the state between `unknown`, `healthy`, `degraded` and `unhealthy`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// No verdict yet.
    #[default]
    Unknown,
    Healthy,
    /// The relay answers, but not with success.
    Degraded,
    /// No connection, a timeout, a failed dispatch, or a probed model is unavailable.
    Unhealthy,
}

impl Health {
    pub const ALL: [Health; 4] = [
        Health::Unknown,
        Health::Healthy,
        Health::Degraded,
        Health::Unhealthy,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Healthy => "healthy",
            Health::Degraded => "degraded",
            Health::Unhealthy => "unhealthy",
        }
    }

    /// Gauge value: 0 unknown, 1 healthy, 2 degraded, 3 unhealthy.
    pub const fn gauge(self) -> u64 {
        match self {
            Health::Unknown => 0,
            Health::Healthy => 1,
            Health::Degraded => 2,
            Health::Unhealthy => 3,
        }
    }

    /// The inverse of [`Health::gauge`] (shared records store the gauge value).
    pub fn from_gauge(value: u64) -> Option<Health> {
        Health::ALL.into_iter().find(|h| h.gauge() == value)
    }
}

/// The verdict on one probe (or on one round of probes for an environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Degraded(String),
    Unhealthy(String),
}

impl Outcome {
    pub fn kind(&self) -> Health {
        match self {
            Outcome::Pass => Health::Healthy,
            Outcome::Degraded(_) => Health::Degraded,
            Outcome::Unhealthy(_) => Health::Unhealthy,
        }
    }

    /// The worst of two outcomes: a round is as bad as its worst probe.
    pub fn worst(self, other: Outcome) -> Outcome {
        match (&self, &other) {
            (Outcome::Unhealthy(_), _) => self,
            (_, Outcome::Unhealthy(_)) => other,
            (Outcome::Degraded(_), _) => self,
            (_, Outcome::Degraded(_)) => other,
            _ => Outcome::Pass,
        }
    }
}

/// What a probe was asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeKind {
    /// `GET <health_check.path>`.
    Models { path: String },
    /// A tiny chat completion for one model.
    Chat { model: String },
}

impl ProbeKind {
    pub fn describe(&self) -> String {
        match self {
            ProbeKind::Models { path } => path.clone(),
            ProbeKind::Chat { model } => format!("chat {model}"),
        }
    }
}

/// Envoy answers a probe itself when the relay cannot be reached: 503 "upstream connect
/// error…", 504 "upstream request timeout", 503 "no healthy upstream". Those answers carry no
/// `x-envoy-upstream-service-time` header and one of these bodies; a relay's own 503 does not.
fn is_envoy_local_reply(upstream_answered: bool, body_start: &[u8]) -> bool {
    const ENVOY_BODIES: [&[u8]; 4] = [
        b"upstream connect error",
        b"upstream request timeout",
        b"no healthy upstream",
        b"upstream reset",
    ];
    !upstream_answered || ENVOY_BODIES.iter().any(|p| body_start.starts_with(p))
}

/// Classes one probe answer. `status` is `None` when the answer had no usable `:status`;
/// `body` is the answer's body (bounded by the caller). A 200 must also look like what was
/// asked for: a model list from a `.../models` path, a completion from a chat probe.
pub fn classify(
    kind: &ProbeKind,
    status: Option<u32>,
    upstream_answered: bool,
    body: &[u8],
) -> Outcome {
    let what = kind.describe();
    let Some(status) = status else {
        return Outcome::Unhealthy(format!("no status from {what}"));
    };
    if status == 200 {
        return check_answer(kind, body);
    }
    let body_start = body.get(..64).unwrap_or(body);
    if is_envoy_local_reply(upstream_answered, body_start) {
        let reason = match status {
            504 => "timeout".to_string(),
            503 => "connection failed".to_string(),
            other => format!("{other} from Envoy"),
        };
        return Outcome::Unhealthy(format!("{reason} on {what}"));
    }
    match kind {
        ProbeKind::Chat { model } if status == 400 || status == 404 => {
            Outcome::Unhealthy(format!("model {model} unavailable ({status})"))
        }
        _ => Outcome::Degraded(format!("{status} from {what}")),
    }
}

/// A 200 that is not what the probe asked for is a relay answering wrongly: degraded.
fn check_answer(kind: &ProbeKind, body: &[u8]) -> Outcome {
    match kind {
        ProbeKind::Models { path } if path.ends_with("/models") => {
            match crate::ai::catalog::read(body, None, 0).not_a_list {
                None => Outcome::Pass,
                Some(why) => Outcome::Degraded(format!("200 from {path} is {why}")),
            }
        }
        ProbeKind::Chat { model } => {
            #[derive(serde::Deserialize)]
            struct Completion {
                choices: Vec<serde::de::IgnoredAny>,
            }
            match serde_json::from_slice::<Completion>(body) {
                Ok(completion) if !completion.choices.is_empty() => Outcome::Pass,
                _ => Outcome::Degraded(format!("200 without a completion from chat {model}")),
            }
        }
        ProbeKind::Models { .. } => Outcome::Pass,
    }
}

/// An environment's health as shared between all workers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthRecord {
    pub health: Health,
    pub consecutive_failures: u32,
    pub consecutive_passes: u32,
    pub last_probe_ms: u64,
    pub last_pass_ms: u64,
    pub latency_ms: u64,
    pub last_failure: Option<String>,
    /// The last round that ran the chat probes and read the model list (Unix ms).
    pub last_full_probe_ms: u64,
    /// The last round was judged from real traffic, without a probe.
    pub judged_by_traffic: bool,
}

/// A change of state worth one log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: Health,
    pub to: Health,
    pub reason: String,
}

impl HealthRecord {
    /// Applies one round's outcome. Returns the transition when the state changed.
    pub fn record(
        &mut self,
        outcome: &Outcome,
        now_ms: u64,
        latency_ms: u64,
        unhealthy_threshold: u32,
        healthy_threshold: u32,
    ) -> Option<Transition> {
        self.last_probe_ms = now_ms;
        self.latency_ms = latency_ms;
        let from = self.health;
        let reason = match outcome {
            Outcome::Pass => {
                self.consecutive_failures = 0;
                self.consecutive_passes = self.consecutive_passes.saturating_add(1);
                self.last_pass_ms = now_ms;
                if self.consecutive_passes >= healthy_threshold {
                    self.health = Health::Healthy;
                }
                format!("{} passed in a row", self.consecutive_passes)
            }
            Outcome::Degraded(message) | Outcome::Unhealthy(message) => {
                self.consecutive_passes = 0;
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                self.last_failure = Some(message.clone());
                if self.consecutive_failures >= unhealthy_threshold {
                    self.health = outcome.kind();
                }
                format!("{message}, {} in a row", self.consecutive_failures)
            }
        };
        (from != self.health).then_some(Transition {
            from,
            to: self.health,
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models() -> ProbeKind {
        ProbeKind::Models {
            path: "/v1/models".to_string(),
        }
    }

    fn chat() -> ProbeKind {
        ProbeKind::Chat {
            model: "gpt-4.1".to_string(),
        }
    }

    #[test]
    fn classes_probe_answers() {
        let list = br#"{"object":"list","data":[{"id":"gpt-4.1"}]}"#;
        assert_eq!(classify(&models(), Some(200), true, list), Outcome::Pass);
        // A 200 that is not what was asked for.
        assert_eq!(
            classify(&models(), Some(200), true, b"<html>maintenance</html>"),
            Outcome::Degraded(
                "200 from /v1/models is an HTML page, not an OpenAI model list".to_string()
            )
        );
        let completion = br#"{"choices":[{"message":{"content":""}}]}"#;
        assert_eq!(
            classify(&chat(), Some(200), true, completion),
            Outcome::Pass
        );
        for body in [&b""[..], b"{}", br#"{"choices":[]}"#, b"not json"] {
            assert_eq!(
                classify(&chat(), Some(200), true, body),
                Outcome::Degraded("200 without a completion from chat gpt-4.1".to_string()),
                "{body:?}"
            );
        }
        assert_eq!(
            classify(&models(), Some(503), true, b"{\"error\":{}}"),
            Outcome::Degraded("503 from /v1/models".to_string())
        );
        assert_eq!(
            classify(
                &models(),
                Some(503),
                false,
                b"upstream connect error or disconnect/reset before headers"
            ),
            Outcome::Unhealthy("connection failed on /v1/models".to_string())
        );
        assert_eq!(
            classify(&models(), Some(504), false, b"upstream request timeout"),
            Outcome::Unhealthy("timeout on /v1/models".to_string())
        );
        // A relay that sets the timing header but answers with Envoy's words is still Envoy.
        assert_eq!(
            classify(&models(), Some(503), true, b"no healthy upstream").kind(),
            Health::Unhealthy
        );
        assert_eq!(
            classify(&models(), None, true, b"").kind(),
            Health::Unhealthy
        );
        assert_eq!(
            classify(&chat(), Some(404), true, b"{}"),
            Outcome::Unhealthy("model gpt-4.1 unavailable (404)".to_string())
        );
        assert_eq!(
            classify(&chat(), Some(400), true, b"{}").kind(),
            Health::Unhealthy
        );
        assert_eq!(
            classify(&chat(), Some(500), true, b"{}").kind(),
            Health::Degraded
        );
        assert_eq!(
            classify(&models(), Some(404), true, b"{}").kind(),
            Health::Degraded
        );
    }

    #[test]
    fn worst_outcome_wins() {
        let d = Outcome::Degraded("d".into());
        let u = Outcome::Unhealthy("u".into());
        assert_eq!(Outcome::Pass.worst(d.clone()), d);
        assert_eq!(d.clone().worst(u.clone()), u);
        assert_eq!(u.clone().worst(d.clone()), u);
        assert_eq!(Outcome::Pass.worst(Outcome::Pass), Outcome::Pass);
    }

    #[test]
    fn thresholds_move_the_state() {
        let mut record = HealthRecord::default();
        let fail = Outcome::Degraded("503 from /v1/models".into());
        assert_eq!(
            record.record(&fail, 1, 5, 2, 2),
            None,
            "one failure is not enough"
        );
        assert_eq!(record.health, Health::Unknown);
        let t = record.record(&fail, 2, 5, 2, 2).unwrap();
        assert_eq!((t.from, t.to), (Health::Unknown, Health::Degraded));
        assert_eq!(t.reason, "503 from /v1/models, 2 in a row");
        assert_eq!(record.record(&Outcome::Pass, 3, 5, 2, 2), None);
        let t = record.record(&Outcome::Pass, 4, 7, 2, 2).unwrap();
        assert_eq!((t.from, t.to), (Health::Degraded, Health::Healthy));
        assert_eq!(record.last_pass_ms, 4);
        assert_eq!(record.latency_ms, 7);
        assert_eq!(record.consecutive_failures, 0);
        assert_eq!(record.last_failure.as_deref(), Some("503 from /v1/models"));
    }

    #[test]
    fn first_pass_makes_healthy_with_threshold_one() {
        let mut record = HealthRecord::default();
        let t = record.record(&Outcome::Pass, 1, 1, 2, 1).unwrap();
        assert_eq!((t.from, t.to), (Health::Unknown, Health::Healthy));
    }

    #[test]
    fn worse_failure_kind_updates_state_while_failing() {
        let mut record = HealthRecord::default();
        let degraded = Outcome::Degraded("500".into());
        let unhealthy = Outcome::Unhealthy("connection failed".into());
        record.record(&degraded, 1, 1, 1, 1);
        assert_eq!(record.health, Health::Degraded);
        let t = record.record(&unhealthy, 2, 1, 1, 1).unwrap();
        assert_eq!((t.from, t.to), (Health::Degraded, Health::Unhealthy));
    }

    #[test]
    fn gauge_values_round_trip() {
        for h in Health::ALL {
            assert_eq!(Health::from_gauge(h.gauge()), Some(h));
        }
        assert_eq!(Health::from_gauge(4), None);
    }

    #[test]
    fn record_round_trips_through_the_shared_encoding() {
        let mut record = HealthRecord::default();
        record.record(
            &Outcome::Unhealthy("timeout on \"/v1\" ✓".into()),
            9,
            3,
            1,
            1,
        );
        record.last_pass_ms = u64::MAX;
        record.consecutive_passes = u32::MAX;
        crate::record::check_codec(&record);
        // A record from a build with fewer fields still reads, with defaults.
        let old: HealthRecord = crate::record::decode(br#"{"health":"healthy"}"#).unwrap();
        assert_eq!(old.health, Health::Healthy);
        assert_eq!(old.last_failure, None);
    }
}
