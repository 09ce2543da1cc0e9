//! Exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS Architecture
//! Blog): each wait is uniform in `0..min(cap, base * 2^attempt)`, which spreads out the
//! writers that a throttle hit at the same moment.

use std::time::{Duration, Instant};

/// Backoff settings.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(25),
            cap: Duration::from_secs(2),
        }
    }
}

impl Backoff {
    /// The wait before retry number `attempt` (from 0), or `None` if waiting would pass the
    /// deadline: better to report the failure while there is time to answer.
    pub fn delay(&self, attempt: u32, deadline: Instant) -> Option<Duration> {
        let ceiling = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.min(20)))
            .min(self.cap);
        let delay = ceiling.mul_f64(fastrand::f64());
        let remaining = deadline.checked_duration_since(Instant::now())?;
        (delay < remaining).then_some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_stop_at_the_deadline() {
        let backoff = Backoff::default();
        let far = Instant::now() + Duration::from_secs(3600);
        for attempt in 0..40 {
            let delay = backoff.delay(attempt, far);
            assert!(delay.is_some_and(|d| d <= backoff.cap));
        }
        assert_eq!(backoff.delay(0, Instant::now()), None);
    }
}
