//! Percentages on the command line, read and written by the filter's own weight rule
//! (`bluegreen_relay::routing::weight`: 0 to 100 with at most two decimals, held as basis
//! points). The command line adds two things: a trailing `%` is accepted, and a canary of 0
//! is refused (sending nothing to the candidate is a rollback).

use bluegreen_relay::routing::weight;

/// All of the traffic, in basis points.
pub const ALL: u32 = bluegreen_relay::routing::BUCKETS;

/// Parses a canary percentage: `0.01` to `100`, at most two decimals, an optional trailing `%`.
pub fn parse_canary(text: &str) -> Result<u32, String> {
    let number = text.trim();
    let number = number.strip_suffix('%').unwrap_or(number).trim_end();
    let bp = weight::parse(number).map_err(|rule| {
        let rule = if rule == weight::OUT_OF_RANGE {
            "must be a number from 0.01 to 100"
        } else {
            rule
        };
        format!("canary percentage {rule} (got {text:?})")
    })?;
    if bp == 0 {
        return Err(format!(
            "canary percentage must be a number from 0.01 to 100 (got {text:?}); use rollback to send nothing to the candidate"
        ));
    }
    Ok(bp)
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
            ("1e1", 1000),
        ] {
            assert_eq!(parse_canary(text), Ok(bp), "{text}");
        }
    }

    #[test]
    fn refuses_the_rest() {
        for text in [
            "0", "0.00", "0.001", "100.01", "101", "-1", "+5", "", ".5", "abc", "1,5", "NaN",
            "inf", "1000", "10.5.1", "5%%",
        ] {
            assert!(parse_canary(text).is_err(), "{text} was accepted");
        }
        assert_eq!(
            parse_canary("0.001").unwrap_err(),
            "canary percentage must have at most two decimals (0.01 % steps) (got \"0.001\")"
        );
        assert_eq!(
            parse_canary("101%").unwrap_err(),
            "canary percentage must be a number from 0.01 to 100 (got \"101%\")"
        );
        assert!(parse_canary("0").unwrap_err().contains("rollback"));
    }
}
