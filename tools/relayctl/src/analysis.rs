//! The rollout's judgement: the candidate against the active environment over the same window.
//! Pure: the figures come from Prometheus or from the replicas' status counters (sample.rs).

use std::fmt::Write as _;

/// One environment's answers over the analysis window, summed over the fleet.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    pub requests: f64,
    pub errors_5xx: f64,
    /// Answered completions with usage read (the meter's `requests`), 0 when not metered.
    pub metered_requests: f64,
    pub completion_tokens: f64,
    /// 0 when no model has a price.
    pub cost_usd: f64,
    /// None when the source has no time-to-first-byte histogram (status counters only).
    pub ttfb_p95_ms: Option<f64>,
}

impl Figures {
    fn error_rate(&self) -> f64 {
        ratio(self.errors_5xx, self.requests)
    }
    fn tokens_per_request(&self) -> Option<f64> {
        (self.metered_requests > 0.0).then(|| self.completion_tokens / self.metered_requests)
    }
    fn cost_per_1k(&self) -> Option<f64> {
        (self.metered_requests > 0.0 && self.cost_usd > 0.0)
            .then(|| 1000.0 * self.cost_usd / self.metered_requests)
    }
}

/// The window of one analysis: both environments, and whether any replica has the candidate
/// tripped by auto-rollback.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub candidate_name: String,
    pub active_name: String,
    pub candidate: Figures,
    pub active: Figures,
    /// The replica (status URL or Prometheus instance) that reports the candidate tripped.
    pub tripped_on: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    pub min_requests: u64,
    pub max_error_rate: f64,
    pub max_error_ratio: f64,
    pub max_ttfb_ratio: f64,
    pub tokens_ratio: (f64, f64),
    pub max_cost_ratio: f64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            min_requests: 200,
            max_error_rate: 0.01,
            max_error_ratio: 2.0,
            max_ttfb_ratio: 1.25,
            tokens_ratio: (0.5, 2.0),
            max_cost_ratio: 1.25,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Every check that has data passed; the summary names each.
    Pass(String),
    /// A check failed: the line names it with both values and the request count.
    Fail(String),
    /// Not enough candidate requests yet (or no data): wait.
    Inconclusive(String),
}

impl Verdict {
    pub fn text(&self) -> &str {
        match self {
            Verdict::Pass(s) | Verdict::Fail(s) | Verdict::Inconclusive(s) => s,
        }
    }
}

pub fn judge(w: &Window, t: &Thresholds) -> Verdict {
    let (cand, act) = (&w.candidate_name, &w.active_name);
    if let Some(replica) = &w.tripped_on {
        return Verdict::Fail(format!("{cand} tripped by auto-rollback on {replica}"));
    }
    let n = w.candidate.requests.round() as u64;
    if n < t.min_requests {
        return Verdict::Inconclusive(format!(
            "{cand} has {n} of {} requests in the window",
            t.min_requests
        ));
    }
    let mut summary = String::new();

    let (c_rate, a_rate) = (w.candidate.error_rate(), w.active.error_rate());
    let limit = t.max_error_rate.max(t.max_error_ratio * a_rate);
    if c_rate > limit {
        return Verdict::Fail(format!(
            "{cand} 5xx {} > max({}, {} × {act} {}) over {n} requests",
            pct(c_rate),
            pct(t.max_error_rate),
            trim(t.max_error_ratio),
            pct(a_rate)
        ));
    }
    let _ = write!(summary, "errors ok ({} vs {})", pct(c_rate), pct(a_rate));

    match (w.candidate.ttfb_p95_ms, w.active.ttfb_p95_ms) {
        (Some(c), Some(a)) if a > 0.0 && c.is_finite() && a.is_finite() => {
            if c > t.max_ttfb_ratio * a {
                return Verdict::Fail(format!(
                    "{cand} ttfb p95 {c:.0} ms > {} × {act} {a:.0} ms over {n} requests",
                    trim(t.max_ttfb_ratio)
                ));
            }
            let _ = write!(summary, ", ttfb ok ({:.2}×)", c / a);
        }
        _ => summary.push_str(", ttfb n/a"),
    }

    match (
        w.candidate.tokens_per_request(),
        w.active.tokens_per_request(),
    ) {
        (Some(c), Some(a)) if a > 0.0 => {
            let (lo, hi) = t.tokens_ratio;
            if c < lo * a || c > hi * a {
                return Verdict::Fail(format!(
                    "{cand} completion tokens per request {c:.1} outside {}..{} × {act} {a:.1} \
                     over {} metered requests",
                    trim(lo),
                    trim(hi),
                    w.candidate.metered_requests.round()
                ));
            }
            let _ = write!(summary, ", tokens ok ({:.2}×)", c / a);
        }
        _ => summary.push_str(", tokens n/a"),
    }

    match (w.candidate.cost_per_1k(), w.active.cost_per_1k()) {
        (Some(c), Some(a)) if a > 0.0 => {
            if c > t.max_cost_ratio * a {
                return Verdict::Fail(format!(
                    "{cand} cost ${c:.4} per 1,000 requests > {} × {act} ${a:.4} over {} \
                     metered requests",
                    trim(t.max_cost_ratio),
                    w.candidate.metered_requests.round()
                ));
            }
            let _ = write!(summary, ", cost ok ({:.2}×)", c / a);
        }
        _ => summary.push_str(", cost n/a"),
    }
    let _ = write!(summary, "; {n} {cand} requests");
    Verdict::Pass(summary)
}

fn ratio(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part / whole
    } else {
        0.0
    }
}

/// `7.9 %`, one decimal.
fn pct(rate: f64) -> String {
    format!("{:.1} %", 100.0 * rate)
}

/// `2`, `1.25`: a threshold as the user typed it.
fn trim(x: f64) -> String {
    let text = format!("{x:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(requests: f64, errors: f64) -> Figures {
        Figures {
            requests,
            errors_5xx: errors,
            ..Figures::default()
        }
    }

    fn window(candidate: Figures, active: Figures) -> Window {
        Window {
            candidate_name: "green".into(),
            active_name: "blue".into(),
            candidate,
            active,
            tripped_on: None,
        }
    }

    #[test]
    fn the_error_check_names_both_rates_and_the_count() {
        let w = window(figures(412.0, 32.5), figures(8000.0, 8.0));
        assert_eq!(
            judge(&w, &Thresholds::default()),
            Verdict::Fail(
                "green 5xx 7.9 % > max(1.0 %, 2 × blue 0.1 %) over 412 requests".to_string()
            )
        );
    }

    #[test]
    fn a_noisy_active_raises_the_limit_to_its_ratio() {
        // Active at 3 %: the candidate may reach 6 %.
        let w = window(figures(1000.0, 55.0), figures(9000.0, 270.0));
        assert!(matches!(
            judge(&w, &Thresholds::default()),
            Verdict::Pass(_)
        ));
        let w = window(figures(1000.0, 65.0), figures(9000.0, 270.0));
        assert!(matches!(
            judge(&w, &Thresholds::default()),
            Verdict::Fail(_)
        ));
    }

    #[test]
    fn too_few_requests_is_inconclusive() {
        let w = window(figures(199.0, 199.0), figures(9000.0, 0.0));
        assert_eq!(
            judge(&w, &Thresholds::default()),
            Verdict::Inconclusive("green has 199 of 200 requests in the window".into())
        );
    }

    #[test]
    fn a_trip_fails_at_once_whatever_the_counts() {
        let mut w = window(figures(3.0, 0.0), figures(10.0, 0.0));
        w.tripped_on = Some("http://10.0.0.3:10000/relay/status".into());
        assert_eq!(
            judge(&w, &Thresholds::default()),
            Verdict::Fail(
                "green tripped by auto-rollback on http://10.0.0.3:10000/relay/status".into()
            )
        );
    }

    #[test]
    fn slower_first_byte_fails_the_ttfb_check() {
        let mut c = figures(500.0, 0.0);
        let mut a = figures(5000.0, 0.0);
        c.ttfb_p95_ms = Some(612.0);
        a.ttfb_p95_ms = Some(105.0);
        let verdict = judge(&window(c, a), &Thresholds::default());
        assert_eq!(
            verdict,
            Verdict::Fail("green ttfb p95 612 ms > 1.25 × blue 105 ms over 500 requests".into())
        );
        c.ttfb_p95_ms = Some(110.0);
        let Verdict::Pass(summary) = judge(&window(c, a), &Thresholds::default()) else {
            panic!("want a pass");
        };
        assert_eq!(
            summary,
            "errors ok (0.0 % vs 0.0 %), ttfb ok (1.05×), tokens n/a, cost n/a; 500 green requests"
        );
    }

    #[test]
    fn truncated_completions_fail_the_tokens_check() {
        let mut c = figures(500.0, 0.0);
        let mut a = figures(5000.0, 0.0);
        (c.metered_requests, c.completion_tokens) = (500.0, 500.0 * 3.0);
        (a.metered_requests, a.completion_tokens) = (5000.0, 5000.0 * 120.0);
        let Verdict::Fail(line) = judge(&window(c, a), &Thresholds::default()) else {
            panic!("want a fail");
        };
        assert!(
            line.starts_with("green completion tokens per request 3.0 outside 0.5..2 × blue 120.0"),
            "{line}"
        );
    }

    #[test]
    fn dearer_answers_fail_the_cost_check_only_when_priced() {
        let mut c = figures(500.0, 0.0);
        let mut a = figures(5000.0, 0.0);
        (c.metered_requests, c.completion_tokens, c.cost_usd) = (500.0, 50_000.0, 2.0);
        (a.metered_requests, a.completion_tokens, a.cost_usd) = (5000.0, 500_000.0, 10.0);
        let Verdict::Fail(line) = judge(&window(c, a), &Thresholds::default()) else {
            panic!("want a fail");
        };
        assert!(
            line.contains("cost $4.0000 per 1,000 requests > 1.25 × blue $2.0000"),
            "{line}"
        );
        c.cost_usd = 0.0;
        let Verdict::Pass(summary) = judge(&window(c, a), &Thresholds::default()) else {
            panic!("want a pass");
        };
        assert!(summary.contains("tokens ok (1.00×), cost n/a"), "{summary}");
    }
}
