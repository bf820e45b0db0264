//! The rollout's command-line values: durations (`5m`, `30s`, `500ms`), the step list and
//! the tokens range, each refused with the value named.

use std::time::Duration;

/// `500ms`, `30s`, `5m`, `1h`, or a bare number of seconds; above 0, at most a day.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (t, 1.0)
    };
    match number.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x * scale <= 86_400.0 => {
            Ok(Duration::from_secs_f64(x * scale))
        }
        _ => Err(format!(
            "must be a duration like 500ms, 30s or 5m, above 0 and at most 24h (got {text:?})"
        )),
    }
}

/// Canary shares in basis points, rising.
#[derive(Debug, Clone, PartialEq)]
pub struct Steps(pub Vec<u32>);

/// `1,5,25,50,100`: canary shares in basis points, rising, each 0.01 to 100 %.
pub fn parse_steps(text: &str) -> Result<Steps, String> {
    let mut steps = Vec::new();
    for part in text.split(',') {
        let bp =
            crate::percent::parse_canary(part.trim()).map_err(|e| format!("step {part:?}: {e}"))?;
        if steps.last().is_some_and(|&last| bp <= last) {
            return Err(format!("steps must rise (got {text:?})"));
        }
        steps.push(bp);
    }
    Ok(Steps(steps))
}

/// `0.5..2`: the candidate's completion tokens per request as a multiple of the active's.
pub fn parse_range(text: &str) -> Result<(f64, f64), String> {
    let bad =
        || format!("must be LOW..HIGH with 0 <= LOW <= 1 <= HIGH, e.g. 0.5..2 (got {text:?})");
    let (lo, hi) = text.split_once("..").ok_or_else(bad)?;
    let lo: f64 = lo.trim().parse().map_err(|_| bad())?;
    let hi: f64 = hi.trim().parse().map_err(|_| bad())?;
    if !(lo.is_finite() && hi.is_finite() && (0.0..=1.0).contains(&lo) && hi >= 1.0) {
        return Err(bad());
    }
    Ok((lo, hi))
}

/// A ratio or a rate given on the command line: finite and above 0.
pub fn parse_positive(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!("must be a number above 0 (got {text:?})")),
    }
}

/// `2m30s`-style display of a duration, whole seconds.
pub fn show(d: Duration) -> String {
    let secs = d.as_secs();
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("0s").unwrap_err().contains("\"0s\""));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("25h").is_err());
    }

    #[test]
    fn steps_rise_and_are_percentages() {
        assert_eq!(
            parse_steps("1,5,25,50,100"),
            Ok(Steps(vec![100, 500, 2500, 5000, 10000]))
        );
        assert_eq!(parse_steps("0.5, 10"), Ok(Steps(vec![50, 1000])));
        assert!(parse_steps("5,1").unwrap_err().contains("rise"));
        assert!(parse_steps("0,5").is_err());
        assert!(parse_steps("5,101").unwrap_err().contains("101"));
    }

    #[test]
    fn ranges_and_display() {
        assert_eq!(parse_range("0.5..2"), Ok((0.5, 2.0)));
        assert!(parse_range("2..0.5").is_err());
        assert!(parse_range("1").is_err());
        assert_eq!(show(Duration::from_secs(190)), "3m10s");
        assert_eq!(show(Duration::from_secs(300)), "5m");
        assert_eq!(show(Duration::from_millis(4500)), "4s");
    }
}
