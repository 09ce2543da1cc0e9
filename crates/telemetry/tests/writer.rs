#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The writer core: rejections are final and counted, duplicates collapse, failures are reported
//! from the lowest unfinished record, and metrics are batched.

mod support;

use support::*;
use telemetry::handlers::write_batch;
use telemetry::metrics::SensorMetrics;
use telemetry::metrics::{READINGS_ACCEPTED, READINGS_REJECTED, SENSOR_DATA};

/// The writer core with per-sensor metrics (the stack's default), now, and time to spare.
async fn write(
    store: &MemoryStore,
    metrics: &MemoryMetrics,
    event: &telemetry::events::KinesisEvent,
) -> (
    telemetry::events::KinesisEventResponse,
    telemetry::handlers::WriteReport,
) {
    write_batch(
        store,
        metrics,
        SensorMetrics::PerSensor,
        event,
        now(),
        far_deadline(),
    )
    .await
}

fn reading_payload(i: usize) -> Vec<u8> {
    let ts = arrival() - chrono::Duration::seconds(i as i64);
    serde_json::to_vec(&serde_json::json!({
        "sensorid": format!("sensor-{}", i % 7),
        "value": format!("{}.5", i),
        "timestamp": ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }))
    .unwrap()
}

/// 490 distinct readings, 5 malformed, 3 non-numeric and 2 delivered twice, interleaved.
fn mixed_batch() -> Vec<Vec<u8>> {
    let mut payloads: Vec<Vec<u8>> = (0..490).map(reading_payload).collect();
    for (n, at) in [3usize, 77, 150, 301, 444].iter().enumerate() {
        payloads.insert(*at, format!("{{broken json {n}").into_bytes());
    }
    for at in [10usize, 200, 480] {
        payloads.insert(at, br#"{"sensorid":"sensor-x","value":"warm"}"#.to_vec());
    }
    payloads.insert(250, reading_payload(5));
    payloads.insert(499, reading_payload(400));
    assert_eq!(payloads.len(), 500);
    payloads
}

#[tokio::test]
async fn a_mixed_batch_stores_each_valid_reading_once_and_counts_every_rejection() {
    let (store, metrics) = (MemoryStore::default(), MemoryMetrics::default());
    let event = event_of(&mixed_batch());

    let (response, report) = write(&store, &metrics, &event).await;

    assert_eq!(
        store.items.lock().unwrap().len(),
        490,
        "distinct items in the table"
    );
    assert_eq!(report.rejected_total(), 10, "{:?}", report.rejected);
    assert_eq!(report.rejected.get("not_json"), Some(&5));
    assert_eq!(report.rejected.get("value_not_numeric"), Some(&3));
    assert_eq!(report.rejected.get("superseded"), Some(&2));
    assert_eq!(report.accepted, 490);
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(report.retry_from, None);

    let calls = metrics.calls.lock().unwrap();
    assert_eq!(calls.len(), 1, "one PutMetricData call for 500 readings");
    let samples: f64 = calls[0]
        .iter()
        .filter(|d| d.name == SENSOR_DATA)
        .map(|d| d.statistics.count)
        .sum();
    assert_eq!(samples, 490.0);
    let counter = |name| {
        calls[0]
            .iter()
            .find(|d| d.name == name)
            .unwrap()
            .statistics
            .sum
    };
    assert_eq!(counter(READINGS_ACCEPTED), 490.0);
    assert_eq!(counter(READINGS_REJECTED), 10.0);
}

/// The same batch with stack-wide metrics: every reading is stored as before, and its values
/// are in `SensorData` series without a sensor dimension (one custom metric, not seven).
#[tokio::test]
async fn stack_wide_metrics_publish_sensor_data_without_sensors() {
    let (per_sensor, stack_wide) = (MemoryMetrics::default(), MemoryMetrics::default());
    for (metrics, setting) in [
        (&per_sensor, SensorMetrics::PerSensor),
        (&stack_wide, SensorMetrics::StackWide),
    ] {
        let store = MemoryStore::default();
        let event = event_of(&mixed_batch());
        let (_, report) =
            write_batch(&store, metrics, setting, &event, now(), far_deadline()).await;
        assert_eq!(
            (report.accepted, store.items.lock().unwrap().len()),
            (490, 490)
        );
    }
    let sensor_data = |metrics: &MemoryMetrics| -> Vec<(Option<String>, f64)> {
        metrics.calls.lock().unwrap()[0]
            .iter()
            .filter(|d| d.name == SENSOR_DATA)
            .map(|d| (d.sensor_id.clone(), d.statistics.count))
            .collect()
    };
    let (per_sensor, stack_wide) = (sensor_data(&per_sensor), sensor_data(&stack_wide));
    let sensors: std::collections::BTreeSet<_> =
        per_sensor.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(sensors.len(), 7, "sensor-0 to sensor-6");
    assert!(
        stack_wide.iter().all(|(id, _)| id.is_none()),
        "{stack_wide:?}"
    );
    let total = |datums: &[(Option<String>, f64)]| datums.iter().map(|(_, n)| n).sum::<f64>();
    assert_eq!((total(&per_sensor), total(&stack_wide)), (490.0, 490.0));
    assert!(stack_wide.len() < per_sensor.len());
}

#[tokio::test]
async fn redelivering_a_batch_changes_nothing_in_the_table() {
    let (store, metrics) = (MemoryStore::default(), MemoryMetrics::default());
    let event = event_of(&mixed_batch());
    write(&store, &metrics, &event).await;
    let first = store.items.lock().unwrap().clone();
    write(&store, &metrics, &event).await;
    assert_eq!(*store.items.lock().unwrap(), first);
}

#[tokio::test]
async fn a_store_failure_is_retried_from_the_lowest_unwritten_record() {
    let (store, metrics) = (MemoryStore::default(), MemoryMetrics::default());
    store.failing.lock().unwrap().insert("sensor-3".into());
    let payloads: Vec<Vec<u8>> = (0..20).map(reading_payload).collect();
    let event = event_of(&payloads);

    let (response, report) = write(&store, &metrics, &event).await;

    // sensor-3 is reading 3: records 0..3 are done, the rest must come again.
    let expected = sequence_number(3);
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(
        response.batch_item_failures[0].item_identifier.as_deref(),
        Some(expected.as_str())
    );
    assert_eq!(report.retry_from.as_deref(), Some(expected.as_str()));
    assert_eq!(
        report.accepted, 3,
        "only records before the retry point are counted"
    );
    let calls = metrics.calls.lock().unwrap();
    let accepted = calls[0]
        .iter()
        .find(|d| d.name == READINGS_ACCEPTED)
        .unwrap();
    assert_eq!(accepted.statistics.sum, 3.0);
}

#[tokio::test]
async fn a_metrics_failure_is_retried_and_never_silently_dropped() {
    let (store, metrics) = (MemoryStore::default(), MemoryMetrics::default());
    *metrics.fail.lock().unwrap() = true;
    let payloads: Vec<Vec<u8>> = (0..5).map(reading_payload).collect();
    let (response, report) = write(&store, &metrics, &event_of(&payloads)).await;
    assert_eq!(
        response.batch_item_failures[0].item_identifier.as_deref(),
        Some(sequence_number(0).as_str())
    );
    assert_eq!(report.accepted, 0);
    assert_eq!(
        store.items.lock().unwrap().len(),
        5,
        "the table writes stand; they are idempotent"
    );
}

#[tokio::test]
async fn an_empty_batch_does_nothing() {
    let (store, metrics) = (MemoryStore::default(), MemoryMetrics::default());
    let (response, report) = write(&store, &metrics, &event_of(&[])).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(report.records, 0);
}

#[tokio::test]
async fn the_2015_test_page_fixture_event_is_written() {
    let (store, metrics) = (MemoryStore::default(), MemoryMetrics::default());
    let event: telemetry::events::KinesisEvent =
        serde_json::from_slice(&fixture("kinesis-event-2015-testpage.json")).unwrap();
    let (response, report) = write(&store, &metrics, &event).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(report.accepted, 2);
    assert_eq!(report.rejected.get("not_json"), Some(&1));
    assert_eq!(report.rejected.get("not_utf8"), Some(&1));
    let items = store.items.lock().unwrap();
    let keys: Vec<String> = items.keys().map(|(id, ts)| format!("{id}@{ts}")).collect();
    assert_eq!(
        keys,
        [
            "sensor-1@2015-09-20T10:11:12.345Z",
            "temp-ü@2015-09-20T10:11:12.500Z"
        ]
    );
}
