//! Timestamps normalised to UTC with millisecond precision, written `YYYY-MM-DDTHH:MM:SS.sssZ`.
//!
//! The table's range key is text, so the text form must sort as time does: a fixed width, one
//! zone, four-digit years. [`Timestamp`] only holds instants for which that is true.

use chrono::{DateTime, Datelike, Timelike, Utc};
use std::fmt;

/// An instant in UTC, truncated to the millisecond, between [`Timestamp::min`] and
/// [`Timestamp::max`]. Held as milliseconds since the Unix epoch: the writer hashes and compares
/// one per record, and an integer is the cheapest form for both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Why a text could not become a [`Timestamp`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("not an RFC 3339 timestamp such as 2015-09-20T10:11:12.345Z ({0})")]
    Syntax(String),
    #[error("outside the supported years 2000 to 9999")]
    OutOfRange,
}

impl Timestamp {
    /// The earliest instant stored: readings from before 2000 are clock faults, not history.
    pub const MIN_YEAR: i32 = 2000;
    /// The last year whose text form keeps four digits.
    pub const MAX_YEAR: i32 = 9999;
    /// `2000-01-01T00:00:00.000Z` in milliseconds since the epoch.
    const MIN_MILLIS: i64 = 946_684_800_000;
    /// `9999-12-31T23:59:59.999Z` in milliseconds since the epoch.
    const MAX_MILLIS: i64 = 253_402_300_799_999;

    /// The earliest representable timestamp, `2000-01-01T00:00:00.000Z`.
    pub fn min() -> Self {
        Self(Self::MIN_MILLIS)
    }

    /// The latest representable timestamp, `9999-12-31T23:59:59.999Z`.
    pub fn max() -> Self {
        Self(Self::MAX_MILLIS)
    }

    /// Normalises an instant: truncated to the millisecond, rejected outside the supported years.
    pub fn from_datetime(instant: DateTime<Utc>) -> Result<Self, TimestampError> {
        Self::from_millis(instant.timestamp_millis())
    }

    /// An instant from milliseconds since the Unix epoch.
    pub fn from_millis(millis: i64) -> Result<Self, TimestampError> {
        if (Self::MIN_MILLIS..=Self::MAX_MILLIS).contains(&millis) {
            Ok(Self(millis))
        } else {
            Err(TimestampError::OutOfRange)
        }
    }

    /// Parses RFC 3339 text with any offset and normalises it to UTC.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        let parsed = DateTime::parse_from_rfc3339(text)
            .map_err(|err| TimestampError::Syntax(err.to_string()))?;
        Self::from_datetime(parsed.with_timezone(&Utc))
    }

    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// The instant as a chrono value.
    pub fn as_datetime(self) -> DateTime<Utc> {
        // Every value in range is representable, so the default is never used.
        DateTime::from_timestamp_millis(self.0).unwrap_or_default()
    }

    /// The same instant moved by `millis` milliseconds, or `None` outside the supported range.
    pub fn offset_millis(self, millis: i64) -> Option<Self> {
        Self::from_millis(self.0.checked_add(millis)?).ok()
    }

    /// The start of the minute holding this instant (CloudWatch's standard resolution).
    pub fn minute_start(self) -> Self {
        // Whole minutes from the epoch; 2000-01-01 is one, so the result stays in range.
        Self(self.0 - self.0.rem_euclid(60_000))
    }

    /// The calendar date, `YYYY-MM-DD`.
    pub fn date(self) -> String {
        let mut text = self.to_text();
        text.truncate(10);
        text
    }

    /// The text form as bytes, digit by digit: chrono's `format` interprets its pattern on every
    /// call, and `write!` with seven padded numbers is not much better; this runs once per stored
    /// reading.
    fn text(self) -> [u8; 24] {
        fn put(buf: &mut [u8], at: usize, width: usize, mut n: u32) {
            for i in (at..at + width).rev() {
                buf[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        }
        let t = self.as_datetime().naive_utc();
        let mut buf = *b"0000-00-00T00:00:00.000Z";
        // Years are 2000..=9999 by construction, so four digits always suffice.
        put(&mut buf, 0, 4, t.year().unsigned_abs());
        put(&mut buf, 5, 2, t.month());
        put(&mut buf, 8, 2, t.day());
        put(&mut buf, 11, 2, t.hour());
        put(&mut buf, 14, 2, t.minute());
        put(&mut buf, 17, 2, t.second());
        put(&mut buf, 20, 3, self.0.rem_euclid(1000) as u32);
        buf
    }

    /// The text form, `YYYY-MM-DDTHH:MM:SS.sssZ`, as the table's range key holds it. The same as
    /// `to_string()`, without going through a formatter.
    pub fn to_text(self) -> String {
        // Only ASCII digits and separators are written, so the empty fallback never happens.
        std::str::from_utf8(&self.text())
            .map(str::to_owned)
            .unwrap_or_default()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&self.text()).map_err(|_| fmt::Error)?)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_offsets_and_precision() {
        let ts =
            Timestamp::parse("2015-09-20T12:11:12.3456789+02:00").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ts.to_string(), "2015-09-20T10:11:12.345Z");
        let whole = Timestamp::parse("2015-09-20T10:11:12Z").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(whole.to_string(), "2015-09-20T10:11:12.000Z");
    }

    #[test]
    fn text_order_is_time_order() {
        let a = Timestamp::parse("2015-09-20T10:11:12.999Z").unwrap_or_else(|e| panic!("{e}"));
        let b = Timestamp::parse("2015-09-20T10:11:13.000Z").unwrap_or_else(|e| panic!("{e}"));
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
        assert!(Timestamp::min().to_string() < a.to_string());
        assert_eq!(Timestamp::max().to_string(), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn rejects_bad_text_and_years() {
        assert!(matches!(
            Timestamp::parse("yesterday"),
            Err(TimestampError::Syntax(_))
        ));
        assert!(matches!(
            Timestamp::parse("2015-09-20 10:11:12"),
            Err(TimestampError::Syntax(_))
        ));
        assert_eq!(
            Timestamp::parse("1999-12-31T23:59:59Z"),
            Err(TimestampError::OutOfRange)
        );
    }

    #[test]
    fn text_form_matches_chrono_formatting() {
        for text in [
            "2000-01-01T00:00:00.000Z",
            "2015-09-20T10:11:12.345Z",
            "9999-12-31T23:59:59.999Z",
            "2024-02-29T07:08:09.010Z",
        ] {
            let ts = Timestamp::parse(text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(ts.to_string(), text);
            assert_eq!(
                ts.to_string(),
                ts.as_datetime()
                    .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                    .to_string()
            );
        }
    }

    #[test]
    fn bounds_are_the_supported_years() {
        assert_eq!(Timestamp::min().to_string(), "2000-01-01T00:00:00.000Z");
        assert_eq!(Timestamp::max().to_string(), "9999-12-31T23:59:59.999Z");
        assert_eq!(Timestamp::min().offset_millis(-1), None);
        assert_eq!(Timestamp::max().offset_millis(1), None);
        assert_eq!(Timestamp::max().date(), "9999-12-31");
    }

    #[test]
    fn minute_start_truncates() {
        let ts = Timestamp::parse("2015-09-20T10:11:12.345Z").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ts.minute_start().to_string(), "2015-09-20T10:11:00.000Z");
    }
}
