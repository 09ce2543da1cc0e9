//! How a consumer reads the stream: the event-source mapping's settings, taken from the stack
//! definition by the deployer.

use std::time::Duration;

/// One consumer's mapping.
#[derive(Clone, Debug)]
pub struct ConsumerSettings {
    /// The consumer function's name; also its checkpoint's name.
    pub function_name: String,
    /// The function's role, delivered as each record's `invokeIdentityArn`.
    pub role_arn: String,
    /// Records per invocation at most.
    pub batch_size: usize,
    /// How long to gather records before invoking with fewer than `batch_size`.
    pub batching_window: Duration,
    /// Retries of a failing single record (or unsplittable batch) before dead-lettering it.
    pub maximum_retry_attempts: u32,
    /// Records older than this are dead-lettered instead of delivered.
    pub maximum_record_age: Duration,
    /// Split a failing batch in two and retry the halves separately.
    pub bisect_batch_on_function_error: bool,
    /// First pause before a retry; doubled per attempt, at most [`MAX_RETRY_PAUSE`].
    pub retry_pause: Duration,
}

/// The longest pause between two attempts.
pub const MAX_RETRY_PAUSE: Duration = Duration::from_secs(2);

impl ConsumerSettings {
    /// The pause before attempt `attempt` (1 for the first retry).
    pub fn pause_before(&self, attempt: u32) -> Duration {
        self.retry_pause
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(MAX_RETRY_PAUSE)
    }
}
