//! Percentages as the filter takes them: 0 to 100 with at most two decimals, held as basis
//! points (hundredths of a percent, 0..=10000) so that 100 − 33.33 is exactly 66.67.

use serde_json::Value;

/// All of the traffic, in basis points.
pub const ALL: u32 = 10_000;

/// Parses a canary percentage: `0.01` to `100`, at most two decimals, an optional trailing `%`.
pub fn parse_canary(text: &str) -> Result<u32, String> {
    let bp = parse_basis_points(text)?;
    if bp == 0 {
        return Err(format!(
            "canary percentage must be from 0.01 to 100 (got {text:?}); use rollback to send nothing to the candidate"
        ));
    }
    Ok(bp)
}

/// `"12.5"` → 1250. Refuses signs, exponents, more than two decimals and values above 100.
pub fn parse_basis_points(text: &str) -> Result<u32, String> {
    let bad = |rule: &str| Err(format!("{rule} (got {text:?})"));
    let number = text.trim();
    let number = number.strip_suffix('%').unwrap_or(number).trim_end();
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (number, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || whole.len() > 3 {
        return bad("percentage must be a number from 0.01 to 100");
    }
    let fraction = match fraction {
        None => "",
        Some(f) if digits(f) && f.len() <= 2 => f,
        Some(f) if digits(f) => return bad("percentage must have at most two decimals"),
        Some(_) => return bad("percentage must be a number from 0.01 to 100"),
    };
    let whole: u32 = whole
        .parse()
        .map_err(|_| format!("percentage must be a number from 0.01 to 100 (got {text:?})"))?;
    let hundredths = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<u32>().unwrap_or(0) * 10,
        _ => fraction.parse::<u32>().unwrap_or(0),
    };
    let bp = whole * 100 + hundredths;
    if bp > ALL {
        return bad("percentage must be a number from 0.01 to 100");
    }
    Ok(bp)
}

/// The JSON number a person would write for `bp` basis points: 90, 12.5, 33.33.
pub fn weight_value(bp: u32) -> Value {
    if bp.is_multiple_of(100) {
        Value::from(bp / 100)
    } else {
        Value::from(f64::from(bp) / 100.0)
    }
}

/// `90`, `12.5`, `33.33` for display.
pub fn format_bp(bp: u32) -> String {
    weight_value(bp).to_string()
}

/// A weight from the plugin JSON in basis points, if it is a number in 0..=100.
pub fn weight_bp(value: &Value) -> Option<u32> {
    let weight = value.as_f64()?;
    if !(0.0..=100.0).contains(&weight) {
        return None;
    }
    Some((weight * 100.0).round() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_two_decimals_and_a_percent_sign() {
        for (text, bp) in [
            ("10", 1000),
            ("0.01", 1),
            ("12.5", 1250),
            ("33.33", 3333),
            ("100", 10_000),
            ("100.00", 10_000),
            ("50%", 5000),
            (" 7.25 % ", 725),
            ("007", 700),
        ] {
            assert_eq!(parse_canary(text), Ok(bp), "{text}");
        }
    }

    #[test]
    fn refuses_the_rest() {
        for text in [
            "0", "0.00", "0.001", "100.01", "101", "-1", "+5", "1e1", "", ".5", "5.", "abc", "1,5",
            "NaN", "inf", "1000", "10.5.1",
        ] {
            assert!(parse_canary(text).is_err(), "{text} was accepted");
        }
        assert!(parse_canary("0.001").unwrap_err().contains("two decimals"));
        assert!(parse_canary("0").unwrap_err().contains("rollback"));
    }

    #[test]
    fn weights_render_as_written() {
        assert_eq!(weight_value(9000).to_string(), "90");
        assert_eq!(weight_value(1250).to_string(), "12.5");
        assert_eq!(weight_value(6667).to_string(), "66.67");
        assert_eq!(weight_value(1).to_string(), "0.01");
        assert_eq!(weight_value(0).to_string(), "0");
        for bp in 0..=ALL {
            assert_eq!(weight_bp(&weight_value(bp)), Some(bp));
        }
        assert_eq!(weight_bp(&Value::from(-1)), None);
        assert_eq!(weight_bp(&Value::from("10")), None);
    }
}
