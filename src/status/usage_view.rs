//! The status endpoint's `usage` part per environment: tokens and cost, so blue and green can be
//! compared (cost per 1,000 answered completions evens out their different traffic shares).
//! Costs are counted in micro-USD and become a float only to be printed (six decimals at most).

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use crate::ai::meter::{EnvironmentUsage, ModelTotals};
use crate::status::number;

const USD_PLACES: u32 = 6;

/// `{requests, prompt_tokens, completion_tokens, total_tokens, cost_usd,
/// cost_per_1k_requests_usd, models: {name: {requests, prompt_tokens, completion_tokens,
/// cost_usd}}}`. `cost_usd` only sums models with a `price_per_mtok`;
/// `cost_per_1k_requests_usd` is `null` before the first answered (2xx) completion.
#[derive(Debug, Serialize)]
pub struct UsageView<'a> {
    pub requests: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub cost_usd: f64,
    pub cost_per_1k_requests_usd: Option<f64>,
    pub models: ModelsView<'a>,
}

/// The per-model totals, written straight from the meter's map (names are not copied).
#[derive(Debug)]
pub struct ModelsView<'a>(&'a BTreeMap<String, ModelTotals>);

#[derive(Serialize)]
struct ModelView {
    requests: u64,
    prompt_tokens: u64,
    completion_tokens: u64,
    cost_usd: f64,
}

impl Serialize for ModelsView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(name, totals)| {
            let view = ModelView {
                requests: totals.requests,
                prompt_tokens: totals.prompt_tokens,
                completion_tokens: totals.completion_tokens,
                cost_usd: usd(totals.cost_micro_usd),
            };
            (name, view)
        }))
    }
}

pub fn view(usage: &EnvironmentUsage) -> UsageView<'_> {
    let mut sum = ModelTotals::default();
    for totals in usage.models.values() {
        sum.requests += totals.requests;
        sum.prompt_tokens += totals.prompt_tokens;
        sum.completion_tokens += totals.completion_tokens;
        sum.cost_micro_usd += totals.cost_micro_usd;
    }
    // micro-USD × 1000 / requests, as USD with six places.
    let per_1k = (sum.requests > 0).then(|| {
        number::ratio(
            sum.cost_micro_usd,
            sum.requests.saturating_mul(1000),
            USD_PLACES,
        )
    });
    UsageView {
        requests: sum.requests,
        prompt_tokens: sum.prompt_tokens,
        completion_tokens: sum.completion_tokens,
        total_tokens: sum.prompt_tokens + sum.completion_tokens,
        cost_usd: usd(sum.cost_micro_usd),
        cost_per_1k_requests_usd: per_1k,
        models: ModelsView(&usage.models),
    }
}

fn usd(micro: u64) -> f64 {
    number::fixed(micro, USD_PLACES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn render(usage: &EnvironmentUsage) -> Value {
        serde_json::from_str(&serde_json::to_string(&view(usage)).unwrap()).unwrap()
    }

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
        let view = render(&usage);
        assert_eq!(view["requests"], 4);
        assert_eq!(view["prompt_tokens"], 305);
        assert_eq!(view["completion_tokens"], 30);
        assert_eq!(view["total_tokens"], 335);
        assert_eq!(view["cost_usd"], 0.00084);
        // 0.00084 USD over 4 answers = 0.21 USD per 1,000.
        assert_eq!(view["cost_per_1k_requests_usd"], 0.21);
        assert_eq!(view["models"]["gpt-4.1"]["cost_usd"], 0.00084);
        assert_eq!(view["models"]["gpt-4.1"]["prompt_tokens"], 300);
        assert_eq!(view["models"]["other"]["requests"], 1);
        // An unpriced model still shows a (float) zero cost.
        assert!(view["models"]["other"]["cost_usd"].is_f64());
    }

    #[test]
    fn per_thousand_rounds_to_micro_usd() {
        let mut usage = EnvironmentUsage::default();
        usage.models.insert(
            "m".to_string(),
            ModelTotals {
                requests: 7,
                cost_micro_usd: 1440,
                ..ModelTotals::default()
            },
        );
        assert_eq!(render(&usage)["cost_per_1k_requests_usd"], 0.205714);
    }

    #[test]
    fn no_answers_no_ratio() {
        let view = render(&EnvironmentUsage::default());
        assert_eq!(view["requests"], 0);
        assert!(view["cost_per_1k_requests_usd"].is_null());
        assert_eq!(view["models"], serde_json::json!({}));
    }
}
