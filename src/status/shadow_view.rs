//! The status endpoint's shadow part, `environments.<env>.shadow`: each environment's answers to
//! the shadowed requests (the candidate's to the copies, the active environment's to the
//! requests themselves), apart from the live counts, usage and cost.

use serde::Serialize;

use crate::shadow::stats::AnswerStats;
use crate::status::number;

#[derive(Serialize)]
pub struct ShadowView {
    /// `copies` (the candidate's answers to copies) or `originals` (the active environment's
    /// answers to the same requests).
    answers: &'static str,
    requests: u64,
    responses: ResponsesView,
    latency_ms: LatencyView,
    /// Present when usage is metered (a model catalog) and an answer carried usage.
    #[serde(skip_serializing_if = "Option::is_none")]
    completion_tokens_per_request: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost_usd: Option<f64>,
}

#[derive(Serialize)]
struct ResponsesView {
    #[serde(rename = "2xx")]
    ok: u64,
    #[serde(rename = "4xx")]
    client_error: u64,
    #[serde(rename = "5xx")]
    server_error: u64,
    failed: u64,
}

#[derive(Serialize)]
struct LatencyView {
    p50: Option<u64>,
    p95: Option<u64>,
}

/// Pico-USD to USD with six places, as the live usage prints it.
fn usd(pico: u64) -> f64 {
    number::fixed(pico / 1_000_000, 6)
}

pub fn view(stats: &AnswerStats, copies: bool) -> ShadowView {
    let [ok, client_error, server_error, failed] = stats.responses;
    ShadowView {
        answers: if copies { "copies" } else { "originals" },
        requests: stats.requests,
        responses: ResponsesView {
            ok,
            client_error,
            server_error,
            failed,
        },
        latency_ms: LatencyView {
            p50: stats.latency_quantile_ms(0.5),
            p95: stats.latency_quantile_ms(0.95),
        },
        completion_tokens_per_request: (stats.metered > 0)
            .then(|| number::rounded(stats.completion_tokens as f64 / stats.metered as f64, 2)),
        cost_usd: (stats.metered > 0).then(|| usd(stats.cost_pico)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::usage::Usage;
    use crate::shadow::stats::Outcome;

    #[test]
    fn counts_quantiles_and_metered_usage() {
        let mut stats = AnswerStats::default();
        stats.record(Outcome::Status(200), 12, None, 0);
        stats.record(Outcome::Status(500), 80, None, 0);
        stats.record(Outcome::Failed, 0, None, 0);
        let text = serde_json::to_value(view(&stats, true)).unwrap();
        assert_eq!(
            text,
            serde_json::json!({"answers": "copies", "requests": 3,
                "responses": {"2xx": 1, "4xx": 0, "5xx": 1, "failed": 1},
                "latency_ms": {"p50": 15, "p95": 80}})
        );
        let usage = Usage {
            prompt_tokens: 10,
            completion_tokens: 5,
        };
        stats.record(Outcome::Status(200), 12, Some(usage), 2_500_000_000);
        let text = serde_json::to_value(view(&stats, false)).unwrap();
        assert_eq!(text["completion_tokens_per_request"], 5.0);
        assert_eq!(text["cost_usd"], 0.0025);
        assert_eq!(text["answers"], "originals");
    }
}
