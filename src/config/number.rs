//! JSON numbers as exact integers, straight from their text (serde_json's `RawValue`): weights
//! have at most two decimals and prices are summed in pico-dollars, which a float would blur
//! (`33.33`, `0.28`). Messages quote a number as written instead of printing it back.

/// `Scaled::frac` counts in these parts of one (18 decimal digits).
pub const FRAC_ONE: u64 = 1_000_000_000_000_000_000;

/// A number times 10^scale, split at the decimal point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scaled {
    /// Below zero (`-0` is zero).
    pub negative: bool,
    /// The integer part of the magnitude; `None` when it does not fit a u64.
    pub whole: Option<u64>,
    /// The first 18 digits after the point, in `FRAC_ONE`ths (truncated).
    pub frac: u64,
    /// Every digit after the point is 0.
    pub exact: bool,
}

/// The JSON number `text` times 10^`scale`; `None` when `text` is not a JSON number.
pub fn scaled(text: &str, scale: u32) -> Option<Scaled> {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (text.get(..at)?, exponent(text.get(at + 1..)?)?),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let (int, frac) = (int.as_bytes(), frac.as_bytes());
    if int.is_empty() || !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return None;
    }
    // Digit `i` of int and frac read as one run (0 outside it).
    let digit = |i: i64| -> u64 {
        let Ok(i) = usize::try_from(i) else { return 0 };
        let byte = match i.checked_sub(int.len()) {
            None => int.get(i),
            Some(j) => frac.get(j),
        };
        byte.map_or(0, |&b| u64::from(b - b'0'))
    };
    let count = (int.len() + frac.len()) as i64;
    let leading_zeros = int.iter().chain(frac).take_while(|&&b| b == b'0').count() as i64;
    if leading_zeros == count {
        return Some(Scaled {
            negative: false,
            whole: Some(0),
            frac: 0,
            exact: true,
        });
    }
    // How many of the digits come before the decimal point once scaled.
    let point = int.len() as i64 + exponent + i64::from(scale);
    let whole = if point - leading_zeros > 20 {
        None // at least 10^20
    } else {
        (0..point.max(0)).try_fold(0u64, |acc, i| acc.checked_mul(10)?.checked_add(digit(i)))
    };
    let frac = (0..18).fold(0, |acc, k| acc * 10 + digit(point + k));
    let exact = frac == 0 && ((point + 18).max(0)..count).all(|i| digit(i) == 0);
    Some(Scaled {
        negative,
        whole,
        frac,
        exact,
    })
}

/// A JSON number written as a non-negative integer (no fraction, no exponent) that fits a u64.
pub fn unsigned(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0u64, |acc, b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// An exponent's digits, clamped far beyond any that can matter (so it cannot overflow).
fn exponent(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, text.get(1..)?),
        b'+' => (false, text.get(1..)?),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let magnitude = digits.bytes().try_fold(0i64, |acc, b| {
        b.is_ascii_digit()
            .then(|| (acc * 10 + i64::from(b - b'0')).min(1_000_000_000))
    })?;
    Some(if negative { -magnitude } else { magnitude })
}
