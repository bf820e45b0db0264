//! The rate cap on shadow copies: at most `max_per_second` per Envoy, counted in one
//! shared-data record that every worker updates with compare-and-swap.

use serde::{Deserialize, Serialize};

/// Copies admitted in the current wall-clock second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateWindow {
    /// Unix seconds.
    pub second: u64,
    pub admitted: u32,
}

impl RateWindow {
    /// Admits one more copy at `now_ms` if the second has room; a new second starts afresh.
    pub fn admit(&mut self, now_ms: u64, max_per_second: u32) -> bool {
        let second = now_ms / 1000;
        if second != self.second {
            *self = RateWindow {
                second,
                admitted: 0,
            };
        }
        if self.admitted >= max_per_second {
            return false;
        }
        self.admitted += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_the_cap_per_second() {
        let mut window = RateWindow::default();
        let admitted = (0..10).filter(|_| window.admit(5_000, 3)).count();
        assert_eq!(admitted, 3);
        assert!(!window.admit(5_999, 3));
        assert!(window.admit(6_000, 3));
        crate::record::check_codec(&window);
    }
}
