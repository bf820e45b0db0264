//! Token usage and cost per environment and model: stat names, and the deltas a VM batches
//! between flushes (the same pattern as `counters`).

use std::collections::BTreeMap;

use crate::ai::usage::Usage;
use crate::config::Price;
use crate::environment::Environment;

/// The stats of every model outside the catalog.
pub const OTHER: &str = "other";

const PICO_PER_MICRO: u64 = 1_000_000;

/// A model name as one stat-name segment: `.` would split Envoy's stat tree and tags, so
/// everything but `[A-Za-z0-9_-]` becomes `_` (`gpt-4.1` → `gpt-4_1`).
pub fn stat_name(model: &str) -> String {
    model
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageCounter {
    Requests,
    PromptTokens,
    CompletionTokens,
    CostMicroUsd,
}

impl UsageCounter {
    pub const ALL: [UsageCounter; 4] = [
        UsageCounter::Requests,
        UsageCounter::PromptTokens,
        UsageCounter::CompletionTokens,
        UsageCounter::CostMicroUsd,
    ];

    pub const fn index(self) -> usize {
        self as usize
    }

    pub const fn suffix(self) -> &'static str {
        match self {
            UsageCounter::Requests => "requests",
            UsageCounter::PromptTokens => "prompt_tokens",
            UsageCounter::CompletionTokens => "completion_tokens",
            UsageCounter::CostMicroUsd => "cost_micro_usd",
        }
    }

    /// e.g. `bluegreen.green.model.gpt-4_1.prompt_tokens`.
    pub fn metric_name(self, env: Environment, stat: &str) -> String {
        format!("bluegreen.{}.model.{stat}.{}", env.as_str(), self.suffix())
    }
}

/// Time from request headers to response headers, in ms.
pub fn ttfb_histogram_name(env: Environment) -> String {
    format!("bluegreen.{}.ttfb_ms", env.as_str())
}

/// Cost of one answer in pico-dollars (10^-12 USD), saturating.
pub fn cost_pico(price: &Price, usage: Usage) -> u64 {
    usage
        .prompt_tokens
        .saturating_mul(price.input_pico_per_token)
        .saturating_add(
            usage
                .completion_tokens
                .saturating_mul(price.output_pico_per_token),
        )
}

/// One answered completion, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answered<'a> {
    pub env: Environment,
    /// The catalog model's name (`other` outside the catalog).
    pub model: &'a str,
    pub stat: &'a str,
    pub usage: Option<Usage>,
    /// `None` when the model has no price (its cost counter is never touched).
    pub cost_pico: Option<u64>,
}

/// Deltas not yet flushed, per model stat name and environment. The cost slot is kept in
/// pico-dollars: only whole micro-dollars are flushed, the rest stays for the next flush.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PendingUsage {
    by_model: BTreeMap<String, [[u64; 4]; 2]>,
}

impl PendingUsage {
    pub fn add(&mut self, answered: Answered<'_>) {
        let slots = match self.by_model.get_mut(answered.stat) {
            Some(slots) => slots,
            None => self.by_model.entry(answered.stat.to_string()).or_default(),
        };
        let slot = &mut slots[answered.env.index()];
        slot[UsageCounter::Requests.index()] += 1;
        if let Some(usage) = answered.usage {
            let prompt = &mut slot[UsageCounter::PromptTokens.index()];
            *prompt = prompt.saturating_add(usage.prompt_tokens);
            let completion = &mut slot[UsageCounter::CompletionTokens.index()];
            *completion = completion.saturating_add(usage.completion_tokens);
        }
        if let Some(cost) = answered.cost_pico {
            let pico = &mut slot[UsageCounter::CostMicroUsd.index()];
            *pico = pico.saturating_add(cost);
        }
    }

    /// Unflushed amount of one counter (cost in whole micro-dollars).
    pub fn get(&self, env: Environment, stat: &str, counter: UsageCounter) -> u64 {
        let value = self
            .by_model
            .get(stat)
            .map_or(0, |slots| slots[env.index()][counter.index()]);
        match counter {
            UsageCounter::CostMicroUsd => value / PICO_PER_MICRO,
            _ => value,
        }
    }

    /// Takes every non-zero delta (cost as whole micro-dollars, keeping the remainder).
    pub fn drain(&mut self) -> Vec<(Environment, String, UsageCounter, u64)> {
        let mut out = Vec::new();
        for (stat, slots) in &mut self.by_model {
            for env in Environment::ALL {
                for counter in UsageCounter::ALL {
                    let slot = &mut slots[env.index()][counter.index()];
                    let delta = match counter {
                        UsageCounter::CostMicroUsd => {
                            let micro = *slot / PICO_PER_MICRO;
                            *slot %= PICO_PER_MICRO;
                            micro
                        }
                        _ => std::mem::take(slot),
                    };
                    if delta > 0 {
                        out.push((env, stat.clone(), counter, delta));
                    }
                }
            }
        }
        out
    }
}

/// Whole-Envoy totals of one model in one environment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ModelTotals {
    pub requests: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_micro_usd: u64,
}

impl ModelTotals {
    pub fn get_mut(&mut self, counter: UsageCounter) -> &mut u64 {
        match counter {
            UsageCounter::Requests => &mut self.requests,
            UsageCounter::PromptTokens => &mut self.prompt_tokens,
            UsageCounter::CompletionTokens => &mut self.completion_tokens,
            UsageCounter::CostMicroUsd => &mut self.cost_micro_usd,
        }
    }
}

/// Per environment: each catalog model (by name) and `other`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EnvironmentUsage {
    pub models: BTreeMap<String, ModelTotals>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_names_are_one_segment() {
        assert_eq!(stat_name("gpt-4.1"), "gpt-4_1");
        assert_eq!(stat_name("claude-sonnet-4.5"), "claude-sonnet-4_5");
        assert_eq!(stat_name("meta/llama 3:70b"), "meta_llama_3_70b");
        assert_eq!(stat_name("deepseek-v3_2"), "deepseek-v3_2");
    }

    #[test]
    fn metric_names() {
        assert_eq!(
            UsageCounter::PromptTokens.metric_name(Environment::Green, "gpt-4_1"),
            "bluegreen.green.model.gpt-4_1.prompt_tokens"
        );
        assert_eq!(
            UsageCounter::CostMicroUsd.metric_name(Environment::Blue, OTHER),
            "bluegreen.blue.model.other.cost_micro_usd"
        );
        assert_eq!(
            ttfb_histogram_name(Environment::Blue),
            "bluegreen.blue.ttfb_ms"
        );
    }

    #[test]
    fn cost_is_exact_in_pico_dollars() {
        // $2.00 / $8.00 per million tokens.
        let price = Price {
            input_pico_per_token: 2_000_000,
            output_pico_per_token: 8_000_000,
        };
        let usage = Usage {
            prompt_tokens: 1000,
            completion_tokens: 500,
        };
        // 1000 × 2 µ$ + 500 × 8 µ$ = 6000 µ$.
        assert_eq!(cost_pico(&price, usage), 6_000 * PICO_PER_MICRO);
        let huge = Usage {
            prompt_tokens: u64::MAX,
            completion_tokens: 1,
        };
        assert_eq!(cost_pico(&price, huge), u64::MAX);
    }

    #[test]
    fn pending_counts_and_drains_cost_remainders() {
        let mut pending = PendingUsage::default();
        // $0.28 per million input tokens: 1 token = 0.28 µ$.
        let cheap = Answered {
            env: Environment::Green,
            model: "deepseek-v3.2",
            stat: "deepseek-v3_2",
            usage: Some(Usage {
                prompt_tokens: 1,
                completion_tokens: 0,
            }),
            cost_pico: Some(280_000),
        };
        for _ in 0..3 {
            pending.add(cheap);
        }
        pending.add(Answered {
            env: Environment::Blue,
            model: OTHER,
            stat: OTHER,
            usage: None,
            cost_pico: None,
        });
        assert_eq!(
            pending.get(Environment::Green, "deepseek-v3_2", UsageCounter::Requests),
            3
        );
        assert_eq!(
            pending.get(
                Environment::Green,
                "deepseek-v3_2",
                UsageCounter::CostMicroUsd
            ),
            0
        );
        let drained = pending.drain();
        assert_eq!(
            drained,
            vec![
                (
                    Environment::Green,
                    "deepseek-v3_2".to_string(),
                    UsageCounter::Requests,
                    3
                ),
                (
                    Environment::Green,
                    "deepseek-v3_2".to_string(),
                    UsageCounter::PromptTokens,
                    3
                ),
                (
                    Environment::Blue,
                    OTHER.to_string(),
                    UsageCounter::Requests,
                    1
                ),
            ]
        );
        // 0.84 µ$ stays pending; four more answers make 1.96 µ$: one flushed, 0.96 kept.
        for _ in 0..4 {
            pending.add(cheap);
        }
        let cost: Vec<_> = pending
            .drain()
            .into_iter()
            .filter(|(_, _, counter, _)| *counter == UsageCounter::CostMicroUsd)
            .collect();
        assert_eq!(
            cost,
            vec![(
                Environment::Green,
                "deepseek-v3_2".to_string(),
                UsageCounter::CostMicroUsd,
                1
            )]
        );
        assert!(pending.drain().is_empty());
    }
}
