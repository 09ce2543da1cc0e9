//! The contract between the loopback endpoint (which speaks AWS' wire protocol and checks
//! signatures) and the rest of the local target (stream, query function). The endpoint knows
//! nothing of storage; the target knows nothing of HTTP.

use std::future::Future;

/// The access key the local target generates for the device, kept in its state folder: an
/// AWS credential pair, the type aws-sigv4 signs with, whose `Debug` redacts the secret.
pub type DeviceKey = aws_credential_types::Credentials;

/// The provider name of a [`DeviceKey`] read or made by the local target.
pub const DEVICE_KEY_PROVIDER: &str = "local-target-device-key";

/// The provider name of the operator key (the stack owner's) the local target makes.
pub const OPERATOR_KEY_PROVIDER: &str = "local-target-operator-key";

/// One record a device puts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRecord {
    pub partition_key: String,
    pub data: Vec<u8>,
    /// Kinesis' `ExplicitHashKey`: places the record by this 128-bit key instead of the MD5 of
    /// the partition key.
    pub explicit_hash_key: Option<u128>,
}

/// Where a record was put.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    pub shard_id: String,
    pub sequence_number: String,
}

/// A record its shard refused: the shard is over Kinesis' write limits (see
/// [`crate::shard_limits`]). Nothing of it was kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Throttled {
    pub shard_id: String,
}

/// What became of one record of a put.
pub type PutResult = Result<Appended, Throttled>;

/// What `DescribeStreamSummary` reports.
#[derive(Clone, Debug)]
pub struct StreamDescription {
    pub name: String,
    pub arn: String,
    pub shard_count: u32,
    pub retention_hours: u32,
    /// Seconds since the Unix epoch.
    pub created: f64,
}

/// The stream could not take the records; nothing of the call was kept.
#[derive(Debug, thiserror::Error)]
#[error("the stream could not store the records: {0}")]
pub struct StreamUnavailable(pub String);

/// A function error, as Lambda reports it (`X-Amz-Function-Error: Unhandled`, body
/// `{"errorType", "errorMessage"}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionError {
    pub error_type: String,
    pub error_message: String,
}

/// What the endpoint serves. Implemented by the running local target.
pub trait DeviceApi: Send + Sync + 'static {
    /// The one stream.
    fn stream(&self) -> StreamDescription;

    /// Appends the records its shards take, in order, and returns only once they are durable
    /// (an acknowledged record survives a crash of the process): one result per record, in
    /// the records' order. A storage failure keeps none of them.
    fn put_records(
        &self,
        records: Vec<NewRecord>,
    ) -> impl Future<Output = Result<Vec<PutResult>, StreamUnavailable>> + Send;

    /// The query function's name (the only function a device may invoke).
    fn query_function_name(&self) -> &str;

    /// Runs the query function on a JSON payload.
    fn invoke_query(
        &self,
        payload: serde_json::Value,
    ) -> impl Future<Output = Result<serde_json::Value, FunctionError>> + Send;
}
