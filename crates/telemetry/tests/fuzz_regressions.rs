#![allow(clippy::unwrap_used, clippy::expect_used)]
//! What the fuzz targets found, each kept as the input that showed it (fuzz/, scripts/fuzz).

use serde_json::json;
use telemetry::Timestamp;
use telemetry::item::number_text;
use telemetry::payload::decode;

fn arrival() -> Timestamp {
    Timestamp::parse("2015-09-20T10:11:13.000Z").unwrap()
}

/// payload_decode: the value text "-1e-050" was read as -1e-50 by Rust's parser, but the same
/// reading re-encoded as the JSON number `-1e-50` came back as -9.999999999999999e-51:
/// serde_json's default float parsing is not always the nearest f64. `float_roundtrip` (the
/// root manifest) makes a JSON number read as its nearest f64.
#[test]
fn json_number_minus_1e_minus_50_is_read_as_the_nearest_f64() {
    let crash = br#"{"sensorid":"s","value":"-1e-050","timestamp":"2015-09-20T10:11:01.3245Z"}"#;
    let reading = decode(crash, arrival()).unwrap();
    assert_eq!(reading.value, -1e-50);
    for payload in [
        json!({"sensorid": "s", "value": reading.value, "timestamp": reading.timestamp.to_text()}),
        json!({"sensorid": "s", "value": number_text(reading.value)}),
    ] {
        let again = decode(payload.to_string().as_bytes(), arrival()).unwrap();
        assert_eq!(again.value, -1e-50, "{payload}");
    }
    let as_number = decode(br#"{"sensorid":"s","value":-1e-50}"#, arrival()).unwrap();
    assert_eq!(as_number.value.to_bits(), (-1e-50f64).to_bits());
}
