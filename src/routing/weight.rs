//! Weights as people write them: percentages from 0 to 100 with at most two decimals, held as
//! basis points (hundredths of a percent, 0..=10000) so that 100 − 33.33 is exactly 66.67.
//! The filter, relayctl, the harness and the tests all read and write weights here.

use serde_json::Value;

use super::BUCKETS;
use crate::config::number::{scaled, FRAC_ONE};

/// Why a weight's text was refused (the caller adds the field and the value).
pub const OUT_OF_RANGE: &str = "must be a number from 0 to 100";
pub const TOO_PRECISE: &str = "must have at most two decimals (0.01 % steps)";

/// A JSON number's text (`90`, `33.33`, `1e1`) as basis points.
pub fn parse(text: &str) -> Result<u32, &'static str> {
    let Some(bp) = scaled(text, 2).filter(|s| !s.negative) else {
        return Err(OUT_OF_RANGE);
    };
    let full = u64::from(BUCKETS);
    let whole = match bp.whole {
        Some(whole) if whole < full || (whole == full && bp.exact) => whole,
        _ => return Err(OUT_OF_RANGE),
    };
    // Within 10^-6 of a basis point counts as on it: a float printer that writes 33.33 as
    // 33.329999999999998 is still understood.
    const SLACK: u64 = FRAC_ONE / 1_000_000;
    let whole = if bp.frac <= SLACK {
        whole
    } else if bp.frac >= FRAC_ONE - SLACK {
        whole + 1
    } else {
        return Err(TOO_PRECISE);
    };
    Ok(whole as u32)
}

/// The JSON number a person would write for `bp`: 90, 12.5, 33.33.
pub fn to_json(bp: u32) -> Value {
    if bp.is_multiple_of(100) {
        Value::from(bp / 100)
    } else {
        Value::from(f64::from(bp) / 100.0)
    }
}

/// `90`, `12.5`, `33.33`, for messages and tables.
pub fn display(bp: u32) -> String {
    to_json(bp).to_string()
}

/// A weight already in a JSON document (as relayctl reads a published configuration).
pub fn from_json(value: &Value) -> Option<u32> {
    match value {
        Value::Number(number) => parse(&number.to_string()).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_weights_exactly_from_their_text() {
        for (text, bp) in [
            ("0", 0),
            ("-0", 0),
            ("0.01", 1),
            ("12.5", 1250),
            ("33.33", 3333),
            ("66.670000000000002", 6667),
            ("33.329999999999998", 3333),
            ("1e1", 1000),
            ("9E1", 9000),
            ("100", 10_000),
            ("100.000", 10_000),
        ] {
            assert_eq!(parse(text), Ok(bp), "{text}");
        }
        for text in ["-1", "100.01", "101", "1e400", "abc", "", "NaN"] {
            assert_eq!(parse(text), Err(OUT_OF_RANGE), "{text}");
        }
        assert_eq!(parse("0.001"), Err(TOO_PRECISE));
        assert_eq!(parse("33.333"), Err(TOO_PRECISE));
    }

    #[test]
    fn writes_weights_as_people_do_and_reads_them_back() {
        assert_eq!(display(9000), "90");
        assert_eq!(display(1250), "12.5");
        assert_eq!(display(6667), "66.67");
        assert_eq!(display(1), "0.01");
        assert_eq!(display(0), "0");
        for bp in 0..=BUCKETS {
            assert_eq!(from_json(&to_json(bp)), Some(bp), "{bp}");
        }
        assert_eq!(from_json(&Value::from("10")), None);
        assert_eq!(from_json(&Value::from(-1)), None);
    }
}
