//! The AI relay's model catalog: which models a request may name, their limits, prices and
//! environment pins, and how big a request body the filter reads to check them.

use std::collections::BTreeMap;

use super::defaults;
use super::error::Problems;
use super::number::{scaled, unsigned, FRAC_ONE};
use super::raw_models::RawModel;
use super::read_types::{NumberText, Object};
use super::ConfigError;
use crate::ai::meter::{stat_name, OTHER};
use crate::environment::Environment;

/// Largest `max_request_body_bytes`: the filter holds a checked body in Envoy's memory.
pub const MAX_BODY_LIMIT: u64 = 64 * 1024 * 1024;

/// Highest price accepted, in USD per million tokens (a typo guard, not a market view).
const MAX_PRICE_PER_MTOK: u64 = 10_000;

/// Prices as pico-dollars per token (USD per million tokens × 10^6), so costs add up exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    pub input_pico_per_token: u64,
    pub output_pico_per_token: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub name: String,
    pub provider: String,
    pub max_tokens: u64,
    pub supports_streaming: bool,
    pub price: Option<Price>,
    /// Environments the model may be served from (both unless pinned).
    pub allowed: [bool; 2],
    /// The model's part of its stat names (see `usage_counts::stat_name`).
    pub stat_name: String,
}

impl ModelSpec {
    /// Where a request for this model goes when its bucket chose `env`.
    pub fn place(&self, env: Environment) -> Environment {
        if self.allowed[env.index()] {
            env
        } else {
            env.other()
        }
    }

    pub fn is_pinned(&self) -> bool {
        self.allowed != [true, true]
    }
}

/// The catalog, sorted by name for lookups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelCatalog {
    models: Vec<ModelSpec>,
    has_pins: bool,
}

impl ModelCatalog {
    pub fn get(&self, name: &str) -> Option<(usize, &ModelSpec)> {
        let index = self
            .models
            .binary_search_by(|m| m.name.as_str().cmp(name))
            .ok()?;
        Some((index, &self.models[index]))
    }

    pub fn by_index(&self, index: usize) -> Option<&ModelSpec> {
        self.models.get(index)
    }

    pub fn iter(&self) -> impl Iterator<Item = &ModelSpec> {
        self.models.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    pub fn has_pins(&self) -> bool {
        self.has_pins
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelsConfig {
    pub catalog: ModelCatalog,
    pub enforce_models: bool,
    pub max_request_body_bytes: usize,
}

impl Default for ModelsConfig {
    fn default() -> ModelsConfig {
        ModelsConfig {
            catalog: ModelCatalog::default(),
            enforce_models: false,
            max_request_body_bytes: defaults::max_request_body_bytes() as usize,
        }
    }
}

impl ModelsConfig {
    /// True when a completion request's body must be read (checked, or routed by model).
    pub fn reads_request_body(&self) -> bool {
        self.enforce_models || self.catalog.has_pins()
    }
}

/// The catalog, `enforce_models` and `max_request_body_bytes`; models in document order.
pub fn validate(
    models: Vec<(String, Object<RawModel>)>,
    enforce_models: bool,
    max_request_body_bytes: Option<NumberText>,
    problems: &mut Problems,
) -> Option<ModelsConfig> {
    let count = models.len();
    let mut specs: Vec<ModelSpec> = Vec::with_capacity(count);
    let mut stat_owner: BTreeMap<String, String> = BTreeMap::new();
    let mut all_ok = true;
    for (name, Object(raw)) in models {
        let Some(spec) = model(&name, raw, problems) else {
            all_ok = false;
            continue;
        };
        if spec.stat_name == OTHER {
            problems.push(
                format!("models.{name}"),
                format!(
                    "the stat name \"{OTHER}\" is kept for models outside the catalog (got {name:?})"
                ),
            );
            all_ok = false;
            continue;
        }
        if let Some(owner) = stat_owner.insert(spec.stat_name.clone(), name.clone()) {
            problems.push(
                format!("models.{name}"),
                format!(
                    "its stat name {:?} is also model {owner:?}'s; rename one (got {name:?})",
                    spec.stat_name
                ),
            );
            all_ok = false;
            continue;
        }
        specs.push(spec);
    }
    if enforce_models && count == 0 {
        problems.push(
            "enforce_models",
            "needs at least one model in models (got true with no models)",
        );
    }
    let max_request_body_bytes = match max_request_body_bytes {
        None => Some(defaults::max_request_body_bytes()),
        Some(text) => match unsigned(text.text()) {
            Some(n) if (1..=MAX_BODY_LIMIT).contains(&n) => Some(n),
            _ => {
                problems.push(
                    "max_request_body_bytes",
                    format!(
                        "must be a positive integer of at most {MAX_BODY_LIMIT} (got {})",
                        text.text()
                    ),
                );
                None
            }
        },
    };
    // `ModelCatalog::get` searches by name.
    specs.sort_by(|a, b| a.name.cmp(&b.name));
    let has_pins = specs.iter().any(ModelSpec::is_pinned);
    Some(ModelsConfig {
        catalog: all_ok.then_some(ModelCatalog {
            models: specs,
            has_pins,
        })?,
        enforce_models,
        max_request_body_bytes: usize::try_from(max_request_body_bytes?).ok()?,
    })
}

fn model(name: &str, raw: RawModel, problems: &mut Problems) -> Option<ModelSpec> {
    let field = |sub: &str| format!("models.{name}.{sub}");
    if name.is_empty() || name.len() > 128 || !name.bytes().all(|b| b.is_ascii_graphic()) {
        problems.push(
            format!("models.{name}"),
            format!("a model name must be 1 to 128 visible ASCII characters (got {name:?})"),
        );
        return None;
    }
    let provider = if raw.provider.trim().is_empty() {
        problems.push(
            field("provider"),
            format!("must not be empty (got {:?})", raw.provider),
        );
        None
    } else {
        Some(raw.provider)
    };
    let max_tokens = match unsigned(raw.max_tokens.text()) {
        Some(n) if n > 0 => Some(n),
        _ => {
            problems.push(
                field("max_tokens"),
                format!("must be a positive integer (got {})", raw.max_tokens.text()),
            );
            None
        }
    };
    let price = match raw.price_per_mtok {
        None => Some(None),
        Some(Object(price)) => {
            let input = problems.check(pico_per_token(
                &field("price_per_mtok.input"),
                price.input.text(),
            ));
            let output = problems.check(pico_per_token(
                &field("price_per_mtok.output"),
                price.output.text(),
            ));
            input.zip(output).map(|(input, output)| {
                Some(Price {
                    input_pico_per_token: input,
                    output_pico_per_token: output,
                })
            })
        }
    };
    let allowed = match &raw.environments {
        None => Some([true, true]),
        Some(names) => environments(&field("environments"), &names.0, problems),
    };
    Some(ModelSpec {
        name: name.to_string(),
        provider: provider?,
        max_tokens: max_tokens?,
        supports_streaming: raw.supports_streaming,
        price: price?,
        allowed: allowed?,
        stat_name: stat_name(name),
    })
}

/// USD per million tokens, as written, to pico-dollars per token (rounded half up).
fn pico_per_token(field: &str, usd_per_mtok: &str) -> Result<u64, ConfigError> {
    // USD per 10^6 tokens = 10^-6 USD per token = 10^6 pico-dollars per token.
    const MAX: u64 = MAX_PRICE_PER_MTOK * 1_000_000;
    let pico = scaled(usd_per_mtok, 6)
        .filter(|s| !s.negative)
        .and_then(|s| {
            let whole = s.whole.filter(|&w| w < MAX || (w == MAX && s.exact))?;
            Some(whole + u64::from(s.frac >= FRAC_ONE / 2))
        });
    pico.ok_or_else(|| {
        ConfigError::new(
            field,
            format!(
                "must be a number from 0 to {MAX_PRICE_PER_MTOK} (USD per million tokens) (got {usd_per_mtok})"
            ),
        )
    })
}

fn environments(field: &str, names: &[String], problems: &mut Problems) -> Option<[bool; 2]> {
    if names.is_empty() {
        problems.push(field, "must name at least one environment (got [])");
        return None;
    }
    let mut allowed = [false, false];
    let mut ok = true;
    for (i, name) in names.iter().enumerate() {
        let Some(env) = Environment::from_bytes(name.as_bytes()) else {
            problems.push(
                format!("{field}[{i}]"),
                format!("must be \"blue\" or \"green\" (got {name:?})"),
            );
            ok = false;
            continue;
        };
        if allowed[env.index()] {
            problems.push(
                format!("{field}[{i}]"),
                format!("names an environment twice (got {name:?})"),
            );
            ok = false;
        }
        allowed[env.index()] = true;
    }
    ok.then_some(allowed)
}

#[cfg(test)]
#[path = "models_tests.rs"]
mod tests;
