//! How a consumer reads the stream: the event-source mapping's settings, taken from the stack
//! definition by the deployer.

use std::time::Duration;

use telemetry::backoff::Backoff;

/// One consumer's mapping.
#[derive(Clone, Debug)]
pub struct ConsumerSettings {
    /// The consumer function's name; also its checkpoint's name.
    pub function_name: String,
    /// The name of its failure queue, which its dead letters stand for.
    pub failure_queue_name: String,
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
    /// Batches of one shard in flight at once (Lambda's 1 to 10); each partition key's
    /// records go to one of them, so they stay in order.
    pub parallelization_factor: u32,
    /// The pause before the first retry; see [`ConsumerSettings::retry_backoff`].
    pub retry_pause: Duration,
}

/// The longest pause between two attempts.
pub const MAX_RETRY_PAUSE: Duration = Duration::from_secs(2);

impl ConsumerSettings {
    /// The pauses between retries: `retry_pause` doubled per retry, at most
    /// [`MAX_RETRY_PAUSE`]. Whole pauses, not jittered: one poller per shard retries its own
    /// batch, so there are no concurrent callers to spread out.
    pub fn retry_backoff(&self) -> Backoff {
        Backoff::polls(self.retry_pause, MAX_RETRY_PAUSE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_pauses_double_from_the_first_up_to_the_cap() {
        let settings = ConsumerSettings {
            function_name: "f".into(),
            failure_queue_name: "f-failures".into(),
            role_arn: "arn:aws:iam::123456789012:role/f".into(),
            batch_size: 1,
            batching_window: Duration::ZERO,
            maximum_retry_attempts: 3,
            maximum_record_age: Duration::from_secs(60),
            bisect_batch_on_function_error: true,
            parallelization_factor: 1,
            retry_pause: Duration::from_millis(300),
        };
        let backoff = settings.retry_backoff();
        let pauses: Vec<u128> = (0..5)
            .map(|retry| backoff.wait(retry).as_millis())
            .collect();
        assert_eq!(pauses, [300, 600, 1200, 2000, 2000]);
    }
}
