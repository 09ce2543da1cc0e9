//! The one backoff of the workspace: waits that double from `first` up to `cap`, for retries
//! (with full jitter) and for polls (without).
//!
//! Full jitter is from "Exponential Backoff And Jitter" (AWS Architecture Blog): each wait is
//! uniform in `0..min(cap, first * 2^attempt)`, which spreads out the writers that a throttle
//! hit at the same moment. A poll of one's own resource has nobody to spread out from, so it
//! waits the whole ceiling.

use std::time::{Duration, Instant};

/// Whether a wait is the whole ceiling or a uniform draw below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jitter {
    /// Uniform in `0..ceiling`: retries of calls that many callers make at once.
    Full,
    /// Exactly the ceiling: polls of a state that only changes with time.
    None,
}

/// Backoff settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first wait (attempt 0).
    pub first: Duration,
    /// No wait is longer.
    pub cap: Duration,
    pub jitter: Jitter,
}

impl Default for Backoff {
    /// Retries of a throttled or failed AWS call inside a Lambda invocation.
    fn default() -> Self {
        Self::retries(Duration::from_millis(25), Duration::from_secs(2))
    }
}

impl Backoff {
    /// Jittered waits, for retries.
    pub const fn retries(first: Duration, cap: Duration) -> Self {
        Self {
            first,
            cap,
            jitter: Jitter::Full,
        }
    }

    /// Whole waits, for polls.
    pub const fn polls(first: Duration, cap: Duration) -> Self {
        Self {
            first,
            cap,
            jitter: Jitter::None,
        }
    }

    /// The longest wait before attempt `attempt` (from 0): `first * 2^attempt`, at most `cap`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        self.first
            .saturating_mul(2u32.saturating_pow(attempt.min(20)))
            .min(self.cap)
    }

    /// The wait before attempt `attempt` (from 0).
    pub fn wait(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        match self.jitter {
            Jitter::Full => ceiling.mul_f64(fastrand::f64()),
            Jitter::None => ceiling,
        }
    }

    /// The wait before attempt `attempt`, or `None` if waiting would pass `deadline`: better to
    /// report the failure while there is time to answer.
    pub fn wait_before(&self, attempt: u32, deadline: Instant) -> Option<Duration> {
        let wait = self.wait(attempt);
        let remaining = deadline.checked_duration_since(Instant::now())?;
        (wait < remaining).then_some(wait)
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
            let delay = backoff.wait_before(attempt, far);
            assert!(delay.is_some_and(|d| d <= backoff.cap));
        }
        assert_eq!(backoff.wait_before(0, Instant::now()), None);
    }

    #[test]
    fn polls_wait_the_whole_doubling_ceiling() {
        let polls = Backoff::polls(Duration::from_millis(100), Duration::from_secs(1));
        let waits: Vec<_> = (0..6)
            .map(|attempt| polls.wait(attempt).as_millis())
            .collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn retries_draw_below_the_ceiling_and_spread() {
        let retries = Backoff::retries(Duration::from_millis(100), Duration::from_secs(1));
        let waits: Vec<_> = (0..200).map(|_| retries.wait(3)).collect();
        assert!(waits.iter().all(|w| *w < Duration::from_millis(800)));
        let distinct: std::collections::HashSet<_> = waits.iter().collect();
        assert!(distinct.len() > 100, "{} distinct waits", distinct.len());
    }
}
