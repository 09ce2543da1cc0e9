//! The running local target: state opened, pollers started, endpoint listening; stopped as a
//! whole.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use telemetry::metrics::SensorMetrics;

use telemetry::handlers::answer_query;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::alarms::{AlarmReport, LocalAlarm};
use crate::consumers::poller::Poller;
use crate::consumers::{BatchHandler, ConsumerSettings, ConsumerStats};
use crate::device_api::{
    DeviceApi, DeviceKey, FunctionError, NewRecord, PutResult, StreamDescription,
    StreamUnavailable, Throttled,
};
use crate::endpoint::{EndpointSettings, serve};
use crate::handlers::{ArchiverFunction, WriterCounts, WriterFunction};
use crate::owner_api::{
    Deleted, MetricId, OwnerApi, QueueDepth, ReceivedMessage, StoredObject, StoredPoint,
    TableDescription, TableItem, TableKey, TableQuery,
};
use crate::shard_limits::{ShardLimits, ShardThrottle};
use crate::signals::Signals;
use crate::state::StateDir;
use crate::storage::archive::FolderArchive;
use crate::storage::metrics::SqliteMetrics;
use crate::storage::stream::{
    DurableStream, StreamReader, StreamShape, now_ms, shard_for, shard_id,
};
use crate::storage::table::SqliteTable;
use crate::storage::{StorageError, WalCheckpointer};

/// Everything the local stack is made of, derived from the stack definition by the deployer.
#[derive(Clone, Debug)]
pub struct LocalSettings {
    pub region: String,
    pub account_id: String,
    pub stream_name: String,
    pub stream_shape: StreamShape,
    /// Whether puts meet Kinesis' per-shard write limits (they do, as on AWS, unless a
    /// benchmark turns them off).
    pub shard_limits: ShardLimits,
    pub query_function_name: String,
    /// The table's name, `<stack>-SensorData`.
    pub table_name: String,
    /// The archive bucket's name, `<stack>-eventarchive-<account>`.
    pub bucket_name: String,
    pub archiver: ConsumerSettings,
    pub writer: ConsumerSettings,
    /// The namespace of the writer's metrics (the stack's).
    pub metrics_namespace: String,
    /// Whether the writer publishes `SensorData` per sensor or stack-wide.
    pub sensor_metrics: SensorMetrics,
    /// The stack's alarms, evaluated over the local metrics.
    pub alarms: Vec<LocalAlarm>,
    pub state_dir: PathBuf,
    /// Where the endpoint listens; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The test page's folder, served at `/`.
    pub testpage_dir: PathBuf,
}

impl LocalSettings {
    /// The table's ARN.
    pub fn table_arn(&self) -> String {
        format!(
            "arn:aws:dynamodb:{}:{}:table/{}",
            self.region, self.account_id, self.table_name
        )
    }

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
    /// The alarms could not be evaluated, or their report not written.
    #[error("the alarms' evaluation failed")]
    Alarms(#[source] StorageError),
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
    /// Records refused for the shard limits (each refusal counts; a device may retry).
    pub records_throttled: AtomicU64,
    pub writer: Arc<WriterCounts>,
    pub archiver_consumer: Arc<ConsumerStats>,
    pub writer_consumer: Arc<ConsumerStats>,
}

/// The running target.
#[derive(Debug)]
pub struct RunningTarget {
    pub address: SocketAddr,
    pub key: DeviceKey,
    /// What the stack's owner may do; for the AWS CLI profile (see
    /// [`StateDir::write_aws_profile`]).
    pub operator_key: DeviceKey,
    pub stats: Arc<TargetStats>,
    pub stream: DurableStream,
    pub table: SqliteTable,
    pub metrics: SqliteMetrics,
    pub archive: FolderArchive,
    /// The alarms' newest evaluation.
    alarms: watch::Receiver<AlarmReport>,
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
    throttle: ShardThrottle,
    query_function_name: String,
    table: SqliteTable,
    stats: Arc<TargetStats>,
    signals: Arc<Signals>,
}

impl DeviceApi for Devices {
    fn stream(&self) -> StreamDescription {
        self.description.clone()
    }

    async fn put_records(
        &self,
        records: Vec<NewRecord>,
    ) -> Result<Vec<PutResult>, StreamUnavailable> {
        let shard_count = self.description.shard_count;
        let shard_of = |record: &NewRecord| {
            shard_for(&record.partition_key, record.explicit_hash_key, shard_count)
        };
        let admitted = self.throttle.admit(
            records.iter().map(|record| {
                (
                    shard_of(record),
                    record.partition_key.len() + record.data.len(),
                )
            }),
            std::time::Instant::now(),
        );
        // The refused records' shards, for their answers; the stream places the rest.
        let refused_shards: Vec<u32> = records
            .iter()
            .zip(&admitted)
            .filter(|(_, admitted)| !**admitted)
            .map(|(record, _)| shard_of(record))
            .collect();
        let taken: Vec<NewRecord> = records
            .into_iter()
            .zip(&admitted)
            .filter_map(|(record, admitted)| admitted.then_some(record))
            .collect();
        let count = taken.len();
        let bytes = taken.iter().map(|record| record.data.len()).sum();
        let refused = admitted.len() - count;
        if refused > 0 {
            self.stats
                .records_throttled
                .fetch_add(refused as u64, Ordering::Relaxed);
            self.signals
                .records_throttled(&self.description.name, refused);
        }
        let appended = if taken.is_empty() {
            Vec::new()
        } else {
            let stream = self.stream.clone();
            tokio::task::spawn_blocking(move || stream.append(&taken))
                .await
                .map_err(|err| StreamUnavailable(err.to_string()))?
                .map_err(|err| StreamUnavailable(err.to_string()))?
        };
        self.stats
            .records_in
            .fetch_add(count as u64, Ordering::Relaxed);
        self.signals
            .records_put(&self.description.name, appended.len(), bytes);
        let (mut appended, mut refused_shards) = (appended.into_iter(), refused_shards.into_iter());
        admitted
            .iter()
            .map(|admitted| {
                let missing =
                    || StreamUnavailable("the stream acknowledged fewer records".to_owned());
                if *admitted {
                    appended.next().map(Ok).ok_or_else(missing)
                } else {
                    let shard = refused_shards.next().ok_or_else(missing)?;
                    Ok(Err(Throttled {
                        shard_id: shard_id(shard),
                    }))
                }
            })
            .collect()
    }

    fn query_function_name(&self) -> &str {
        &self.query_function_name
    }

    async fn invoke_query(
        &self,
        payload: serde_json::Value,
    ) -> Result<serde_json::Value, FunctionError> {
        let started = std::time::Instant::now();
        let answer = answer_query(&self.table, &payload).await;
        self.signals.invocation(
            &self.query_function_name,
            started.elapsed(),
            answer.is_err(),
        );
        match answer {
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

/// The owner's side: the table, as DynamoDB's reads see it.
#[derive(Debug)]
struct Owner {
    table: SqliteTable,
    table_name: String,
    table_arn: String,
    archive: FolderArchive,
    bucket_name: String,
    /// The table is as old as the state folder's stream.
    created: f64,
    metrics: SqliteMetrics,
    stream: DurableStream,
    /// The queues' depths are read beside the stream's writer, as the monitor reads them.
    queue_reader: std::sync::Mutex<StreamReader>,
    failure_queues: Vec<String>,
}

impl OwnerApi for Owner {
    fn list_metrics(&self) -> Result<Vec<MetricId>, StorageError> {
        self.metrics.metric_ids_blocking()
    }

    fn metric_points(
        &self,
        metric: &MetricId,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<StoredPoint>, StorageError> {
        self.metrics.points_blocking(metric, from_ms, to_ms)
    }

    fn failure_queues(&self) -> &[String] {
        &self.failure_queues
    }

    fn receive_failures(
        &self,
        queue: &str,
        max: usize,
        visibility_ms: i64,
    ) -> Result<Vec<ReceivedMessage>, StorageError> {
        self.stream.receive_failures(queue, max, visibility_ms)
    }

    fn delete_failure(&self, queue: &str, receipt_handle: &str) -> Result<Deleted, StorageError> {
        self.stream.delete_failure(queue, receipt_handle)
    }

    fn failure_queue_depth(&self, queue: &str) -> Result<QueueDepth, StorageError> {
        self.queue_reader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .failure_queue_depth(queue)
    }

    fn table_name(&self) -> &str {
        &self.table_name
    }

    fn table_arn(&self) -> &str {
        &self.table_arn
    }

    fn bucket_name(&self) -> &str {
        &self.bucket_name
    }

    fn created(&self) -> f64 {
        self.created
    }

    fn list_objects(&self) -> Result<Vec<StoredObject>, StorageError> {
        self.archive.list_blocking()
    }

    fn get_object(&self, key: &str) -> Result<Option<(StoredObject, Vec<u8>)>, StorageError> {
        self.archive.get_blocking(key)
    }

    fn describe_table(&self) -> Result<TableDescription, StorageError> {
        Ok(TableDescription {
            name: self.table_name.clone(),
            arn: self.table_arn.clone(),
            item_count: self.table.count_blocking()?,
            created: self.created,
        })
    }

    fn query_table(&self, query: &TableQuery) -> Result<Vec<TableItem>, StorageError> {
        self.table.query_items_blocking(query)
    }

    fn scan_table(
        &self,
        after: Option<&TableKey>,
        limit: usize,
    ) -> Result<Vec<TableItem>, StorageError> {
        self.table.scan_blocking(after, limit)
    }
}

/// How often records past the retention period are removed.
const EXPIRY_INTERVAL: Duration = Duration::from_secs(60);
/// How often the WALs are copied back into their files.
const WAL_CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);
/// How often the signals are written to the metrics store and the alarms evaluated.
const MONITOR_INTERVAL: Duration = Duration::from_secs(1);

/// Opens the state, binds the endpoint, then starts the consumers and the endpoint.
///
/// Every step that can fail runs before the first task is spawned: a failure then returns at
/// once with nothing left running, where a task already looping would keep the process alive,
/// silently, after the error.
pub async fn start(settings: LocalSettings) -> Result<RunningTarget, StartError> {
    check_testpage_dir(&settings.testpage_dir)?;
    let state = StateDir::open(&settings.state_dir)?;
    let key = state.device_key()?;
    let operator_key = state.operator_key()?;
    let stream = DurableStream::open(&state.stream(), settings.stream_shape.clone())?;
    let table = SqliteTable::open(&state.table())?;
    let metrics = SqliteMetrics::open(&state.metrics(), &settings.metrics_namespace)?;
    let archive = FolderArchive::open(&state.archive())?;
    let checkpointer = WalCheckpointer::open(&[state.stream(), state.table(), state.metrics()])?;
    let queue_reader = stream.reader()?;
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
    let signals = Arc::new(Signals::new(metrics.clone()));
    let mut monitor = Monitor {
        signals: signals.clone(),
        metrics: metrics.clone(),
        reader: stream.reader()?,
        failure_queues: [&settings.archiver, &settings.writer]
            .map(|consumer| consumer.failure_queue_name.clone()),
        alarms: settings.alarms.clone(),
        // The states a previous run left, so that a restart logs only real changes.
        last: AlarmReport::read(&state.alarms()).ok().flatten(),
        report_path: state.alarms(),
    };
    let (alarms_tx, alarms) = watch::channel(monitor.round().map_err(StartError::Storage)?);

    let stats = Arc::new(TargetStats {
        records_in: AtomicU64::new(0),
        records_throttled: AtomicU64::new(0),
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
        sensor_metrics: settings.sensor_metrics,
        counts: stats.writer.clone(),
    });
    let shared = PollerShared {
        stream: stream.clone(),
        signals: signals.clone(),
        shutdown: shutdown_rx.clone(),
    };
    spawn_pollers(
        &mut tasks,
        &settings,
        &shared,
        &settings.archiver,
        archiver,
        &stats.archiver_consumer,
    );
    spawn_pollers(
        &mut tasks,
        &settings,
        &shared,
        &settings.writer,
        writer,
        &stats.writer_consumer,
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
    {
        let shutdown = shutdown_rx.clone();
        // A blocking thread of its own, as the checkpointer's: the stream reader's connection
        // stays on it. A last round after the stop writes what the last batches signalled.
        tasks.spawn(async move {
            tokio::task::spawn_blocking(move || {
                while !*shutdown.borrow() && shutdown.has_changed().is_ok() {
                    std::thread::sleep(MONITOR_INTERVAL);
                    let report = monitor.round().map_err(TaskError::Alarms)?;
                    alarms_tx.send_replace(report);
                }
                monitor.round().map_err(TaskError::Alarms).map(drop)
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
        throttle: ShardThrottle::new(settings.shard_limits, shards, std::time::Instant::now()),
        query_function_name: settings.query_function_name.clone(),
        table: table.clone(),
        stats: stats.clone(),
        signals: signals.clone(),
    });
    let endpoint = EndpointSettings {
        region: settings.region.clone(),
        account_id: settings.account_id.clone(),
        key: key.clone(),
        operator_key: Some(operator_key.clone()),
        owner: Some(Arc::new(Owner {
            table: table.clone(),
            table_name: settings.table_name.clone(),
            table_arn: settings.table_arn(),
            archive: archive.clone(),
            bucket_name: settings.bucket_name.clone(),
            created: stream.created_ms() as f64 / 1000.0,
            metrics: metrics.clone(),
            stream: stream.clone(),
            queue_reader: std::sync::Mutex::new(queue_reader),
            failure_queues: [&settings.archiver, &settings.writer]
                .map(|consumer| consumer.failure_queue_name.clone())
                .to_vec(),
        })),
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
        operator_key,
        stats,
        stream,
        table,
        metrics,
        archive,
        alarms,
        shutdown,
        tasks: tasks.set,
        failure,
    })
}

/// What writes the signals to the store and evaluates the alarms over them.
struct Monitor {
    signals: Arc<Signals>,
    metrics: SqliteMetrics,
    reader: StreamReader,
    /// Each consumer's failure queue.
    failure_queues: [String; 2],
    alarms: Vec<LocalAlarm>,
    last: Option<AlarmReport>,
    report_path: PathBuf,
}

impl Monitor {
    /// Samples the failure queues' depths, writes the signals, evaluates the alarms, logs the
    /// ones that changed state and writes the report. Blocking.
    fn round(&mut self) -> Result<AlarmReport, StorageError> {
        for queue in &self.failure_queues {
            let depth = self.reader.failure_queue_depth(queue)?;
            self.signals.queue_depth(queue, depth.visible);
        }
        self.signals.flush_blocking()?;
        let report = crate::alarms::evaluate(&self.metrics, &self.alarms, now_ms())?;
        for alarm in report.changed_since(self.last.as_ref()) {
            tracing::warn!(
                alarm = %alarm.name,
                state = %alarm.state,
                reason = %alarm.reason,
                "alarm state changed"
            );
        }
        report.write(&self.report_path)?;
        self.last = Some(report.clone());
        Ok(report)
    }
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

/// What every poller shares: the stream, where their signals go, the stop.
struct PollerShared {
    stream: DurableStream,
    signals: Arc<Signals>,
    shutdown: watch::Receiver<bool>,
}

fn spawn_pollers<H: BatchHandler>(
    tasks: &mut Tasks,
    settings: &LocalSettings,
    shared: &PollerShared,
    consumer: &ConsumerSettings,
    handler: Arc<H>,
    stats: &Arc<ConsumerStats>,
) {
    for shard in 0..settings.stream_shape.shard_count {
        let poller = Poller {
            settings: consumer.clone(),
            shard,
            stream: shared.stream.clone(),
            stream_arn: settings.stream_arn(),
            region: settings.region.clone(),
            handler: handler.clone(),
            stats: stats.clone(),
            signals: shared.signals.clone(),
        };
        let (name, shutdown) = (consumer.function_name.clone(), shared.shutdown.clone());
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

    /// The alarms' newest evaluation (once a second).
    pub fn alarm_report(&self) -> AlarmReport {
        self.alarms.borrow().clone()
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
