#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The payload decoding's invariants on generated payloads, at the scale of the ordinary test
//! run (fuzz/fuzz_targets/payload_decode.rs checks the same ones at a million times that):
//! the outcome is the one the documented rules give for the JSON as serde_json's `Value` reads
//! it; an accepted reading written back as a payload decodes to itself; in a batch, only a
//! record followed by one with the same reading is superseded; the archive keeps every byte.

mod support;

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value, json};
use telemetry::archive::{ArchiveBody, archive_object};
use telemetry::events::RecordSource;
use telemetry::handlers::decode_batch;
use telemetry::item::number_text;
use telemetry::payload::decode;
use telemetry::reading::{self, MAX_CLOCK_SKEW_MS, Reading, Rejection};
use telemetry::timestamp::Timestamp;

/// Cases per property: the whole file runs in about a second in the dev profile. A failure
/// is reported with its shrunk input, to be kept as a named regression test; nothing is
/// written to disk.
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Ids near every rule: empty, control characters, quotes, non-Latin text, around 128 chars.
fn sensor_id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{1,12}",
        "\\PC{0,6}",
        ".{0,4}[\\x00-\\x1f\\x7f\u{85}].{0,4}",
        (
            126usize..131,
            prop::sample::select(vec!["a", "é", "温", "🌡"])
        )
            .prop_map(|(n, c)| c.repeat(n)),
    ]
}

/// Values of every JSON type, numbers of every magnitude, and numeric-looking text.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |v| v.is_finite())
            .prop_map(|v| json!(v)),
        any::<i64>().prop_map(|v| json!(v)),
        (-400i32..400, -9.99f64..9.99).prop_map(|(e, m)| json!(format!("{m}e{e}"))),
        "[ +\\-0-9.eE]{0,12}|NaN|inf|-infinity|0x10|warm".prop_map(|t| json!(t)),
        Just(Value::Null),
        any::<bool>().prop_map(|b| json!(b)),
        Just(json!([1, 2])),
        Just(json!({"v": 1})),
    ]
}

/// Timestamps inside and outside the years and the clock skew, offsets, and text that is not
/// one.
fn timestamp() -> impl Strategy<Value = Option<Value>> {
    let instant = (
        1990i32..10_001,
        1u32..13,
        1u32..29,
        0u32..24,
        0u32..60,
        0u32..1000,
        -14i32..15,
    )
        .prop_map(|(y, mo, d, h, mi, ms, off)| {
            let sign = if off < 0 { '-' } else { '+' };
            json!(format!(
                "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:07.{ms:03}{sign}{:02}:00",
                off.unsigned_abs()
            ))
        });
    let near_arrival = (-2_000_000i64..2_000_000)
        .prop_map(|delta| json!(arrival().offset_millis(delta).unwrap().to_text()));
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        instant.prop_map(Some),
        near_arrival.prop_map(Some),
        "\\PC{0,24}".prop_map(|t| Some(json!(t))),
        Just(Some(json!(1_442_743_872))),
    ]
}

/// A payload object: each field present or not, plus fields the writer ignores.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::option::of(prop_oneof![sensor_id().prop_map(|s| json!(s)), value()]),
        prop::option::of(value()),
        timestamp(),
        any::<bool>(),
    )
        .prop_map(|(sensor, value, timestamp, extra)| {
            let mut fields = Map::new();
            if let Some(sensor) = sensor {
                fields.insert("sensorid".into(), sensor);
            }
            if let Some(value) = value {
                fields.insert("value".into(), value);
            }
            if let Some(timestamp) = timestamp {
                fields.insert("timestamp".into(), timestamp);
            }
            if extra {
                fields.insert("extra".into(), json!([{"nested": [null, 1.5]}]));
            }
            Value::Object(fields).to_string().into_bytes()
        })
}

/// Payloads, and bytes that are not one: not UTF-8, not JSON, JSON of another kind.
fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => payload(),
        1 => prop::collection::vec(any::<u8>(), 0..40),
        1 => "[\\[\\]{}\",:0-9a-z ]{0,30}".prop_map(String::into_bytes),
        1 => prop_oneof![Just("[1]"), Just("\"s\""), Just("null"), Just("true"), Just("2.5")]
            .prop_map(|t| t.as_bytes().to_vec()),
    ]
}

fn arrival() -> Timestamp {
    support::now()
}

/// The documented rules applied to serde_json's `Value`. A syntax error's wording depends on
/// where a parse stopped, so only its kind is compared (`without_serde_message`).
fn expected(data: &[u8], arrival: Timestamp) -> Result<Reading, Rejection> {
    let text = std::str::from_utf8(data).map_err(|_| Rejection::NotUtf8)?;
    let value: Value =
        serde_json::from_str(text).map_err(|err| Rejection::NotJson(err.to_string()))?;
    let Value::Object(fields) = value else {
        return Err(Rejection::NotAnObject {
            found: kind(&value),
        });
    };
    let wrong = |field, expected, found: &Value| Rejection::WrongType {
        field,
        expected,
        found: kind(found),
    };
    let sensor_id = match fields.get("sensorid") {
        None | Some(Value::Null) => return Err(Rejection::MissingField("sensorid")),
        Some(Value::String(id)) => id.clone(),
        Some(other) => return Err(wrong("sensorid", "a string", other)),
    };
    reading::validate_sensor_id(&sensor_id)?;
    let value = match fields.get("value") {
        None | Some(Value::Null) => return Err(Rejection::MissingField("value")),
        Some(Value::Number(n)) => reading::validate_value(n.as_f64().unwrap())?,
        Some(Value::String(text)) => reading::parse_value_text(text)?,
        Some(other) => return Err(wrong("value", "a number or numeric string", other)),
    };
    let timestamp = match fields.get("timestamp") {
        None | Some(Value::Null) => arrival,
        Some(Value::String(text)) => {
            let timestamp = Timestamp::parse(text).map_err(|err| Rejection::BadTimestamp {
                text: text.clone(),
                reason: err.to_string(),
            })?;
            if timestamp.millis() > arrival.millis() + MAX_CLOCK_SKEW_MS {
                return Err(Rejection::TimestampInFuture { timestamp, arrival });
            }
            timestamp
        }
        Some(other) => return Err(wrong("timestamp", "an RFC 3339 string", other)),
    };
    Ok(Reading {
        sensor_id,
        timestamp,
        value,
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn without_serde_message(outcome: Result<Reading, Rejection>) -> Result<Reading, Rejection> {
    match outcome {
        Err(Rejection::NotJson(_)) => Err(Rejection::NotJson(String::new())),
        other => other,
    }
}

/// What serde_json refuses in a `Value` but does not check where the writer skips (fields
/// other than the three, the inside of a value of the wrong type): escapes of lone UTF-16
/// surrogates, numbers beyond an f64. The writer reads past them, as `JSON.parse` did in 2015.
fn skipped_leniently(expected: &Result<Reading, Rejection>) -> bool {
    matches!(expected, Err(Rejection::NotJson(message))
        if ["surrogate", "hex escape", "code point", "number out of range"]
            .iter()
            .any(|lenient| message.contains(lenient)))
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn every_outcome_is_the_one_the_rules_give(data in data()) {
        let expected = expected(&data, arrival());
        if !skipped_leniently(&expected) {
            prop_assert_eq!(
                without_serde_message(decode(&data, arrival())),
                without_serde_message(expected)
            );
        }
    }

    #[test]
    fn an_accepted_reading_written_back_decodes_to_itself(data in payload()) {
        if let Ok(reading) = decode(&data, arrival()) {
            let timestamp = reading.timestamp.to_text();
            for value in [json!(reading.value), json!(number_text(reading.value))] {
                let again = json!({"sensorid": reading.sensor_id, "value": value, "timestamp": timestamp});
                prop_assert_eq!(decode(again.to_string().as_bytes(), arrival()), Ok(reading.clone()), "{}", again);
            }
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn only_a_record_followed_by_the_same_reading_is_superseded(
        batch in prop::collection::vec(prop::sample::select(vec![
            br#"{"sensorid":"a","value":1,"timestamp":"2026-11-27T11:00:00Z"}"#.to_vec(),
            br#"{"sensorid":"a","value":2,"timestamp":"2026-11-27T11:00:00.000+00:00"}"#.to_vec(),
            br#"{"sensorid":"b","value":1,"timestamp":"2026-11-27T11:00:00Z"}"#.to_vec(),
            br#"{"sensorid":"a","value":3}"#.to_vec(),
            b"not json".to_vec(),
        ]), 0..12)
    ) {
        let source = RecordSource::demo();
        let records: Vec<_> = batch
            .iter()
            .enumerate()
            .map(|(i, data)| source.record(&i.to_string(), "k", data.clone(), support::arrival()))
            .collect();
        let outcomes = decode_batch(&records);
        prop_assert_eq!(outcomes.len(), batch.len());
        for (i, outcome) in outcomes.iter().enumerate() {
            let alone = decode(&batch[i], arrival());
            let later_same = alone.as_ref().ok().is_some_and(|reading| {
                batch[i + 1..].iter().any(|later| {
                    decode(later, arrival()).is_ok_and(|other| {
                        other.sensor_id == reading.sensor_id && other.timestamp == reading.timestamp
                    })
                })
            });
            if later_same {
                prop_assert_eq!(outcome, &Err(Rejection::Superseded));
            } else {
                prop_assert_eq!(outcome, &alone);
            }
        }
    }

    #[test]
    fn the_archive_keeps_every_byte(batch in prop::collection::vec(data(), 1..6)) {
        let source = RecordSource::demo();
        let records: Vec<_> = batch
            .iter()
            .enumerate()
            .map(|(i, data)| source.record(&i.to_string(), "k", data.clone(), support::arrival()))
            .collect();
        let object = archive_object(&records).unwrap();
        let body: ArchiveBody<'_> = serde_json::from_slice(&object.body).unwrap();
        let kept: Vec<Vec<u8>> = body.records.iter().map(|r| r.bytes().unwrap()).collect();
        prop_assert_eq!(kept, batch);
    }
}
