//! What the stack's owner reads through the endpoint, beside what a device does
//! ([`crate::device_api`]): the table, as DynamoDB's read operations see it, and the archive,
//! as S3's do. Only a request
//! signed by the operator key reaches it. Blocking: the endpoint calls it off the async
//! threads.

use std::fmt::Debug;

use crate::storage::StorageError;
pub use crate::storage::archive::StoredObject;

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
}
