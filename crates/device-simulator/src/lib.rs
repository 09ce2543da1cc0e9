//! Simulated devices: readings put on the stream with the official aws-sdk-kinesis client
//! (`PutRecords`, partition key = sensor id), against AWS or the local target alike, paced to a
//! rate, several calls in flight, with a throughput and latency report.
//!
//! # Layout
//! - [`plan`]: where to send ([`Target`]) and what ([`Plan`]), validated before anything runs.
//! - [`readings`]: sensor ids, values, and per-sensor timestamps that never repeat a
//!   millisecond (the table key is sensor id + timestamp in ms, so a repeat would overwrite).
//! - [`report`]: what a run achieved: readings sent, throttled and failed, throughput, call latency.
//! - [`run`]: the paced sending loop, resending throttled readings with backoff.

pub mod plan;
pub mod readings;
pub mod report;
mod run;

pub use plan::{Plan, PlanError, Stop, Target};
pub use report::{Latency, Progress, Report};
pub use run::{MAX_ATTEMPTS, run, run_until};
