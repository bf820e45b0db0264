//! The shadow comparison in the running filter's status (`environments.<env>.shadow`): the
//! candidate's answers to the copies against the active environment's answers to the same
//! requests. `validate`, `canary` and `promote` refuse a candidate that did clearly worse.

use bluegreen_relay::environment::Environment;
use serde_json::Value;

/// Fewer copies than this prove nothing either way.
pub const MIN_SHADOWED: u64 = 50;
/// The candidate's error rate may reach twice the active environment's, and at least this.
const ERROR_RATE_FLOOR: f64 = 0.01;
const ERROR_RATE_FACTOR: f64 = 2.0;
const LATENCY_FACTOR: f64 = 1.25;

struct Side {
    requests: u64,
    /// 5xx answers and calls that got no answer.
    errors: u64,
    p95_ms: Option<u64>,
}

fn side(status: &Value, env: Environment) -> Option<Side> {
    let view = &status["environments"][env.as_str()]["shadow"];
    let count = |class: &str| view["responses"][class].as_u64().unwrap_or(0);
    Some(Side {
        requests: view["requests"].as_u64()?,
        errors: count("5xx") + count("failed"),
        p95_ms: view["latency_ms"]["p95"].as_u64(),
    })
}

fn rate(side: &Side) -> f64 {
    if side.requests == 0 {
        0.0
    } else {
        side.errors as f64 / side.requests as f64
    }
}

/// Why the shadow comparison refuses `candidate`; empty when it does not (or when there are
/// fewer than `MIN_SHADOWED` copies, or no shadowing at all).
pub fn refusals(status: &Value, candidate: Environment) -> Vec<String> {
    let active = candidate.other();
    let (Some(copies), Some(originals)) = (side(status, candidate), side(status, active)) else {
        return Vec::new();
    };
    if copies.requests < MIN_SHADOWED {
        return Vec::new();
    }
    let (c, a) = (candidate.as_str(), active.as_str());
    let mut out = Vec::new();
    let limit = ERROR_RATE_FLOOR.max(ERROR_RATE_FACTOR * rate(&originals));
    if rate(&copies) > limit {
        out.push(format!(
            "{c}'s 5xx rate on shadowed requests is {:.1} % ({} of {}), above max(1 %, 2 × {a}'s \
             {:.1} % on the same requests) = {:.1} %",
            rate(&copies) * 100.0,
            copies.errors,
            copies.requests,
            rate(&originals) * 100.0,
            limit * 100.0
        ));
    }
    if let (Some(cp), Some(ap)) = (copies.p95_ms, originals.p95_ms) {
        if cp as f64 > LATENCY_FACTOR * ap as f64 {
            out.push(format!(
                "{c}'s p95 latency on shadowed requests is {cp} ms, above 1.25 × {a}'s {ap} ms \
                 on the same requests ({} copies)",
                copies.requests
            ));
        }
    }
    out
}

/// One line for `relayctl status`: the comparison, when anything was shadowed.
pub fn describe(status: &Value) -> Option<String> {
    let active = Environment::from_bytes(status["active"].as_str()?.as_bytes())?;
    let candidate = active.other();
    let copies = side(status, candidate)?;
    let originals = side(status, active)?;
    let ms = |p: Option<u64>| p.map_or("-".to_string(), |p| format!("{p} ms"));
    let verdict = if copies.requests < MIN_SHADOWED {
        format!("fewer than {MIN_SHADOWED} copies: not judged yet")
    } else {
        match refusals(status, candidate).as_slice() {
            [] => "no worse than the active environment".to_string(),
            found => found.join("; "),
        }
    };
    Some(format!(
        "  shadow           {} copies to {}: 5xx {:.1} %, p95 {}; {} on the same requests: 5xx \
         {:.1} %, p95 {} ({verdict})",
        copies.requests,
        candidate.as_str(),
        rate(&copies) * 100.0,
        ms(copies.p95_ms),
        active.as_str(),
        rate(&originals) * 100.0,
        ms(originals.p95_ms),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(green: (u64, u64, u64), blue: (u64, u64, u64)) -> Value {
        let view = |(requests, errors, p95): (u64, u64, u64)| {
            json!({"requests": requests,
                   "responses": {"2xx": requests - errors, "4xx": 0, "5xx": errors, "failed": 0},
                   "latency_ms": {"p50": p95, "p95": p95}})
        };
        json!({"active": "blue", "environments": {
            "blue": {"shadow": view(blue)}, "green": {"shadow": view(green)}}})
    }

    #[test]
    fn refuses_errors_above_the_floor_or_twice_the_active() {
        assert!(refusals(&status((100, 1, 10), (100, 0, 10)), Environment::Green).is_empty());
        let found = refusals(&status((100, 2, 10), (100, 0, 10)), Environment::Green);
        assert_eq!(
            found,
            [
                "green's 5xx rate on shadowed requests is 2.0 % (2 of 100), above max(1 %, 2 × \
              blue's 0.0 % on the same requests) = 1.0 %"
            ]
        );
        // Blue failing too: twice its rate is the bar.
        assert!(refusals(&status((100, 9, 10), (100, 5, 10)), Environment::Green).is_empty());
        assert_eq!(
            refusals(&status((100, 11, 10), (100, 5, 10)), Environment::Green).len(),
            1
        );
    }

    #[test]
    fn refuses_slow_copies_and_judges_only_fifty_or_more() {
        let found = refusals(&status((60, 0, 3000), (60, 0, 15)), Environment::Green);
        assert_eq!(
            found,
            ["green's p95 latency on shadowed requests is 3000 ms, above 1.25 × blue's 15 ms on \
              the same requests (60 copies)"]
        );
        assert!(refusals(&status((60, 0, 25), (60, 0, 20)), Environment::Green).is_empty());
        assert!(refusals(&status((49, 49, 3000), (49, 0, 15)), Environment::Green).is_empty());
        assert!(refusals(&json!({}), Environment::Green).is_empty());
        let line = describe(&status((49, 0, 10), (49, 0, 10))).unwrap();
        assert!(line.contains("not judged yet"), "{line}");
    }
}
