//! The running local target: state opened, pollers started, endpoint listening; stopped as a
//! whole.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use telemetry::handlers::answer_query;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::consumers::poller::Poller;
use crate::consumers::{BatchHandler, ConsumerSettings, ConsumerStats};
use crate::device_api::{
    Appended, DeviceApi, DeviceKey, FunctionError, NewRecord, StreamDescription, StreamUnavailable,
};
use crate::endpoint::{EndpointSettings, serve};
use crate::handlers::{ArchiverFunction, WriterCounts, WriterFunction};
use crate::state::StateDir;
use crate::storage::archive::FolderArchive;
use crate::storage::metrics::SqliteMetrics;
use crate::storage::stream::{DurableStream, StreamShape};
use crate::storage::table::SqliteTable;
use crate::storage::{StorageError, WalCheckpointer};

/// Everything the local stack is made of, derived from the stack definition by the deployer.
#[derive(Clone, Debug)]
pub struct LocalSettings {
    pub region: String,
    pub account_id: String,
    pub stream_name: String,
    pub stream_shape: StreamShape,
    pub query_function_name: String,
    pub archiver: ConsumerSettings,
    pub writer: ConsumerSettings,
    pub state_dir: PathBuf,
    /// Where the endpoint listens; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The test page's folder, served at `/`.
    pub testpage_dir: PathBuf,
}

impl LocalSettings {
    /// The stream's ARN.
    pub fn stream_arn(&self) -> String {
        format!(
            "arn:aws:kinesis:{}:{}:stream/{}",
            self.region, self.account_id, self.stream_name
        )
    }
}

/// Why the target did not start. Everything that can fail is tried before any task starts,
/// so a start failure leaves nothing running.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the test page folder {} {problem}", path.display())]
    TestpageDir {
        path: PathBuf,
        /// "does not exist", "is not a folder", or the I/O error.
        problem: String,
    },
}

/// Why a task of the running target ended; the target cannot go on without it. The cause is
/// the [`source`](std::error::Error::source), so a caller printing the chain shows both.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// A consumer's poller could not read or checkpoint the stream.
    #[error("consumer {consumer}, shard {shard} stopped")]
    Consumer {
        consumer: String,
        shard: u32,
        #[source]
        source: StorageError,
    },
    /// The WAL checkpointer could not copy a WAL back into its database.
    #[error("the WAL checkpoint failed")]
    WalCheckpoint(#[source] StorageError),
    /// The endpoint stopped serving.
    #[error("the endpoint stopped serving")]
    Endpoint(#[source] std::io::Error),
    /// A task panicked, or the runtime cancelled it.
    #[error("a task of the local target panicked or was cancelled")]
    Panicked(#[source] tokio::task::JoinError),
    /// Every task has ended and none reported a failure.
    #[error("the local target's tasks are gone")]
    Gone,
}

/// Counters of the whole target since it started.
#[derive(Debug)]
pub struct TargetStats {
    /// Records acknowledged to devices.
    pub records_in: AtomicU64,
    pub writer: Arc<WriterCounts>,
    pub archiver_consumer: Arc<ConsumerStats>,
    pub writer_consumer: Arc<ConsumerStats>,
}

/// The running target.
#[derive(Debug)]
pub struct RunningTarget {
    pub address: SocketAddr,
    pub key: DeviceKey,
    pub stats: Arc<TargetStats>,
    pub stream: DurableStream,
    pub table: SqliteTable,
    pub metrics: SqliteMetrics,
    pub archive: FolderArchive,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<Result<(), Arc<TaskError>>>,
    /// The first task failure, as soon as it happens.
    failure: watch::Receiver<Option<Arc<TaskError>>>,
}

/// The device-facing side: the stream and the query function.
#[derive(Debug)]
struct Devices {
    stream: DurableStream,
    description: StreamDescription,
    query_function_name: String,
    table: SqliteTable,
    stats: Arc<TargetStats>,
}

impl DeviceApi for Devices {
    fn stream(&self) -> StreamDescription {
        self.description.clone()
    }

    async fn put_records(
        &self,
        records: Vec<NewRecord>,
    ) -> Result<Vec<Appended>, StreamUnavailable> {
        let stream = self.stream.clone();
        let count = records.len() as u64;
        let appended = tokio::task::spawn_blocking(move || stream.append(&records))
            .await
            .map_err(|err| StreamUnavailable(err.to_string()))?
            .map_err(|err| StreamUnavailable(err.to_string()))?;
        self.stats.records_in.fetch_add(count, Ordering::Relaxed);
        Ok(appended)
    }

    fn query_function_name(&self) -> &str {
        &self.query_function_name
    }

    async fn invoke_query(
        &self,
        payload: serde_json::Value,
    ) -> Result<serde_json::Value, FunctionError> {
        match answer_query(&self.table, &payload).await {
            Ok(response) => serde_json::to_value(response).map_err(|err| FunctionError {
                error_type: "InternalError".to_owned(),
                error_message: err.to_string(),
            }),
            Err(err) => Err(FunctionError {
                error_type: err.error_type().to_owned(),
                error_message: err.to_string(),
            }),
        }
    }
}

/// How often records past the retention period are removed.
const EXPIRY_INTERVAL: Duration = Duration::from_secs(60);
/// How often the WALs are copied back into their files.
const WAL_CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// Opens the state, binds the endpoint, then starts the consumers and the endpoint.
///
/// Every step that can fail runs before the first task is spawned: a failure then returns at
/// once with nothing left running, where a task already looping would keep the process alive,
/// silently, after the error.
pub async fn start(settings: LocalSettings) -> Result<RunningTarget, StartError> {
    check_testpage_dir(&settings.testpage_dir)?;
    let state = StateDir::open(&settings.state_dir)?;
    let key = state.device_key()?;
    let stream = DurableStream::open(&state.stream(), settings.stream_shape.clone())?;
    let table = SqliteTable::open(&state.table())?;
    let metrics = SqliteMetrics::open(&state.metrics())?;
    let archive = FolderArchive::open(&state.archive())?;
    let checkpointer = WalCheckpointer::open(&[state.stream(), state.table(), state.metrics()])?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|source| StartError::Listen {
            address: settings.listen,
            source,
        })?;
    let address = listener.local_addr().map_err(|source| StartError::Listen {
        address: settings.listen,
        source,
    })?;
    let shards = settings.stream_shape.shard_count;

    let stats = Arc::new(TargetStats {
        records_in: AtomicU64::new(0),
        writer: Arc::new(WriterCounts::default()),
        archiver_consumer: Arc::new(ConsumerStats::new(&settings.archiver.function_name, shards)),
        writer_consumer: Arc::new(ConsumerStats::new(&settings.writer.function_name, shards)),
    });
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (failure_tx, failure) = watch::channel(None);
    let mut tasks = Tasks {
        set: JoinSet::new(),
        failure: Arc::new(failure_tx),
    };

    let archiver = Arc::new(ArchiverFunction {
        archive: archive.clone(),
    });
    let writer = Arc::new(WriterFunction {
        store: table.clone(),
        metrics: metrics.clone(),
        counts: stats.writer.clone(),
    });
    spawn_pollers(
        &mut tasks,
        &settings,
        &stream,
        &settings.archiver,
        archiver,
        &stats.archiver_consumer,
        &shutdown_rx,
    );
    spawn_pollers(
        &mut tasks,
        &settings,
        &stream,
        &settings.writer,
        writer,
        &stats.writer_consumer,
        &shutdown_rx,
    );

    {
        let (stream, mut shutdown) = (stream.clone(), shutdown_rx.clone());
        tasks.spawn(async move {
            loop {
                let expiring = stream.clone();
                if let Ok(Err(err)) = tokio::task::spawn_blocking(move || expiring.expire()).await {
                    tracing::error!(error = %err, "expiring old records failed");
                }
                tokio::select! {
                    _ = tokio::time::sleep(EXPIRY_INTERVAL) => {}
                    _ = shutdown.changed() => return Ok(()),
                }
            }
        });
    }

    {
        let shutdown = shutdown_rx.clone();
        // Its own blocking thread for the life of the target: SQLite connections stay on the
        // thread that uses them. A blocking thread cannot be aborted, and the runtime waits for
        // it on drop, so it also ends when the target is gone (sender dropped), not only on a
        // stop.
        tasks.spawn(async move {
            tokio::task::spawn_blocking(move || {
                while !*shutdown.borrow() && shutdown.has_changed().is_ok() {
                    checkpointer.run_once().map_err(TaskError::WalCheckpoint)?;
                    std::thread::sleep(WAL_CHECKPOINT_INTERVAL);
                }
                Ok(())
            })
            .await
            .map_err(TaskError::Panicked)?
        });
    }
    let devices = Arc::new(Devices {
        description: StreamDescription {
            name: settings.stream_name.clone(),
            arn: settings.stream_arn(),
            shard_count: shards,
            retention_hours: settings.stream_shape.retention_hours,
            created: stream.created_ms() as f64 / 1000.0,
        },
        stream: stream.clone(),
        query_function_name: settings.query_function_name.clone(),
        table: table.clone(),
        stats: stats.clone(),
    });
    let endpoint = EndpointSettings {
        region: settings.region.clone(),
        account_id: settings.account_id.clone(),
        key: key.clone(),
        testpage_dir: settings.testpage_dir.clone(),
    };
    {
        let mut shutdown = shutdown_rx.clone();
        tasks.spawn(async move {
            let stopped = async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            };
            serve(listener, endpoint, devices, stopped)
                .await
                .map_err(TaskError::Endpoint)
        });
    }

    Ok(RunningTarget {
        address,
        key,
        stats,
        stream,
        table,
        metrics,
        archive,
        shutdown,
        tasks: tasks.set,
        failure,
    })
}

/// The folder must exist before the endpoint serves it: a missing one would only show as
/// 404s in the browser.
fn check_testpage_dir(path: &Path) -> Result<(), StartError> {
    let problem = match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_dir() => return Ok(()),
        Ok(_) => "is not a folder".to_owned(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => "does not exist".to_owned(),
        Err(err) => format!("cannot be read: {err}"),
    };
    Err(StartError::TestpageDir {
        path: path.to_owned(),
        problem,
    })
}

/// The target's tasks; the first failure is published at once. A failure is shared (`Arc`)
/// because it is both published and returned by the task.
struct Tasks {
    set: JoinSet<Result<(), Arc<TaskError>>>,
    failure: Arc<watch::Sender<Option<Arc<TaskError>>>>,
}

impl Tasks {
    fn spawn(
        &mut self,
        task: impl std::future::Future<Output = Result<(), TaskError>> + Send + 'static,
    ) {
        let failure = self.failure.clone();
        self.set.spawn(async move {
            let error = match task.await {
                Ok(()) => return Ok(()),
                Err(error) => Arc::new(error),
            };
            failure.send_if_modified(|first| {
                first.get_or_insert_with(|| error.clone());
                true
            });
            Err(error)
        });
    }
}

fn spawn_pollers<H: BatchHandler>(
    tasks: &mut Tasks,
    settings: &LocalSettings,
    stream: &DurableStream,
    consumer: &ConsumerSettings,
    handler: Arc<H>,
    stats: &Arc<ConsumerStats>,
    shutdown: &watch::Receiver<bool>,
) {
    for shard in 0..settings.stream_shape.shard_count {
        let poller = Poller {
            settings: consumer.clone(),
            shard,
            stream: stream.clone(),
            stream_arn: settings.stream_arn(),
            region: settings.region.clone(),
            handler: handler.clone(),
            stats: stats.clone(),
        };
        let (name, shutdown) = (consumer.function_name.clone(), shutdown.clone());
        tasks.spawn(async move {
            poller
                .run(shutdown)
                .await
                .map_err(|source| TaskError::Consumer {
                    consumer: name,
                    shard,
                    source,
                })
        });
    }
}

impl RunningTarget {
    /// Records behind, per consumer: (archiver, writer).
    pub fn lag(&self) -> (u64, u64) {
        let heads: Vec<u64> = (0..self.stream.shape().shard_count)
            .map(|shard| *self.stream.head(shard).borrow())
            .collect();
        (
            self.stats.archiver_consumer.lag(&heads),
            self.stats.writer_consumer.lag(&heads),
        )
    }

    /// Waits until both consumers have finished every record appended so far, or `limit`
    /// passes; true if they caught up.
    pub async fn caught_up(&self, limit: Duration) -> bool {
        let until = tokio::time::Instant::now() + limit;
        loop {
            if self.lag() == (0, 0) {
                return true;
            }
            if tokio::time::Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Resolves with the first task failure (storage or endpoint): the target cannot go on.
    pub async fn failed(&self) -> Arc<TaskError> {
        let mut failure = self.failure.clone();
        let first = match failure.wait_for(Option::is_some).await {
            Ok(first) => first.clone(),
            Err(_) => None,
        };
        first.unwrap_or_else(|| Arc::new(TaskError::Gone))
    }

    /// Stops the endpoint and the consumers; a batch being delivered is finished first. The
    /// error is the first task failure.
    pub async fn stop(mut self) -> Result<(), Arc<TaskError>> {
        self.shutdown.send_replace(true);
        let mut tasks = std::mem::take(&mut self.tasks);
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            let outcome = joined
                .map_err(|err| Arc::new(TaskError::Panicked(err)))
                .and_then(|outcome| outcome);
            if let Err(error) = outcome {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for RunningTarget {
    /// A target dropped without [`RunningTarget::stop`] (an error on the way) still tells its
    /// tasks to end; the async ones are aborted with the `JoinSet`, the blocking one sees this.
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}
