//! The metrics store: what CloudWatch keeps of the datums, statistic sets aggregated per metric,
//! sensor and timestamp, so that the local target can show the same numbers.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, params};
use telemetry::metrics::{MetricDatum, Unit};
use telemetry::ports::{Metrics, PortError};

use crate::storage::{StorageError, open_sqlite, port_call};

/// The metrics store.
#[derive(Clone, Debug)]
pub struct SqliteMetrics {
    path: PathBuf,
    connection: Arc<Mutex<Connection>>,
}

/// One aggregated series point, as read back.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricPoint {
    pub name: String,
    /// The `SensorId` dimension, or empty for the counters.
    pub sensor_id: String,
    pub timestamp: String,
    pub sample_count: f64,
    pub sum: f64,
    pub minimum: f64,
    pub maximum: f64,
}

impl SqliteMetrics {
    /// Opens or creates the store in `path`.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let connection = open_sqlite(path)?;
        connection
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS datums (
                    name TEXT NOT NULL, sensor_id TEXT NOT NULL, timestamp TEXT NOT NULL,
                    unit TEXT NOT NULL, sample_count REAL NOT NULL, sum REAL NOT NULL,
                    minimum REAL NOT NULL, maximum REAL NOT NULL,
                    PRIMARY KEY (name, sensor_id, timestamp)) WITHOUT ROWID;",
            )
            .map_err(StorageError::at(path))?;
        Ok(Self {
            path: path.to_owned(),
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds the datums to their series. Blocking.
    pub fn publish_blocking(&self, datums: &[MetricDatum]) -> Result<(), StorageError> {
        let mut connection = self.lock();
        let error = StorageError::at(&self.path);
        let transaction = connection.transaction().map_err(&error)?;
        {
            let mut upsert = transaction
                .prepare_cached(
                    "INSERT INTO datums VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (name, sensor_id, timestamp) DO UPDATE SET
                        sample_count = sample_count + excluded.sample_count,
                        sum = sum + excluded.sum,
                        minimum = min(minimum, excluded.minimum),
                        maximum = max(maximum, excluded.maximum)",
                )
                .map_err(&error)?;
            for datum in datums {
                let unit = match datum.unit {
                    Unit::None => "None",
                    Unit::Count => "Count",
                };
                let stats = datum.statistics;
                upsert
                    .execute(params![
                        datum.name,
                        datum.sensor_id.as_deref().unwrap_or_default(),
                        datum.timestamp.to_string(),
                        unit,
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

    /// Every point of metric `name`, oldest first. Blocking.
    pub fn series_blocking(&self, name: &str) -> Result<Vec<MetricPoint>, StorageError> {
        let connection = self.lock();
        let error = StorageError::at(&self.path);
        let mut statement = connection
            .prepare(
                "SELECT sensor_id, timestamp, sample_count, sum, minimum, maximum FROM datums
                 WHERE name = ?1 ORDER BY timestamp, sensor_id",
            )
            .map_err(&error)?;
        let rows = statement
            .query_map([name], |row| {
                Ok(MetricPoint {
                    name: name.to_owned(),
                    sensor_id: row.get(0)?,
                    timestamp: row.get(1)?,
                    sample_count: row.get(2)?,
                    sum: row.get(3)?,
                    minimum: row.get(4)?,
                    maximum: row.get(5)?,
                })
            })
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
