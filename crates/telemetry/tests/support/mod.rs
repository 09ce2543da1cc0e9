//! In-memory implementations of the ports, and event builders, for the core tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeZone, Utc};
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::Instant;
use telemetry::archive::ArchiveObject;
use telemetry::events::{KinesisEvent, RecordSource};
use telemetry::metrics::MetricDatum;
use telemetry::ports::{Archive, Metrics, PartialWrite, PortError, ReadingStore};
use telemetry::query::StoreQuery;
use telemetry::{Reading, Timestamp};

/// A table keyed like the DynamoDB one: (sensor id, timestamp) -> value.
#[derive(Default)]
pub struct MemoryStore {
    pub items: Mutex<BTreeMap<(String, Timestamp), f64>>,
    /// Readings (by sensor id) whose writes fail, to simulate a store that gives up.
    pub failing: Mutex<HashSet<String>>,
    pub put_calls: Mutex<usize>,
}

impl ReadingStore for MemoryStore {
    async fn put_readings(
        &self,
        readings: &[Reading],
        _deadline: Instant,
    ) -> Result<(), PartialWrite> {
        *self.put_calls.lock().unwrap() += 1;
        let failing = self.failing.lock().unwrap().clone();
        let mut items = self.items.lock().unwrap();
        let mut unwritten = Vec::new();
        for (i, r) in readings.iter().enumerate() {
            if failing.contains(&r.sensor_id) {
                unwritten.push(i);
            } else {
                items.insert((r.sensor_id.clone(), r.timestamp), r.value);
            }
        }
        if unwritten.is_empty() {
            Ok(())
        } else {
            Err(PartialWrite {
                unwritten,
                cause: PortError::new("memory put", "refused by the test"),
            })
        }
    }

    async fn newest_readings(&self, query: &StoreQuery) -> Result<Vec<Reading>, PortError> {
        let items = self.items.lock().unwrap();
        let range =
            (query.sensor_id.clone(), query.oldest)..=(query.sensor_id.clone(), query.newest);
        Ok(items
            .range(range)
            .rev()
            .take(query.limit)
            .map(|((id, ts), v)| Reading {
                sensor_id: id.clone(),
                timestamp: *ts,
                value: *v,
            })
            .collect())
    }
}

#[derive(Default)]
pub struct MemoryMetrics {
    pub calls: Mutex<Vec<Vec<MetricDatum>>>,
    pub fail: Mutex<bool>,
}

impl Metrics for MemoryMetrics {
    async fn publish(&self, datums: &[MetricDatum]) -> Result<(), PortError> {
        if *self.fail.lock().unwrap() {
            return Err(PortError::new("memory publish", "refused by the test"));
        }
        self.calls.lock().unwrap().push(datums.to_vec());
        Ok(())
    }
}

#[derive(Default)]
pub struct MemoryArchive {
    pub objects: Mutex<BTreeMap<String, Vec<u8>>>,
    pub fail: Mutex<bool>,
}

impl Archive for MemoryArchive {
    async fn put(&self, object: &ArchiveObject) -> Result<(), PortError> {
        if *self.fail.lock().unwrap() {
            return Err(PortError::new("memory archive", "refused by the test"));
        }
        self.objects
            .lock()
            .unwrap()
            .insert(object.key.clone(), object.body.clone());
        Ok(())
    }
}

pub fn arrival() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
        .single()
        .unwrap()
}

/// Sequence numbers shaped like Kinesis's: long decimal strings that grow.
pub fn sequence_number(i: usize) -> String {
    format!("4956541740557723393546359129{:028}", i)
}

/// An event of records with these payloads, arriving one millisecond apart.
pub fn event_of(payloads: &[Vec<u8>]) -> KinesisEvent {
    let source = RecordSource::demo();
    RecordSource::event(
        payloads
            .iter()
            .enumerate()
            .map(|(i, data)| {
                source.record(
                    &sequence_number(i),
                    "sensor",
                    data.clone(),
                    arrival() + chrono::Duration::milliseconds(i as i64),
                )
            })
            .collect(),
    )
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

pub fn far_deadline() -> Instant {
    Instant::now() + std::time::Duration::from_secs(60)
}

pub fn now() -> Timestamp {
    Timestamp::from_datetime(arrival()).unwrap()
}
