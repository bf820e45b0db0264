//! `relayctl validate`'s model catalog check: a candidate that lacks a model the active
//! environment lists, and that carried live traffic, would fail those users once it takes
//! traffic; a candidate whose `/v1/models` answer is not a model list cannot be judged.
//!
//! The status fields read: `environments.<env>.models{count,ids,truncated,not_a_list,read_at}`
//! (`null` before the first read), `last_model_probe_at`, and the candidate's
//! `missing_models[{id,share}]` (`src/status/catalog_view.rs`).

use std::time::{Duration, Instant};

use bluegreen_relay::environment::Environment;
use serde_json::Value;

use crate::live::Live;

const POLL_PAUSE: Duration = Duration::from_millis(50);

/// What the status of one replica says about the candidate's catalog.
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// Lacks `id`, which had `share` of the last ten minutes' answered completions.
    Missing { id: String, share: Option<f64> },
    /// `env`'s `/v1/models` answer was not an OpenAI model list.
    NotAList {
        env: String,
        why: String,
        candidate: bool,
    },
    /// No model list was read yet (the probes did not run).
    NotRead { env: String },
}

impl Finding {
    /// Whether this finding refuses the candidate (`allowed`: `--allow-missing` ids).
    pub fn refuses(&self, allowed: &[String]) -> bool {
        match self {
            Finding::Missing { id, share } => {
                share.is_some_and(|s| s > 0.0) && !allowed.iter().any(|a| a == id)
            }
            // The active environment's list only stops the comparison; it is not the candidate's fault.
            Finding::NotAList { candidate, .. } => *candidate,
            Finding::NotRead { .. } => false,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Finding::Missing {
                id,
                share: Some(share),
            } => format!(
                "the candidate lacks model {id}, which carried {:.1} % of live requests in the last 10 minutes",
                share * 100.0
            ),
            Finding::Missing { id, share: None } => {
                format!("the candidate lacks model {id} (no live traffic counted for it)")
            }
            Finding::NotAList { env, why, .. } => {
                format!("{env}'s /v1/models is not a model list: {why}")
            }
            Finding::NotRead { env } => {
                format!("{env}'s model list was not read yet (no probe ran)")
            }
        }
    }
}

/// The findings in one status JSON, `candidate` being the environment that would get traffic.
pub fn findings(status: &Value, candidate: Environment) -> Vec<Finding> {
    let mut out = Vec::new();
    for env in Environment::ALL {
        let name = env.as_str();
        let view = &status["environments"][name];
        match &view["models"] {
            Value::Null => out.push(Finding::NotRead {
                env: name.to_string(),
            }),
            models => {
                if let Some(why) = models["not_a_list"].as_str() {
                    out.push(Finding::NotAList {
                        env: name.to_string(),
                        why: why.to_string(),
                        candidate: env == candidate,
                    });
                }
            }
        }
        if env != candidate {
            continue;
        }
        for missing in view["missing_models"].as_array().into_iter().flatten() {
            if let Some(id) = missing["id"].as_str() {
                out.push(Finding::Missing {
                    id: id.to_string(),
                    share: missing["share"].as_f64(),
                });
            }
        }
    }
    out
}

/// What the check said: lines to print, and the reasons it refuses the candidate.
#[derive(Debug, Default)]
pub struct Verdict {
    pub notes: Vec<String>,
    pub refusals: Vec<String>,
}

/// Asks the filter to read the model lists now (`?probe=models`), waits until the candidate's
/// `last_model_probe_at` is at least the time the filter stamped on that request, and judges
/// the catalogs then. Without health checks the filter reads no lists: nothing to judge.
pub fn run(
    status_url: &str,
    timeout: Duration,
    token: Option<&str>,
    candidate: Environment,
    allowed: &[String],
) -> Result<Verdict, String> {
    let started = Instant::now();
    let separator = if status_url.contains('?') { '&' } else { '?' };
    let asking = Live::with_token(
        &format!("{status_url}{separator}probe=models"),
        timeout,
        token,
    );
    let first = asking
        .fetch()
        .map_err(|e| format!("cannot ask for the model probes: {e}"))?
        .status;
    let mut verdict = Verdict::default();
    if first["health_checks"] != Value::Bool(true) {
        verdict.notes.push(
            "model catalogs not checked: the filter runs no health checks, so it reads no model lists"
                .to_string(),
        );
        return Ok(verdict);
    }
    // Both stamps are the filter's own clock in one fixed RFC 3339 form: they compare as text.
    let asked_at = first["now"].as_str().unwrap_or_default().to_string();
    let polling = Live::with_token(status_url, timeout, token);
    let name = candidate.as_str();
    let status = loop {
        let status = polling.fetch()?.status;
        let probed = status["environments"][name]["last_model_probe_at"]
            .as_str()
            .unwrap_or_default();
        if !asked_at.is_empty() && probed >= asked_at.as_str() {
            break status;
        }
        if started.elapsed() >= timeout {
            verdict.refusals.push(format!(
                "{name}'s model list was not re-read within {:.1} s of asking (last model probe \
                 at {}); a longer --timeout waits for the next probe round",
                timeout.as_secs_f64(),
                if probed.is_empty() { "never" } else { probed }
            ));
            return Ok(verdict);
        }
        std::thread::sleep(POLL_PAUSE);
    };
    let found = findings(&status, candidate);
    for finding in &found {
        let accepted = matches!(finding, Finding::Missing { id, share: Some(s) }
            if *s > 0.0 && allowed.contains(id));
        if finding.refuses(allowed) {
            verdict.refusals.push(finding.describe());
        } else if accepted {
            verdict.notes.push(format!(
                "{} (accepted: --allow-missing)",
                finding.describe()
            ));
        } else {
            verdict.notes.push(finding.describe());
        }
    }
    if found.is_empty() {
        let count = &status["environments"][name]["models"]["count"];
        verdict.notes.push(format!(
            "model catalogs: {name} lists every model the active environment lists ({count} models)"
        ));
    }
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_missing_model_with_traffic_refuses_unless_allowed() {
        let status = json!({"environments": {
            "blue": {"role": "active", "models": {"count": 2, "not_a_list": null}},
            "green": {"role": "candidate", "models": {"count": 1, "not_a_list": null},
                      "missing_models": [{"id": "deepseek-v3.2", "share": 0.75},
                                         {"id": "batch-only", "share": null}]}
        }});
        let found = findings(&status, Environment::Green);
        assert_eq!(found.len(), 2);
        assert!(found[0].refuses(&[]));
        assert!(!found[0].refuses(&["deepseek-v3.2".to_string()]));
        assert!(!found[1].refuses(&[]), "no traffic, no refusal");
        assert_eq!(
            found[0].describe(),
            "the candidate lacks model deepseek-v3.2, which carried 75.0 % of live requests in the last 10 minutes"
        );
    }

    #[test]
    fn a_list_that_is_not_a_list_is_reported_as_such() {
        let status = json!({"environments": {
            "blue": {"models": {"count": 2, "not_a_list": null}},
            "green": {"models": {"count": 0, "not_a_list": "an HTML page, not an OpenAI model list"},
                      "missing_models": []}
        }});
        let found = findings(&status, Environment::Green);
        assert_eq!(
            found,
            [Finding::NotAList {
                env: "green".to_string(),
                why: "an HTML page, not an OpenAI model list".to_string(),
                candidate: true,
            }]
        );
        assert!(found[0].refuses(&[]));
        assert_eq!(
            found[0].describe(),
            "green's /v1/models is not a model list: an HTML page, not an OpenAI model list"
        );
    }

    #[test]
    fn the_active_lists_shape_and_unread_lists_do_not_refuse() {
        let status = json!({"environments": {
            "blue": {"models": {"count": 0, "not_a_list": "not JSON, not an OpenAI model list"},
                     "missing_models": [{"id": "x", "share": 0.5}]},
            "green": {"models": null, "missing_models": []}
        }});
        let found = findings(&status, Environment::Green);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|f| !f.refuses(&[])), "{found:?}");
        assert_eq!(
            found[1].describe(),
            "green's model list was not read yet (no probe ran)"
        );
    }
}
