//! CloudWatch metric datums for a batch.
//!
//! Readings are aggregated per sensor and minute into statistic sets (count, sum, min, max).
//! Standard-resolution metrics are stored per minute anyway, so nothing a dashboard can show is
//! lost, and a batch of 500 readings from one sensor becomes a handful of datums instead of 500
//! (the 2015 writer sent one datum per reading). Two counters per batch say how many readings
//! were accepted and rejected.
//!
//! Each distinct dimension set is a custom metric, billed by the month (about $0.30 each at
//! us-east-1 list prices), so per-sensor metrics cost as much as the rest of the stack at a
//! few thousand sensors. [`SensorMetrics::StackWide`] publishes one `SensorData` for all
//! sensors instead.

use crate::reading::Reading;
use crate::timestamp::Timestamp;
use std::collections::BTreeMap;

/// The namespace the stack publishes to.
pub const DEFAULT_NAMESPACE: &str = "Sensors";
/// The per-sensor metric, as in 2015.
pub const SENSOR_DATA: &str = "SensorData";
/// The dimension naming the sensor.
pub const SENSOR_ID_DIMENSION: &str = "SensorId";
/// Readings stored, per batch.
pub const READINGS_ACCEPTED: &str = "ReadingsAccepted";
/// Records refused for good, per batch.
pub const READINGS_REJECTED: &str = "ReadingsRejected";
/// PutMetricData takes at most this many datums per call.
pub const MAX_DATUMS_PER_CALL: usize = 1000;
/// CloudWatch refuses datums older than two weeks...
const MAX_AGE_MS: i64 = 14 * 24 * 3600 * 1000;
/// ...or more than two hours ahead.
const MAX_AHEAD_MS: i64 = 2 * 3600 * 1000;

/// How the readings' values are published.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SensorMetrics {
    /// `SensorData` with a `SensorId` dimension: one custom metric per sensor, as in 2015.
    #[default]
    PerSensor,
    /// One `SensorData` without dimensions, of every sensor's readings: one custom metric.
    StackWide,
}

impl SensorMetrics {
    /// The writer's environment variable that names it.
    pub const VARIABLE: &'static str = "SENSOR_METRICS";

    /// Its value in [`SensorMetrics::VARIABLE`].
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PerSensor => "per-sensor",
            Self::StackWide => "stack",
        }
    }

    /// The setting [`SensorMetrics::as_str`] names.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "per-sensor" => Ok(Self::PerSensor),
            "stack" => Ok(Self::StackWide),
            other => Err(format!(
                "{} is `{other}`; it takes per-sensor or stack",
                Self::VARIABLE
            )),
        }
    }
}

/// Count, sum, minimum and maximum of a set of values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Statistics {
    pub count: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl Statistics {
    /// The set of one value.
    pub fn of(value: f64) -> Self {
        Self {
            count: 1.0,
            sum: value,
            min: value,
            max: value,
        }
    }

    /// Adds one value.
    pub fn add(&mut self, value: f64) {
        self.merge(&Self::of(value));
    }

    /// Adds another set's values.
    pub fn merge(&mut self, other: &Self) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

/// The unit of a datum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Sensor values have no unit we know of.
    None,
    Count,
}

/// One datum for PutMetricData.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricDatum {
    pub name: &'static str,
    /// The `SensorId` dimension, for per-sensor datums.
    pub sensor_id: Option<String>,
    pub timestamp: Timestamp,
    pub statistics: Statistics,
    pub unit: Unit,
}

/// A datum and the position in the batch of the first record it covers: if publishing it fails,
/// the batch must be retried from there.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedDatum {
    pub datum: MetricDatum,
    pub first_position: usize,
}

/// The datums for a batch: the values' statistics per minute (and per sensor, with
/// [`SensorMetrics::PerSensor`]), then the two counters.
///
/// `readings` are `(position, reading)` pairs in position order. Readings whose time CloudWatch
/// would refuse (see the constants) are left out of `SensorData`; they are still stored.
pub fn plan_datums<'a>(
    readings: impl IntoIterator<Item = (usize, &'a Reading)>,
    rejected: usize,
    now: Timestamp,
    sensor_metrics: SensorMetrics,
) -> Vec<PlannedDatum> {
    let mut groups: BTreeMap<(Option<&str>, Timestamp), (Statistics, usize)> = BTreeMap::new();
    let mut accepted = 0usize;
    let mut first_position = usize::MAX;
    for (position, reading) in readings {
        accepted += 1;
        first_position = first_position.min(position);
        let age = now.millis() - reading.timestamp.millis();
        if age > MAX_AGE_MS || -age > MAX_AHEAD_MS {
            continue;
        }
        let sensor = match sensor_metrics {
            SensorMetrics::PerSensor => Some(reading.sensor_id.as_str()),
            SensorMetrics::StackWide => None,
        };
        groups
            .entry((sensor, reading.timestamp.minute_start()))
            .and_modify(|(stats, _)| stats.add(reading.value))
            .or_insert((Statistics::of(reading.value), position));
    }

    let mut planned: Vec<PlannedDatum> = groups
        .into_iter()
        .map(
            |((sensor_id, minute), (statistics, first_position))| PlannedDatum {
                datum: MetricDatum {
                    name: SENSOR_DATA,
                    sensor_id: sensor_id.map(str::to_owned),
                    timestamp: minute,
                    statistics,
                    unit: Unit::None,
                },
                first_position,
            },
        )
        .collect();
    let first_position = if first_position == usize::MAX {
        0
    } else {
        first_position
    };
    for (name, count) in [(READINGS_ACCEPTED, accepted), (READINGS_REJECTED, rejected)] {
        planned.push(PlannedDatum {
            datum: MetricDatum {
                name,
                sensor_id: None,
                timestamp: now,
                statistics: Statistics::of(count as f64),
                unit: Unit::Count,
            },
            first_position,
        });
    }
    planned
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(id: &str, ts: &str, value: f64) -> Reading {
        Reading {
            sensor_id: id.into(),
            timestamp: Timestamp::parse(ts).unwrap_or_else(|e| panic!("{e}")),
            value,
        }
    }

    #[test]
    fn aggregates_per_sensor_and_minute() {
        let now = Timestamp::parse("2026-01-01T00:10:00Z").unwrap_or_else(|e| panic!("{e}"));
        let readings = [
            reading("a", "2026-01-01T00:01:01Z", 1.0),
            reading("a", "2026-01-01T00:01:59Z", 3.0),
            reading("a", "2026-01-01T00:02:00Z", 5.0),
            reading("b", "2026-01-01T00:01:30Z", -2.0),
            reading("old", "2025-01-01T00:00:00Z", 9.0),
        ];
        let planned = plan_datums(
            readings.iter().enumerate(),
            4,
            now,
            SensorMetrics::PerSensor,
        );
        let sensor: Vec<_> = planned
            .iter()
            .filter(|p| p.datum.name == SENSOR_DATA)
            .collect();
        assert_eq!(
            sensor.len(),
            3,
            "a@00:01, a@00:02, b@00:01; the year-old reading is left out"
        );
        let a1 = &sensor[0];
        assert_eq!(a1.datum.sensor_id.as_deref(), Some("a"));
        assert_eq!(
            a1.datum.statistics,
            Statistics {
                count: 2.0,
                sum: 4.0,
                min: 1.0,
                max: 3.0
            }
        );
        assert_eq!(a1.first_position, 0);
        let counters: Vec<_> = planned
            .iter()
            .filter(|p| p.datum.unit == Unit::Count)
            .collect();
        assert_eq!(counters[0].datum.statistics.sum, 5.0);
        assert_eq!(counters[1].datum.statistics.sum, 4.0);
    }

    #[test]
    fn stack_wide_metrics_are_one_series_of_every_sensor() {
        let now = Timestamp::parse("2026-01-01T00:10:00Z").unwrap_or_else(|e| panic!("{e}"));
        let readings = [
            reading("a", "2026-01-01T00:01:01Z", 1.0),
            reading("b", "2026-01-01T00:01:30Z", -2.0),
            reading("c", "2026-01-01T00:02:00Z", 5.0),
        ];
        let planned = plan_datums(
            readings.iter().enumerate(),
            0,
            now,
            SensorMetrics::StackWide,
        );
        let values: Vec<_> = planned
            .iter()
            .filter(|p| p.datum.name == SENSOR_DATA)
            .map(|p| {
                (
                    p.datum.sensor_id.clone(),
                    p.datum.statistics,
                    p.first_position,
                )
            })
            .collect();
        let set = |count: f64, sum: f64, min: f64, max: f64| Statistics {
            count,
            sum,
            min,
            max,
        };
        assert_eq!(
            values,
            [
                (None, set(2.0, -1.0, -2.0, 1.0), 0),
                (None, set(1.0, 5.0, 5.0, 5.0), 2)
            ]
        );
        assert_eq!(planned.len(), 4, "and the two counters");
        for (text, setting) in [
            ("per-sensor", SensorMetrics::PerSensor),
            ("stack", SensorMetrics::StackWide),
        ] {
            assert_eq!(SensorMetrics::parse(text), Ok(setting));
            assert_eq!(setting.as_str(), text);
        }
        let Err(refused) = SensorMetrics::parse("none") else {
            panic!("`none` was taken");
        };
        assert!(
            refused.contains("SENSOR_METRICS is `none`") && refused.contains("per-sensor or stack"),
            "{refused}"
        );
    }
}
