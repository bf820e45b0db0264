//! The status endpoint's `usage` part per environment: tokens and cost, so blue and green can be
//! compared (cost per 1,000 answered completions evens out their different traffic shares).
//! Costs are counted in micro-USD and printed with six decimals, never through a float.

use crate::ai::meter::{EnvironmentUsage, ModelTotals};
use crate::decimal::Decimal;
use crate::json_writer::JsonWriter;

const USD_PLACES: u32 = 6;

/// Writes `{requests, prompt_tokens, completion_tokens, total_tokens, cost_usd,
/// cost_per_1k_requests_usd, models: {name: {requests, prompt_tokens, completion_tokens,
/// cost_usd}}}`. `cost_usd` only sums models with a `price_per_mtok`;
/// `cost_per_1k_requests_usd` is `null` before the first answered (2xx) completion.
pub fn write(w: &mut JsonWriter, usage: &EnvironmentUsage) {
    let mut sum = ModelTotals::default();
    for totals in usage.models.values() {
        sum.requests += totals.requests;
        sum.prompt_tokens += totals.prompt_tokens;
        sum.completion_tokens += totals.completion_tokens;
        sum.cost_micro_usd += totals.cost_micro_usd;
    }
    w.begin_object();
    w.key("requests").u64(sum.requests);
    w.key("prompt_tokens").u64(sum.prompt_tokens);
    w.key("completion_tokens").u64(sum.completion_tokens);
    w.key("total_tokens")
        .u64(sum.prompt_tokens + sum.completion_tokens);
    w.key("cost_usd").decimal(usd(sum.cost_micro_usd));
    w.key("cost_per_1k_requests_usd");
    if sum.requests > 0 {
        // micro-USD × 1000 / requests, as USD with six places.
        let per_1k = Decimal::ratio(
            sum.cost_micro_usd,
            sum.requests.saturating_mul(1000),
            USD_PLACES,
        );
        w.decimal(per_1k);
    } else {
        w.null();
    }
    w.key("models").begin_object();
    for (name, totals) in &usage.models {
        w.key(name).begin_object();
        w.key("requests").u64(totals.requests);
        w.key("prompt_tokens").u64(totals.prompt_tokens);
        w.key("completion_tokens").u64(totals.completion_tokens);
        w.key("cost_usd").decimal(usd(totals.cost_micro_usd));
        w.end_object();
    }
    w.end_object().end_object();
}

fn usd(micro: u64) -> Decimal {
    Decimal::new(micro, USD_PLACES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn render(usage: &EnvironmentUsage) -> Value {
        let mut w = JsonWriter::new();
        write(&mut w, usage);
        serde_json::from_str(&w.finish()).unwrap()
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
