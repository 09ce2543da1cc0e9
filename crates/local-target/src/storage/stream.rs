//! The embedded, durable stream: Kinesis' data model in one SQLite file.
//!
//! - A partition key goes to a shard the way Kinesis places it: the MD5 of the key, read as a
//!   128-bit big-endian number, falls in one shard's even slice of the key space (or an explicit
//!   hash key does).
//! - Sequence numbers increase per shard. They are rendered as long fixed-width decimals that
//!   also carry the shard, like real ones, so they are unique across shards and text order is
//!   numeric order within a shard.
//! - An append is one transaction with `synchronous = FULL`: once [`DurableStream::append`]
//!   returns, the records survive a crash of the process or the machine.
//! - Consumer checkpoints, the dead-letter table and the failure queues
//!   ([`crate::storage::failure_queue`]) live in the same file, so that moving a checkpoint past
//!   records that were dead-lettered is one atomic step.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use md5::{Digest, Md5};
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::watch;

use crate::device_api::{Appended, NewRecord};
use crate::storage::StorageError;
use crate::storage::failure_queue::{self, Deleted, QueueDepth, ReceivedMessage};

/// The stream's shape, fixed when its state is created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamShape {
    pub shard_count: u32,
    pub retention_hours: u32,
}

impl std::fmt::Display for StreamShape {
    /// `shards/retention hours`, as stored.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.shard_count, self.retention_hours)
    }
}

impl StreamShape {
    fn parse(text: &str) -> Option<Self> {
        let (shards, hours) = text.split_once('/')?;
        Some(Self {
            shard_count: shards.parse().ok()?,
            retention_hours: hours.parse().ok()?,
        })
    }
}

/// A record as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    pub shard: u32,
    pub position: u64,
    pub partition_key: String,
    pub data: Vec<u8>,
    pub arrival_ms: i64,
}

impl StoredRecord {
    /// The record's Kinesis sequence number.
    pub fn sequence_number(&self) -> String {
        sequence_number(self.shard, self.position)
    }
}

/// A record a consumer gave up on, with why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    pub consumer: String,
    pub shard: u32,
    pub position: u64,
    pub reason: String,
}

/// A batch a consumer gave up on: its records, and the message its failure queue gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadBatch {
    pub letters: Vec<DeadLetter>,
    pub queue: String,
    pub message: String,
}

/// The Kinesis shard id of shard `index`.
pub fn shard_id(index: u32) -> String {
    format!("shardId-{index:012}")
}

/// The sequence number of the record at `position` of `shard`: 56 digits like a real one.
pub fn sequence_number(shard: u32, position: u64) -> String {
    format!("49{shard:014}{position:040}")
}

/// The shard and position a sequence number of this stream names.
pub fn position_of(sequence_number: &str) -> Option<(u32, u64)> {
    if sequence_number.len() != 56 || !sequence_number.starts_with("49") {
        return None;
    }
    let shard = sequence_number.get(2..16)?.parse().ok()?;
    let position = sequence_number.get(16..)?.parse().ok()?;
    Some((shard, position))
}

/// The shard a record goes to among `shard_count` even slices of the 128-bit key space.
pub fn shard_for(partition_key: &str, explicit_hash_key: Option<u128>, shard_count: u32) -> u32 {
    let hash = explicit_hash_key
        .unwrap_or_else(|| u128::from_be_bytes(Md5::digest(partition_key.as_bytes()).into()));
    let slice = u128::MAX / u128::from(shard_count.max(1));
    // The last slice takes the remainder of the division.
    u32::try_from(hash / slice.max(1))
        .unwrap_or(u32::MAX)
        .min(shard_count.saturating_sub(1))
}

/// The stream. Cheap to share: appends go through one writer connection; each reader opens its
/// own ([`DurableStream::reader`]), which WAL lets run beside the writer.
#[derive(Clone, Debug)]
pub struct DurableStream {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    shape: StreamShape,
    created_ms: i64,
    writer: Mutex<Writer>,
    /// The newest position of each shard (0: empty), so pollers wake on appends.
    heads: Vec<watch::Sender<u64>>,
}

#[derive(Debug)]
struct Writer {
    connection: Connection,
    next: Vec<u64>,
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS records (
        shard INTEGER NOT NULL, position INTEGER NOT NULL, partition_key TEXT NOT NULL,
        data BLOB NOT NULL, arrival_ms INTEGER NOT NULL,
        PRIMARY KEY (shard, position)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS checkpoints (
        consumer TEXT NOT NULL, shard INTEGER NOT NULL, position INTEGER NOT NULL,
        PRIMARY KEY (consumer, shard)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS dead_letters (
        consumer TEXT NOT NULL, shard INTEGER NOT NULL, position INTEGER NOT NULL,
        reason TEXT NOT NULL, at_ms INTEGER NOT NULL,
        PRIMARY KEY (consumer, shard, position)) WITHOUT ROWID;
";

fn open(path: &Path) -> Result<Connection, StorageError> {
    let connection = crate::storage::open_sqlite(path)?;
    connection
        .execute_batch("PRAGMA synchronous = FULL;")
        .map_err(StorageError::at(path))?;
    Ok(connection)
}

impl DurableStream {
    /// Opens the stream in `path`, creating it with `shape` if it is new. A stream created with
    /// another shape is refused, because moving records between shards would reorder them.
    pub fn open(path: &Path, shape: StreamShape) -> Result<Self, StorageError> {
        let connection = open(path)?;
        connection
            .execute_batch(SCHEMA)
            .and_then(|()| connection.execute_batch(failure_queue::SCHEMA))
            .map_err(StorageError::at(path))?;
        let stored: Option<String> = connection
            .query_row("SELECT value FROM meta WHERE key = 'shape'", [], |row| {
                row.get(0)
            })
            .optional()
            .map_err(StorageError::at(path))?;
        let wanted = shape.to_string();
        match stored {
            Some(stored) if stored != wanted => {
                return Err(match StreamShape::parse(&stored) {
                    Some(stored) => StorageError::ShapeChanged {
                        path: path.to_owned(),
                        stored,
                        wanted: shape,
                    },
                    None => StorageError::Io {
                        path: path.to_owned(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!("the stored stream shape `{stored}` is not shards/hours"),
                        ),
                    },
                });
            }
            Some(_) => {}
            None => {
                connection
                    .execute(
                        "INSERT INTO meta (key, value) VALUES ('shape', ?1), ('created_ms', ?2)",
                        params![wanted, now_ms().to_string()],
                    )
                    .map_err(StorageError::at(path))?;
            }
        }
        let created_ms: i64 = connection
            .query_row(
                "SELECT value FROM meta WHERE key = 'created_ms'",
                [],
                |row| row.get::<_, String>(0),
            )
            .map_err(StorageError::at(path))?
            .parse()
            .unwrap_or_default();
        let mut next = Vec::new();
        let mut heads = Vec::new();
        for shard in 0..shape.shard_count {
            let head: u64 = connection
                .query_row(
                    "SELECT COALESCE(MAX(position), 0) FROM records WHERE shard = ?1",
                    [shard],
                    |row| row.get(0),
                )
                .map_err(StorageError::at(path))?;
            // Positions are never reused, even after retention removed the records.
            let checkpointed: u64 = connection
                .query_row(
                    "SELECT COALESCE(MAX(position), 0) FROM checkpoints WHERE shard = ?1",
                    [shard],
                    |row| row.get(0),
                )
                .map_err(StorageError::at(path))?;
            let head = head.max(checkpointed);
            next.push(head + 1);
            heads.push(watch::Sender::new(head));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                shape,
                created_ms,
                writer: Mutex::new(Writer { connection, next }),
                heads,
            }),
        })
    }

    /// The stream's shape.
    pub fn shape(&self) -> &StreamShape {
        &self.inner.shape
    }

    /// When the stream's state was created, in Unix milliseconds.
    pub fn created_ms(&self) -> i64 {
        self.inner.created_ms
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        // A panic while holding the lock cannot leave a half-done transaction: SQLite rolls an
        // unfinished transaction back, so the data behind a poisoned lock is still whole.
        self.inner
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends the records in order, all or none, durably. Blocking: call from a blocking
    /// thread.
    pub fn append(&self, records: &[NewRecord]) -> Result<Vec<Appended>, StorageError> {
        let arrival_ms = now_ms();
        let shard_count = self.inner.shape.shard_count;
        let mut writer = self.writer();
        let Writer { connection, next } = &mut *writer;
        let mut positions = next.clone();
        let mut appended = Vec::with_capacity(records.len());
        let mut touched = vec![false; positions.len()];
        let transaction = connection.transaction().map_err(self.error())?;
        {
            let mut insert = transaction
                .prepare_cached(
                    "INSERT INTO records (shard, position, partition_key, data, arrival_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(self.error())?;
            for record in records {
                let shard = shard_for(&record.partition_key, record.explicit_hash_key, shard_count);
                let slot = shard as usize;
                let position = positions[slot];
                insert
                    .execute(params![
                        shard,
                        position,
                        record.partition_key,
                        record.data,
                        arrival_ms
                    ])
                    .map_err(self.error())?;
                positions[slot] += 1;
                touched[slot] = true;
                appended.push(Appended {
                    shard_id: shard_id(shard),
                    sequence_number: sequence_number(shard, position),
                });
            }
        }
        transaction.commit().map_err(self.error())?;
        *next = positions;
        for (slot, touched) in touched.into_iter().enumerate() {
            if touched {
                self.inner.heads[slot].send_replace(next[slot] - 1);
            }
        }
        Ok(appended)
    }

    /// A watch of shard `shard`'s newest position.
    pub fn head(&self, shard: u32) -> watch::Receiver<u64> {
        self.inner.heads[shard as usize].subscribe()
    }

    /// Records appended in all, since the stream was created.
    pub fn appended_total(&self) -> u64 {
        self.inner.heads.iter().map(|head| *head.borrow()).sum()
    }

    /// A connection for reading records and checkpoints.
    pub fn reader(&self) -> Result<StreamReader, StorageError> {
        Ok(StreamReader {
            connection: open(&self.inner.path)?,
            path: self.inner.path.clone(),
        })
    }

    /// Moves `consumer`'s checkpoint on `shard` to `position`, and dead-letters `dead` (its
    /// records, and its message to the failure queue) in the same transaction.
    pub fn checkpoint(
        &self,
        consumer: &str,
        shard: u32,
        position: u64,
        dead: Option<&DeadBatch>,
    ) -> Result<(), StorageError> {
        let mut writer = self.writer();
        // A checkpoint lost to a power cut only means redelivery, which the consumers make
        // harmless; it needs no fsync of its own (the next append's fsync covers it too).
        writer
            .connection
            .execute_batch("PRAGMA synchronous = NORMAL;")
            .map_err(self.error())?;
        let outcome =
            Self::write_checkpoint(&mut writer.connection, consumer, shard, position, dead);
        writer
            .connection
            .execute_batch("PRAGMA synchronous = FULL;")
            .map_err(self.error())?;
        outcome.map_err(self.error())
    }

    fn write_checkpoint(
        connection: &mut Connection,
        consumer: &str,
        shard: u32,
        position: u64,
        dead: Option<&DeadBatch>,
    ) -> rusqlite::Result<()> {
        let transaction = connection.transaction()?;
        transaction.execute(
            "INSERT INTO checkpoints (consumer, shard, position) VALUES (?1, ?2, ?3)
                 ON CONFLICT (consumer, shard) DO UPDATE SET position = excluded.position",
            params![consumer, shard, position],
        )?;
        let now = now_ms();
        let Some(dead) = dead else {
            return transaction.commit();
        };
        for letter in &dead.letters {
            transaction.execute(
                "INSERT OR REPLACE INTO dead_letters (consumer, shard, position, reason, at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    letter.consumer,
                    letter.shard,
                    letter.position,
                    letter.reason,
                    now
                ],
            )?;
        }
        failure_queue::send(&transaction, &dead.queue, &dead.message, now)?;
        transaction.commit()
    }

    /// Receives up to `max` visible messages of the failure queue `queue`, hiding them for
    /// `visibility_ms`. Blocking.
    pub fn receive_failures(
        &self,
        queue: &str,
        max: usize,
        visibility_ms: i64,
    ) -> Result<Vec<ReceivedMessage>, StorageError> {
        let mut writer = self.writer();
        failure_queue::receive(&mut writer.connection, queue, max, visibility_ms, now_ms())
            .map_err(self.error())
    }

    /// Deletes the failure message `receipt_handle` names. Blocking.
    pub fn delete_failure(
        &self,
        queue: &str,
        receipt_handle: &str,
    ) -> Result<Deleted, StorageError> {
        let writer = self.writer();
        failure_queue::delete(&writer.connection, queue, receipt_handle).map_err(self.error())
    }

    /// Removes records older than the retention period, as Kinesis does whether or not they
    /// were consumed; each shard's newest record stays, because it carries the position the
    /// next append continues from after a restart. Returns how many were removed.
    pub fn expire(&self) -> Result<usize, StorageError> {
        let now = now_ms();
        let cutoff = now - i64::from(self.inner.shape.retention_hours) * 3_600_000;
        let writer = self.writer();
        failure_queue::expire(&writer.connection, now).map_err(self.error())?;
        writer
            .connection
            .execute(
                "DELETE FROM records WHERE arrival_ms < ?1 AND position <
                    (SELECT MAX(newest.position) FROM records AS newest
                     WHERE newest.shard = records.shard)",
                [cutoff],
            )
            .map_err(self.error())
    }

    fn error(&self) -> impl Fn(rusqlite::Error) -> StorageError + '_ {
        StorageError::at(&self.inner.path)
    }
}

/// A reading connection to the stream.
#[derive(Debug)]
pub struct StreamReader {
    connection: Connection,
    path: PathBuf,
}

impl StreamReader {
    /// Up to `limit` records of `shard` after `position`, in order.
    pub fn records_after(
        &self,
        shard: u32,
        position: u64,
        limit: usize,
    ) -> Result<Vec<StoredRecord>, StorageError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT position, partition_key, data, arrival_ms FROM records
                 WHERE shard = ?1 AND position > ?2 ORDER BY position LIMIT ?3",
            )
            .map_err(StorageError::at(&self.path))?;
        let rows = statement
            .query_map(params![shard, position, limit as i64], |row| {
                Ok(StoredRecord {
                    shard,
                    position: row.get(0)?,
                    partition_key: row.get(1)?,
                    data: row.get(2)?,
                    arrival_ms: row.get(3)?,
                })
            })
            .map_err(StorageError::at(&self.path))?;
        rows.collect::<Result<_, _>>()
            .map_err(StorageError::at(&self.path))
    }

    /// `consumer`'s checkpoint on `shard` (0: nothing consumed yet).
    pub fn checkpoint(&self, consumer: &str, shard: u32) -> Result<u64, StorageError> {
        self.connection
            .query_row(
                "SELECT position FROM checkpoints WHERE consumer = ?1 AND shard = ?2",
                params![consumer, shard],
                |row| row.get(0),
            )
            .optional()
            .map(Option::unwrap_or_default)
            .map_err(StorageError::at(&self.path))
    }

    /// The failure queue `queue`'s messages, visible and hidden.
    pub fn failure_queue_depth(&self, queue: &str) -> Result<QueueDepth, StorageError> {
        failure_queue::depth(&self.connection, queue, now_ms())
            .map_err(StorageError::at(&self.path))
    }

    /// Every dead letter of `consumer`.
    pub fn dead_letters(&self, consumer: &str) -> Result<Vec<DeadLetter>, StorageError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT shard, position, reason FROM dead_letters WHERE consumer = ?1
                 ORDER BY shard, position",
            )
            .map_err(StorageError::at(&self.path))?;
        let rows = statement
            .query_map([consumer], |row| {
                Ok(DeadLetter {
                    consumer: consumer.to_owned(),
                    shard: row.get(0)?,
                    position: row.get(1)?,
                    reason: row.get(2)?,
                })
            })
            .map_err(StorageError::at(&self.path))?;
        rows.collect::<Result<_, _>>()
            .map_err(StorageError::at(&self.path))
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn record(key: &str) -> NewRecord {
        NewRecord {
            partition_key: key.to_owned(),
            data: key.as_bytes().to_vec(),
            explicit_hash_key: None,
        }
    }

    #[test]
    fn partition_keys_hash_to_kinesis_shards() {
        // MD5("a") = 0cc175b9..., in the first of two halves; MD5("b") = 92eb5ffe..., the second.
        assert_eq!(shard_for("a", None, 2), 0);
        assert_eq!(shard_for("b", None, 2), 1);
        assert_eq!(shard_for("anything", None, 1), 0);
        assert_eq!(shard_for("x", Some(u128::MAX), 4), 3);
        assert_eq!(shard_for("x", Some(0), 4), 0);
        assert_eq!(shard_for("x", Some(u128::MAX / 4), 4), 1);
    }

    #[test]
    fn sequence_numbers_are_long_ordered_and_unique_across_shards() {
        assert_eq!(sequence_number(0, 1).len(), 56);
        assert!(sequence_number(0, 9) < sequence_number(0, 10));
        assert_ne!(sequence_number(0, 1), sequence_number(1, 1));
        assert_eq!(position_of(&sequence_number(3, 12_345)), Some((3, 12_345)));
        assert_eq!(position_of("1"), None);
    }

    #[test]
    fn appends_survive_reopening_and_positions_continue() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stream.db");
        let shape = StreamShape {
            shard_count: 2,
            retention_hours: 24,
        };
        let stream = DurableStream::open(&path, shape.clone()).unwrap();
        let first = stream
            .append(&[record("a"), record("b"), record("a")])
            .unwrap();
        assert_eq!(first[0].shard_id, "shardId-000000000000");
        assert_eq!(first[1].shard_id, "shardId-000000000001");
        assert_eq!(first[2].sequence_number, sequence_number(0, 2));
        stream.checkpoint("c", 0, 2, None).unwrap();
        drop(stream);

        let stream = DurableStream::open(&path, shape).unwrap();
        let next = stream.append(&[record("a")]).unwrap();
        assert_eq!(next[0].sequence_number, sequence_number(0, 3));
        let reader = stream.reader().unwrap();
        assert_eq!(reader.checkpoint("c", 0).unwrap(), 2);
        let records = reader.records_after(0, 2, 10).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].data, b"a");
        assert_eq!(stream.appended_total(), 4);
    }

    #[test]
    fn another_shape_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stream.db");
        let shape = |shard_count| StreamShape {
            shard_count,
            retention_hours: 24,
        };
        DurableStream::open(&path, shape(1)).unwrap();
        let error = DurableStream::open(&path, shape(2)).unwrap_err();
        assert!(error.to_string().contains("1/24"), "{error}");
    }
}
