//! The whole local pipeline through its front door: the official aws-sdk-kinesis and
//! aws-sdk-lambda clients, signed with the generated key, against the running target; then
//! what the consumers made of it, read back through Invoke and from the archive folder.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;
use telemetry::timestamp::Timestamp;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use aws_sdk_lambda::primitives::Blob as LambdaBlob;
use local_target::consumers::ConsumerSettings;
use local_target::shard_limits::ShardLimits;
use local_target::storage::stream::StreamShape;
use local_target::{LocalSettings, RunningTarget};
use serde_json::{Value, json};
use telemetry::archive::ArchiveBody;

const STREAM: &str = "pipe-IoTEventStream";
const QUERY: &str = "pipe-IoTAPI";

fn consumer(name: &str, batch_size: usize) -> ConsumerSettings {
    ConsumerSettings {
        function_name: name.to_owned(),
        failure_queue_name: format!("{name}-failures"),
        role_arn: format!("arn:aws:iam::000000000000:role/{name}-role"),
        batch_size,
        batching_window: Duration::from_millis(200),
        maximum_retry_attempts: 3,
        maximum_record_age: Duration::from_secs(6 * 3600),
        bisect_batch_on_function_error: true,
        parallelization_factor: 1,
        retry_pause: Duration::from_millis(10),
    }
}

async fn start(dir: &Path, shards: u32) -> RunningTarget {
    // These tests put 10,000 readings at once, ten seconds of one shard's write limit.
    start_with(dir, shards, ShardLimits::Off).await
}

async fn start_with(dir: &Path, shards: u32, shard_limits: ShardLimits) -> RunningTarget {
    local_target::start(LocalSettings {
        region: "us-east-1".to_owned(),
        account_id: "000000000000".to_owned(),
        stream_name: STREAM.to_owned(),
        stream_shape: StreamShape {
            shard_count: shards,
            retention_hours: 24,
        },
        shard_limits,
        query_function_name: QUERY.to_owned(),
        table_name: "pipe-SensorData".to_owned(),
        bucket_name: "pipe-eventarchive-000000000000".to_owned(),
        archiver: consumer("pipe-IoTS3EventProcessor", 1000),
        writer: consumer("pipe-IoTDDBEventProcessor", 500),
        metrics_namespace: "Sensors".to_owned(),
        sensor_metrics: telemetry::metrics::SensorMetrics::PerSensor,
        alarms: Vec::new(),
        state_dir: dir.join("state"),
        listen: "127.0.0.1:0".parse().unwrap(),
        testpage_dir: dir.to_owned(),
    })
    .await
    .unwrap()
}

async fn sdk_config(target: &RunningTarget) -> aws_config::SdkConfig {
    let credentials = aws_sdk_kinesis::config::Credentials::new(
        target.key.access_key_id(),
        target.key.secret_access_key(),
        None,
        None,
        "local-target",
    );
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(format!("http://{}", target.address))
        .credentials_provider(credentials)
        .load()
        .await
}

/// Puts `payloads` (sensor id, JSON bytes) in calls of 500; returns the acknowledged sequence
/// numbers.
async fn put_all(kinesis: &aws_sdk_kinesis::Client, payloads: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut acknowledged = Vec::new();
    for chunk in payloads.chunks(500) {
        let entries = chunk
            .iter()
            .map(|(key, data)| {
                PutRecordsRequestEntry::builder()
                    .partition_key(key)
                    .data(Blob::new(data.clone()))
                    .build()
                    .unwrap()
            })
            .collect::<Vec<_>>();
        let output = kinesis
            .put_records()
            .stream_name(STREAM)
            .set_records(Some(entries))
            .send()
            .await
            .unwrap();
        assert_eq!(output.failed_record_count(), Some(0));
        acknowledged.extend(
            output
                .records()
                .iter()
                .map(|r| r.sequence_number().unwrap().to_owned()),
        );
    }
    acknowledged
}

async fn query(lambda: &aws_sdk_lambda::Client, request: Value) -> Value {
    let output = lambda
        .invoke()
        .function_name(QUERY)
        .payload(LambdaBlob::new(serde_json::to_vec(&request).unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(output.function_error(), None, "{request}");
    serde_json::from_slice(output.payload().unwrap().as_ref()).unwrap()
}

/// Every sequence number in the archive folder.
fn archived(root: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for day in std::fs::read_dir(root).unwrap() {
        for object in std::fs::read_dir(day.unwrap().path()).unwrap() {
            let bytes = std::fs::read(object.unwrap().path()).unwrap();
            let body: ArchiveBody<'_> = serde_json::from_slice(&bytes).unwrap();
            found.extend(body.records.iter().map(|r| r.sequence_number.to_string()));
        }
    }
    found
}

fn timestamp(n: usize) -> String {
    Timestamp::parse("2026-11-27T08:00:00.000Z")
        .unwrap()
        .offset_millis(n as i64)
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_readings_become_queryable_newest_first_and_every_batch_is_archived() {
    let dir = tempfile::tempdir().unwrap();
    let target = start(dir.path(), 2).await;
    let config = sdk_config(&target).await;
    let kinesis = aws_sdk_kinesis::Client::new(&config);
    let lambda = aws_sdk_lambda::Client::new(&config);

    let sensors = 50;
    let payloads: Vec<(String, Vec<u8>)> = (0..10_000)
        .map(|n| {
            let sensor = format!("sensor-{:02}", n % sensors);
            // Each sensor's readings are one second apart; the value encodes the reading.
            let body =
                json!({"sensorid": sensor, "value": n, "timestamp": timestamp(n / sensors * 1000)});
            (sensor, serde_json::to_vec(&body).unwrap())
        })
        .collect();
    let acknowledged = put_all(&kinesis, &payloads).await;
    assert_eq!(acknowledged.len(), 10_000);
    assert!(
        target.caught_up(Duration::from_secs(120)).await,
        "lag {:?}",
        target.lag()
    );

    assert_eq!(target.table.count_blocking().unwrap(), 10_000);
    for s in 0..sensors {
        let sensor = format!("sensor-{s:02}");
        // The 2015 request and response shape: the 20 newest, newest first.
        let page = query(&lambda, json!({"operation": "query", "sensorid": sensor})).await;
        assert_eq!(page["Count"], 20);
        let items = page["Items"].as_array().unwrap();
        let newest = 9_999 - (sensors - 1 - s);
        assert_eq!(items[0]["SensorId"], sensor);
        assert_eq!(items[0]["Value"].as_f64().unwrap(), newest as f64);
        assert_eq!(items[0]["Timestamp"], timestamp(newest / sensors * 1000));
        assert!(
            items
                .windows(2)
                .all(|w| w[0]["Timestamp"].as_str() > w[1]["Timestamp"].as_str())
        );
        // All 200 of them, through the pages.
        let all = query(
            &lambda,
            json!({"operation": "query", "sensorid": sensor, "limit": 1000}),
        )
        .await;
        assert_eq!(all["Count"], 200);
    }
    let archived = archived(target.archive.root());
    let acknowledged: BTreeSet<String> = acknowledged.into_iter().collect();
    assert_eq!(
        archived, acknowledged,
        "every acknowledged record is in the archive"
    );
    assert_eq!(target.stats.records_in.load(Ordering::Relaxed), 10_000);
    target.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_records_are_rejected_once_and_no_consumer_stalls() {
    let dir = tempfile::tempdir().unwrap();
    let target = start(dir.path(), 1).await;
    let config = sdk_config(&target).await;
    let kinesis = aws_sdk_kinesis::Client::new(&config);

    let poison: [&[u8]; 4] = [
        b"not json",
        b"\xff\xfe",
        br#"{"sensorid": "x", "value": "NaN"}"#,
        br#"{"value": 1}"#,
    ];
    let payloads: Vec<(String, Vec<u8>)> = (0..10_000)
        .map(|n| {
            let sensor = format!("p-{}", n % 10);
            if n % 100 == 37 {
                (sensor, poison[n / 100 % 4].to_vec())
            } else {
                let body = json!({"sensorid": sensor, "value": n, "timestamp": timestamp(n)});
                (sensor, serde_json::to_vec(&body).unwrap())
            }
        })
        .collect();
    put_all(&kinesis, &payloads).await;
    assert!(
        target.caught_up(Duration::from_secs(120)).await,
        "lag {:?}",
        target.lag()
    );

    assert_eq!(
        target.table.count_blocking().unwrap(),
        9_900,
        "every valid reading, once"
    );
    assert_eq!(target.stats.writer.rejected.load(Ordering::Relaxed), 100);
    assert_eq!(target.stats.writer.accepted.load(Ordering::Relaxed), 9_900);
    assert_eq!(
        target
            .stats
            .writer_consumer
            .dead_lettered
            .load(Ordering::Relaxed),
        0
    );
    assert_eq!(
        archived(target.archive.root()).len(),
        10_000,
        "poison is archived too"
    );
    let invocations = target
        .stats
        .writer_consumer
        .invocations
        .load(Ordering::Relaxed);
    assert!(
        invocations <= 25,
        "rejections are never retried: {invocations} invocations"
    );
    target.stop().await.unwrap();
}

/// The first key, `<prefix>-<n>`, that goes to `shard` of `shards`.
fn key_on(shard: u32, shards: u32, prefix: &str) -> String {
    (0..)
        .map(|n| format!("{prefix}-{n}"))
        .find(|key| local_target::storage::stream::shard_for(key, None, shards) == shard)
        .unwrap()
}

fn entry(key: &str, n: usize) -> PutRecordsRequestEntry {
    let body = json!({"sensorid": key, "value": n, "timestamp": timestamp(n)});
    PutRecordsRequestEntry::builder()
        .partition_key(key)
        .data(Blob::new(serde_json::to_vec(&body).unwrap()))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_over_its_write_limit_refuses_the_excess_as_kinesis_does_and_keeps_none_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let target = start_with(dir.path(), 2, ShardLimits::Aws).await;
    let config = sdk_config(&target).await;
    let kinesis = aws_sdk_kinesis::Client::new(&config);
    let hot = key_on(0, 2, "hot");
    let cool = key_on(1, 2, "cool");

    // 1,500 records for one shard, in three calls one after the other: it takes about a
    // second's 1,000 (plus what refills in the few milliseconds the calls take).
    let mut accepted = 0;
    let mut refused = 0;
    let started = std::time::Instant::now();
    for call in 0..3 {
        let entries = (0..500).map(|n| entry(&hot, call * 500 + n)).collect();
        let output = kinesis
            .put_records()
            .stream_name(STREAM)
            .set_records(Some(entries))
            .send()
            .await
            .unwrap();
        let failed: Vec<_> = output
            .records()
            .iter()
            .filter(|r| r.error_code().is_some())
            .collect();
        assert_eq!(output.failed_record_count(), Some(failed.len() as i32));
        for record in &failed {
            assert_eq!(
                record.error_code(),
                Some("ProvisionedThroughputExceededException")
            );
            assert_eq!(
                record.error_message(),
                Some(
                    "Rate exceeded for shard shardId-000000000000 in stream pipe-IoTEventStream \
                     under account 000000000000."
                )
            );
            assert_eq!((record.shard_id(), record.sequence_number()), (None, None));
        }
        refused += failed.len();
        accepted += 500 - failed.len();
    }
    // The bucket holds 1,000 and refills one record a millisecond, so what the calls took
    // (tens of milliseconds each in a debug build, more on a busy machine) is what may pass
    // beyond the 1,000.
    let refilled = started.elapsed().as_millis() as usize;
    assert!(
        (1000..=1000 + refilled).contains(&accepted),
        "{accepted} accepted in {refilled} ms"
    );
    assert_eq!(accepted + refused, 1500);

    // The other shard has its own budget.
    let other = kinesis
        .put_records()
        .stream_name(STREAM)
        .records(entry(&cool, 0))
        .send()
        .await
        .unwrap();
    assert_eq!(other.failed_record_count(), Some(0));
    assert_eq!(other.records()[0].shard_id(), Some("shardId-000000000001"));

    // PutRecord's one record refused is the call refused, with the same error. A 1 MiB
    // record takes the other shard's second of bytes; half a MiB more needs half a second.
    // The SDK retries a throttled call by itself; with retries off the refusal shows.
    let no_retries = aws_sdk_kinesis::Client::from_conf(
        aws_sdk_kinesis::config::Builder::from(&config)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build(),
    );
    let put_record = |size: usize| {
        no_retries
            .put_record()
            .stream_name(STREAM)
            .partition_key(&cool)
            .data(Blob::new(vec![b'x'; size]))
            .send()
    };
    put_record(1024 * 1024).await.unwrap();
    let error = put_record(512 * 1024)
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        error.is_provisioned_throughput_exceeded_exception(),
        "{error:?}"
    );
    assert_eq!(
        aws_sdk_kinesis::error::ProvideErrorMetadata::message(&error),
        Some(
            "Rate exceeded for shard shardId-000000000001 in stream pipe-IoTEventStream under \
             account 000000000000."
        )
    );

    // Everything acknowledged is stored and nothing refused is.
    let stats = &target.stats;
    // The hot shard's, the cool reading, and the 1 MiB record (not a reading: the writer
    // rejects it).
    assert_eq!(
        stats.records_in.load(Ordering::Relaxed),
        accepted as u64 + 2
    );
    assert_eq!(
        stats.records_throttled.load(Ordering::Relaxed),
        refused as u64 + 1
    );
    assert!(
        target.caught_up(Duration::from_secs(60)).await,
        "lag {:?}",
        target.lag()
    );
    assert_eq!(target.table.count_blocking().unwrap(), accepted as u64 + 1);

    // A second later the shard takes records again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    put_record(512 * 1024).await.unwrap();
}
