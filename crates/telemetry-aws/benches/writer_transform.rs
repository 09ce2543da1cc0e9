//! The writer's per-record cost: base64 data (as it arrives in the Kinesis event) to a DynamoDB
//! item, through decoding and every validation rule. Side by side in the same run: the shipped
//! path, the same decoder with serde_dynamo's generic mapping, and the obvious way (through
//! `serde_json::Value` and serde_dynamo) as a baseline.
//!
//! `cargo bench -p telemetry-aws --bench writer_transform`

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::collections::HashMap;
use std::hint::black_box;
use telemetry::Timestamp;
use telemetry::item::SensorItem;
use telemetry::payload::decode;
use telemetry::reading::{parse_value_text, validate_sensor_id};
use telemetry_aws::dynamodb_store::item_of;

type Item = HashMap<String, AttributeValue>;
/// One way of turning a record's base64 data into an item.
type Transform = fn(&str, Timestamp) -> Option<Item>;

/// Payloads as the 2015 test page sends them: value as text, millisecond UTC timestamps.
fn payloads(n: usize) -> Vec<String> {
    (0..n)
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

fn shipped(data: &str, arrival: Timestamp) -> Option<Item> {
    let bytes = STANDARD.decode(data).ok()?;
    let reading = decode(&bytes, arrival).ok()?;
    Some(item_of(&reading))
}

fn typed_with_serde_dynamo(data: &str, arrival: Timestamp) -> Option<Item> {
    let bytes = STANDARD.decode(data).ok()?;
    let reading = decode(&bytes, arrival).ok()?;
    serde_dynamo::to_item(SensorItem::from(reading)).ok()
}

fn via_value(data: &str, arrival: Timestamp) -> Option<Item> {
    let bytes = STANDARD.decode(data).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let sensor_id = value.get("sensorid")?.as_str()?.to_owned();
    validate_sensor_id(&sensor_id).ok()?;
    let reading_value = match value.get("value")? {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => parse_value_text(s).ok()?,
        _ => return None,
    };
    let timestamp = match value.get("timestamp") {
        Some(serde_json::Value::String(s)) => Timestamp::parse(s).ok()?,
        _ => arrival,
    };
    serde_dynamo::to_item(SensorItem {
        sensor_id,
        timestamp,
        value: reading_value,
    })
    .ok()
}

fn bench(c: &mut Criterion) {
    let data = payloads(10_000);
    let arrival = Timestamp::parse("2026-11-27T12:00:00Z").unwrap_or_else(|_| Timestamp::min());
    let mut group = c.benchmark_group("writer_transform");
    group.throughput(Throughput::Elements(data.len() as u64));
    let cases: [(&str, Transform); 3] = [
        ("shipped: borrowed decoder + direct item", shipped),
        (
            "borrowed decoder + serde_dynamo::to_item",
            typed_with_serde_dynamo,
        ),
        (
            "baseline: serde_json::Value + serde_dynamo::to_item",
            via_value,
        ),
    ];
    for (name, transform) in cases {
        group.bench_function(name, |b| {
            b.iter(|| {
                data.iter()
                    .filter_map(|d| transform(black_box(d), arrival))
                    .count()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
