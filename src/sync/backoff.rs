//! When a transiently failed row is sent again.

use std::time::Duration;

use rand::RngExt;

/// Capped exponential backoff with full jitter: after `attempts` failures the delay is drawn
/// uniformly from zero to `min(cap, base * 2^attempts)`. Full jitter spreads the retries of a
/// batch that failed together, so they do not all come back at the same moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(15 * 60),
        }
    }
}

impl Backoff {
    /// The upper bound of the delay after `attempts` failures.
    pub fn ceiling(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.min(30));
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A random delay within the ceiling.
    pub fn delay(&self, attempts: u32) -> Duration {
        let ceiling = self.ceiling(attempts);
        let millis = ceiling.as_millis().min(u64::MAX as u128) as u64;
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_until_the_cap() {
        let backoff = Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
        };

        assert_eq!(backoff.ceiling(0), Duration::from_secs(1));
        assert_eq!(backoff.ceiling(3), Duration::from_secs(8));
        assert_eq!(backoff.ceiling(40), Duration::from_secs(60));
    }

    #[test]
    fn delays_stay_within_the_ceiling() {
        let backoff = Backoff::default();

        for attempts in 0..20 {
            assert!(backoff.delay(attempts) <= backoff.ceiling(attempts));
        }
    }
}
