//! The local target's durable parts. Each implements the port the handler cores expect, or
//! (the stream) the device-facing side of Kinesis. SQLite with WAL: one writer at a time per
//! file, readers beside it.

pub mod archive;
pub mod failure_queue;
pub mod metrics;
pub mod stream;
pub mod table;

use std::path::{Path, PathBuf};

/// A storage failure, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The caller knows how the user chose the shape, so the way out is its to name.
    #[error(
        "{}: the stream was created with shards/retention {stored}, not {wanted}; a stream \
         keeps its shape, because moving records to other shards would reorder them",
        path.display()
    )]
    ShapeChanged {
        path: PathBuf,
        stored: stream::StreamShape,
        wanted: stream::StreamShape,
    },
}

impl StorageError {
    pub(crate) fn at(path: &Path) -> impl Fn(rusqlite::Error) -> Self + '_ {
        move |source| Self::Sqlite {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn io(path: &Path) -> impl Fn(std::io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Runs blocking storage work off the async threads, as one port call named `operation`.
pub(crate) async fn port_call<T: Send + 'static>(
    operation: &'static str,
    work: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, telemetry::ports::PortError> {
    use telemetry::ports::PortError;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| PortError::new(operation, err))?
        .map_err(|err| PortError::new(operation, err))
}

/// Opens a SQLite file: WAL with `synchronous = NORMAL` (the stream raises it to FULL), which
/// survives a crash of the process (what the consumers' redelivery relies on) but may lose the
/// newest transactions of the table or metrics on power loss; those records are redelivered
/// from the stream, whose checkpoint is only moved after the write.
///
/// Automatic WAL checkpoints are off: they run inside whichever commit crosses the threshold,
/// and copying a WAL of scattered B-tree pages back into the file (with its fsync) took a
/// 10 ms batch write to 40 ms every few batches. [`WalCheckpointer`] does it beside the writers.
pub(crate) fn open_sqlite(path: &Path) -> Result<rusqlite::Connection, StorageError> {
    let connection = rusqlite::Connection::open(path).map_err(StorageError::at(path))?;
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;
             PRAGMA wal_autocheckpoint = 0;",
        )
        .map_err(StorageError::at(path))?;
    Ok(connection)
}

/// Copies the WAL of each file back into the file, on its own connections, without blocking
/// readers or writers (`PASSIVE`), so that the WALs stay small.
#[derive(Debug)]
pub struct WalCheckpointer {
    files: Vec<(PathBuf, rusqlite::Connection)>,
}

impl WalCheckpointer {
    /// A checkpointer of `paths`.
    pub fn open(paths: &[PathBuf]) -> Result<Self, StorageError> {
        let files = paths
            .iter()
            .map(|path| Ok((path.clone(), open_sqlite(path)?)))
            .collect::<Result<_, StorageError>>()?;
        Ok(Self { files })
    }

    /// One round over every file. Blocking.
    pub fn run_once(&self) -> Result<(), StorageError> {
        for (path, connection) in &self.files {
            connection
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                .map_err(StorageError::at(path))?;
        }
        Ok(())
    }
}
