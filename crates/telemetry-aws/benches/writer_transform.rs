//! The writer's per-record cost: base64 data (as it arrives in the Kinesis event) to the
//! BatchWriteItem request of a DynamoDB item, through decoding and every validation rule, in
//! batches of 500 as the stack delivers them. The shipped path is the writer's own code
//! (`decode_batch`, then `write_chunks`). Side by side in the same run: the same decoder with
//! serde_dynamo's generic mapping, and the obvious way (`serde_json::Value` and serde_dynamo) as
//! a baseline. A second group splits the shipped path into its steps.
//!
//! `cargo bench -p telemetry-aws --bench writer_transform`

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::collections::HashMap;
use std::hint::black_box;
use telemetry::Timestamp;
use telemetry::events::{KinesisEventRecord, RecordSource};
use telemetry::handlers::decode_batch;
use telemetry::item::SensorItem;
use telemetry::reading::{Reading, parse_value_text, validate_sensor_id};
use telemetry_aws::dynamodb_store::write_chunks;

const RECORDS: usize = 10_000;
/// One way of turning a batch of records into write requests; answers how many it made.
type Transform = fn(&[KinesisEventRecord]) -> usize;
/// The writer's batch size in the stack definition.
const BATCH: usize = 500;

/// Payloads as the 2015 test page sends them, base64 as in the event: value as text,
/// millisecond UTC timestamps.
fn payloads() -> Vec<String> {
    (0..RECORDS)
        .map(|i| {
            let text = format!(
                r#"{{"sensorid":"sensor-{}","value":"{}.{}","timestamp":"2026-11-27T10:{:02}:{:02}.{:03}Z"}}"#,
                i % 50,
                i % 40,
                i % 10,
                (i / 60_000) % 60,
                (i / 1000) % 60,
                i % 1000
            );
            STANDARD.encode(text)
        })
        .collect()
}

/// The records without their data, which each round decodes from base64 as the event's
/// deserializer does.
fn records() -> Vec<KinesisEventRecord> {
    let source = RecordSource::demo();
    // Shortly after the newest payload's timestamp, as on a live stream.
    let arrival = DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default();
    (0..RECORDS)
        .map(|i| source.record(&format!("{i:056}"), "p", Vec::new(), arrival))
        .collect()
}

fn put(item: HashMap<String, AttributeValue>) -> Option<WriteRequest> {
    let put = PutRequest::builder().set_item(Some(item)).build().ok()?;
    Some(WriteRequest::builder().put_request(put).build())
}

/// The shipped decoder, then serde_dynamo's generic mapping for the item.
fn with_serde_dynamo(records: &[KinesisEventRecord]) -> usize {
    let readings: Vec<Reading> = decode_batch(records).into_iter().flatten().collect();
    readings
        .iter()
        .filter_map(|r| put(serde_dynamo::to_item(SensorItem::from(r.clone())).ok()?))
        .count()
}

/// The obvious way: every payload through `serde_json::Value`, the same rules, serde_dynamo.
fn via_value(records: &[KinesisEventRecord]) -> usize {
    let item = |data: &[u8]| -> Option<WriteRequest> {
        let value: serde_json::Value = serde_json::from_slice(data).ok()?;
        let sensor_id = value.get("sensorid")?.as_str()?.to_owned();
        validate_sensor_id(&sensor_id).ok()?;
        let reading_value = match value.get("value")? {
            serde_json::Value::Number(n) => n.as_f64()?,
            serde_json::Value::String(s) => parse_value_text(s).ok()?,
            _ => return None,
        };
        let timestamp = match value.get("timestamp") {
            Some(serde_json::Value::String(s)) => Timestamp::parse(s).ok()?,
            _ => Timestamp::min(),
        };
        put(serde_dynamo::to_item(SensorItem {
            sensor_id,
            timestamp,
            value: reading_value,
        })
        .ok()?)
    };
    records.iter().filter_map(|r| item(&r.kinesis.data)).count()
}

fn shipped(records: &[KinesisEventRecord]) -> usize {
    let readings: Vec<Reading> = decode_batch(records).into_iter().flatten().collect();
    write_chunks(&readings).map_or(0, |chunks| chunks.len())
}

/// Decodes each record's base64 data into it, then runs `transform` on every batch.
fn round(texts: &[String], records: &mut [KinesisEventRecord], transform: Transform) -> usize {
    for (record, text) in records.iter_mut().zip(texts) {
        *record.kinesis.data = STANDARD.decode(black_box(text)).unwrap_or_default();
    }
    records.chunks(BATCH).map(transform).sum()
}

fn whole_path(c: &mut Criterion) {
    let texts = payloads();
    let mut records = records();
    let mut group = c.benchmark_group("writer_transform");
    group.throughput(Throughput::Elements(RECORDS as u64));
    let cases: [(&str, Transform); 3] = [
        ("shipped: decode_batch + write_chunks", shipped),
        ("decode_batch + serde_dynamo::to_item", with_serde_dynamo),
        ("baseline: serde_json::Value + serde_dynamo", via_value),
    ];
    for (name, transform) in cases {
        group.bench_function(name, |b| b.iter(|| round(&texts, &mut records, transform)));
    }
    group.finish();
}

fn steps(c: &mut Criterion) {
    let texts = payloads();
    let mut records = records();
    round(&texts, &mut records, |_| 0);
    let readings: Vec<Reading> = decode_batch(&records).into_iter().flatten().collect();
    // Every payload is valid: the figure is the cost of storing readings, not of refusing them.
    assert_eq!(
        readings.len(),
        RECORDS,
        "the bench payloads must all be valid"
    );
    let mut group = c.benchmark_group("writer_transform_steps");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("base64", |b| b.iter(|| round(&texts, &mut records, |_| 0)));
    group.bench_function("decode_batch", |b| {
        b.iter(|| {
            records
                .chunks(BATCH)
                .map(|batch| decode_batch(black_box(batch)).len())
                .sum::<usize>()
        })
    });
    group.bench_function("write_chunks", |b| {
        b.iter(|| {
            readings
                .chunks(BATCH)
                .map(|batch| write_chunks(black_box(batch)).map_or(0, |c| c.len()))
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, whole_path, steps);
criterion_main!(benches);
