//! The metrics store: what CloudWatch keeps, statistic sets per metric (namespace, name,
//! dimensions) and minute, so that the local target can show and alarm on the same numbers.
//! The writer's datums land here through the [`Metrics`] port, in the stack's namespace; what
//! AWS itself would publish for the stack's resources comes from [`crate::signals`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, params};
use telemetry::metrics::{MetricDatum, SENSOR_ID_DIMENSION, Statistics, Unit};
use telemetry::ports::{Metrics, PortError};

use crate::storage::{StorageError, open_sqlite, port_call};

/// A metric's identity, as CloudWatch's: namespace, name and dimensions. Dimensions are kept
/// sorted by name, so one metric has one identity whatever order it was named in.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricId {
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<(String, String)>,
}

impl MetricId {
    /// The metric `name` of `namespace` with `dimensions` (name, value).
    pub fn new<'a>(
        namespace: &str,
        name: &str,
        dimensions: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let mut dimensions: Vec<(String, String)> = dimensions
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        dimensions.sort();
        Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            dimensions,
        }
    }

    /// The dimensions as one column: a JSON array of pairs, unambiguous whatever the values hold.
    fn dimensions_column(&self) -> String {
        serde_json::to_string(&self.dimensions).unwrap_or_default()
    }
}

/// The start of the minute `ms` falls in (ms since the epoch): CloudWatch's standard
/// resolution, which every local metric is stored at.
pub fn minute_of(ms: i64) -> i64 {
    ms.div_euclid(60_000) * 60_000
}

/// One point to add: a statistic set for one metric and minute.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub metric: MetricId,
    /// The minute's start, ms since the epoch.
    pub minute_ms: i64,
    /// CloudWatch's unit name, such as `Count` or `Milliseconds`.
    pub unit: &'static str,
    pub statistics: Statistics,
}

/// One stored point: a minute's statistic set, and its unit.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredPoint {
    pub minute_ms: i64,
    pub unit: String,
    pub statistics: Statistics,
}

/// The metrics store.
#[derive(Clone, Debug)]
pub struct SqliteMetrics {
    path: PathBuf,
    /// The namespace the writer's datums are published in (the stack's).
    namespace: String,
    connection: Arc<Mutex<Connection>>,
}

impl SqliteMetrics {
    /// Opens or creates the store in `path`; the writer's datums go to `namespace`.
    pub fn open(path: &Path, namespace: &str) -> Result<Self, StorageError> {
        let connection = open_sqlite(path)?;
        connection
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS points (
                    namespace TEXT NOT NULL, name TEXT NOT NULL, dimensions TEXT NOT NULL,
                    minute_ms INTEGER NOT NULL, unit TEXT NOT NULL,
                    sample_count REAL NOT NULL, sum REAL NOT NULL,
                    minimum REAL NOT NULL, maximum REAL NOT NULL,
                    PRIMARY KEY (namespace, name, dimensions, minute_ms)) WITHOUT ROWID;",
            )
            .map_err(StorageError::at(path))?;
        Ok(Self {
            path: path.to_owned(),
            namespace: namespace.to_owned(),
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds the writer's datums to their series. Blocking.
    pub fn publish_blocking(&self, datums: &[MetricDatum]) -> Result<(), StorageError> {
        let points: Vec<Point> = datums
            .iter()
            .map(|datum| Point {
                metric: MetricId::new(
                    &self.namespace,
                    datum.name,
                    datum
                        .sensor_id
                        .as_deref()
                        .map(|sensor| (SENSOR_ID_DIMENSION, sensor)),
                ),
                minute_ms: minute_of(datum.timestamp.millis()),
                unit: match datum.unit {
                    Unit::None => "None",
                    Unit::Count => "Count",
                },
                statistics: datum.statistics,
            })
            .collect();
        self.add_blocking(&points)
    }

    /// Adds the points to their series, in one transaction. Blocking.
    pub fn add_blocking(&self, points: &[Point]) -> Result<(), StorageError> {
        let mut connection = self.lock();
        let error = StorageError::at(&self.path);
        let transaction = connection.transaction().map_err(&error)?;
        {
            let mut upsert = transaction
                .prepare_cached(
                    "INSERT INTO points VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (namespace, name, dimensions, minute_ms) DO UPDATE SET
                        sample_count = sample_count + excluded.sample_count,
                        sum = sum + excluded.sum,
                        minimum = min(minimum, excluded.minimum),
                        maximum = max(maximum, excluded.maximum)",
                )
                .map_err(&error)?;
            for point in points {
                let stats = point.statistics;
                upsert
                    .execute(params![
                        point.metric.namespace,
                        point.metric.name,
                        point.metric.dimensions_column(),
                        point.minute_ms,
                        point.unit,
                        stats.count,
                        stats.sum,
                        stats.min,
                        stats.max
                    ])
                    .map_err(&error)?;
            }
        }
        transaction.commit().map_err(&error)
    }

    /// The statistics of `metric` over the minutes starting in `[from_ms, to_ms)`, or `None`
    /// if it has no point there. Blocking.
    pub fn statistics_blocking(
        &self,
        metric: &MetricId,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Option<Statistics>, StorageError> {
        let points = self.points_blocking(metric, from_ms, to_ms)?;
        Ok(points
            .into_iter()
            .map(|point| point.statistics)
            .reduce(|mut all, next| {
                all.merge(&next);
                all
            }))
    }

    /// Every metric with a point, in identity order. Blocking.
    pub fn metric_ids_blocking(&self) -> Result<Vec<MetricId>, StorageError> {
        let connection = self.lock();
        let error = StorageError::at(&self.path);
        let mut statement = connection
            .prepare_cached(
                "SELECT DISTINCT namespace, name, dimensions FROM points
                 ORDER BY namespace, name, dimensions",
            )
            .map_err(&error)?;
        let rows = statement
            .query_map([], |row| {
                let dimensions: String = row.get(2)?;
                Ok(MetricId {
                    namespace: row.get(0)?,
                    name: row.get(1)?,
                    dimensions: serde_json::from_str(&dimensions).unwrap_or_default(),
                })
            })
            .map_err(&error)?;
        rows.collect::<Result<_, _>>().map_err(&error)
    }

    /// The points of `metric` whose minute starts in `[from_ms, to_ms)`, oldest first.
    /// Blocking.
    pub fn points_blocking(
        &self,
        metric: &MetricId,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<StoredPoint>, StorageError> {
        let connection = self.lock();
        let error = StorageError::at(&self.path);
        let mut statement = connection
            .prepare_cached(
                "SELECT minute_ms, unit, sample_count, sum, minimum, maximum FROM points
                 WHERE namespace = ?1 AND name = ?2 AND dimensions = ?3
                   AND minute_ms >= ?4 AND minute_ms < ?5 ORDER BY minute_ms",
            )
            .map_err(&error)?;
        let rows = statement
            .query_map(
                params![
                    metric.namespace,
                    metric.name,
                    metric.dimensions_column(),
                    from_ms,
                    to_ms
                ],
                |row| {
                    Ok(StoredPoint {
                        minute_ms: row.get(0)?,
                        unit: row.get(1)?,
                        statistics: Statistics {
                            count: row.get(2)?,
                            sum: row.get(3)?,
                            min: row.get(4)?,
                            max: row.get(5)?,
                        },
                    })
                },
            )
            .map_err(&error)?;
        rows.collect::<Result<_, _>>().map_err(&error)
    }
}

impl Metrics for SqliteMetrics {
    async fn publish(&self, datums: &[MetricDatum]) -> Result<(), PortError> {
        let store = self.clone();
        let datums = datums.to_vec();
        port_call("metrics write", move || store.publish_blocking(&datums)).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn points_of_one_metric_and_minute_add_up_and_windows_select_minutes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteMetrics::open(&dir.path().join("metrics.db"), "Sensors").unwrap();
        let errors = MetricId::new("AWS/Lambda", "Errors", [("FunctionName", "demo-writer")]);
        let other = MetricId::new("AWS/Lambda", "Errors", [("FunctionName", "demo-archiver")]);
        let point = |metric: &MetricId, minute_ms, value| Point {
            metric: metric.clone(),
            minute_ms,
            unit: "Count",
            statistics: Statistics::of(value),
        };
        store
            .add_blocking(&[
                point(&errors, 60_000, 1.0),
                point(&errors, 60_000, 3.0),
                point(&errors, 120_000, 0.0),
                point(&other, 60_000, 7.0),
            ])
            .unwrap();
        let first = store
            .statistics_blocking(&errors, 60_000, 120_000)
            .unwrap()
            .unwrap();
        assert_eq!(first.count, 2.0);
        assert_eq!((first.sum, first.min, first.max), (4.0, 1.0, 3.0));
        let both = store
            .statistics_blocking(&errors, 0, 180_000)
            .unwrap()
            .unwrap();
        assert_eq!((both.count, both.sum), (3.0, 4.0));
        assert_eq!(
            store
                .statistics_blocking(&errors, 180_000, 240_000)
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .points_blocking(&errors, i64::MIN, i64::MAX)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            store.metric_ids_blocking().unwrap(),
            [other.clone(), errors.clone()]
        );
        let window = store.points_blocking(&errors, 60_000, 120_000).unwrap();
        assert_eq!(window.len(), 1);
        assert_eq!(
            (window[0].minute_ms, window[0].unit.as_str()),
            (60_000, "Count")
        );
        assert_eq!(window[0].statistics.sum, 4.0);
        // Dimensions named in another order are the same metric.
        let a = MetricId::new("N", "M", [("B", "2"), ("A", "1")]);
        let b = MetricId::new("N", "M", [("A", "1"), ("B", "2")]);
        assert_eq!(a, b);
        assert_eq!(minute_of(119_999), 60_000);
        assert_eq!(minute_of(-1), -60_000);
    }
}
