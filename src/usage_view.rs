//! The status endpoint's `usage` part per environment: tokens and cost, so blue and green can be
//! compared (cost per 1,000 answered completions evens out their different traffic shares).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::usage_counts::{EnvironmentUsage, ModelTotals};

#[derive(Debug, Serialize, PartialEq)]
pub struct UsageView {
    /// Answered (2xx) completions counted for usage.
    pub requests: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    /// Only models with a `price_per_mtok` add to it.
    pub cost_usd: f64,
    /// `null` before the first answered completion.
    pub cost_per_1k_requests_usd: Option<f64>,
    pub models: BTreeMap<String, ModelView>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ModelView {
    pub requests: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
}

pub fn view(usage: &EnvironmentUsage) -> UsageView {
    let mut sum = ModelTotals::default();
    let mut models = BTreeMap::new();
    for (name, totals) in &usage.models {
        sum.requests += totals.requests;
        sum.prompt_tokens += totals.prompt_tokens;
        sum.completion_tokens += totals.completion_tokens;
        sum.cost_micro_usd += totals.cost_micro_usd;
        models.insert(
            name.clone(),
            ModelView {
                requests: totals.requests,
                prompt_tokens: totals.prompt_tokens,
                completion_tokens: totals.completion_tokens,
                cost_usd: usd(totals.cost_micro_usd),
            },
        );
    }
    let per_1k = (sum.requests > 0)
        .then(|| round6(sum.cost_micro_usd as f64 / 1e6 * 1000.0 / sum.requests as f64));
    UsageView {
        requests: sum.requests,
        prompt_tokens: sum.prompt_tokens,
        completion_tokens: sum.completion_tokens,
        total_tokens: sum.prompt_tokens + sum.completion_tokens,
        cost_usd: usd(sum.cost_micro_usd),
        cost_per_1k_requests_usd: per_1k,
        models,
    }
}

fn usd(micro: u64) -> f64 {
    round6(micro as f64 / 1e6)
}

fn round6(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_models_and_prices_per_thousand() {
        let mut usage = EnvironmentUsage::default();
        usage.models.insert(
            "gpt-4.1".to_string(),
            ModelTotals {
                requests: 3,
                prompt_tokens: 300,
                completion_tokens: 30,
                cost_micro_usd: 840,
            },
        );
        usage.models.insert(
            "other".to_string(),
            ModelTotals {
                requests: 1,
                prompt_tokens: 5,
                completion_tokens: 0,
                cost_micro_usd: 0,
            },
        );
        let view = view(&usage);
        assert_eq!(view.requests, 4);
        assert_eq!(view.total_tokens, 335);
        assert_eq!(view.cost_usd, 0.00084);
        // 0.00084 USD over 4 answers = 0.21 USD per 1,000.
        assert_eq!(view.cost_per_1k_requests_usd, Some(0.21));
        assert_eq!(view.models["gpt-4.1"].cost_usd, 0.00084);
        assert_eq!(view.models["other"].requests, 1);
    }

    #[test]
    fn no_answers_no_ratio() {
        let view = view(&EnvironmentUsage::default());
        assert_eq!(view.requests, 0);
        assert_eq!(view.cost_per_1k_requests_usd, None);
        assert!(view.models.is_empty());
    }
}
