//! One consumer reading one shard, as Lambda's event-source mapping does:
//!
//! - Batches of at most `batch_size` records, gathered for at most the batching window.
//! - A batch is delivered to the handler as the real `KinesisEvent`. Records before the first
//!   reported item failure are done; the checkpoint moves past them (durably) before anything
//!   else happens, so a restart resumes from there.
//! - From the first failure on, the rest is retried after a growing pause. With bisect on, a
//!   failing part of more than one record is split in two and the halves retried separately,
//!   which isolates the failing records without holding the good ones back; splitting does not
//!   use up retries. A single record (or, without bisect, the rest of the batch) that still
//!   fails after `maximum_retry_attempts` retries goes to the dead-letter table, in the same
//!   transaction that moves the checkpoint past it, so the shard never stalls.
//! - Records older than the maximum record age are dead-lettered without delivery.
//! - With a parallelization factor N above 1, up to N batches of the shard are in flight at
//!   once, as Lambda runs them: the records read are split into N lanes by partition key, so
//!   each key's records stay in one lane and in order, and the lanes are delivered side by
//!   side. Dead letters are written as they happen; the checkpoint moves past the records read
//!   once every lane is done, so a restart redelivers a part (harmless, as above) but skips
//!   nothing.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use telemetry::events::{KinesisEventResponse, RecordSource};
use tokio::sync::watch;

use crate::consumers::failure_record::{self, Condition, failure_record};
use crate::consumers::{BatchHandler, ConsumerSettings, ConsumerStats};
use crate::signals::Signals;
use crate::storage::StorageError;
use crate::storage::stream::{
    DeadBatch, DeadLetter, DurableStream, StoredRecord, StreamReader, now_ms, shard_id,
};

/// One consumer on one shard.
#[derive(Debug)]
pub struct Poller<H> {
    pub settings: ConsumerSettings,
    pub shard: u32,
    pub stream: DurableStream,
    /// The stream's ARN and region, as the records name them.
    pub stream_arn: String,
    pub region: String,
    pub handler: Arc<H>,
    pub stats: Arc<ConsumerStats>,
    /// Where each invocation's Lambda metrics go.
    pub signals: Arc<Signals>,
}

/// A part of a batch waiting for (another) delivery.
struct Pending {
    records: Vec<StoredRecord>,
    retries: u32,
    /// Deliveries of these records so far (a bisected half counts its parent's).
    invocations: u32,
}

/// When a delivery moves the checkpoint.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Commit {
    /// Past each record as it is done: one batch in flight, in shard order.
    AsItGoes,
    /// Not at all (dead letters are written at `checkpoint`, where it stands): other lanes
    /// hold records before this one's, and the caller moves it once all are done.
    AtTheEnd { checkpoint: u64 },
}

/// Why delivery stopped.
enum Stop {
    Shutdown,
    Storage(StorageError),
}

impl From<StorageError> for Stop {
    fn from(error: StorageError) -> Self {
        Self::Storage(error)
    }
}

impl<H: BatchHandler> Poller<H> {
    /// Runs until `shutdown` turns true; the batch being delivered then is finished or left for
    /// the next start, never half checkpointed.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), StorageError> {
        let reader = {
            let stream = self.stream.clone();
            blocking(move || stream.reader()).await?
        };
        // One poller, one connection: the mutex only makes it shareable with blocking threads.
        let reader = Arc::new(Mutex::new(reader));
        let mut checkpoint = {
            let (reader, name, shard) = (
                reader.clone(),
                self.settings.function_name.clone(),
                self.shard,
            );
            blocking(move || lock(&reader).checkpoint(&name, shard)).await?
        };
        self.publish_checkpoint(checkpoint);
        let mut head = self.stream.head(self.shard);
        let source = RecordSource {
            stream_arn: self.stream_arn.clone(),
            region: self.region.clone(),
            shard_id: shard_id(self.shard),
            invoke_identity_arn: self.settings.role_arn.clone(),
        };
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let newest = *head.borrow_and_update();
            if newest <= checkpoint {
                tokio::select! {
                    _ = head.changed() => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let records = {
                let (reader, shard, limit) = (reader.clone(), self.shard, self.read_limit());
                blocking(move || lock(&reader).records_after(shard, checkpoint, limit)).await?
            };
            let Some(first) = records.first() else {
                // Retention removed what was never consumed, as Kinesis would.
                checkpoint = newest;
                continue;
            };
            if records.len() < self.read_limit() {
                let window_ends = first.arrival_ms + millis(self.settings.batching_window);
                let wait = window_ends - now_ms();
                if wait > 0 {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(wait.unsigned_abs())) => {}
                        _ = head.changed() => {}
                        _ = shutdown.changed() => {}
                    }
                    continue;
                }
            }
            let delivered = if self.settings.parallelization_factor > 1 {
                self.deliver_in_lanes(&source, records, checkpoint, &shutdown)
                    .await
            } else {
                self.deliver(&source, records, Commit::AsItGoes, &mut shutdown)
                    .await
            };
            match delivered {
                Ok(done) => checkpoint = done,
                Err(Stop::Shutdown) => return Ok(()),
                Err(Stop::Storage(error)) => return Err(error),
            }
        }
    }

    /// Records read at once: a batch for each lane.
    fn read_limit(&self) -> usize {
        self.settings.batch_size * self.settings.parallelization_factor.max(1) as usize
    }

    /// Delivers `records` in lanes by partition key, each lane's batches one after another and
    /// the lanes at once; moves the checkpoint past them all (from `checkpoint`) when every
    /// lane is done.
    async fn deliver_in_lanes(
        &self,
        source: &RecordSource,
        records: Vec<StoredRecord>,
        checkpoint: u64,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<u64, Stop> {
        let Some(last) = records.last().map(|r| r.position) else {
            return Ok(checkpoint);
        };
        let lanes = lanes(records, self.settings.parallelization_factor);
        let deliveries = lanes.into_iter().map(|lane| {
            let mut shutdown = shutdown.clone();
            async move {
                for batch in lane.chunks(self.settings.batch_size) {
                    let commit = Commit::AtTheEnd { checkpoint };
                    self.deliver(source, batch.to_vec(), commit, &mut shutdown)
                        .await?;
                }
                Ok::<(), Stop>(())
            }
        });
        for outcome in futures_util::future::join_all(deliveries).await {
            outcome?;
        }
        self.checkpoint(last, None).await?;
        Ok(last)
    }

    /// Delivers one batch until every record is done or dead-lettered; returns the new
    /// checkpoint.
    async fn deliver(
        &self,
        source: &RecordSource,
        records: Vec<StoredRecord>,
        commit: Commit,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<u64, Stop> {
        let mut checkpoint = 0;
        let mut queue = VecDeque::from([Pending {
            records,
            retries: 0,
            invocations: 0,
        }]);
        while let Some(Pending {
            records,
            retries,
            invocations,
        }) = queue.pop_front()
        {
            let oldest_allowed = now_ms() - millis(self.settings.maximum_record_age);
            let expired = records
                .iter()
                .take_while(|r| r.arrival_ms < oldest_allowed)
                .count();
            let (expired, live) = records.split_at(expired);
            if let Some(last) = expired.last() {
                self.dead_letter(
                    expired,
                    "record older than the maximum record age",
                    (Condition::RecordAgeExceeded, invocations),
                    commit,
                )
                .await?;
                checkpoint = last.position;
            }
            if live.is_empty() {
                continue;
            }

            let event = RecordSource::event(
                live.iter()
                    .map(|r| {
                        source.record(
                            &r.sequence_number(),
                            &r.partition_key,
                            r.data.clone(),
                            arrival(r.arrival_ms),
                        )
                    })
                    .collect(),
            );
            self.stats.invocations.fetch_add(1, Ordering::Relaxed);
            let running = self.stats.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
            self.stats
                .most_in_flight
                .fetch_max(running, Ordering::Relaxed);
            let name = &self.settings.function_name;
            if let Some(last) = live.last() {
                self.signals.iterator_age(name, last.arrival_ms);
            }
            let started = std::time::Instant::now();
            let response = self.handler.handle(event).await;
            let invocations = invocations + 1;
            // A reported item failure is a successful invocation to Lambda: only an error
            // returned by the function counts in `Errors`, and the handler cores return none.
            self.signals.invocation(name, started.elapsed(), false);
            self.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
            let failed_at = first_failure(live, &response);
            let done = &live[..failed_at];
            if let Some(last) = done.last() {
                if commit == Commit::AsItGoes {
                    self.checkpoint(last.position, None).await?;
                }
                self.stats
                    .delivered
                    .fetch_add(done.len() as u64, Ordering::Relaxed);
                checkpoint = last.position;
            }
            let rest = &live[failed_at..];
            if rest.is_empty() {
                continue;
            }
            let splittable = self.settings.bisect_batch_on_function_error && rest.len() > 1;
            if !splittable && retries >= self.settings.maximum_retry_attempts {
                let reason = format!(
                    "still failing after {retries} retries (first failing sequence number {})",
                    rest[0].sequence_number()
                );
                self.dead_letter(
                    rest,
                    &reason,
                    (Condition::RetryAttemptsExhausted, invocations),
                    commit,
                )
                .await?;
                checkpoint = rest[rest.len() - 1].position;
                continue;
            }
            let retries = if splittable { retries } else { retries + 1 };
            tracing::warn!(
                consumer = %self.settings.function_name,
                shard = self.shard,
                records = rest.len(),
                retry = retries,
                bisect = splittable,
                "batch failed; retrying"
            );
            // A bisected part keeps its parent's retry count, which may be 0; it still pauses
            // as long as a first retry does.
            let pause = self
                .settings
                .retry_backoff()
                .wait(retries.saturating_sub(1));
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => return Err(Stop::Shutdown),
            }
            if splittable {
                let (left, right) = rest.split_at(rest.len() / 2);
                queue.push_front(Pending {
                    records: right.to_vec(),
                    retries,
                    invocations,
                });
                queue.push_front(Pending {
                    records: left.to_vec(),
                    retries,
                    invocations,
                });
            } else {
                queue.push_front(Pending {
                    records: rest.to_vec(),
                    retries,
                    invocations,
                });
            }
        }
        Ok(checkpoint)
    }

    /// Gives up on `records`: they go to the dead-letter table and, as one message naming them
    /// (`condition`, after `invocations` deliveries), to the failure queue.
    async fn dead_letter(
        &self,
        records: &[StoredRecord],
        reason: &str,
        (condition, invocations): (Condition, u32),
        commit: Commit,
    ) -> Result<(), Stop> {
        let function_arn =
            failure_record::function_arn(&self.stream_arn, &self.settings.function_name);
        let source = failure_record::Source {
            function_arn: &function_arn,
            stream_arn: &self.stream_arn,
        };
        let message = failure_record(source, records, condition, invocations, now_ms());
        let letters: Vec<DeadLetter> = records
            .iter()
            .map(|r| DeadLetter {
                consumer: self.settings.function_name.clone(),
                shard: self.shard,
                position: r.position,
                reason: reason.to_owned(),
            })
            .collect();
        tracing::error!(
            consumer = %self.settings.function_name,
            shard = self.shard,
            records = records.len(),
            first_sequence_number = %records[0].sequence_number(),
            reason,
            "records dead-lettered"
        );
        let position = match commit {
            Commit::AsItGoes => records[records.len() - 1].position,
            Commit::AtTheEnd { checkpoint } => checkpoint,
        };
        let batch = DeadBatch {
            letters,
            queue: self.settings.failure_queue_name.clone(),
            message,
        };
        self.checkpoint(position, Some(batch)).await?;
        self.stats
            .dead_lettered
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    async fn checkpoint(&self, position: u64, dead: Option<DeadBatch>) -> Result<(), StorageError> {
        let (stream, name, shard) = (
            self.stream.clone(),
            self.settings.function_name.clone(),
            self.shard,
        );
        blocking(move || stream.checkpoint(&name, shard, position, dead.as_ref())).await?;
        self.publish_checkpoint(position);
        Ok(())
    }

    fn publish_checkpoint(&self, position: u64) {
        if let Some(slot) = self.stats.checkpoints.get(self.shard as usize) {
            slot.store(position, Ordering::Relaxed);
        }
    }
}

/// `records` in `count` lanes, each partition key's records in one lane, in shard order.
fn lanes(records: Vec<StoredRecord>, count: u32) -> Vec<Vec<StoredRecord>> {
    let mut lanes: Vec<Vec<StoredRecord>> = (0..count).map(|_| Vec::new()).collect();
    for record in records {
        // Any hash that is the same for a key every time; the standard one with its fixed
        // keys is.
        let mut hasher = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(&record.partition_key, &mut hasher);
        let lane = std::hash::Hasher::finish(&hasher) % u64::from(count.max(1));
        lanes[lane as usize].push(record);
    }
    lanes.retain(|lane| !lane.is_empty());
    lanes
}

/// Where the batch must be retried from: the earliest record a failure names. A failure naming
/// no record of the batch fails the whole batch, as Lambda treats it.
fn first_failure(records: &[StoredRecord], response: &KinesisEventResponse) -> usize {
    response
        .batch_item_failures
        .iter()
        .map(|failure| {
            failure
                .item_identifier
                .as_deref()
                .and_then(|id| records.iter().position(|r| r.sequence_number() == id))
                .unwrap_or(0)
        })
        .min()
        .unwrap_or(records.len())
}

fn arrival(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn lock(reader: &Mutex<StreamReader>) -> MutexGuard<'_, StreamReader> {
    reader
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs SQLite work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|join| {
            Err(StorageError::Io {
                path: Default::default(),
                source: std::io::Error::other(join),
            })
        })
}
