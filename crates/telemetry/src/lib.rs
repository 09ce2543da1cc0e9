//! The IoT telemetry model: what a device sends, what is stored, archived, counted and queried,
//! and the handler cores that tie them together. Pure: no AWS SDK and no I/O of its own. The cores
//! are generic over small port traits, implemented on AWS by `telemetry-aws` and on one machine
//! by the local target.
//!
//! # Layout
//! - [`events`]: the Kinesis event types Lambda delivers, and building them as Lambda does.
//! - [`timestamp`]: normalised UTC millisecond timestamps whose text order is time order.
//! - [`reading`]: a validated [`Reading`] and the [`Rejection`] reasons a record can get.
//! - [`payload`]: decoding and validating the device's JSON payload.
//! - [`archive`]: the archive object key and its lossless JSON body.
//! - [`item`]: the DynamoDB item shape of a reading.
//! - [`metrics`]: CloudWatch metric datums, aggregated per sensor and minute.
//! - [`query`]: the query API's request, response and paging token.
//! - [`ports`]: the traits the cores need from the outside world.
//! - [`handlers`]: the three cores: archive a batch, write a batch, answer a query.
//! - [`backoff`]: the workspace's one backoff, for retries (jittered) and polls (not).

pub mod archive;
pub mod backoff;
pub mod events;
pub mod handlers;
pub mod item;
pub mod metrics;
pub mod payload;
pub mod ports;
pub mod query;
pub mod reading;
pub mod timestamp;

pub use reading::{Reading, Rejection};
pub use timestamp::Timestamp;
