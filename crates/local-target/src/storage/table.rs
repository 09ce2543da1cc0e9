//! The embedded table with the DynamoDB contract of `<stack>-SensorData`: key (sensor id,
//! normalised timestamp), a reading with the key of a stored one replaces it, and queries
//! return one sensor's readings in a time range, newest first, in pages.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rusqlite::{Connection, params};
use telemetry::ports::{PartialWrite, PortError, ReadingStore};
use telemetry::query::StoreQuery;
use telemetry::reading::Reading;
use telemetry::timestamp::Timestamp;

use crate::owner_api::{SortCondition, TableItem, TableKey, TableQuery};
use crate::storage::{StorageError, open_sqlite, port_call};

/// The table. Writes and reads have a connection each, so a query never waits for a batch.
#[derive(Clone, Debug)]
pub struct SqliteTable {
    path: PathBuf,
    writer: Arc<Mutex<Connection>>,
    reader: Arc<Mutex<Connection>>,
}

impl SqliteTable {
    /// Opens or creates the table in `path`.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let writer = open_sqlite(path)?;
        // Text order of the normalised timestamps is time order, so the primary key serves
        // "newest first within a range" directly.
        writer
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS readings (
                    sensor_id TEXT NOT NULL, timestamp TEXT NOT NULL, value REAL NOT NULL,
                    PRIMARY KEY (sensor_id, timestamp)) WITHOUT ROWID;",
            )
            .map_err(StorageError::at(path))?;
        let reader = open_sqlite(path)?;
        Ok(Self {
            path: path.to_owned(),
            writer: Arc::new(Mutex::new(writer)),
            reader: Arc::new(Mutex::new(reader)),
        })
    }

    /// Stores the readings in one transaction. Blocking.
    pub fn put_blocking(&self, readings: &[Reading]) -> Result<(), StorageError> {
        let mut connection = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let error = StorageError::at(&self.path);
        let transaction = connection.transaction().map_err(&error)?;
        {
            let mut insert = transaction
                .prepare_cached(
                    "INSERT OR REPLACE INTO readings (sensor_id, timestamp, value)
                     VALUES (?1, ?2, ?3)",
                )
                .map_err(&error)?;
            for reading in readings {
                insert
                    .execute(params![
                        reading.sensor_id,
                        reading.timestamp.to_string(),
                        reading.value
                    ])
                    .map_err(&error)?;
            }
        }
        transaction.commit().map_err(&error)
    }

    /// The query of the [`ReadingStore`] port. Blocking.
    pub fn newest_blocking(&self, query: &StoreQuery) -> Result<Vec<Reading>, StorageError> {
        let connection = self
            .reader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let error = StorageError::at(&self.path);
        let mut statement = connection
            .prepare_cached(
                "SELECT timestamp, value FROM readings
                 WHERE sensor_id = ?1 AND timestamp BETWEEN ?2 AND ?3
                 ORDER BY timestamp DESC LIMIT ?4",
            )
            .map_err(&error)?;
        let rows = statement
            .query_map(
                params![
                    query.sensor_id,
                    query.oldest.to_string(),
                    query.newest.to_string(),
                    query.limit as i64
                ],
                |row| Ok((row.get::<_, String>(0)?, row.get::<_, f64>(1)?)),
            )
            .map_err(&error)?;
        let mut readings = Vec::new();
        for row in rows {
            let (timestamp, value) = row.map_err(&error)?;
            let timestamp = Timestamp::parse(&timestamp).map_err(|err| StorageError::Sqlite {
                path: self.path.clone(),
                source: rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    Box::new(err),
                ),
            })?;
            readings.push(Reading {
                sensor_id: query.sensor_id.clone(),
                timestamp,
                value,
            });
        }
        Ok(readings)
    }

    /// One page of one sensor's items, for the owner's DynamoDB `Query` and `GetItem`.
    /// Blocking.
    pub fn query_items_blocking(&self, query: &TableQuery) -> Result<Vec<TableItem>, StorageError> {
        let mut sql =
            String::from("SELECT sensor_id, timestamp, value FROM readings WHERE sensor_id = ?1");
        let mut values: Vec<String> = vec![query.sensor_id.clone()];
        fn bind(condition: &str, value: &str, sql: &mut String, values: &mut Vec<String>) {
            values.push(value.to_owned());
            sql.push_str(&format!(" AND timestamp {condition} ?{}", values.len()));
        }
        // SQLite compares TEXT byte by byte (the BINARY collation), as DynamoDB compares
        // strings, so each condition is a plain comparison on the key.
        match &query.sort {
            None => {}
            Some(SortCondition::Equal(v)) => bind("=", v, &mut sql, &mut values),
            Some(SortCondition::Less(v)) => bind("<", v, &mut sql, &mut values),
            Some(SortCondition::LessOrEqual(v)) => bind("<=", v, &mut sql, &mut values),
            Some(SortCondition::Greater(v)) => bind(">", v, &mut sql, &mut values),
            Some(SortCondition::GreaterOrEqual(v)) => bind(">=", v, &mut sql, &mut values),
            Some(SortCondition::Between(low, high)) => {
                bind(">=", low, &mut sql, &mut values);
                bind("<=", high, &mut sql, &mut values);
            }
            Some(SortCondition::BeginsWith(prefix)) => {
                values.push(prefix.clone());
                let n = values.len();
                sql.push_str(&format!(" AND substr(timestamp, 1, length(?{n})) = ?{n}"));
            }
        }
        if let Some(after) = &query.after {
            bind(
                if query.forward { ">" } else { "<" },
                after,
                &mut sql,
                &mut values,
            );
        }
        sql.push_str(if query.forward {
            " ORDER BY timestamp ASC"
        } else {
            " ORDER BY timestamp DESC"
        });
        sql.push_str(&format!(" LIMIT {}", query.limit));
        self.items(&sql, rusqlite::params_from_iter(values))
    }

    /// One page of every item in key order, after `after`, for the owner's `Scan`. Blocking.
    pub fn scan_blocking(
        &self,
        after: Option<&TableKey>,
        limit: usize,
    ) -> Result<Vec<TableItem>, StorageError> {
        let (sensor, timestamp) = after.map_or((String::new(), String::new()), |key| {
            (key.sensor_id.clone(), key.timestamp.clone())
        });
        // With no start key, every key is after ('', ''): sensor ids are never empty.
        self.items(
            &format!(
                "SELECT sensor_id, timestamp, value FROM readings
                 WHERE (sensor_id, timestamp) > (?1, ?2)
                 ORDER BY sensor_id, timestamp LIMIT {limit}"
            ),
            params![sensor, timestamp],
        )
    }

    fn items(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<TableItem>, StorageError> {
        let connection = self
            .reader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let error = StorageError::at(&self.path);
        let mut statement = connection.prepare_cached(sql).map_err(&error)?;
        let rows = statement
            .query_map(params, |row| {
                Ok(TableItem {
                    key: TableKey {
                        sensor_id: row.get(0)?,
                        timestamp: row.get(1)?,
                    },
                    value: row.get(2)?,
                })
            })
            .map_err(&error)?;
        rows.collect::<Result<_, _>>().map_err(&error)
    }

    /// Readings stored in all. Blocking.
    pub fn count_blocking(&self) -> Result<u64, StorageError> {
        let connection = self
            .reader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        connection
            .query_row("SELECT COUNT(*) FROM readings", [], |row| row.get(0))
            .map_err(StorageError::at(&self.path))
    }
}

impl ReadingStore for SqliteTable {
    async fn put_readings(
        &self,
        readings: &[Reading],
        _deadline: Instant,
    ) -> Result<(), PartialWrite> {
        let table = self.clone();
        let owned = readings.to_vec();
        let outcome = port_call("SQLite write", move || table.put_blocking(&owned)).await;
        // One transaction: all readings were written, or none.
        outcome.map_err(|cause| PartialWrite {
            unwritten: (0..readings.len()).collect(),
            cause,
        })
    }

    async fn newest_readings(&self, query: &StoreQuery) -> Result<Vec<Reading>, PortError> {
        let table = self.clone();
        let query = query.clone();
        port_call("SQLite query", move || table.newest_blocking(&query)).await
    }
}
