#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The AWS adapters under throttling and partial failure, played by the SDK's own test utility
//! (aws-smithy-mocks): paths moto cannot produce.

use aws_sdk_cloudwatch::operation::put_metric_data::PutMetricDataOutput;
use aws_sdk_dynamodb::operation::batch_write_item::{
    BatchWriteItemError, BatchWriteItemInput, BatchWriteItemOutput,
};
use aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException;
use aws_sdk_dynamodb::types::{AttributeValue, WriteRequest};
use aws_smithy_mocks::{MockResponse, RuleMode, mock, mock_client};
use chrono::{TimeZone, Utc};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use telemetry::Timestamp;
use telemetry::backoff::Backoff;
use telemetry::events::{KinesisEvent, RecordSource};
use telemetry::handlers::write_batch;
use telemetry::metrics::SensorMetrics;
use telemetry_aws::{CloudWatchMetrics, DynamoDbStore};

const TABLE: &str = "demo-SensorData";

fn sequence_number(i: usize) -> String {
    format!("4956541740557723393546359129{:028}", i)
}

/// `n` valid readings; reading `i` is from `sensor(i)`.
fn event(n: usize, sensor: impl Fn(usize) -> String) -> KinesisEvent {
    let source = RecordSource::demo();
    let arrival = Utc
        .with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
        .single()
        .unwrap();
    RecordSource::event(
        (0..n)
            .map(|i| {
                let ts = arrival - chrono::Duration::milliseconds(i as i64);
                let data = serde_json::json!({"sensorid": sensor(i), "value": i, "timestamp": ts.to_rfc3339()});
                source.record(&sequence_number(i), "k", serde_json::to_vec(&data).unwrap(), arrival)
            })
            .collect(),
    )
}

fn now() -> Timestamp {
    Timestamp::parse("2026-11-27T12:00:00Z").unwrap()
}

fn quick_backoff() -> Backoff {
    Backoff::retries(Duration::from_millis(1), Duration::from_millis(5))
}

fn requests(input: &BatchWriteItemInput) -> Vec<WriteRequest> {
    input
        .request_items()
        .and_then(|items| items.get(TABLE))
        .cloned()
        .unwrap_or_default()
}

fn key(request: &WriteRequest) -> String {
    let item = request.put_request().unwrap().item();
    match (item.get("SensorId"), item.get("Timestamp")) {
        (Some(AttributeValue::S(id)), Some(AttributeValue::S(ts))) => format!("{id}@{ts}"),
        other => panic!("item without key: {other:?}"),
    }
}

fn metrics_client() -> (aws_smithy_mocks::Rule, CloudWatchMetrics) {
    let rule = mock!(aws_sdk_cloudwatch::Client::put_metric_data)
        .then_output(|| PutMetricDataOutput::builder().build());
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&rule]);
    (rule, CloudWatchMetrics::new(client, "Sensors"))
}

#[tokio::test]
async fn unprocessed_items_are_retried_until_every_reading_is_written() {
    let written = Arc::new(Mutex::new(BTreeSet::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let (w, c) = (written.clone(), calls.clone());
    // The first three calls store only half of what they are sent; later calls store everything.
    let rule =
        mock!(aws_sdk_dynamodb::Client::batch_write_item).then_compute_output(move |input| {
            let requests = requests(input);
            assert!(
                requests.len() <= 25,
                "BatchWriteItem takes at most 25 items, got {}",
                requests.len()
            );
            let (stored, left) = if c.fetch_add(1, Ordering::SeqCst) < 3 {
                requests.split_at(requests.len() / 2)
            } else {
                (&requests[..], &[][..])
            };
            w.lock().unwrap().extend(stored.iter().map(key));
            let mut output = BatchWriteItemOutput::builder();
            if !left.is_empty() {
                output = output.unprocessed_items(TABLE, left.to_vec());
            }
            output.build()
        });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
    let store = DynamoDbStore::new(client, TABLE).with_backoff(quick_backoff());
    let (_metrics_rule, metrics) = metrics_client();

    let deadline = Instant::now() + Duration::from_secs(10);
    let (response, report) = write_batch(
        &store,
        &metrics,
        SensorMetrics::PerSensor,
        &event(100, |i| format!("s{}", i % 3)),
        now(),
        deadline,
    )
    .await;

    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(report.accepted, 100);
    assert_eq!(written.lock().unwrap().len(), 100, "every reading written");
    assert!(
        calls.load(Ordering::SeqCst) > 4,
        "four chunks and at least three retries"
    );
}

#[tokio::test]
async fn throttling_errors_are_retried_until_every_reading_is_written() {
    let written = Arc::new(Mutex::new(BTreeSet::new()));
    let w = written.clone();
    let throttled = mock!(aws_sdk_dynamodb::Client::batch_write_item)
        .sequence()
        .error(|| {
            BatchWriteItemError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder()
                    .message("slow down")
                    .build(),
            )
        })
        .times(6)
        .build();
    let accepting =
        mock!(aws_sdk_dynamodb::Client::batch_write_item).then_compute_output(move |input| {
            w.lock().unwrap().extend(requests(input).iter().map(key));
            BatchWriteItemOutput::builder().build()
        });
    // MatchAny takes the first rule not yet exhausted: six throttles, then acceptance for ever.
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&throttled, &accepting]
    );
    let store = DynamoDbStore::new(client, TABLE).with_backoff(quick_backoff());
    let (_metrics_rule, metrics) = metrics_client();

    let deadline = Instant::now() + Duration::from_secs(30);
    let (response, report) = write_batch(
        &store,
        &metrics,
        SensorMetrics::PerSensor,
        &event(30, |i| format!("s{i}")),
        now(),
        deadline,
    )
    .await;

    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(report.accepted, 30);
    assert_eq!(written.lock().unwrap().len(), 30);
    assert_eq!(throttled.num_calls(), 6);
}

#[tokio::test]
async fn what_stays_throttled_past_the_deadline_is_reported_from_the_lowest_sequence_number() {
    let written = Arc::new(Mutex::new(BTreeSet::new()));
    let w = written.clone();
    // Any call carrying sensor "hot" is throttled for ever; the others succeed.
    let rule =
        mock!(aws_sdk_dynamodb::Client::batch_write_item).then_compute_response(move |input| {
            let requests = requests(input);
            if requests.iter().any(|r| key(r).starts_with("hot@")) {
                MockResponse::Error(BatchWriteItemError::ProvisionedThroughputExceededException(
                    ProvisionedThroughputExceededException::builder()
                        .message("hot partition")
                        .build(),
                ))
            } else {
                w.lock().unwrap().extend(requests.iter().map(key));
                MockResponse::Output(BatchWriteItemOutput::builder().build())
            }
        });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
    let store = DynamoDbStore::new(client, TABLE).with_backoff(quick_backoff());
    let (metrics_rule, metrics) = metrics_client();

    // Reading 30 is "hot": its chunk (readings 25..50) never gets in.
    let deadline = Instant::now() + Duration::from_millis(400);
    let batch = event(60, |i| {
        if i == 30 {
            "hot".into()
        } else {
            format!("s{i}")
        }
    });
    let (response, report) = write_batch(
        &store,
        &metrics,
        SensorMetrics::PerSensor,
        &batch,
        now(),
        deadline,
    )
    .await;

    let expected = sequence_number(25);
    let failures: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failures, [Some(expected)], "the lowest unwritten record");
    assert_eq!(
        report.accepted, 25,
        "records before the retry point are done and counted"
    );
    let written = written.lock().unwrap();
    assert_eq!(written.len(), 35, "chunks 0..25 and 50..60 are written");
    assert!(!written.iter().any(|k| k.starts_with("hot@")));
    assert_eq!(metrics_rule.num_calls(), 1);
}

#[tokio::test]
async fn metrics_take_one_call_per_thousand_datums() {
    let accepting = mock!(aws_sdk_dynamodb::Client::batch_write_item)
        .then_output(|| BatchWriteItemOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&accepting]);
    let store = DynamoDbStore::new(client, TABLE);
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let s = sizes.clone();
    let rule =
        mock!(aws_sdk_cloudwatch::Client::put_metric_data).then_compute_output(move |input| {
            assert_eq!(input.namespace(), Some("Sensors"));
            s.lock().unwrap().push(input.metric_data().len());
            PutMetricDataOutput::builder().build()
        });
    let metrics = CloudWatchMetrics::new(
        mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&rule]),
        "Sensors",
    );

    // 2,500 sensors, one reading each: 2,500 per-sensor datums and two counters.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (response, _) = write_batch(
        &store,
        &metrics,
        SensorMetrics::PerSensor,
        &event(2500, |i| format!("s{i}")),
        now(),
        deadline,
    )
    .await;

    assert!(response.batch_item_failures.is_empty());
    assert_eq!(*sizes.lock().unwrap(), [1000, 1000, 502]);
}
