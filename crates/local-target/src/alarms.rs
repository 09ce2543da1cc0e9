//! The stack's alarms on the local target: the same alarms as the template's (the deployer
//! derives them from one list), evaluated over the metrics store as CloudWatch evaluates
//! them. An alarm is in ALARM when each of its last `periods` periods breaches the threshold;
//! a period without data does not breach, as `TreatMissingData: notBreaching` says ("Using
//! Amazon CloudWatch alarms", "Configuring how CloudWatch alarms treat missing data",
//! CloudWatch User Guide). The periods end now rather than on CloudWatch's aligned
//! boundaries: locally an alarm reacts at once, where AWS's waits for its period to close.
//!
//! The running target writes each evaluation to the state folder ([`AlarmReport`]), where
//! `deploy status --local` reads it.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::storage::StorageError;
use crate::storage::metrics::{MetricId, SqliteMetrics};

/// One alarm.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalAlarm {
    /// The alarm's name, as on AWS.
    pub name: String,
    /// What it means and where to look.
    pub description: String,
    pub watch: Watch,
    pub threshold: f64,
    pub comparison: Comparison,
    /// Periods looked at, each of which must breach.
    pub periods: u32,
    pub period: Duration,
}

/// What an alarm watches.
#[derive(Clone, Debug, PartialEq)]
pub enum Watch {
    /// One metric's statistic per period.
    Metric {
        metric: MetricId,
        statistic: Statistic,
    },
    /// `100 × part / (part + rest)` of the two metrics' sums per period; a period where both
    /// are missing has no value.
    Percent { part: MetricId, rest: MetricId },
}

/// The statistics alarms use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Statistic {
    Sum,
    Maximum,
    Average,
}

/// How the value is compared with the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    GreaterThanOrEqualToThreshold,
    GreaterThanThreshold,
}

impl Comparison {
    fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::GreaterThanOrEqualToThreshold => value >= threshold,
            Self::GreaterThanThreshold => value > threshold,
        }
    }

    fn symbol(self, breaching: bool) -> &'static str {
        match (self, breaching) {
            (Self::GreaterThanOrEqualToThreshold, true) => ">=",
            (Self::GreaterThanOrEqualToThreshold, false) => "<",
            (Self::GreaterThanThreshold, true) => ">",
            (Self::GreaterThanThreshold, false) => "<=",
        }
    }
}

/// An alarm's state: CloudWatch's names. With missing data treated as not breaching, a
/// local alarm is never INSUFFICIENT_DATA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Ok,
    Alarm,
}

impl std::fmt::Display for AlarmState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Ok => "OK",
            Self::Alarm => "ALARM",
        })
    }
}

/// One alarm as evaluated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlarmStatus {
    pub name: String,
    pub state: AlarmState,
    /// Why, with the values looked at.
    pub reason: String,
    pub description: String,
}

/// One evaluation of every alarm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlarmReport {
    /// When, in ms since the epoch.
    pub evaluated_at_ms: i64,
    pub alarms: Vec<AlarmStatus>,
}

impl AlarmReport {
    /// The alarms in ALARM.
    pub fn in_alarm(&self) -> impl Iterator<Item = &AlarmStatus> {
        self.alarms
            .iter()
            .filter(|alarm| alarm.state == AlarmState::Alarm)
    }

    /// The alarms whose state differs from `before`'s (an alarm `before` lacks was OK).
    pub fn changed_since<'a>(
        &'a self,
        before: Option<&'a AlarmReport>,
    ) -> impl Iterator<Item = &'a AlarmStatus> {
        self.alarms.iter().filter(move |alarm| {
            let was = before
                .and_then(|before| before.alarms.iter().find(|old| old.name == alarm.name))
                .map_or(AlarmState::Ok, |old| old.state);
            was != alarm.state
        })
    }

    /// Writes the report to `path` whole or not at all (mode 0600, like the rest of the
    /// state). Blocking.
    pub fn write(&self, path: &Path) -> Result<(), StorageError> {
        let folder = path.parent().unwrap_or(Path::new("."));
        let write = || -> std::io::Result<()> {
            let mut file = tempfile::NamedTempFile::new_in(folder)?;
            file.write_all(&serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
            file.persist(path).map_err(|err| err.error)?;
            Ok(())
        };
        write().map_err(StorageError::io(path))
    }

    /// The report in `path`, or `None` if there is none. Blocking.
    pub fn read(path: &Path) -> Result<Option<Self>, StorageError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|err| {
                StorageError::io(path)(std::io::Error::new(std::io::ErrorKind::InvalidData, err))
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(StorageError::io(path)(err)),
        }
    }
}

/// Every alarm's state at `now_ms`. Blocking.
pub fn evaluate(
    store: &SqliteMetrics,
    alarms: &[LocalAlarm],
    now_ms: i64,
) -> Result<AlarmReport, StorageError> {
    let alarms = alarms
        .iter()
        .map(|alarm| evaluate_one(store, alarm, now_ms))
        .collect::<Result<_, _>>()?;
    Ok(AlarmReport {
        evaluated_at_ms: now_ms,
        alarms,
    })
}

fn evaluate_one(
    store: &SqliteMetrics,
    alarm: &LocalAlarm,
    now_ms: i64,
) -> Result<AlarmStatus, StorageError> {
    let period_ms = i64::try_from(alarm.period.as_millis()).unwrap_or(i64::MAX);
    let mut values = Vec::new();
    for back in 0..i64::from(alarm.periods) {
        let to = now_ms - back * period_ms + 1;
        values.push(value(store, &alarm.watch, to - period_ms, to)?);
    }
    let breaching = |value: &Option<f64>| {
        value.is_some_and(|value| alarm.comparison.breaches(value, alarm.threshold))
    };
    let state = if values.iter().all(breaching) {
        AlarmState::Alarm
    } else {
        AlarmState::Ok
    };
    let shown: Vec<String> = values
        .iter()
        .map(|value| value.map_or("no data".to_owned(), |value| format!("{}", rounded(value))))
        .collect();
    let window = humane(alarm.period);
    let reason = match (alarm.periods, values[0]) {
        (1, None) => format!("no data in the last {window} (not breaching)"),
        (1, Some(value)) => format!(
            "{} {} {} in the last {window}",
            rounded(value),
            alarm.comparison.symbol(breaching(&values[0])),
            alarm.threshold
        ),
        (n, _) => format!(
            "the last {n} periods of {window}, newest first: [{}]; each must be {} {}",
            shown.join(", "),
            alarm.comparison.symbol(true),
            alarm.threshold
        ),
    };
    Ok(AlarmStatus {
        name: alarm.name.clone(),
        state,
        reason,
        description: alarm.description.clone(),
    })
}

fn value(
    store: &SqliteMetrics,
    watch: &Watch,
    from_ms: i64,
    to_ms: i64,
) -> Result<Option<f64>, StorageError> {
    Ok(match watch {
        Watch::Metric { metric, statistic } => store
            .statistics_blocking(metric, from_ms, to_ms)?
            .map(|stats| match statistic {
                Statistic::Sum => stats.sum,
                Statistic::Maximum => stats.max,
                Statistic::Average => stats.sum / stats.count,
            }),
        Watch::Percent { part, rest } => {
            let part = store.statistics_blocking(part, from_ms, to_ms)?;
            let rest = store.statistics_blocking(rest, from_ms, to_ms)?;
            let sum = |stats: Option<telemetry::metrics::Statistics>| stats.map_or(0.0, |s| s.sum);
            let total = sum(part) + sum(rest);
            (total > 0.0).then(|| 100.0 * sum(part) / total)
        }
    })
}

/// Two decimals are enough to read a threshold crossing by.
fn rounded(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn humane(period: Duration) -> String {
    let seconds = period.as_secs();
    if seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} s")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use telemetry::metrics::Statistics;

    use super::*;
    use crate::storage::metrics::{Point, minute_of};

    const NOW: i64 = 1_800_000_000_000;

    fn point(metric: &MetricId, minute_ms: i64, value: f64) -> Point {
        Point {
            metric: metric.clone(),
            minute_ms: minute_of(minute_ms),
            unit: "Count",
            statistics: Statistics::of(value),
        }
    }

    fn alarm(watch: Watch, threshold: f64, periods: u32) -> LocalAlarm {
        LocalAlarm {
            name: "demo-alarm".to_owned(),
            description: "watch it".to_owned(),
            watch,
            threshold,
            comparison: Comparison::GreaterThanThreshold,
            periods,
            period: Duration::from_secs(300),
        }
    }

    #[test]
    fn an_alarm_goes_off_only_when_every_period_breaches_and_missing_data_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteMetrics::open(&dir.path().join("metrics.db"), "Sensors").unwrap();
        let throttled = MetricId::new("AWS/Kinesis", "ReadThrottled", [("StreamName", "s")]);
        let watch = Watch::Metric {
            metric: throttled.clone(),
            statistic: Statistic::Sum,
        };
        let quiet = evaluate(&store, &[alarm(watch.clone(), 0.0, 3)], NOW).unwrap();
        assert_eq!(quiet.alarms[0].state, AlarmState::Ok);
        // Two of three periods breach: still OK.
        store
            .add_blocking(&[
                point(&throttled, NOW, 2.0),
                point(&throttled, NOW - 300_000, 1.0),
            ])
            .unwrap();
        let two = evaluate(&store, &[alarm(watch.clone(), 0.0, 3)], NOW).unwrap();
        assert_eq!(two.alarms[0].state, AlarmState::Ok, "{:?}", two.alarms[0]);
        store
            .add_blocking(&[point(&throttled, NOW - 600_000, 4.0)])
            .unwrap();
        let three = evaluate(&store, &[alarm(watch.clone(), 0.0, 3)], NOW).unwrap();
        assert_eq!(three.alarms[0].state, AlarmState::Alarm);
        assert!(
            three.alarms[0].reason.contains("[2, 1, 4]"),
            "{}",
            three.alarms[0].reason
        );
        // Ten minutes on, the newest periods are empty: not breaching.
        let later = evaluate(&store, &[alarm(watch, 0.0, 3)], NOW + 600_000).unwrap();
        assert_eq!(later.alarms[0].state, AlarmState::Ok);
    }

    #[test]
    fn a_percentage_is_of_both_sums_and_has_no_value_without_either() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteMetrics::open(&dir.path().join("metrics.db"), "Sensors").unwrap();
        let part = MetricId::new("Sensors", "ReadingsRejected", []);
        let rest = MetricId::new("Sensors", "ReadingsAccepted", []);
        let watch = Watch::Percent {
            part: part.clone(),
            rest: rest.clone(),
        };
        let none = evaluate(&store, &[alarm(watch.clone(), 5.0, 1)], NOW).unwrap();
        assert_eq!(none.alarms[0].state, AlarmState::Ok);
        assert!(none.alarms[0].reason.contains("no data"));
        store
            .add_blocking(&[point(&part, NOW, 5.0), point(&rest, NOW, 95.0)])
            .unwrap();
        let five = evaluate(&store, &[alarm(watch.clone(), 5.0, 1)], NOW).unwrap();
        assert_eq!(five.alarms[0].state, AlarmState::Ok, "5 % is not above 5 %");
        assert_eq!(five.alarms[0].reason, "5 <= 5 in the last 5 min");
        store.add_blocking(&[point(&part, NOW, 1.0)]).unwrap();
        let six = evaluate(&store, &[alarm(watch, 5.0, 1)], NOW).unwrap();
        assert_eq!(six.alarms[0].state, AlarmState::Alarm);
        assert_eq!(six.alarms[0].reason, "5.94 > 5 in the last 5 min");
    }

    #[test]
    fn a_report_survives_the_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alarms.json");
        assert_eq!(AlarmReport::read(&path).unwrap(), None);
        let report = AlarmReport {
            evaluated_at_ms: NOW,
            alarms: vec![AlarmStatus {
                name: "a".to_owned(),
                state: AlarmState::Alarm,
                reason: "1 >= 1".to_owned(),
                description: "d".to_owned(),
            }],
        };
        report.write(&path).unwrap();
        assert_eq!(AlarmReport::read(&path).unwrap(), Some(report.clone()));
        assert_eq!(report.in_alarm().count(), 1);
        std::fs::write(&path, b"{").unwrap();
        assert!(AlarmReport::read(&path).is_err());
    }
}
