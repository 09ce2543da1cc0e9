#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every case in fixtures/payloads.json decodes to its expected reading or its named rejection,
//! with the exact message where the case names one. The test page's copy of the rules
//! (testpage/reading.js) is held to the same file by testpage/test/validation.test.mjs.

mod support;

use base64::Engine;
use serde_json::Value;
use telemetry::Timestamp;
use telemetry::payload::decode;

#[test]
fn every_payload_fixture_decodes_as_expected() {
    let cases: Vec<Value> = serde_json::from_slice(&support::fixture("payloads.json")).unwrap();
    assert!(cases.len() >= 76, "fixture file lost cases");
    let mut rejections_seen = std::collections::BTreeSet::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let data = match (&case["data"], &case["data_base64"]) {
            (Value::String(text), _) => text.as_bytes().to_vec(),
            (_, Value::String(b64)) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
            _ => panic!("case {name} has no data"),
        };
        let arrival = Timestamp::parse(case["arrival"].as_str().unwrap()).unwrap();
        let outcome = decode(&data, arrival);
        match (&case["expect"], &case["reject"]) {
            (Value::Object(expect), _) => {
                let reading = outcome.unwrap_or_else(|r| panic!("case {name}: rejected: {r}"));
                assert_eq!(
                    reading.sensor_id,
                    expect["sensor_id"].as_str().unwrap(),
                    "case {name}"
                );
                assert_eq!(
                    reading.timestamp.to_string(),
                    expect["timestamp"].as_str().unwrap(),
                    "case {name}"
                );
                // Text for values serde_json's fast float parsing may not round exactly; the
                // writer parses text with Rust's own parser, which does.
                let expected = match &expect["value"] {
                    Value::String(text) => text.parse::<f64>().unwrap(),
                    number => number.as_f64().unwrap(),
                };
                assert_eq!(reading.value, expected, "case {name}");
            }
            (_, Value::String(code)) => {
                let rejection = outcome
                    .err()
                    .unwrap_or_else(|| panic!("case {name}: accepted"));
                assert_eq!(rejection.code(), code, "case {name}: {rejection}");
                assert!(!rejection.to_string().is_empty());
                if let Value::String(message) = &case["message"] {
                    assert_eq!(&rejection.to_string(), message, "case {name}");
                }
                rejections_seen.insert(code.clone());
            }
            _ => panic!("case {name} names neither expect nor reject"),
        }
    }
    for required in [
        "not_json",
        "not_utf8",
        "missing_field",
        "empty_sensor_id",
        "sensor_id_too_long",
        "value_not_numeric",
        "value_not_finite",
        "bad_timestamp",
        "wrong_type",
        "not_an_object",
        "sensor_id_control_character",
        "value_out_of_range",
        "timestamp_in_future",
    ] {
        assert!(
            rejections_seen.contains(required),
            "no fixture case for {required}"
        );
    }
}

#[test]
fn rejection_messages_name_the_problem() {
    let arrival = Timestamp::parse("2015-09-20T10:11:13Z").unwrap();
    let message = |data: &str| decode(data.as_bytes(), arrival).unwrap_err().to_string();
    assert_eq!(message(r#"{"value":1}"#), "field `sensorid` is missing");
    assert_eq!(
        message(r#"{"sensorid":1,"value":1}"#),
        "field `sensorid` is a number, expected a string"
    );
    assert_eq!(
        message(r#"{"sensorid":"s","value":"warm"}"#),
        r#"value "warm" is not a number"#
    );
    assert!(
        message(r#"{"sensorid":"s","value":1,"timestamp":"soon"}"#)
            .starts_with(r#"timestamp "soon" is invalid"#)
    );
}
