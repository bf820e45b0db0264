//! The status endpoint's numbers: counted as integers, rounded once to the places shown, then
//! handed to serde_json as floats so that consumers always read a float (`90.0`, `0.25`).

/// `count` tenths, hundredths, … (`places`) as a float: `fixed(1250, 2)` is 12.5.
pub fn fixed(count: u64, places: u32) -> f64 {
    count as f64 / scale(places) as f64
}

/// `numerator / denominator` rounded half up to `places`, exactly (0 when the denominator is 0).
pub fn ratio(numerator: u64, denominator: u64, places: u32) -> f64 {
    if denominator == 0 {
        return 0.0;
    }
    let (n, d) = (u128::from(numerator), u128::from(denominator));
    let scaled = (2 * n * u128::from(scale(places)) + d) / (2 * d);
    fixed(u64::try_from(scaled).unwrap_or(u64::MAX), places)
}

/// A float rounded half up to `places`; negatives and NaN become 0 (`as` saturates).
pub fn rounded(value: f64, places: u32) -> f64 {
    fixed((value * scale(places) as f64 + 0.5) as u64, places)
}

/// 10^places; more than six places are never asked for.
fn scale(places: u32) -> u64 {
    10u64.saturating_pow(places)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(value: f64) -> String {
        serde_json::to_string(&value).unwrap()
    }

    #[test]
    fn prints_the_decimal_it_stands_for() {
        for (count, places, want) in [
            (9000, 2, "90.0"),
            (1250, 2, "12.5"),
            (3333, 2, "33.33"),
            (6667, 2, "66.67"),
            (0, 2, "0.0"),
            (10_000, 4, "1.0"),
            (1235, 4, "0.1235"),
            (1, 4, "0.0001"),
            (840, 6, "0.00084"),
            (205_714, 6, "0.205714"),
            (123_456_789_012, 6, "123456.789012"),
        ] {
            assert_eq!(json(fixed(count, places)), want);
        }
        // Below 10^-5 serde_json writes an exponent: the same float.
        assert_eq!(json(fixed(3, 6)), "3e-6");
    }

    #[test]
    fn ratio_rounds_half_up_with_integers() {
        assert_eq!(ratio(10, 40, 4), 0.25);
        assert_eq!(ratio(2, 3, 4), 0.6667);
        assert_eq!(ratio(1, 8, 2), 0.13);
        assert_eq!(ratio(1, 32, 4), 0.0313);
        assert_eq!(ratio(5, 0, 4), 0.0);
        assert_eq!(ratio(1440, 7000, 6), 0.205714);
        assert_eq!(ratio(u64::MAX, 1, 6), u64::MAX as f64 / 1e6);
    }

    #[test]
    fn floats_round_once() {
        assert_eq!(rounded(0.123456, 4), 0.1235);
        assert_eq!(rounded(1.0, 4), 1.0);
        assert_eq!(rounded(-0.5, 2), 0.0);
        assert_eq!(rounded(f64::NAN, 2), 0.0);
    }
}
