//! The local target: the whole stack on one machine, no AWS account.
//!
//! - [`storage`]: the embedded, durable parts: the stream (shards, sequence numbers,
//!   retention, consumer checkpoints), the table, the archive folder, the metrics store and the
//!   dead-letter table. Each implements the port the handler cores expect.
//! - [`consumers`]: one poller per consumer and shard, delivering batches to the handler cores
//!   with the event-source-mapping semantics of the stack definition.
//! - [`endpoint`]: the loopback HTTP endpoint speaking AWS' wire protocol for what a device uses,
//!   every request SigV4-checked.
//! - [`device_api`]: the contract between the endpoint and the rest.

pub mod device_api;
pub mod endpoint;
