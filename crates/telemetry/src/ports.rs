//! What the handler cores need from the outside world: three small traits, implemented on AWS
//! by `telemetry-aws` and on one machine by the local target. Futures are `Send` so that either
//! runtime may move them between threads.

use crate::archive::ArchiveObject;
use crate::metrics::MetricDatum;
use crate::query::StoreQuery;
use crate::reading::Reading;
use std::future::Future;
use std::time::Instant;

/// A failed call to the outside world, with the operation that failed and its cause.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {source}")]
pub struct PortError {
    pub operation: &'static str,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl PortError {
    pub fn new(
        operation: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            operation,
            source: source.into(),
        }
    }
}

/// Some readings of a write were not stored, even after retrying until the deadline.
#[derive(Debug, thiserror::Error)]
#[error("{} readings not stored: {cause}", unwritten.len())]
pub struct PartialWrite {
    /// Indices into the slice given to [`ReadingStore::put_readings`].
    pub unwritten: Vec<usize>,
    #[source]
    pub cause: PortError,
}

/// Where batches are kept whole.
pub trait Archive: Send + Sync {
    /// Stores the object, replacing any object with the same key.
    fn put(&self, object: &ArchiveObject) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Where readings are stored and queried.
pub trait ReadingStore: Send + Sync {
    /// Stores the readings, which have distinct keys; a reading with the key of a stored one
    /// replaces it. Transient failures are retried until `deadline`.
    fn put_readings(
        &self,
        readings: &[Reading],
        deadline: Instant,
    ) -> impl Future<Output = Result<(), PartialWrite>> + Send;

    /// The newest `query.limit` readings of the sensor within the range, newest first.
    fn newest_readings(
        &self,
        query: &StoreQuery,
    ) -> impl Future<Output = Result<Vec<Reading>, PortError>> + Send;
}

/// Where metric datums go.
pub trait Metrics: Send + Sync {
    /// Publishes at most [`crate::metrics::MAX_DATUMS_PER_CALL`] datums in one call.
    fn publish(&self, datums: &[MetricDatum])
    -> impl Future<Output = Result<(), PortError>> + Send;
}
