//! The analysis window's figures, from Prometheus (PromQL over every replica) or, without it,
//! from the deltas of the replicas' status counters since the window began. Missing data (a
//! replica or Prometheus not answering, a replica restarted) is an error: the rollout waits
//! on it and never passes a step without data.

use std::collections::BTreeMap;
use std::time::Instant;

use bluegreen_relay::environment::Environment;
use serde_json::Value;

use crate::analysis::{Figures, Window};
use crate::fleet::Fleet;
use crate::prometheus::Prometheus;

/// Where the window began, as each source needs it.
pub struct Baseline {
    started: Instant,
    /// Per status URL: the counters at the start (status source only).
    counters: BTreeMap<String, [Figures; 2]>,
}

pub fn begin(fleet: &Fleet) -> Result<Baseline, String> {
    let mut counters = BTreeMap::new();
    if fleet.prometheus.is_none() {
        for (url, snapshot) in fleet.fetch_all() {
            let snapshot = snapshot.map_err(|e| format!("replica {url}: {e}"))?;
            counters.insert(url.to_string(), totals(&snapshot.status));
        }
    }
    Ok(Baseline {
        started: Instant::now(),
        counters,
    })
}

pub fn window(fleet: &Fleet, base: &Baseline, active: Environment) -> Result<Window, String> {
    let candidate = active.other();
    let mut w = Window {
        candidate_name: candidate.as_str().to_string(),
        active_name: active.as_str().to_string(),
        candidate: Figures::default(),
        active: Figures::default(),
        tripped_on: None,
    };
    match &fleet.prometheus {
        Some(p) => from_prometheus(p, base, &mut w, active)?,
        None => from_status(fleet, base, &mut w, active)?,
    }
    Ok(w)
}

fn from_status(
    fleet: &Fleet,
    base: &Baseline,
    w: &mut Window,
    active: Environment,
) -> Result<(), String> {
    for (url, snapshot) in fleet.fetch_all() {
        let snapshot = snapshot.map_err(|e| format!("replica {url} did not answer: {e}"))?;
        let status = &snapshot.status;
        if status["environments"][active.other().as_str()]["tripped"].is_object() {
            w.tripped_on.get_or_insert_with(|| url.to_string());
        }
        let now = totals(status);
        let start = base
            .counters
            .get(url)
            .ok_or_else(|| format!("replica {url} has no baseline"))?;
        for env in Environment::ALL {
            let (now, start) = (now[env.index()], start[env.index()]);
            if now.requests < start.requests || now.completion_tokens < start.completion_tokens {
                return Err(format!(
                    "replica {url} restarted during the window (its counters went back)"
                ));
            }
            let sum = if env == active {
                &mut w.active
            } else {
                &mut w.candidate
            };
            sum.requests += now.requests - start.requests;
            sum.errors_5xx += now.errors_5xx - start.errors_5xx;
            sum.metered_requests += now.metered_requests - start.metered_requests;
            sum.completion_tokens += now.completion_tokens - start.completion_tokens;
            sum.cost_usd += now.cost_usd - start.cost_usd;
        }
    }
    Ok(())
}

/// One replica's totals per environment. Requests are attempts: answers plus the attempts
/// retried on the other environment, which also count as errors.
fn totals(status: &Value) -> [Figures; 2] {
    Environment::ALL.map(|env| {
        let view = &status["environments"][env.as_str()];
        let n = |v: &Value| v.as_f64().unwrap_or(0.0);
        let responses = &view["responses"];
        let retried = n(&view["retried_away"]);
        Figures {
            requests: n(&responses["2xx"]) + n(&responses["4xx"]) + n(&responses["5xx"]) + retried,
            errors_5xx: n(&responses["5xx"]) + retried,
            metered_requests: n(&view["usage"]["requests"]),
            completion_tokens: n(&view["usage"]["completion_tokens"]),
            cost_usd: n(&view["usage"]["cost_usd"]),
            ttfb_p95_ms: None,
        }
    })
}

fn from_prometheus(
    p: &Prometheus,
    base: &Baseline,
    w: &mut Window,
    active: Environment,
) -> Result<(), String> {
    let down: Vec<String> = p
        .query(&format!("up{} == 0", p.selector("")))?
        .iter()
        .map(|s| s.replica())
        .collect();
    if !down.is_empty() {
        return Err(format!(
            "Prometheus cannot scrape {} replica(s): {}",
            down.len(),
            down.join(", ")
        ));
    }
    // Whole seconds, at least two scrapes' worth.
    let range = format!("{}s", base.started.elapsed().as_secs().max(2));
    for env in Environment::ALL {
        let sel = p.selector(&format!("bluegreen_env=\"{}\"", env.as_str()));
        let sum = |metric: &str| -> Result<f64, String> {
            Ok(p.scalar(&format!("sum(increase({metric}{sel}[{range}]))"))?
                .unwrap_or(0.0))
        };
        let answered = sum("bluegreen_responses_2xx")?
            + sum("bluegreen_responses_4xx")?
            + sum("bluegreen_responses_5xx")?;
        let retried = sum("bluegreen_retried_away")?;
        let ttfb = p
            .scalar(&format!(
                "histogram_quantile(0.95, sum by (le) (increase(bluegreen_ttfb_ms_bucket{sel}[{range}])))"
            ))?
            .filter(|v| v.is_finite());
        let figures = Figures {
            requests: answered + retried,
            errors_5xx: sum("bluegreen_responses_5xx")? + retried,
            metered_requests: sum("bluegreen_model_requests")?,
            completion_tokens: sum("bluegreen_model_completion_tokens")?,
            cost_usd: sum("bluegreen_model_cost_micro_usd")? / 1e6,
            ttfb_p95_ms: ttfb,
        };
        if env == active {
            w.active = figures;
        } else {
            w.candidate = figures;
            let tripped = p.query(&format!("bluegreen_tripped{sel} > 0"))?;
            w.tripped_on = tripped.first().map(|s| s.replica());
        }
    }
    Ok(())
}
