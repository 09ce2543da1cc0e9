//! The DynamoDB item of a reading: `SensorId` (S, hash key), `Timestamp` (S, range key, the
//! normalised text form) and `Value` (N, a number, where the 2015 functions stored text).

use crate::reading::Reading;
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};

/// The hash key attribute.
pub const SENSOR_ID: &str = "SensorId";
/// The range key attribute.
pub const TIMESTAMP: &str = "Timestamp";
/// The value attribute.
pub const VALUE: &str = "Value";

/// A reading as the table holds it, and as the query API answers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SensorItem {
    #[serde(rename = "SensorId")]
    pub sensor_id: String,
    #[serde(rename = "Timestamp")]
    pub timestamp: Timestamp,
    #[serde(rename = "Value")]
    pub value: f64,
}

/// A value's text as DynamoDB's `N` holds it: the shortest text that reads back as the same
/// `f64`, in plain decimal notation, as `value.to_string()` (and so serde_dynamo) writes it, at a
/// quarter of the cost; it runs once per stored reading. Where two shortest texts read back the
/// same (one value in thousands, at 17 digits) the last digit may differ from `to_string()`'s.
pub fn number_text(value: f64) -> String {
    let mut buffer = zmij::Buffer::new();
    let text = buffer.format(value);
    if text.contains(['e', 'n', 'N']) {
        // Exponent form (very large or very small magnitudes) or a non-finite value: rare, and
        // the standard formatter writes it out in plain digits.
        return value.to_string();
    }
    text.strip_suffix(".0").unwrap_or(text).to_owned()
}

impl From<Reading> for SensorItem {
    fn from(reading: Reading) -> Self {
        Self {
            sensor_id: reading.sensor_id,
            timestamp: reading.timestamp,
            value: reading.value,
        }
    }
}

impl From<SensorItem> for Reading {
    fn from(item: SensorItem) -> Self {
        Self {
            sensor_id: item.sensor_id,
            timestamp: item.timestamp,
            value: item.value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::number_text;

    #[test]
    fn number_text_is_the_shortest_plain_decimal_that_reads_back() {
        let check = |value: f64| {
            let text = number_text(value);
            let standard = value.to_string();
            assert_eq!(text.parse::<f64>(), Ok(value), "{value:e} as {text}");
            assert!(!text.contains(['e', 'E']), "{text}");
            assert_eq!(text.len(), standard.len(), "{text} beside {standard}");
            text == standard
        };
        let fixed = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            21.5,
            0.1,
            1e15,
            1e16,
            1e17,
            1e-5,
            1e-7,
            123456.789,
            1e100,
            -1e-100,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            0.30000000000000004,
        ];
        for value in fixed {
            assert!(check(value), "{value:e}");
        }
        // Random bit patterns cover every exponent; random decimals cover what sensors send,
        // and those always come out as the standard text.
        let mut rng = fastrand::Rng::with_seed(7);
        let mut differing = 0;
        for _ in 0..200_000 {
            let value = f64::from_bits(rng.u64(..));
            if value.is_finite() && !check(value) {
                differing += 1;
            }
            let reading = f64::from(rng.i32(-10_000_000..10_000_000)) / 1000.0;
            assert!(check(reading), "{reading}");
        }
        assert!(
            differing < 1_000,
            "{differing} of 200,000 differ from to_string()"
        );
    }
}
