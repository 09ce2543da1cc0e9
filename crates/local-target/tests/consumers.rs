//! The pollers' event-source-mapping semantics, on the real stream, table and metrics files,
//! with the real writer core: retries, bisect, dead letters, checkpoints.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use telemetry::timestamp::Timestamp;

use local_target::consumers::poller::Poller;
use local_target::consumers::{BatchHandler, ConsumerSettings, ConsumerStats};
use local_target::device_api::NewRecord;
use local_target::handlers::{WriterCounts, WriterFunction};
use local_target::signals::Signals;
use local_target::storage::metrics::SqliteMetrics;
use local_target::storage::stream::{DurableStream, StreamShape};
use local_target::storage::table::SqliteTable;
use telemetry::ports::{PartialWrite, PortError, ReadingStore};
use telemetry::query::StoreQuery;
use telemetry::reading::Reading;
use tokio::sync::watch;

const CONSUMER: &str = "test-IoTDDBEventProcessor";

fn settings(batch_size: usize) -> ConsumerSettings {
    ConsumerSettings {
        function_name: CONSUMER.to_owned(),
        failure_queue_name: "test-writer-failures".to_owned(),
        role_arn: "arn:aws:iam::000000000000:role/test-role".to_owned(),
        batch_size,
        batching_window: Duration::from_millis(50),
        maximum_retry_attempts: 3,
        maximum_record_age: Duration::from_secs(3600),
        bisect_batch_on_function_error: true,
        parallelization_factor: 1,
        retry_pause: Duration::from_millis(2),
    }
}

/// The table, failing every write that holds a `broken-` reading, and the first two writes
/// that hold each `shaky-` reading: a permanent and a transient fault of the table port.
#[derive(Clone)]
struct FaultyTable {
    table: SqliteTable,
    attempts: Arc<Mutex<HashMap<String, u32>>>,
}

impl ReadingStore for FaultyTable {
    async fn put_readings(
        &self,
        readings: &[Reading],
        deadline: Instant,
    ) -> Result<(), PartialWrite> {
        let mut fail = false;
        {
            let mut attempts = self.attempts.lock().unwrap();
            for reading in readings {
                if reading.sensor_id.starts_with("broken-") {
                    fail = true;
                }
                if reading.sensor_id.starts_with("shaky-") {
                    let tries = attempts.entry(reading.sensor_id.clone()).or_default();
                    *tries += 1;
                    fail |= *tries <= 2;
                }
            }
        }
        if fail {
            return Err(PartialWrite {
                unwritten: (0..readings.len()).collect(),
                cause: PortError::new("test table", std::io::Error::other("injected fault")),
            });
        }
        self.table.put_readings(readings, deadline).await
    }

    async fn newest_readings(&self, query: &StoreQuery) -> Result<Vec<Reading>, PortError> {
        self.table.newest_readings(query).await
    }
}

fn reading(sensor: &str, n: usize) -> NewRecord {
    let payload = serde_json::json!({
        "sensorid": sensor,
        "value": n,
        "timestamp": Timestamp::parse("2026-11-27T10:00:00.000Z").unwrap().offset_millis(n as i64).unwrap().to_string(),
    });
    NewRecord {
        partition_key: sensor.to_owned(),
        data: serde_json::to_vec(&payload).unwrap(),
        explicit_hash_key: None,
    }
}

struct Rig {
    stream: DurableStream,
    table: SqliteTable,
    metrics: SqliteMetrics,
    signals: Arc<Signals>,
}

fn rig(dir: &Path, shards: u32) -> Rig {
    let metrics = SqliteMetrics::open(&dir.join("metrics.db"), "Sensors").unwrap();
    Rig {
        stream: DurableStream::open(
            &dir.join("stream.db"),
            StreamShape {
                shard_count: shards,
                retention_hours: 24,
            },
        )
        .unwrap(),
        table: SqliteTable::open(&dir.join("table.db")).unwrap(),
        metrics: metrics.clone(),
        signals: Arc::new(Signals::new(metrics)),
    }
}

/// The writer core over `store`.
fn writer<S: ReadingStore + 'static>(rig: &Rig, store: S) -> Arc<impl BatchHandler> {
    Arc::new(WriterFunction {
        store,
        metrics: rig.metrics.clone(),
        sensor_metrics: telemetry::metrics::SensorMetrics::PerSensor,
        counts: Arc::new(WriterCounts::default()),
    })
}

/// Runs one poller per shard delivering to `handler` until the consumers caught up with the
/// stream's heads, then stops them.
async fn consume<H: BatchHandler>(
    rig: &Rig,
    handler: Arc<H>,
    settings: ConsumerSettings,
) -> Arc<ConsumerStats> {
    let shards = rig.stream.shape().shard_count;
    let stats = Arc::new(ConsumerStats::new(CONSUMER, shards));
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    for shard in 0..shards {
        let poller = Poller {
            settings: settings.clone(),
            shard,
            stream: rig.stream.clone(),
            stream_arn: "arn:aws:kinesis:us-east-1:000000000000:stream/test".to_owned(),
            region: "us-east-1".to_owned(),
            handler: handler.clone(),
            stats: stats.clone(),
            signals: rig.signals.clone(),
        };
        tasks.push(tokio::spawn(poller.run(stopped.clone())));
    }
    let heads: Vec<u64> = (0..shards).map(|s| *rig.stream.head(s).borrow()).collect();
    let until = Instant::now() + Duration::from_secs(60);
    while stats.lag(&heads) > 0 {
        assert!(
            Instant::now() < until,
            "consumers stalled: lag {}",
            stats.lag(&heads)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send_replace(true);
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    stats
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_retried_bisected_and_dead_lettered_and_nothing_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let rig = rig(dir.path(), 2);
    let mut records = Vec::new();
    for n in 0..1_900 {
        records.push(reading(&format!("s-{}", n % 19), n));
    }
    for n in 0..50 {
        records.push(reading(&format!("shaky-{n}"), n));
        records.push(reading(&format!("broken-{n}"), n));
    }
    fastrand::seed(7);
    fastrand::shuffle(&mut records);
    for chunk in records.chunks(500) {
        rig.stream.append(chunk).unwrap();
    }

    let store = FaultyTable {
        table: rig.table.clone(),
        attempts: Arc::default(),
    };
    let stats = consume(&rig, writer(&rig, store), settings(100)).await;

    let stored = rig.table.count_blocking().unwrap();
    let dead = rig.stream.reader().unwrap().dead_letters(CONSUMER).unwrap();
    assert_eq!(
        stored, 1_950,
        "every good and every transiently failing reading is stored"
    );
    assert_eq!(
        dead.len(),
        50,
        "exactly the broken readings are dead-lettered"
    );
    assert_eq!(
        stored + dead.len() as u64,
        records.len() as u64,
        "in = stored + dead-lettered"
    );
    assert!(
        dead[0].reason.contains("after 3 retries"),
        "{}",
        dead[0].reason
    );
    assert_eq!(stats.dead_lettered.load(Ordering::Relaxed), 50);
    assert!(
        stats.invocations.load(Ordering::Relaxed) > 20,
        "failing batches were retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_from_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let rig = rig(dir.path(), 1);
    let first: Vec<_> = (0..300).map(|n| reading("a", n)).collect();
    rig.stream.append(&first).unwrap();
    let stats = consume(&rig, writer(&rig, rig.table.clone()), settings(100)).await;
    assert_eq!(stats.invocations.load(Ordering::Relaxed), 3);
    assert_eq!(
        rig.stream
            .reader()
            .unwrap()
            .checkpoint(CONSUMER, 0)
            .unwrap(),
        300
    );

    // Reopened, as after a restart: only the new records are delivered.
    let rig = Rig {
        stream: DurableStream::open(
            &dir.path().join("stream.db"),
            StreamShape {
                shard_count: 1,
                retention_hours: 24,
            },
        )
        .unwrap(),
        ..rig
    };
    let second: Vec<_> = (300..350).map(|n| reading("a", n)).collect();
    rig.stream.append(&second).unwrap();
    let stats = consume(&rig, writer(&rig, rig.table.clone()), settings(100)).await;
    assert_eq!(stats.delivered.load(Ordering::Relaxed), 50);
    assert_eq!(stats.invocations.load(Ordering::Relaxed), 1);
    assert_eq!(rig.table.count_blocking().unwrap(), 350);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_older_than_the_maximum_age_are_dead_lettered_not_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let rig = rig(dir.path(), 1);
    rig.stream
        .append(&(0..10).map(|n| reading("old", n)).collect::<Vec<_>>())
        .unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    let settings = ConsumerSettings {
        maximum_record_age: Duration::from_millis(50),
        ..settings(100)
    };
    let stats = consume(&rig, writer(&rig, rig.table.clone()), settings).await;
    assert_eq!(rig.table.count_blocking().unwrap(), 0);
    assert_eq!(stats.dead_lettered.load(Ordering::Relaxed), 10);
    let dead = rig.stream.reader().unwrap().dead_letters(CONSUMER).unwrap();
    assert!(dead.iter().all(|d| d.reason.contains("maximum record age")));
}

/// Each partition key's values, in the order the handler saw them; each batch takes a moment,
/// so that batches in flight at once overlap.
#[derive(Default)]
struct OrderRecorder {
    seen: Mutex<HashMap<String, Vec<u64>>>,
}

impl local_target::consumers::BatchHandler for OrderRecorder {
    async fn handle(
        &self,
        event: telemetry::events::KinesisEvent,
    ) -> telemetry::events::KinesisEventResponse {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let mut seen = self.seen.lock().unwrap();
        for record in &event.records {
            let reading: serde_json::Value = serde_json::from_slice(&record.kinesis.data).unwrap();
            let key = record.kinesis.partition_key.clone();
            seen.entry(key)
                .or_default()
                .push(reading["value"].as_u64().unwrap());
        }
        telemetry::events::KinesisEventResponse::default()
    }
}

/// Parallelization factor 4, as Lambda runs it: one shard's 10,000 readings over 100 keys,
/// more than one batch in flight at once, and every key's readings in the order put.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parallelized_shard_has_batches_in_flight_at_once_and_keeps_each_key_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let rig = rig(dir.path(), 1);
    let records: Vec<NewRecord> = (0..10_000)
        .map(|n| reading(&format!("s-{}", n % 100), n))
        .collect();
    for chunk in records.chunks(500) {
        rig.stream.append(chunk).unwrap();
    }
    let settings = ConsumerSettings {
        parallelization_factor: 4,
        ..settings(100)
    };
    let handler = Arc::new(OrderRecorder::default());
    let stats = consume(&rig, handler.clone(), settings).await;
    let head = *rig.stream.head(0).borrow();

    let most = stats.most_in_flight.load(Ordering::Relaxed);
    assert!(most > 1, "at most {most} batch in flight");
    assert!(most <= 4, "{most} batches in flight, more than the factor");
    let seen = handler.seen.lock().unwrap();
    assert_eq!(seen.len(), 100);
    for (key, values) in seen.iter() {
        let n: u64 = key.trim_start_matches("s-").parse().unwrap();
        let expected: Vec<u64> = (0..100).map(|i| n + 100 * i).collect();
        assert_eq!(values, &expected, "{key} out of order or incomplete");
    }
    assert_eq!(
        rig.stream
            .reader()
            .unwrap()
            .checkpoint(CONSUMER, 0)
            .unwrap(),
        head,
        "the checkpoint is past every record"
    );
}
