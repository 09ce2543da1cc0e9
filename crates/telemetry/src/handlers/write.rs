use super::retry_from;
use crate::events::{KinesisEvent, KinesisEventRecord, KinesisEventResponse};
use crate::metrics::{MAX_DATUMS_PER_CALL, MetricDatum, SensorMetrics, plan_datums};
use crate::payload;
use crate::ports::{Metrics, ReadingStore};
use crate::reading::{Reading, Rejection};
use crate::timestamp::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// What one invocation of the writer did, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Records in the batch.
    pub records: usize,
    /// Readings stored and counted, before any retry point.
    pub accepted: usize,
    /// Records refused for good, by [`Rejection::code`], before any retry point.
    pub rejected: BTreeMap<&'static str, usize>,
    /// Where Lambda must retry from, if not everything was done.
    pub retry_from: Option<String>,
}

impl WriteReport {
    /// All records refused for good.
    pub fn rejected_total(&self) -> usize {
        self.rejected.values().sum()
    }
}

/// Writes a batch of device records to the store and publishes its metrics.
///
/// Every record before the returned retry point is finished: stored, or rejected for good
/// (logged with its sequence number and reason, and counted), and counted in the metrics. From
/// the retry point on, nothing is counted, so a redelivery does not count twice what this
/// invocation did not finish. Writes are idempotent, so storing a reading again is harmless.
pub async fn write_batch<S: ReadingStore, M: Metrics>(
    store: &S,
    metrics: &M,
    sensor_metrics: SensorMetrics,
    event: &KinesisEvent,
    now: Timestamp,
    deadline: Instant,
) -> (KinesisEventResponse, WriteReport) {
    let records = &event.records;
    // Each record's rejection, or `None` for the accepted ones, which move into `readings`.
    let mut rejections: Vec<Option<Rejection>> = Vec::with_capacity(records.len());
    let mut positions = Vec::with_capacity(records.len());
    let mut readings = Vec::with_capacity(records.len());
    for (position, outcome) in decode_batch(records).into_iter().enumerate() {
        rejections.push(match outcome {
            Ok(reading) => {
                positions.push(position);
                readings.push(reading);
                None
            }
            Err(rejection) => Some(rejection),
        });
    }

    let mut cut = records.len();
    if let Err(partial) = store.put_readings(&readings, deadline).await {
        let first = partial
            .unwritten
            .iter()
            .filter_map(|&i| positions.get(i))
            .min();
        cut = first.copied().unwrap_or(0);
        tracing::error!(error = %partial, unwritten = partial.unwritten.len(), "readings not stored");
    }

    let done = |position: usize| position < cut;
    let stored = positions
        .iter()
        .zip(&readings)
        .filter(|(position, _)| done(**position))
        .map(|(position, reading)| (*position, reading));
    let rejected = rejections.iter().take(cut).flatten().count();
    let planned = plan_datums(stored, rejected, now, sensor_metrics);
    for (index, chunk) in planned.chunks(MAX_DATUMS_PER_CALL).enumerate() {
        let datums: Vec<MetricDatum> = chunk.iter().map(|p| p.datum.clone()).collect();
        if let Err(err) = metrics.publish(&datums).await {
            // This chunk and all later ones are unpublished; redo from the first record they cover.
            let unpublished = &planned[index * MAX_DATUMS_PER_CALL..];
            cut = cut.min(
                unpublished
                    .iter()
                    .map(|p| p.first_position)
                    .min()
                    .unwrap_or(0),
            );
            tracing::error!(error = %err, "metrics not published");
            break;
        }
    }

    let mut report = WriteReport {
        records: records.len(),
        ..WriteReport::default()
    };
    for (record, rejection) in records.iter().zip(&rejections).take(cut) {
        match rejection {
            None => report.accepted += 1,
            Some(rejection) => {
                *report.rejected.entry(rejection.code()).or_default() += 1;
                tracing::warn!(
                    sequence_number = %record.kinesis.sequence_number,
                    partition_key = %record.kinesis.partition_key,
                    reason = %rejection,
                    code = rejection.code(),
                    "record rejected"
                );
            }
        }
    }
    report.retry_from = records.get(cut).map(|r| r.kinesis.sequence_number.clone());
    tracing::info!(
        records = report.records,
        accepted = report.accepted,
        rejected = report.rejected_total(),
        retry_from = report.retry_from.as_deref(),
        "batch written"
    );
    (retry_from(report.retry_from.as_deref()), report)
}

/// Decodes every record; of two records with the same sensor id and timestamp, the later wins,
/// as it would if the two came in separate batches.
/// Decodes every record of a batch into its reading or its rejection, in the batch's order. Of
/// two readings with the same sensor id and timestamp the later one wins (it is the newer
/// write of the same table key); the earlier is rejected as [`Rejection::Superseded`].
pub fn decode_batch(records: &[KinesisEventRecord]) -> Vec<Result<Reading, Rejection>> {
    let mut outcomes: Vec<Result<Reading, Rejection>> = records
        .iter()
        .map(|record| {
            let arrival = Timestamp::from_datetime(record.kinesis.approximate_arrival_timestamp.0)
                .map_err(|_| Rejection::BadArrivalTime)?;
            payload::decode(&record.kinesis.data.0, arrival)
        })
        .collect();
    let superseded: Vec<usize> = {
        let mut latest: HashMap<(&str, Timestamp), usize> = HashMap::with_capacity(outcomes.len());
        outcomes
            .iter()
            .enumerate()
            .filter_map(|(position, outcome)| {
                let reading = outcome.as_ref().ok()?;
                latest.insert((reading.sensor_id.as_str(), reading.timestamp), position)
            })
            .collect()
    };
    for earlier in superseded {
        outcomes[earlier] = Err(Rejection::Superseded);
    }
    outcomes
}
