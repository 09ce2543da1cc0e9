//! The simulator against the local target's real endpoint on loopback, with local-target's
//! in-memory `DeviceApi` (feature `test-util`) behind it, which keeps every call's records.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kinesis::config::Credentials;
use device_simulator::{Plan, Progress, Stop, Target};
use local_target::device_api::{DeviceKey, NewRecord, StreamDescription};
use local_target::endpoint::EndpointSettings;
use local_target::test_util::{InMemoryDeviceApi, LoopbackEndpoint};
use serde_json::Value;

const REGION: &str = "us-east-1";
const KEY_ID: &str = "AKIASIMULATORTEST000";
const SECRET: &str = "simulator/test+secret/key0000000000000000";
const STREAM: &str = "sim-IoTEventStream";

struct Endpoint {
    url: String,
    api: Arc<InMemoryDeviceApi>,
    _page: tempfile::TempDir,
    _endpoint: LoopbackEndpoint,
}

impl Endpoint {
    async fn start() -> Self {
        let page = tempfile::tempdir().unwrap();
        let api = Arc::new(InMemoryDeviceApi::new(
            StreamDescription {
                name: STREAM.into(),
                arn: format!("arn:aws:kinesis:{REGION}:123456789012:stream/{STREAM}"),
                shard_count: 1,
                retention_hours: 24,
                created: 0.0,
            },
            "sim-IoTAPI",
        ));
        let settings = EndpointSettings {
            region: REGION.into(),
            operator_key: None,
            owner: None,
            account_id: "123456789012".into(),
            key: DeviceKey::new(KEY_ID, SECRET, None, None, "test"),
            testpage_dir: page.path().to_path_buf(),
        };
        let endpoint = LoopbackEndpoint::start(settings, api.clone())
            .await
            .unwrap();
        Self {
            url: endpoint.url.clone(),
            api,
            _page: page,
            _endpoint: endpoint,
        }
    }

    fn target(&self, secret: &str) -> Target {
        Target {
            endpoint_url: Some(self.url.clone()),
            region: REGION.into(),
            stream_name: STREAM.into(),
            credentials: Credentials::new(KEY_ID, secret, None, None, "test"),
        }
    }

    fn calls(&self) -> Vec<Vec<NewRecord>> {
        self.api.calls()
    }
}

/// A stored record as the reading it carries: (sensor id, timestamp text).
fn reading(record: &NewRecord) -> (String, String) {
    let json: Value = serde_json::from_slice(&record.data).unwrap();
    let sensor = json["sensorid"].as_str().unwrap().to_owned();
    assert_eq!(
        sensor, record.partition_key,
        "the partition key is the sensor id"
    );
    assert!(json["value"].is_number(), "{json}");
    let timestamp = json["timestamp"].as_str().unwrap().to_owned();
    // RFC 3339, UTC, whole milliseconds: 2026-11-28T10:00:00.123Z
    assert_eq!(timestamp.len(), 24, "{timestamp}");
    assert!(
        timestamp.ends_with('Z') && timestamp.as_bytes()[19] == b'.',
        "{timestamp}"
    );
    (sensor, timestamp)
}

/// Timestamps of one sensor strictly increase in the order they were stored (text order is
/// time order in this format).
fn assert_increasing_per_sensor<'a>(records: impl Iterator<Item = &'a NewRecord>) {
    let mut last: HashMap<String, String> = HashMap::new();
    for record in records {
        let (sensor, timestamp) = reading(record);
        if let Some(previous) = last.get(&sensor) {
            assert!(
                timestamp > *previous,
                "{sensor}: {timestamp} after {previous}"
            );
        }
        last.insert(sensor, timestamp);
    }
}

#[tokio::test]
async fn count_mode_sends_exactly_the_count_and_every_sent_reading_arrived() {
    let endpoint = Endpoint::start().await;
    let plan = Plan::new(7, 3000, Stop::Count(1234), 100).unwrap();
    let mut seen: Vec<Progress> = Vec::new();
    let report = device_simulator::run(&endpoint.target(SECRET), &plan, |p| seen.push(*p)).await;

    assert_eq!((report.sent, report.failed), (1234, 0), "{report}");
    assert_eq!(report.first_error, None);
    let calls = endpoint.calls();
    let stored: Vec<&NewRecord> = calls.iter().flatten().collect();
    assert_eq!(stored.len(), 1234);
    assert!(calls.iter().all(|call| (1..=100).contains(&call.len())));
    assert_eq!(report.latency.calls, calls.len());

    let mut arrived: BTreeMap<String, u64> = BTreeMap::new();
    for record in &stored {
        *arrived.entry(record.partition_key.clone()).or_default() += 1;
    }
    assert_eq!(
        report.per_sensor, arrived,
        "per-sensor counts are what arrived"
    );
    assert_eq!(arrived.len(), 7);
    assert!(arrived.keys().all(|id| id.starts_with("sim-000")));

    // Within a call, each sensor's timestamps increase; over all calls none repeats.
    for call in &calls {
        assert_increasing_per_sensor(call.iter());
    }
    let mut keys: Vec<(String, String)> = stored.iter().map(|r| reading(r)).collect();
    let total = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(
        keys.len(),
        total,
        "two readings of one sensor share a millisecond"
    );

    let last = seen.last().unwrap();
    assert_eq!((last.sent, last.failed, last.planned), (1234, 0, 1234));
}

#[tokio::test]
async fn one_call_at_a_time_keeps_each_sensors_readings_in_order() {
    let endpoint = Endpoint::start().await;
    let plan = Plan::new(3, 2000, Stop::Count(600), 50)
        .unwrap()
        .with_max_in_flight(1)
        .unwrap();
    let report = device_simulator::run(&endpoint.target(SECRET), &plan, |_| {}).await;
    assert_eq!((report.sent, report.failed), (600, 0));
    let calls = endpoint.calls();
    assert_increasing_per_sensor(calls.iter().flatten());
}

#[tokio::test]
async fn duration_mode_sends_what_falls_due_in_that_time() {
    let endpoint = Endpoint::start().await;
    let plan = Plan::new(4, 300, Stop::After(Duration::from_secs(1)), 25).unwrap();
    let report = device_simulator::run(&endpoint.target(SECRET), &plan, |_| {}).await;
    assert_eq!((report.sent, report.failed), (300, 0), "{report}");
    assert_eq!(endpoint.calls().iter().map(Vec::len).sum::<usize>(), 300);
    assert_eq!(report.per_sensor.values().sum::<u64>(), 300);
}

#[tokio::test]
async fn a_wrong_key_fails_every_reading_and_says_why() {
    let endpoint = Endpoint::start().await;
    let plan = Plan::new(2, 1000, Stop::Count(120), 40).unwrap();
    let report = device_simulator::run(&endpoint.target("not-the-secret"), &plan, |_| {}).await;
    assert_eq!((report.sent, report.failed), (0, 120), "{report}");
    let error = report.first_error.clone().unwrap();
    assert!(error.starts_with("InvalidSignatureException"), "{error}");
    assert!(!error.contains("not-the-secret"));
    assert!(report.per_sensor.is_empty());
    assert!(endpoint.calls().is_empty(), "nothing reached the stream");
}
