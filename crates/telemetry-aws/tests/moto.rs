#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The handler cores with the real AWS adapters, over the wire to moto on loopback.

use chrono::{TimeZone, Utc};
use lambda_harness::moto;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use telemetry::Timestamp;
use telemetry::archive::{ArchiveBody, archive_object};
use telemetry::events::{KinesisEvent, RecordSource};
use telemetry::handlers::{answer_query, archive_batch, write_batch};
use telemetry::metrics::SensorMetrics;
use telemetry_aws::{CloudWatchMetrics, DynamoDbStore, S3Archive};

fn fixture_event() -> KinesisEvent {
    serde_json::from_value(lambda_harness::telemetry_fixture(
        "kinesis-event-2015-testpage.json",
    ))
    .unwrap()
}

async fn config() -> aws_config::SdkConfig {
    moto::sdk_config(&moto::endpoint().unwrap_or_else(|e| panic!("{e}"))).await
}

#[tokio::test]
async fn the_archiver_puts_the_batch_object_into_s3() {
    let config = config().await;
    let s3 = aws_sdk_s3::Client::new(&config);
    let bucket = moto::unique_name("archive");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let event = fixture_event();

    let response = archive_batch(&S3Archive::new(s3.clone(), &bucket), &event).await;
    assert!(response.batch_item_failures.is_empty());

    let expected = archive_object(&event.records).unwrap();
    let object = s3
        .get_object()
        .bucket(&bucket)
        .key(&expected.key)
        .send()
        .await
        .unwrap();
    assert_eq!(object.content_type(), Some("application/json"));
    let body = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(body.as_ref(), expected.body.as_slice());
    let parsed: ArchiveBody<'_> = serde_json::from_slice(&body).unwrap();
    assert_eq!(parsed.records.len(), 4);
}

#[tokio::test]
async fn the_writer_stores_readings_that_the_query_api_pages_back() {
    let config = config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let table = moto::unique_name("SensorData");
    moto::create_sensor_table(&config, &table).await.unwrap();
    let namespace = moto::unique_name("Sensors");
    let store = DynamoDbStore::new(dynamodb.clone(), &table);
    let metrics = CloudWatchMetrics::new(aws_sdk_cloudwatch::Client::new(&config), &namespace);

    // 45 readings of one sensor, a minute apart, and 5 of another; sent as two batches, the
    // second of which repeats ten readings of the first (a redelivery).
    let source = RecordSource::demo();
    let start = Utc
        .with_ymd_and_hms(2026, 11, 27, 10, 0, 0)
        .single()
        .unwrap();
    let records: Vec<_> = (0..50)
        .map(|i| {
            let (sensor, minute) = if i < 45 {
                ("pump \"7\" ü", i)
            } else {
                ("fan", i - 45)
            };
            let data = json!({"sensorid": sensor, "value": i as f64 / 4.0,
                "timestamp": (start + chrono::Duration::minutes(minute)).to_rfc3339()});
            source.record(
                &(i + 1).to_string(),
                sensor,
                serde_json::to_vec(&data).unwrap(),
                start + chrono::Duration::hours(1),
            )
        })
        .collect();
    let now = Timestamp::from_datetime(start + chrono::Duration::hours(1)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    for batch in [&records[..30], &records[20..]] {
        let event = RecordSource::event(batch.to_vec());
        let (response, report) = write_batch(
            &store,
            &metrics,
            SensorMetrics::PerSensor,
            &event,
            now,
            deadline,
        )
        .await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
        assert_eq!(report.rejected_total(), 0);
    }
    let count = dynamodb
        .scan()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .count();
    assert_eq!(count, 50, "the redelivered readings are not duplicated");
    let item = dynamodb
        .scan()
        .table_name(&table)
        .limit(1)
        .send()
        .await
        .unwrap()
        .items
        .unwrap()
        .remove(0);
    assert!(
        matches!(
            item.get("Value"),
            Some(aws_sdk_dynamodb::types::AttributeValue::N(_))
        ),
        "Value is a number: {item:?}"
    );

    // Three pages of 20, 20 and 5, newest first, every reading once.
    let mut values = Vec::new();
    let mut next = Value::Null;
    for expected_page in [20, 20, 5] {
        let answer = answer_query(
            &store,
            &json!({"operation": "query", "sensorid": "pump \"7\" ü", "next": next}),
        )
        .await
        .unwrap();
        assert_eq!(answer.count, expected_page);
        values.extend(answer.items.iter().map(|item| item.value));
        next = answer.next_token.map(Value::String).unwrap_or(Value::Null);
    }
    assert_eq!(next, Value::Null);
    let expected: Vec<f64> = (0..45).rev().map(|i| i as f64 / 4.0).collect();
    assert_eq!(values, expected);

    // A time range is honoured by the key condition.
    let window = answer_query(
        &store,
        &json!({"sensorid": "pump \"7\" ü", "from": "2026-11-27T10:10:00Z", "to": "2026-11-27T10:12:00Z"}),
    )
    .await
    .unwrap();
    assert_eq!(
        window.items.iter().map(|i| i.value).collect::<Vec<_>>(),
        [3.0, 2.75, 2.5]
    );

    // The per-sensor metric was published under the configured namespace.
    let listed = aws_sdk_cloudwatch::Client::new(&config)
        .list_metrics()
        .namespace(&namespace)
        .metric_name("SensorData")
        .send()
        .await
        .unwrap();
    let sensors: std::collections::BTreeSet<String> = listed
        .metrics()
        .iter()
        .flat_map(|m| m.dimensions())
        .filter_map(|d| d.value().map(str::to_owned))
        .collect();
    assert_eq!(
        sensors,
        ["fan".to_owned(), "pump \"7\" ü".to_owned()].into()
    );
}
