//! Non-negative decimals printed from integers. core's float formatting costs ~15 KB of wasm,
//! so weights, ratios and costs are kept (or rounded once) as integer counts of 10^-places.

use std::fmt::{self, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    /// The value times 10^places.
    pub scaled: u64,
    pub places: u32,
}

impl Decimal {
    pub const fn new(scaled: u64, places: u32) -> Decimal {
        Decimal { scaled, places }
    }

    /// `numerator / denominator`, rounded half up; 0 when the denominator is 0. Long division,
    /// one digit at a time, so large counts never overflow (and no 128-bit division is linked).
    pub fn ratio(numerator: u64, denominator: u64, places: u32) -> Decimal {
        if denominator == 0 {
            return Decimal::new(0, places);
        }
        let mut scaled = numerator / denominator;
        let mut rest = numerator % denominator;
        for _ in 0..places {
            // `rest < denominator`; a remainder too big to shift is only kept approximately.
            let shifted = rest.saturating_mul(10);
            scaled = scaled
                .saturating_mul(10)
                .saturating_add(shifted / denominator);
            rest = shifted % denominator;
        }
        if rest >= denominator - rest {
            scaled = scaled.saturating_add(1);
        }
        Decimal::new(scaled, places)
    }

    /// Rounds a float once; negatives and NaN become 0 (`as` saturates, never traps).
    pub fn from_f64(value: f64, places: u32) -> Decimal {
        Decimal::new((value * scale(places) as f64 + 0.5) as u64, places)
    }

    /// Writes `12.5`, `90` or — with `min_places` 1 — `90.0`: trailing zeros of the fraction are
    /// dropped down to `min_places` digits (more are padded with zeros).
    pub fn write_to(self, out: &mut impl Write, min_places: u32) -> fmt::Result {
        let unit = scale(self.places);
        write_u64(out, self.scaled / unit)?;
        let mut fraction = self.scaled % unit;
        let mut digits = self.places;
        while digits > min_places && fraction.is_multiple_of(10) {
            fraction /= 10;
            digits -= 1;
        }
        if digits == 0 && min_places == 0 {
            return Ok(());
        }
        out.write_char('.')?;
        let mut buf = [b'0'; 20];
        let shown = (digits as usize).min(buf.len());
        for slot in buf.iter_mut().take(shown).rev() {
            *slot = b'0' + (fraction % 10) as u8;
            fraction /= 10;
        }
        write_digits(out, buf.get(..shown).unwrap_or_default())?;
        for _ in shown..min_places as usize {
            out.write_char('0')?;
        }
        Ok(())
    }
}

/// `{}` drops a zero fraction (`90`, `12.5`); `{:.2}` shows at least two places (`1.00`).
impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let min_places = f.precision().unwrap_or(0);
        self.write_to(f, u32::try_from(min_places).unwrap_or(u32::MAX))
    }
}

/// Decimal digits of an integer without the `core::fmt` integer machinery.
pub fn write_u64(out: &mut impl Write, mut value: u64) -> fmt::Result {
    let mut buf = [0u8; 20];
    let mut start = buf.len();
    loop {
        start -= 1;
        if let Some(slot) = buf.get_mut(start) {
            *slot = b'0' + (value % 10) as u8;
        }
        value /= 10;
        if value == 0 || start == 0 {
            break;
        }
    }
    write_digits(out, buf.get(start..).unwrap_or_default())
}

fn write_digits(out: &mut impl Write, digits: &[u8]) -> fmt::Result {
    // Only ASCII digits are ever passed in.
    out.write_str(std::str::from_utf8(digits).unwrap_or_default())
}

/// 10^places, saturating (more than 19 places is never asked for).
fn scale(places: u32) -> u64 {
    10u64.checked_pow(places).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(d: Decimal) -> String {
        let mut s = String::new();
        d.write_to(&mut s, 1).unwrap();
        s
    }

    #[test]
    fn prints_like_the_float_it_stands_for() {
        for (scaled, places, want) in [
            (9000, 2, "90.0"),
            (1250, 2, "12.5"),
            (3333, 2, "33.33"),
            (0, 2, "0.0"),
            (10_000, 4, "1.0"),
            (1235, 4, "0.1235"),
            (840, 6, "0.00084"),
            (205_714, 6, "0.205714"),
            (7, 0, "7.0"),
        ] {
            let d = Decimal::new(scaled, places);
            assert_eq!(json(d), want);
            let parsed: f64 = want.parse().unwrap();
            assert_eq!(parsed, scaled as f64 / 10f64.powi(places as i32));
        }
    }

    #[test]
    fn display_drops_a_zero_fraction_unless_asked() {
        assert_eq!(Decimal::new(9000, 2).to_string(), "90");
        assert_eq!(Decimal::new(1250, 2).to_string(), "12.5");
        assert_eq!(format!("{:.2}", Decimal::new(100, 2)), "1.00");
        assert_eq!(format!("{:.2}", Decimal::new(9, 1)), "0.90");
        assert_eq!(format!("{:.3}", Decimal::new(5, 0)), "5.000");
    }

    #[test]
    fn ratio_rounds_half_up_with_integers() {
        assert_eq!(Decimal::ratio(10, 40, 4), Decimal::new(2500, 4));
        assert_eq!(Decimal::ratio(2, 3, 4), Decimal::new(6667, 4));
        assert_eq!(Decimal::ratio(1, 8, 2), Decimal::new(13, 2));
        assert_eq!(Decimal::ratio(5, 0, 4), Decimal::new(0, 4));
        assert_eq!(Decimal::ratio(u64::MAX, 1, 6).scaled, u64::MAX);
    }

    #[test]
    fn floats_round_once() {
        assert_eq!(Decimal::from_f64(0.123456, 4), Decimal::new(1235, 4));
        assert_eq!(Decimal::from_f64(1.0, 2), Decimal::new(100, 2));
        assert_eq!(Decimal::from_f64(-0.5, 2).scaled, 0);
        assert_eq!(Decimal::from_f64(f64::NAN, 2).scaled, 0);
    }

    #[test]
    fn integers() {
        for n in [0, 7, 10, 1_234_567_890, u64::MAX] {
            let mut s = String::new();
            write_u64(&mut s, n).unwrap();
            assert_eq!(s, n.to_string());
        }
    }
}
