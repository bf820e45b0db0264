//! A rollout's record in relayctl's state file: its plan, the step the fleet is on, and the
//! last analysis. A killed rollout leaves the fleet on a whole step (each publish is one atomic
//! write), so this record is all `--resume` needs.

use std::time::Duration;

use bluegreen_relay::routing::weight;
use serde::{Deserialize, Serialize};

use crate::analysis::Thresholds;
use crate::rollout_args::show;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    /// Canary shares in basis points.
    pub steps: Vec<u32>,
    pub step_duration_ms: u64,
    pub analysis_interval_ms: u64,
    pub min_requests: u64,
    pub max_error_rate: f64,
    pub max_error_ratio: f64,
    pub max_ttfb_ratio: f64,
    pub tokens_ratio: (f64, f64),
    pub max_cost_ratio: f64,
    /// Index into `steps` of the step the fleet is on.
    pub step: usize,
    /// Unix ms when this step's analysis window began.
    pub step_started_ms: u64,
    /// `running`, `paused: ...`, `aborted: ...` or `promoted`.
    pub phase: String,
    pub last_analysis: Option<String>,
}

impl Rollout {
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            min_requests: self.min_requests,
            max_error_rate: self.max_error_rate,
            max_error_ratio: self.max_error_ratio,
            max_ttfb_ratio: self.max_ttfb_ratio,
            tokens_ratio: self.tokens_ratio,
            max_cost_ratio: self.max_cost_ratio,
        }
    }

    /// Running or paused: `--resume` can continue it, a new rollout must not start over it.
    pub fn unfinished(&self) -> bool {
        self.phase == "running" || self.phase.starts_with("paused")
    }

    /// `step 2/5 (5 %)`.
    pub fn step_label(&self) -> String {
        let pct = self.steps.get(self.step).copied().unwrap_or(0);
        format!(
            "step {}/{} ({} %)",
            self.step + 1,
            self.steps.len(),
            weight::display(pct)
        )
    }

    /// `rollout: step 2/5 (5 %), 3m10s of 5m, analysis: errors ok (0.2 % vs 0.1 %), ...`
    pub fn summary(&self, now_ms: u64) -> String {
        let analysis = self.last_analysis.as_deref().unwrap_or("none yet");
        if self.phase != "running" {
            return format!(
                "rollout: {}, {}; last analysis: {analysis}",
                self.step_label(),
                self.phase
            );
        }
        let elapsed = Duration::from_millis(now_ms.saturating_sub(self.step_started_ms));
        format!(
            "rollout: {}, {} of {}, analysis: {analysis}",
            self.step_label(),
            show(elapsed),
            show(Duration::from_millis(self.step_duration_ms))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollout() -> Rollout {
        Rollout {
            steps: vec![100, 500, 2500, 5000, 10000],
            step_duration_ms: 300_000,
            analysis_interval_ms: 30_000,
            min_requests: 200,
            max_error_rate: 0.01,
            max_error_ratio: 2.0,
            max_ttfb_ratio: 1.25,
            tokens_ratio: (0.5, 2.0),
            max_cost_ratio: 1.25,
            step: 1,
            step_started_ms: 1_000_000,
            phase: "running".into(),
            last_analysis: Some("errors ok (0.2 % vs 0.1 %), ttfb ok (1.04×)".into()),
        }
    }

    #[test]
    fn the_status_line_says_where_the_rollout_is() {
        assert_eq!(
            rollout().summary(1_190_000),
            "rollout: step 2/5 (5 %), 3m10s of 5m, analysis: errors ok (0.2 % vs 0.1 %), ttfb ok (1.04×)"
        );
        let mut paused = rollout();
        paused.phase = "paused: no data".into();
        assert!(paused.unfinished());
        assert!(paused
            .summary(0)
            .starts_with("rollout: step 2/5 (5 %), paused: no data"));
        paused.phase = "promoted".into();
        assert!(!paused.unfinished());
    }

    #[test]
    fn it_survives_the_state_file() {
        let text = serde_json::to_string(&rollout()).unwrap();
        assert_eq!(serde_json::from_str::<Rollout>(&text).unwrap(), rollout());
    }
}
