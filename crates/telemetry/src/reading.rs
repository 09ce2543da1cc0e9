//! A validated sensor reading, and every reason a stream record can be refused.
//!
//! The rules, each with its own [`Rejection`]:
//! - sensor id: 1 to [`MAX_SENSOR_ID_CHARS`] characters, no control characters. Any other
//!   Unicode is kept as sent (quotes, backslashes and non-Latin text included).
//! - value: a JSON number or a string holding one (the 2015 page sent the text as typed),
//!   finite, and zero or with a magnitude from [`MIN_ABS_VALUE`] to [`MAX_ABS_VALUE`]: CloudWatch
//!   refuses magnitudes above 2^360 and below 2^-360, and DynamoDB's numbers stop at 1e-130. A
//!   value outside both would fail the whole write it travels in, so it is refused on its own.
//!   Text with more digits than an f64 holds (`1e400`) is such a value too, not an infinity.
//! - timestamp: RFC 3339, between the years 2000 and 9999, and no more than
//!   [`MAX_CLOCK_SKEW_MS`] after the record reached the stream; absent means the arrival time.

use crate::timestamp::Timestamp;

/// Longest sensor id, in characters. Kinesis allows 256 for a partition key, and DynamoDB 2048
/// bytes for a hash key; 128 characters of up to 4 bytes each stays well inside both.
pub const MAX_SENSOR_ID_CHARS: usize = 128;
/// Largest magnitude a value may have.
pub const MAX_ABS_VALUE: f64 = 1e100;
/// Smallest magnitude a value other than zero may have.
pub const MIN_ABS_VALUE: f64 = 1e-100;
/// How far in the future of its arrival a reading may claim to be: device clocks drift, but a
/// reading from tomorrow would sit on top of every query for a day.
pub const MAX_CLOCK_SKEW_MS: i64 = 15 * 60 * 1000;

/// A reading that passed every rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub sensor_id: String,
    pub timestamp: Timestamp,
    pub value: f64,
}

/// Why a record did not become a reading. Each is final: retrying the record cannot fix it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Rejection {
    #[error("payload is not UTF-8 text")]
    NotUtf8,
    #[error("payload is not JSON: {0}")]
    NotJson(String),
    #[error("payload is JSON {found}, expected an object")]
    NotAnObject { found: &'static str },
    #[error("field `{0}` is missing")]
    MissingField(&'static str),
    #[error("field `{field}` is {found}, expected {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
        found: &'static str,
    },
    #[error("sensor id is empty")]
    EmptySensorId,
    #[error("sensor id has {chars} characters, at most {MAX_SENSOR_ID_CHARS} are allowed")]
    SensorIdTooLong { chars: usize },
    #[error("sensor id contains a control character")]
    SensorIdControlCharacter,
    #[error("value {0:?} is not a number")]
    ValueNotNumeric(String),
    #[error("value is not finite")]
    ValueNotFinite,
    /// The value as written: the text that was sent, or a number in Rust's `{:e}` form.
    #[error("value {0} is outside the magnitudes {MIN_ABS_VALUE:e} to {MAX_ABS_VALUE:e}")]
    ValueOutOfRange(String),
    #[error("timestamp {text:?} is invalid: {reason}")]
    BadTimestamp { text: String, reason: String },
    #[error(
        "timestamp {timestamp} is more than 15 minutes after the record's arrival at {arrival}"
    )]
    TimestampInFuture {
        timestamp: Timestamp,
        arrival: Timestamp,
    },
    #[error("record arrival time is outside the supported years")]
    BadArrivalTime,
    #[error("superseded by a later record in the batch with the same sensor id and timestamp")]
    Superseded,
}

impl Rejection {
    /// A short, stable name for counting and log fields.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotUtf8 => "not_utf8",
            Self::NotJson(_) => "not_json",
            Self::NotAnObject { .. } => "not_an_object",
            Self::MissingField(_) => "missing_field",
            Self::WrongType { .. } => "wrong_type",
            Self::EmptySensorId => "empty_sensor_id",
            Self::SensorIdTooLong { .. } => "sensor_id_too_long",
            Self::SensorIdControlCharacter => "sensor_id_control_character",
            Self::ValueNotNumeric(_) => "value_not_numeric",
            Self::ValueNotFinite => "value_not_finite",
            Self::ValueOutOfRange(_) => "value_out_of_range",
            Self::BadTimestamp { .. } => "bad_timestamp",
            Self::TimestampInFuture { .. } => "timestamp_in_future",
            Self::BadArrivalTime => "bad_arrival_time",
            Self::Superseded => "superseded",
        }
    }
}

/// Checks a sensor id against the rules above.
pub fn validate_sensor_id(id: &str) -> Result<(), Rejection> {
    if id.is_empty() {
        return Err(Rejection::EmptySensorId);
    }
    // An id of at most that many bytes has at most that many characters: the usual case skips
    // counting. Counting stops one past the limit, so a huge id costs no more than a legal one.
    if id.len() > MAX_SENSOR_ID_CHARS
        && id.chars().take(MAX_SENSOR_ID_CHARS + 1).count() > MAX_SENSOR_ID_CHARS
    {
        return Err(Rejection::SensorIdTooLong {
            chars: id.chars().count(),
        });
    }
    if id.chars().any(char::is_control) {
        return Err(Rejection::SensorIdControlCharacter);
    }
    Ok(())
}

/// Checks a value against the rules above.
pub fn validate_value(value: f64) -> Result<f64, Rejection> {
    if !value.is_finite() {
        return Err(Rejection::ValueNotFinite);
    }
    if !in_range(value) {
        return Err(Rejection::ValueOutOfRange(format!("{value:e}")));
    }
    Ok(value)
}

fn in_range(value: f64) -> bool {
    let magnitude = value.abs();
    magnitude == 0.0 || (MIN_ABS_VALUE..=MAX_ABS_VALUE).contains(&magnitude)
}

/// Parses a value sent as text, as the 2015 page did; surrounding spaces are forgiven.
pub fn parse_value_text(text: &str) -> Result<f64, Rejection> {
    let trimmed = text.trim();
    // Rust also parses "inf" and "NaN"; those are numbers to it but not to a sensor.
    let looks_numeric = trimmed
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    match trimmed.parse::<f64>() {
        // Digits parse to infinity only when there are too many of them: out of range, as the
        // text says, not "not finite".
        Ok(value) if looks_numeric => {
            if value.is_finite() && in_range(value) {
                Ok(value)
            } else {
                Err(Rejection::ValueOutOfRange(trimmed.to_owned()))
            }
        }
        Ok(_) => Err(Rejection::ValueNotFinite),
        Err(_) => Err(Rejection::ValueNotNumeric(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensor_id_rules() {
        assert_eq!(validate_sensor_id(""), Err(Rejection::EmptySensorId));
        assert_eq!(validate_sensor_id(&"é".repeat(128)), Ok(()));
        assert_eq!(
            validate_sensor_id(&"é".repeat(129)),
            Err(Rejection::SensorIdTooLong { chars: 129 })
        );
        assert_eq!(
            validate_sensor_id("a\nb"),
            Err(Rejection::SensorIdControlCharacter)
        );
        assert_eq!(validate_sensor_id("q\"uo\\te 温度"), Ok(()));
    }

    #[test]
    fn value_text_rules() {
        assert_eq!(parse_value_text(" 21.5 "), Ok(21.5));
        assert_eq!(parse_value_text("-1e3"), Ok(-1000.0));
        assert_eq!(parse_value_text("NaN"), Err(Rejection::ValueNotFinite));
        assert_eq!(parse_value_text("inf"), Err(Rejection::ValueNotFinite));
        assert_eq!(
            parse_value_text("1e308"),
            Err(Rejection::ValueOutOfRange("1e308".into()))
        );
        assert_eq!(
            parse_value_text(" 1e400 "),
            Err(Rejection::ValueOutOfRange("1e400".into()))
        );
        assert_eq!(
            parse_value_text("-1e-200"),
            Err(Rejection::ValueOutOfRange("-1e-200".into()))
        );
        assert_eq!(
            validate_value(-1.797e308),
            Err(Rejection::ValueOutOfRange("-1.797e308".into()))
        );
        assert_eq!(
            parse_value_text("0x10"),
            Err(Rejection::ValueNotNumeric("0x10".into()))
        );
        assert_eq!(parse_value_text("1e-100"), Ok(1e-100));
        assert_eq!(parse_value_text("-0"), Ok(0.0));
        assert_eq!(
            parse_value_text("warm"),
            Err(Rejection::ValueNotNumeric("warm".into()))
        );
        assert_eq!(
            parse_value_text(""),
            Err(Rejection::ValueNotNumeric(String::new()))
        );
    }
}
