//! The retry delay: exponential backoff with full jitter, computed without I/O or a clock.

use std::time::Duration;

/// How long to wait before each reconnection attempt, and when to give up.
///
/// Retry `n` (counting from 0 in each outage) waits `random(0, min(max, initial * factor^n))`
/// with [`Jitter::Full`] ("full jitter": clients that lost the same server spread out instead
/// of reconnecting in waves), or exactly `min(max, initial * factor^n)` with [`Jitter::None`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Backoff {
    /// The cap of the first retry's delay. Default 250 ms.
    pub initial: Duration,
    /// How much the cap grows per retry; values below 1 (or not finite) count as 1. Default 2.
    pub factor: f64,
    /// The largest cap. Default 30 s.
    pub max: Duration,
    /// Connection attempts per outage before giving up; `None` retries forever (the default).
    pub max_attempts: Option<u32>,
    /// Whether delays are randomised. Default [`Jitter::Full`].
    pub jitter: Jitter,
}

/// Randomisation of the backoff delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Jitter {
    /// A uniformly random delay between zero and the cap.
    Full,
    /// The cap itself: deterministic delays (for tests, or a single client).
    None,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(250),
            factor: 2.0,
            max: Duration::from_secs(30),
            max_attempts: None,
            jitter: Jitter::Full,
        }
    }
}

impl Backoff {
    /// Sets the first retry's cap.
    pub fn initial(mut self, initial: Duration) -> Self {
        self.initial = initial;
        self
    }

    /// Sets the growth factor.
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// Sets the largest cap.
    pub fn max(mut self, max: Duration) -> Self {
        self.max = max;
        self
    }

    /// Sets the attempts per outage before giving up (`None`: forever).
    pub fn max_attempts(mut self, max_attempts: Option<u32>) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Sets the jitter.
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The cap of retry `n`: `min(max, initial * factor^n)`, saturating instead of overflowing.
    pub fn cap(&self, n: u32) -> Duration {
        let factor = if self.factor.is_finite() && self.factor >= 1.0 {
            self.factor
        } else {
            1.0
        };
        let exponent = i32::try_from(n).unwrap_or(i32::MAX);
        let secs = self.initial.as_secs_f64() * factor.powi(exponent);
        let max = self.max.as_secs_f64();
        // `secs` may be infinite after many retries; the comparison keeps it out of `Duration`.
        if secs.is_finite() && secs < max {
            Duration::from_secs_f64(secs)
        } else {
            self.max
        }
    }

    /// The delay before retry `n`, drawn from `rng` for [`Jitter::Full`].
    pub fn delay(&self, n: u32, rng: &mut JitterRng) -> Duration {
        let cap = self.cap(n);
        match self.jitter {
            Jitter::None => cap,
            Jitter::Full => {
                let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
                Duration::from_nanos(rng.below_inclusive(nanos))
            }
        }
    }

    /// Whether `attempts` connection attempts in one outage exhaust the budget.
    pub fn exhausted(&self, attempts: u32) -> bool {
        self.max_attempts.is_some_and(|max| attempts >= max)
    }
}

/// The random source of the jitter: SplitMix64, seeded from the OS or, for reproducible tests,
/// by the caller. Not for cryptography; it only spreads reconnections out.
#[derive(Clone, Debug)]
pub struct JitterRng(u64);

impl JitterRng {
    /// A generator with a fixed seed: the same seed gives the same delays.
    pub fn seeded(seed: u64) -> Self {
        JitterRng(seed)
    }

    /// A generator seeded from the OS's random source.
    pub fn from_entropy() -> Self {
        JitterRng(rand::random())
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform value in `0..=bound` (multiply-shift; the bias is below 2^-64 per value).
    fn below_inclusive(&mut self, bound: u64) -> u64 {
        let range = u128::from(bound) + 1;
        ((u128::from(self.next_u64()) * range) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn caps_grow_geometrically_up_to_max() {
        let b = Backoff::default().initial(ms(10)).factor(2.0).max(ms(100));
        let caps: Vec<_> = (0..6).map(|n| b.cap(n)).collect();
        assert_eq!(caps, [ms(10), ms(20), ms(40), ms(80), ms(100), ms(100)]);
        // Huge retry counts saturate at the max instead of overflowing.
        assert_eq!(b.cap(u32::MAX), ms(100));
    }

    #[test]
    fn bad_factors_count_as_one() {
        for factor in [0.5, -3.0, f64::NAN, f64::INFINITY] {
            let b = Backoff::default()
                .initial(ms(10))
                .factor(factor)
                .max(ms(100));
            assert_eq!(b.cap(5), ms(10), "factor {factor}");
        }
    }

    #[test]
    fn full_jitter_stays_within_cap_and_spreads() {
        let b = Backoff::default().initial(ms(10)).max(ms(1000));
        let mut rng = JitterRng::seeded(7);
        for n in 0..8 {
            let cap = b.cap(n);
            let delays: Vec<_> = (0..200).map(|_| b.delay(n, &mut rng)).collect();
            assert!(delays.iter().all(|d| *d <= cap), "retry {n} over cap");
            let mean = delays.iter().sum::<Duration>() / 200;
            // Uniform on [0, cap]: the mean of 200 draws is near cap/2.
            assert!(
                mean > cap * 2 / 5 && mean < cap * 3 / 5,
                "retry {n}: mean {mean:?}"
            );
        }
    }

    #[test]
    fn same_seed_same_delays() {
        let b = Backoff::default();
        let (mut a, mut c) = (JitterRng::seeded(42), JitterRng::seeded(42));
        for n in 0..10 {
            assert_eq!(b.delay(n, &mut a), b.delay(n, &mut c));
        }
    }

    #[test]
    fn no_jitter_is_the_cap() {
        let b = Backoff::default().jitter(Jitter::None).initial(ms(5));
        let mut rng = JitterRng::seeded(1);
        assert_eq!(b.delay(3, &mut rng), ms(40));
    }

    #[test]
    fn attempts_budget() {
        let b = Backoff::default();
        assert!(!b.exhausted(u32::MAX));
        let b = b.max_attempts(Some(3));
        assert!(!b.exhausted(2));
        assert!(b.exhausted(3));
    }
}
