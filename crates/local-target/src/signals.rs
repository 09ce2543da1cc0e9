//! What AWS would publish for the local stack's resources, under AWS's names: Lambda's
//! invocation metrics, Kinesis' incoming records and SQS's queue depth ("Types of metrics for
//! Lambda functions", Lambda Developer Guide; "Monitoring the Amazon Kinesis Data Streams
//! service with Amazon CloudWatch"; "Available CloudWatch metrics for Amazon SQS"). The alarms
//! of the stack then watch the same metrics here as on AWS.
//!
//! Signals are added up in memory as they happen and written to the metrics store by
//! [`Signals::flush_blocking`], so that no put or invocation waits for a metrics write.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use telemetry::metrics::Statistics;

use crate::storage::StorageError;
use crate::storage::metrics::{MetricId, Point, SqliteMetrics, minute_of};
use crate::storage::stream::now_ms;

/// Lambda's namespace.
pub const LAMBDA: &str = "AWS/Lambda";
/// Kinesis Data Streams' namespace.
pub const KINESIS: &str = "AWS/Kinesis";
/// SQS's namespace.
pub const SQS: &str = "AWS/SQS";

/// Every (namespace, metric) the local target publishes for the resources, beside the
/// writer's own datums.
pub const PUBLISHED: [(&str, &str); 8] = [
    (LAMBDA, "Invocations"),
    (LAMBDA, "Errors"),
    (LAMBDA, "Duration"),
    (LAMBDA, "IteratorAge"),
    (KINESIS, "IncomingRecords"),
    (KINESIS, "IncomingBytes"),
    (KINESIS, "WriteProvisionedThroughputExceeded"),
    (SQS, "ApproximateNumberOfMessagesVisible"),
];

/// Per metric and minute: the unit and the statistics so far.
type Pending = HashMap<(MetricId, i64), (&'static str, Statistics)>;

/// The signals not yet in the store.
#[derive(Debug)]
pub struct Signals {
    store: SqliteMetrics,
    pending: Mutex<Pending>,
}

impl Signals {
    /// Signals written to `store`.
    pub fn new(store: SqliteMetrics) -> Self {
        Self {
            store,
            pending: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record(&self, metric: MetricId, unit: &'static str, value: f64) {
        let minute = minute_of(now_ms());
        merge(
            &mut self.lock(),
            (metric, minute),
            unit,
            &Statistics::of(value),
        );
    }

    /// One invocation of `function`: Lambda publishes `Invocations`, `Errors` (0 or 1 each,
    /// so that their sum counts them) and `Duration`.
    pub fn invocation(&self, function: &str, duration: Duration, failed: bool) {
        let metric = |name| MetricId::new(LAMBDA, name, [("FunctionName", function)]);
        self.record(metric("Invocations"), "Count", 1.0);
        self.record(metric("Errors"), "Count", if failed { 1.0 } else { 0.0 });
        self.record(
            metric("Duration"),
            "Milliseconds",
            duration.as_secs_f64() * 1000.0,
        );
    }

    /// A stream consumer's batch sent to `function`: its `IteratorAge` is the age of the
    /// batch's last record, from its arrival on the stream to the batch's delivery.
    pub fn iterator_age(&self, function: &str, last_arrival_ms: i64) {
        let age = (now_ms() - last_arrival_ms).max(0) as f64;
        let metric = MetricId::new(LAMBDA, "IteratorAge", [("FunctionName", function)]);
        self.record(metric, "Milliseconds", age);
    }

    /// Records put on `stream`: `IncomingRecords` and `IncomingBytes`.
    pub fn records_put(&self, stream: &str, records: usize, bytes: usize) {
        let metric = |name| MetricId::new(KINESIS, name, [("StreamName", stream)]);
        self.record(metric("IncomingRecords"), "Count", records as f64);
        self.record(metric("IncomingBytes"), "Bytes", bytes as f64);
    }

    /// Records `stream`'s shards refused for throughput: `WriteProvisionedThroughputExceeded`,
    /// "the number of records rejected due to throttling" (Kinesis Developer Guide,
    /// "Monitoring the Amazon Kinesis Data Streams service with Amazon CloudWatch").
    pub fn records_throttled(&self, stream: &str, records: usize) {
        let metric = MetricId::new(
            KINESIS,
            "WriteProvisionedThroughputExceeded",
            [("StreamName", stream)],
        );
        self.record(metric, "Count", records as f64);
    }

    /// The messages visible in `queue` now, as SQS samples it.
    pub fn queue_depth(&self, queue: &str, visible: u64) {
        let metric = MetricId::new(
            SQS,
            "ApproximateNumberOfMessagesVisible",
            [("QueueName", queue)],
        );
        self.record(metric, "Count", visible as f64);
    }

    /// Writes what was recorded to the store. Blocking. On a failure the signals are kept for
    /// the next flush.
    pub fn flush_blocking(&self) -> Result<(), StorageError> {
        let taken = std::mem::take(&mut *self.lock());
        if taken.is_empty() {
            return Ok(());
        }
        let points: Vec<Point> = taken
            .iter()
            .map(|((metric, minute_ms), (unit, statistics))| Point {
                metric: metric.clone(),
                minute_ms: *minute_ms,
                unit,
                statistics: *statistics,
            })
            .collect();
        self.store.add_blocking(&points).inspect_err(|_| {
            let mut pending = self.lock();
            for (key, (unit, stats)) in taken {
                merge(&mut pending, key, unit, &stats);
            }
        })
    }
}

/// Adds `stats` to the pending set of `key`.
fn merge(pending: &mut Pending, key: (MetricId, i64), unit: &'static str, stats: &Statistics) {
    pending
        .entry(key)
        .and_modify(|(_, kept)| kept.merge(stats))
        .or_insert((unit, *stats));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn signals_reach_the_store_only_when_flushed_under_aws_names() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteMetrics::open(&dir.path().join("metrics.db"), "Sensors").unwrap();
        let signals = Signals::new(store.clone());
        signals.invocation("demo-writer", Duration::from_millis(12), false);
        signals.invocation("demo-writer", Duration::from_millis(30), true);
        signals.records_put("demo-stream", 5, 500);
        let errors = MetricId::new(LAMBDA, "Errors", [("FunctionName", "demo-writer")]);
        let series = |metric: &MetricId| store.points_blocking(metric, i64::MIN, i64::MAX).unwrap();
        assert!(series(&errors).is_empty());
        signals.flush_blocking().unwrap();
        let points = series(&errors);
        assert_eq!(points.len(), 1);
        let stats = points[0].statistics;
        assert_eq!((stats.count, stats.sum), (2.0, 1.0));
        let duration = MetricId::new(LAMBDA, "Duration", [("FunctionName", "demo-writer")]);
        assert_eq!(series(&duration)[0].statistics.max, 30.0);
        let incoming = MetricId::new(KINESIS, "IncomingRecords", [("StreamName", "demo-stream")]);
        assert_eq!(series(&incoming)[0].statistics.sum, 5.0);
        // A second flush adds nothing twice.
        signals.flush_blocking().unwrap();
        assert_eq!(series(&errors)[0].statistics.count, 2.0);
    }
}
