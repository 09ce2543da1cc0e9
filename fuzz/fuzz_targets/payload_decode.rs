//! A device's record data through the writer's decoding and the archiver's body.
//!
//! - Every outcome is the one a plain reading of the JSON (serde_json's `Value`) and the
//!   documented rules give, so every rejection has its right, named reason (but for what the
//!   writer skips without checking, see `skipped_leniently`).
//! - Every accepted reading, written back as a payload (value as a JSON number, and as the
//!   text the table stores), decodes to the same reading.
//! - In a batch, a record followed by one with the same reading is `Superseded`; the later one
//!   is decoded as alone.
//! - The archive body is JSON that gives back every byte of every record.
//!
//! libFuzzer's `-malloc_limit_mb` (set by scripts/fuzz) makes an allocation out of proportion
//! to the input a finding too.
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use telemetry::archive::{ArchiveBody, archive_object};
use telemetry::events::RecordSource;
use telemetry::handlers::decode_batch;
use telemetry::item::number_text;
use telemetry::payload::decode;
use telemetry::reading::{self, MAX_CLOCK_SKEW_MS, Reading, Rejection};
use telemetry::timestamp::Timestamp;

/// The arrival of most cases in crates/telemetry/tests/fixtures/payloads.json, whose data the
/// seeds are.
const ARRIVAL: &str = "2015-09-20T10:11:13.000Z";

fuzz_target!(|data: &[u8]| {
    let arrival = Timestamp::parse(ARRIVAL).unwrap();
    let outcome = decode(data, arrival);
    let expected = expected(data, arrival);
    if !skipped_leniently(&expected) {
        assert_eq!(
            without_serde_message(&outcome),
            without_serde_message(&expected),
            "decode disagrees with the rules"
        );
    }
    if let Ok(reading) = &outcome {
        round_trips(reading, arrival);
    }
    batch_and_archive(data, arrival.as_datetime(), &outcome);
});

/// serde_json words a syntax error by where its parse stopped, which differs between a
/// `Value` and the writer's one-pass reading for the same bad input; which reason it is is
/// what must agree.
fn without_serde_message(outcome: &Result<Reading, Rejection>) -> Result<Reading, Rejection> {
    match outcome {
        Err(Rejection::NotJson(_)) => Err(Rejection::NotJson(String::new())),
        other => other.clone(),
    }
}

/// What serde_json refuses in a `Value` but does not check in what the writer skips (fields
/// other than the three, and the inside of a value of the wrong type): escapes of lone UTF-16
/// surrogates and numbers beyond an f64. The writer reads past them, as the 2015 functions'
/// `JSON.parse` did, so such a payload's outcome is the rules' for its three fields, which the
/// `Value` cannot give.
fn skipped_leniently(expected: &Result<Reading, Rejection>) -> bool {
    matches!(expected, Err(Rejection::NotJson(message))
        if ["surrogate", "hex escape", "code point", "number out of range"]
            .iter()
            .any(|lenient| message.contains(lenient)))
}

/// The rules applied to serde_json's `Value`, in the order the writer documents them.
fn expected(data: &[u8], arrival: Timestamp) -> Result<Reading, Rejection> {
    let text = std::str::from_utf8(data).map_err(|_| Rejection::NotUtf8)?;
    let value: Value =
        serde_json::from_str(text).map_err(|err| Rejection::NotJson(err.to_string()))?;
    let Value::Object(fields) = value else {
        return Err(Rejection::NotAnObject {
            found: kind(&value),
        });
    };
    let sensor_id = match fields.get("sensorid") {
        None | Some(Value::Null) => return Err(Rejection::MissingField("sensorid")),
        Some(Value::String(id)) => id.clone(),
        Some(other) => return Err(wrong_type("sensorid", "a string", other)),
    };
    reading::validate_sensor_id(&sensor_id)?;
    let value = match fields.get("value") {
        None | Some(Value::Null) => return Err(Rejection::MissingField("value")),
        Some(Value::Number(n)) => reading::validate_value(n.as_f64().unwrap())?,
        Some(Value::String(text)) => reading::parse_value_text(text)?,
        Some(other) => return Err(wrong_type("value", "a number or numeric string", other)),
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
        Some(other) => return Err(wrong_type("timestamp", "an RFC 3339 string", other)),
    };
    Ok(Reading {
        sensor_id,
        timestamp,
        value,
    })
}

fn wrong_type(field: &'static str, expected: &'static str, found: &Value) -> Rejection {
    Rejection::WrongType {
        field,
        expected,
        found: kind(found),
    }
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

/// The reading written back as a device would send it decodes to itself: the value as a JSON
/// number, and as the text the table stores (`number_text`).
fn round_trips(reading: &Reading, arrival: Timestamp) {
    let timestamp = reading.timestamp.to_text();
    for value in [json!(reading.value), json!(number_text(reading.value))] {
        let payload =
            json!({"sensorid": reading.sensor_id, "value": value, "timestamp": timestamp});
        let again = decode(payload.to_string().as_bytes(), arrival);
        assert_eq!(again.as_ref(), Ok(reading), "re-encoded as {payload}");
    }
}

/// The record twice in one batch, then archived.
fn batch_and_archive(data: &[u8], arrival: DateTime<Utc>, alone: &Result<Reading, Rejection>) {
    let source = RecordSource::demo();
    let records = vec![
        source.record("1", "fuzz", data.to_vec(), arrival),
        source.record("2", "fuzz", data.to_vec(), arrival),
    ];
    let outcomes = decode_batch(&records);
    let first = if alone.is_ok() {
        Err(Rejection::Superseded)
    } else {
        alone.clone()
    };
    assert_eq!(outcomes, vec![first, alone.clone()], "batch decoding");

    let object = archive_object(&records).unwrap();
    let body: ArchiveBody<'_> = serde_json::from_slice(&object.body).unwrap();
    assert_eq!(body.records.len(), records.len());
    for archived in &body.records {
        assert_eq!(archived.bytes().unwrap(), data, "the archive lost bytes");
    }
}
