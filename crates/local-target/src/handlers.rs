//! The two consumers' functions on the local ports: the same handler cores the Lambda binaries
//! run, with counters for the console.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use telemetry::events::{KinesisEvent, KinesisEventResponse};
use telemetry::handlers::{archive_batch, write_batch};
use telemetry::metrics::SensorMetrics;
use telemetry::ports::{Archive, Metrics, ReadingStore};
use telemetry::timestamp::Timestamp;

use crate::consumers::BatchHandler;

/// How long one writer invocation may retry transient store failures: the writer function's
/// timeout on AWS leaves it about this much.
const WRITER_WORK_TIME: Duration = Duration::from_secs(20);

/// Readings the writer finished, since the process started.
#[derive(Debug, Default)]
pub struct WriterCounts {
    pub accepted: AtomicU64,
    pub rejected: AtomicU64,
}

/// Lambda 1: archives each batch.
#[derive(Debug)]
pub struct ArchiverFunction<A> {
    pub archive: A,
}

impl<A: Archive + 'static> BatchHandler for ArchiverFunction<A> {
    async fn handle(&self, event: KinesisEvent) -> KinesisEventResponse {
        archive_batch(&self.archive, &event).await
    }
}

/// Lambda 2: writes readings and metrics.
#[derive(Debug)]
pub struct WriterFunction<S, M> {
    pub store: S,
    pub metrics: M,
    /// Per sensor or stack-wide, as the stack's writer is set.
    pub sensor_metrics: SensorMetrics,
    pub counts: Arc<WriterCounts>,
}

impl<S: ReadingStore + 'static, M: Metrics + 'static> BatchHandler for WriterFunction<S, M> {
    async fn handle(&self, event: KinesisEvent) -> KinesisEventResponse {
        let now = Timestamp::from_datetime(chrono::Utc::now()).unwrap_or_else(|_| Timestamp::min());
        let deadline = Instant::now() + WRITER_WORK_TIME;
        let (response, report) = write_batch(
            &self.store,
            &self.metrics,
            self.sensor_metrics,
            &event,
            now,
            deadline,
        )
        .await;
        self.counts
            .accepted
            .fetch_add(report.accepted as u64, Ordering::Relaxed);
        self.counts
            .rejected
            .fetch_add(report.rejected_total() as u64, Ordering::Relaxed);
        response
    }
}
