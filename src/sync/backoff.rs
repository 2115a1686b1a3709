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
        random_up_to(self.ceiling(attempts))
    }

    /// A pause of at least half the ceiling: used where waiting is the point (the API
    /// allocation is spent), so a pause never collapses to nothing, while replicas that hit
    /// the limit together still probe at different moments.
    pub fn pause(&self, attempts: u32) -> Duration {
        let half = self.ceiling(attempts) / 2;
        half + random_up_to(half)
    }
}

fn random_up_to(ceiling: Duration) -> Duration {
    let millis = ceiling.as_millis().min(u64::MAX as u128) as u64;
    Duration::from_millis(rand::rng().random_range(0..=millis))
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

    #[test]
    fn pauses_take_at_least_half_the_ceiling() {
        let backoff = Backoff::default();

        for attempts in 0..20 {
            let pause = backoff.pause(attempts);
            assert!(pause >= backoff.ceiling(attempts) / 2);
            assert!(pause <= backoff.ceiling(attempts));
        }
    }
}
