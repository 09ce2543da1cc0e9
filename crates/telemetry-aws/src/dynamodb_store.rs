//! The reading store on DynamoDB.
//!
//! Writes: BatchWriteItem takes at most 25 items, so a batch is cut into chunks of 25, sent a few
//! at a time. What a call leaves in `UnprocessedItems`, and calls refused for throughput or by a
//! server error (after the SDK's own retries), are retried with [`Backoff`] until the deadline.
//! What is still unwritten then is reported by index, never dropped.
//!
//! Queries: `SensorId = :id AND #ts BETWEEN :oldest AND :newest`, newest first. `Timestamp` is
//! a DynamoDB reserved word, hence the `#ts` alias.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemError;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures::StreamExt;
use std::collections::HashMap;
use std::time::Instant;
use telemetry::backoff::Backoff;
use telemetry::item::{self, SensorItem};
use telemetry::ports::{PartialWrite, PortError, ReadingStore};
use telemetry::query::StoreQuery;
use telemetry::reading::Reading;

/// BatchWriteItem's limit.
pub const MAX_ITEMS_PER_BATCH_WRITE: usize = 25;
/// Chunks in flight at once: enough to hide latency, few enough not to provoke throttling.
const CONCURRENT_CHUNKS: usize = 4;

/// Stores and queries readings in one table.
#[derive(Clone, Debug)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
    backoff: Backoff,
}

type Key = (String, String);

impl DynamoDbStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            backoff: Backoff::default(),
        }
    }

    /// Replaces the backoff settings (tests use short ones).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Writes one chunk, retrying until done or the deadline; returns what stayed unwritten.
    async fn write_chunk(
        &self,
        mut pending: Vec<WriteRequest>,
        deadline: Instant,
    ) -> Result<(), (Vec<WriteRequest>, PortError)> {
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .batch_write_item()
                .request_items(&self.table, pending.clone())
                .send()
                .await;
            let cause = match result {
                Ok(mut output) => {
                    pending = output
                        .unprocessed_items
                        .as_mut()
                        .and_then(|tables| tables.remove(&self.table))
                        .unwrap_or_default();
                    if pending.is_empty() {
                        return Ok(());
                    }
                    PortError::new(
                        "dynamodb:BatchWriteItem",
                        format!("{} items left unprocessed", pending.len()),
                    )
                }
                Err(err) if is_transient(&err) => PortError::new(
                    "dynamodb:BatchWriteItem",
                    DisplayErrorContext(err).to_string(),
                ),
                Err(err) => {
                    let cause = PortError::new(
                        "dynamodb:BatchWriteItem",
                        DisplayErrorContext(err).to_string(),
                    );
                    return Err((pending, cause));
                }
            };
            let Some(delay) = self.backoff.wait_before(attempt, deadline) else {
                return Err((pending, cause));
            };
            tracing::debug!(attempt, pending = pending.len(), ?delay, error = %cause, "retrying BatchWriteItem");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
}

/// Throughput refusals and server faults pass; anything else (a validation error, missing
/// table, denied access) would fail again the same way.
fn is_transient(err: &SdkError<BatchWriteItemError>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(context) => {
            matches!(
                context.err(),
                BatchWriteItemError::ProvisionedThroughputExceededException(_)
                    | BatchWriteItemError::RequestLimitExceeded(_)
                    | BatchWriteItemError::InternalServerError(_)
            ) || context.err().code() == Some("ThrottlingException")
                || context.raw().status().is_server_error()
        }
        _ => false,
    }
}

/// A reading as a DynamoDB item. Built directly rather than through `serde_dynamo::to_item`,
/// which goes through an intermediate value and cost several times as much on the writer's hot
/// path (see BENCHMARKS.md); reads still use serde_dynamo. A test checks both give the same item.
pub fn item_of(reading: &Reading) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            item::SENSOR_ID.to_owned(),
            AttributeValue::S(reading.sensor_id.clone()),
        ),
        (
            item::TIMESTAMP.to_owned(),
            AttributeValue::S(reading.timestamp.to_text()),
        ),
        (
            item::VALUE.to_owned(),
            AttributeValue::N(item::number_text(reading.value)),
        ),
    ])
}

/// The BatchWriteItem requests for a batch of readings, in chunks of at most
/// [`MAX_ITEMS_PER_BATCH_WRITE`], in the readings' order.
pub fn write_chunks(readings: &[Reading]) -> Result<Vec<Vec<WriteRequest>>, BuildError> {
    readings
        .chunks(MAX_ITEMS_PER_BATCH_WRITE)
        .map(|chunk| {
            chunk
                .iter()
                .map(|reading| {
                    let put = PutRequest::builder()
                        .set_item(Some(item_of(reading)))
                        .build()?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect()
        })
        .collect()
}

fn key_of(sensor_id: &str, timestamp: &str) -> Key {
    (sensor_id.to_owned(), timestamp.to_owned())
}

fn request_key(request: &WriteRequest) -> Option<Key> {
    let item = request.put_request()?.item();
    match (item.get(item::SENSOR_ID), item.get(item::TIMESTAMP)) {
        (Some(AttributeValue::S(id)), Some(AttributeValue::S(ts))) => Some(key_of(id, ts)),
        _ => None,
    }
}

impl ReadingStore for DynamoDbStore {
    async fn put_readings(
        &self,
        readings: &[Reading],
        deadline: Instant,
    ) -> Result<(), PartialWrite> {
        let chunks = write_chunks(readings).map_err(|err| PartialWrite {
            unwritten: (0..readings.len()).collect(),
            cause: PortError::new("building a PutRequest", err),
        })?;
        let failures: Vec<(Vec<WriteRequest>, PortError)> = futures::stream::iter(chunks)
            .map(|chunk| self.write_chunk(chunk, deadline))
            .buffer_unordered(CONCURRENT_CHUNKS)
            .filter_map(|result| async move { result.err() })
            .collect()
            .await;
        let Some(cause) = failures.first().map(|(_, cause)| cause.to_string()) else {
            return Ok(());
        };

        let index: HashMap<Key, usize> = readings
            .iter()
            .enumerate()
            .map(|(i, r)| (key_of(&r.sensor_id, &r.timestamp.to_text()), i))
            .collect();
        let mut unwritten: Vec<usize> = failures
            .iter()
            .flat_map(|(requests, _)| requests.iter())
            .filter_map(|request| request_key(request).and_then(|key| index.get(&key).copied()))
            .collect();
        unwritten.sort_unstable();
        Err(PartialWrite {
            unwritten,
            cause: PortError::new("dynamodb:BatchWriteItem", cause),
        })
    }

    async fn newest_readings(&self, query: &StoreQuery) -> Result<Vec<Reading>, PortError> {
        let mut readings = Vec::with_capacity(query.limit.min(1024));
        let mut start_key = None;
        loop {
            let remaining = query.limit - readings.len();
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#id = :id AND #ts BETWEEN :oldest AND :newest")
                .expression_attribute_names("#id", item::SENSOR_ID)
                .expression_attribute_names("#ts", item::TIMESTAMP)
                .expression_attribute_values(":id", AttributeValue::S(query.sensor_id.clone()))
                .expression_attribute_values(":oldest", AttributeValue::S(query.oldest.to_string()))
                .expression_attribute_values(":newest", AttributeValue::S(query.newest.to_string()))
                .scan_index_forward(false)
                .limit(i32::try_from(remaining).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(|err| {
                    PortError::new("dynamodb:Query", DisplayErrorContext(err).to_string())
                })?;
            let items: Vec<SensorItem> = serde_dynamo::from_items(output.items.unwrap_or_default())
                .map_err(|err| PortError::new("reading an item of the table", err))?;
            readings.extend(items.into_iter().map(Reading::from));
            start_key = output.last_evaluated_key;
            // A page can stop short of the limit at 1 MB; keep going until the limit or the end.
            if readings.len() >= query.limit || start_key.is_none() {
                return Ok(readings);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_direct_item_is_the_serde_dynamo_item() {
        for value in [0.0, -3.25, 1e100, 1e-100, 22.0, 0.1 + 0.2] {
            let reading = Reading {
                sensor_id: "pump \"7\" ü".into(),
                timestamp: telemetry::Timestamp::min(),
                value,
            };
            let expected: HashMap<String, AttributeValue> =
                serde_dynamo::to_item(SensorItem::from(reading.clone())).unwrap_or_default();
            assert_eq!(item_of(&reading), expected);
        }
    }
}
