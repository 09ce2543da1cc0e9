//! The stream's consumers: one [`poller::Poller`] per consumer and shard, delivering batches to
//! a [`BatchHandler`] (the handler cores) with the event-source-mapping semantics of the stack
//! definition.

pub mod failure_record;
pub mod poller;
pub mod settings;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use telemetry::events::{KinesisEvent, KinesisEventResponse};

pub use settings::ConsumerSettings;

/// What a consumer runs on each batch: the function behind the mapping.
pub trait BatchHandler: Send + Sync + 'static {
    /// Handles one batch; item failures name where to retry from.
    fn handle(&self, event: KinesisEvent) -> impl Future<Output = KinesisEventResponse> + Send;
}

/// What a consumer has done since the process started, for the console and tests.
#[derive(Debug)]
pub struct ConsumerStats {
    pub name: String,
    /// Records the consumer finished (checkpointed past), dead letters excluded.
    pub delivered: AtomicU64,
    /// Records sent to the dead-letter table.
    pub dead_lettered: AtomicU64,
    /// Invocations of the handler, retries included.
    pub invocations: AtomicU64,
    /// Invocations running now, and the most that ever ran at once (parallelization).
    pub in_flight: AtomicU64,
    pub most_in_flight: AtomicU64,
    /// Each shard's checkpoint (newest position finished).
    pub checkpoints: Vec<AtomicU64>,
}

impl ConsumerStats {
    /// Stats of a consumer of `shard_count` shards.
    pub fn new(name: &str, shard_count: u32) -> Self {
        Self {
            name: name.to_owned(),
            delivered: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
            invocations: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            most_in_flight: AtomicU64::new(0),
            checkpoints: (0..shard_count).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Records behind the heads `heads` (one per shard).
    pub fn lag(&self, heads: &[u64]) -> u64 {
        heads
            .iter()
            .zip(&self.checkpoints)
            .map(|(head, checkpoint)| head.saturating_sub(checkpoint.load(Ordering::Relaxed)))
            .sum()
    }
}
