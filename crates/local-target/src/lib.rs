//! The local target: the whole stack on one machine, no AWS account.
//!
//! - [`storage`]: the embedded, durable parts: the stream (shards, sequence numbers,
//!   retention, consumer checkpoints, dead letters and the failure queues), the table, the archive folder and the
//!   metrics store. Each implements the port the handler cores expect.
//! - [`consumers`]: one poller per consumer and shard, delivering batches to the handler cores
//!   with the event-source-mapping semantics of the stack definition.
//! - [`handlers`]: the archiver and writer functions on the local ports.
//! - [`endpoint`]: the loopback HTTP endpoint speaking AWS' wire protocol for what a device uses,
//!   every request SigV4-checked.
//! - [`device_api`]: the contract between the endpoint and the rest, for what a device does.
//! - [`owner_api`]: the same for what the stack's owner reads: the table, the archive, the
//!   metrics and the failure queues, through DynamoDB's, S3's, CloudWatch's and SQS' reads.
//! - [`shard_limits`]: Kinesis' write limits per shard, which the stream's puts meet.
//! - [`signals`]: what AWS would publish for the stack's resources (Lambda, Kinesis and SQS
//!   metrics), under AWS's names, into the metrics store.
//! - [`alarms`]: the stack's alarms evaluated over the metrics store, as CloudWatch does.
//! - [`state`]: the state folder, the device and operator keys, and the AWS CLI profile.
//! - `ids`: random ids as AWS' look.
//! - [`target`]: all of it started and stopped as one.
//! - `test_util` (feature `test-util`): an in-memory [`device_api::DeviceApi`] for tests.

pub mod alarms;
pub mod consumers;
pub mod device_api;
pub mod endpoint;
pub mod handlers;
mod ids;
pub mod owner_api;
pub mod shard_limits;
pub mod signals;
pub mod state;
pub mod storage;
pub mod target;
#[cfg(any(test, feature = "test-util"))]
pub mod test_util;

pub use target::{LocalSettings, RunningTarget, StartError, TaskError, start};
