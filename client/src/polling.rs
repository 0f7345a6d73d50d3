//! The delays between QR status polls, as passkey-magic v0.4 spaces them: a base
//! interval grown by a backoff rate up to a cap, then spread by jitter.
//!
//! `delay(k) = min(cap, round(base · rate^k))`, then with jitter `j > 0`
//! `round(delay · (1 − j + 2j·u))` for a uniform `u` in `[0, 1)` drawn per delay (so
//! jitter may exceed the cap, as in v0.4). `round` is JavaScript's `Math.round`.

/// The poll defaults of v0.4: every 2 s, no backoff, no jitter.
pub const DEFAULT_INTERVAL_MS: f64 = 2000.0;

/// Delay schedule of one poller.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    base: f64,
    rate: f64,
    cap: f64,
    jitter: f64,
    attempt: i32,
}

/// JavaScript's `Math.round` (halves round up).
fn js_round(value: f64) -> f64 {
    floor(value + 0.5)
}

/// `f64::floor` without std (the npm package is `no_std`): exact for every finite value.
fn floor(value: f64) -> f64 {
    // 2^52: from there on every f64 is an integer (and NaN/∞ fail the test too).
    if value.abs() < 4_503_599_627_370_496.0 {
        #[allow(clippy::cast_possible_truncation)]
        let truncated = value as i64 as f64;
        if truncated > value {
            truncated - 1.0
        } else {
            truncated
        }
    } else {
        value
    }
}

/// `f64::powi` without std, the same square-and-multiply as compiler-rt's `__powidf2`
/// (what `powi` compiles to), so results are bit-identical.
fn powi(mut base: f64, exponent: i32) -> f64 {
    let mut rest = exponent.unsigned_abs();
    let mut result = 1.0;
    loop {
        if rest & 1 == 1 {
            result *= base;
        }
        rest /= 2;
        if rest == 0 {
            break;
        }
        base *= base;
    }
    if exponent < 0 { 1.0 / result } else { result }
}

impl Backoff {
    /// The schedule for the poll options `interval`, `backoffRate`, `maxInterval` and
    /// `jitter` (each `None` when not given).
    pub fn new(
        interval: Option<f64>,
        backoff_rate: Option<f64>,
        max_interval: Option<f64>,
        jitter: Option<f64>,
    ) -> Self {
        let base = interval.unwrap_or(DEFAULT_INTERVAL_MS);
        Backoff {
            base,
            rate: backoff_rate.unwrap_or(1.0).max(1.0),
            cap: max_interval.unwrap_or(base).max(base),
            jitter: jitter.unwrap_or(0.0).clamp(0.0, 1.0),
            attempt: 0,
        }
    }

    /// The next delay in milliseconds; `random` is the uniform draw in `[0, 1)` (used
    /// only with jitter).
    pub fn next_delay(&mut self, random: f64) -> f64 {
        let mut delay = self
            .cap
            .min(js_round(self.base * powi(self.rate, self.attempt)));
        if self.jitter > 0.0 {
            let spread = 1.0 - self.jitter + 2.0 * self.jitter * random;
            delay = js_round(delay * spread).max(0.0);
        }
        self.attempt = self.attempt.saturating_add(1);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delays(mut backoff: Backoff, random: f64, count: usize) -> Vec<f64> {
        (0..count).map(|_| backoff.next_delay(random)).collect()
    }

    #[test]
    fn default_is_a_fixed_two_seconds() {
        let backoff = Backoff::new(None, None, None, None);
        assert_eq!(delays(backoff, 0.9, 3), [2000.0, 2000.0, 2000.0]);
    }

    #[test]
    fn backoff_grows_to_the_cap_like_v04() {
        // v0.4: interval 20, backoffRate 2, maxInterval 100 → 20, 40, 80, 100, 100.
        let backoff = Backoff::new(Some(20.0), Some(2.0), Some(100.0), None);
        assert_eq!(delays(backoff, 0.0, 5), [20.0, 40.0, 80.0, 100.0, 100.0]);
    }

    #[test]
    fn rates_below_one_and_caps_below_the_base_are_raised() {
        let backoff = Backoff::new(Some(50.0), Some(0.5), Some(10.0), None);
        assert_eq!(delays(backoff, 0.0, 3), [50.0, 50.0, 50.0]);
    }

    #[test]
    fn jitter_spreads_around_the_delay_after_the_cap() {
        // j = 0.5: factor 1 − 0.5 + u → [0.5, 1.5).
        let low = Backoff::new(Some(100.0), None, None, Some(0.5));
        assert_eq!(delays(low, 0.0, 2), [50.0, 50.0]);
        let high = Backoff::new(Some(100.0), Some(2.0), Some(150.0), Some(0.5));
        // 100·1.499 = 149.9 → 150; then the cap 150·1.499 = 224.85 → 225 (above the cap).
        assert_eq!(delays(high, 0.999, 2), [150.0, 225.0]);
        // Jitter is clamped to 1: factor 2u.
        let wide = Backoff::new(Some(10.0), None, None, Some(7.0));
        assert_eq!(delays(wide, 0.25, 1), [5.0]);
    }

    #[test]
    fn floor_and_powi_match_std() {
        for value in [
            0.0,
            0.5,
            -0.5,
            1.0,
            -1.0,
            2.5,
            -2.5,
            1e15 + 0.5,
            -1e15 - 0.5,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(floor(value), value.floor(), "{value}");
        }
        assert!(floor(f64::NAN).is_nan());
        for rate in [1.0_f64, 1.1, 1.5, 2.0, 3.7] {
            for exponent in -3..60 {
                let want = std::hint::black_box(rate).powi(std::hint::black_box(exponent));
                assert_eq!(
                    powi(rate, exponent).to_bits(),
                    want.to_bits(),
                    "{rate}^{exponent}"
                );
            }
        }
    }

    #[test]
    fn rounding_is_javascripts() {
        assert_eq!(js_round(2.5), 3.0);
        assert_eq!(js_round(-2.5), -2.0);
        let backoff = Backoff::new(Some(1.0), Some(1.5), Some(10.0), None);
        // 1, 1.5 → 2, 2.25 → 2, 3.375 → 3
        assert_eq!(delays(backoff, 0.0, 4), [1.0, 2.0, 2.0, 3.0]);
    }
}
