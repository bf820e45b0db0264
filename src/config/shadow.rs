//! `shadow`: an optional block asking for a share of requests to be copied to the candidate
//! environment (its answer is dropped), bounded in rate and body size.

use serde::Deserialize;

use super::defaults;
use super::error::Problems;
use super::health::{in_range, small};
use super::models::MAX_BODY_LIMIT;
use super::read_types::NumberText;
use crate::routing::weight;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShadow<'a> {
    #[serde(borrow)]
    pub percent: NumberText<'a>,
    #[serde(default = "defaults::shadow_max_per_second")]
    pub max_per_second: u64,
    #[serde(default = "defaults::shadow_max_body_bytes")]
    pub max_body_bytes: u64,
}

/// A validated `shadow` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shadow {
    /// Share of requests copied, in basis points of a percent (0..=10000).
    pub percent_bp: u32,
    /// At most this many copies per second.
    pub max_per_second: u32,
    /// A request whose body is larger is not copied.
    pub max_body_bytes: usize,
}

pub fn validate_shadow(raw: RawShadow, problems: &mut Problems) -> Option<Shadow> {
    let percent_bp = match weight::parse(raw.percent.text()) {
        Ok(bp) => Some(bp),
        Err(rule) => {
            problems.push(
                "shadow.percent",
                format!("{rule} (got {})", raw.percent.text()),
            );
            None
        }
    };
    let max_per_second = problems.check(small(
        "shadow.max_per_second",
        raw.max_per_second,
        1,
        10_000,
    ));
    let max_body_bytes = problems.check(in_range(
        "shadow.max_body_bytes",
        raw.max_body_bytes,
        1,
        MAX_BODY_LIMIT,
    ));
    Some(Shadow {
        percent_bp: percent_bp?,
        max_per_second: max_per_second?,
        max_body_bytes: usize::try_from(max_body_bytes?).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::config::{Config, ConfigError, Shadow};

    fn with_shadow(shadow: Value) -> Result<Config, ConfigError> {
        let config = json!({
            "environments": {
                "blue": {"cluster": "relay_blue", "weight": 90, "api_key": "sk-b"},
                "green": {"cluster": "relay_green", "weight": 10, "api_key": "sk-g"}
            },
            "shadow": shadow
        });
        Config::parse(config.to_string().as_bytes(), &|_| None)
    }

    fn refusal(shadow: Value) -> String {
        match with_shadow(shadow) {
            Ok(config) => panic!("accepted {:?}", config.shadow),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn off_unless_configured() {
        assert_eq!(with_shadow(Value::Null).unwrap().shadow, None);
    }

    #[test]
    fn percent_is_required_the_rest_has_defaults() {
        let shadow = with_shadow(json!({"percent": 5})).unwrap().shadow;
        assert_eq!(
            shadow,
            Some(Shadow {
                percent_bp: 500,
                max_per_second: 20,
                max_body_bytes: 262_144
            })
        );
        assert_eq!(
            refusal(json!({})),
            "invalid configuration: shadow.percent: is required"
        );
    }

    #[test]
    fn every_field_is_read() {
        let text = r#"{"environments": {
            "blue": {"cluster": "relay_blue", "weight": 90, "api_key": "sk-b"},
            "green": {"cluster": "relay_green", "weight": 10, "api_key": "sk-g"}},
            "shadow": {"percent": 12.34, "max_per_second": 10000, "max_body_bytes": 67108864}}"#;
        let shadow = Config::parse(text.as_bytes(), &|_| None).unwrap().shadow;
        assert_eq!(
            shadow,
            Some(Shadow {
                percent_bp: 1234,
                max_per_second: 10_000,
                max_body_bytes: 64 * 1024 * 1024
            })
        );
        let all = with_shadow(json!({"percent": 100, "max_per_second": 1, "max_body_bytes": 1}));
        assert_eq!(all.unwrap().shadow.unwrap().percent_bp, 10_000);
        let none = with_shadow(json!({"percent": 0}));
        assert_eq!(none.unwrap().shadow.unwrap().percent_bp, 0);
    }

    #[test]
    fn percent_is_a_weight() {
        assert_eq!(
            refusal(json!({"percent": 100.5})),
            "invalid configuration: shadow.percent: must be a number from 0 to 100 (got 100.5)"
        );
        assert_eq!(
            refusal(json!({"percent": 0.125})),
            "invalid configuration: shadow.percent: must have at most two decimals (0.01 % steps) (got 0.125)"
        );
        assert_eq!(
            refusal(json!({"percent": "5"})),
            "invalid configuration: shadow.percent: must be a number (got \"5\")"
        );
    }

    #[test]
    fn limits_and_all_their_problems() {
        assert_eq!(
            refusal(json!({"percent": -1, "max_per_second": 0, "max_body_bytes": 67108865})),
            "invalid configuration: 3 problems: \
             shadow.percent: must be a number from 0 to 100 (got -1); \
             shadow.max_per_second: must be from 1 to 10000 (got 0); \
             shadow.max_body_bytes: must be from 1 to 67108864 (got 67108865)"
        );
        assert_eq!(
            refusal(json!({"percent": 1, "max_per_second": 10001})),
            "invalid configuration: shadow.max_per_second: must be from 1 to 10000 (got 10001)"
        );
        let message = refusal(json!({"percent": 1, "copies": 2}));
        assert!(
            message.starts_with("invalid configuration: shadow.copies: unknown field (expected one of `percent`, `max_per_second`, `max_body_bytes`)"),
            "{message}"
        );
    }
}
