//! What the stack's owner reads through the endpoint, beside what a device does
//! ([`crate::device_api`]): the table, as DynamoDB's read operations see it, the archive, as
//! S3's do, the metrics, as CloudWatch's do, and the failure queues, as SQS' do. Only a request
//! signed by the operator key reaches it. Blocking: the endpoint calls it off the async
//! threads.

use std::fmt::Debug;

use crate::storage::StorageError;
pub use crate::storage::archive::StoredObject;
pub use crate::storage::failure_queue::{Deleted, QueueDepth, ReceivedMessage};
pub use crate::storage::metrics::{MetricId, StoredPoint};

/// The table's key, as stored: `SensorId` and the normalised `Timestamp` text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TableKey {
    pub sensor_id: String,
    pub timestamp: String,
}

/// One stored reading.
#[derive(Clone, Debug, PartialEq)]
pub struct TableItem {
    pub key: TableKey,
    pub value: f64,
}

/// A condition on the sort key (`Timestamp`), compared as DynamoDB compares strings: by
/// their UTF-8 bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SortCondition {
    Equal(String),
    Less(String),
    LessOrEqual(String),
    Greater(String),
    GreaterOrEqual(String),
    /// Both ends included.
    Between(String, String),
    BeginsWith(String),
}

/// One page of one sensor's items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableQuery {
    pub sensor_id: String,
    pub sort: Option<SortCondition>,
    /// Oldest first (DynamoDB's `ScanIndexForward`, true by default).
    pub forward: bool,
    /// The page starts after this `Timestamp` (in the query's direction).
    pub after: Option<String>,
    pub limit: usize,
}

/// What `DescribeTable` reports.
#[derive(Clone, Debug)]
pub struct TableDescription {
    pub name: String,
    pub arn: String,
    pub item_count: u64,
    /// Seconds since the Unix epoch.
    pub created: f64,
}

/// The owner's view. Implemented by the running local target.
pub trait OwnerApi: Send + Sync + Debug + 'static {
    /// The table's name, `<stack>-SensorData`.
    fn table_name(&self) -> &str;

    fn table_arn(&self) -> &str;

    fn describe_table(&self) -> Result<TableDescription, StorageError>;

    /// One page of a query, in its direction.
    fn query_table(&self, query: &TableQuery) -> Result<Vec<TableItem>, StorageError>;

    /// The archive bucket's name, `<stack>-eventarchive-<account>`.
    fn bucket_name(&self) -> &str;

    /// Seconds since the Unix epoch.
    fn created(&self) -> f64;

    /// Every archived object, by key.
    fn list_objects(&self) -> Result<Vec<StoredObject>, StorageError>;

    /// One archived object and its bytes.
    fn get_object(&self, key: &str) -> Result<Option<(StoredObject, Vec<u8>)>, StorageError>;

    /// One page of every item, in key order, after `after`.
    fn scan_table(
        &self,
        after: Option<&TableKey>,
        limit: usize,
    ) -> Result<Vec<TableItem>, StorageError>;

    /// Every metric with a stored point.
    fn list_metrics(&self) -> Result<Vec<MetricId>, StorageError>;

    /// The minutes of `metric` starting in `[from_ms, to_ms)`.
    fn metric_points(
        &self,
        metric: &MetricId,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<StoredPoint>, StorageError>;

    /// The failure queues' names, `<function>-failures`.
    fn failure_queues(&self) -> &[String];

    /// When the queues were created (with the stream), seconds since the Unix epoch.
    fn queues_created(&self) -> f64 {
        self.created()
    }

    /// Receives up to `max` messages of `queue`, hidden for `visibility_ms` after.
    fn receive_failures(
        &self,
        queue: &str,
        max: usize,
        visibility_ms: i64,
    ) -> Result<Vec<ReceivedMessage>, StorageError>;

    /// Deletes the message of `queue` the handle names.
    fn delete_failure(&self, queue: &str, receipt_handle: &str) -> Result<Deleted, StorageError>;

    /// How many of `queue`'s messages are visible and how many hidden.
    fn failure_queue_depth(&self, queue: &str) -> Result<QueueDepth, StorageError>;
}
