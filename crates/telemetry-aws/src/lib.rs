//! The telemetry ports on AWS, through the official AWS SDK for Rust, and the start-up every
//! Lambda binary shares.
//!
//! # Layout
//! - [`s3_archive`]: [`S3Archive`], the archive port on an S3 bucket.
//! - [`dynamodb_store`]: [`DynamoDbStore`], the reading store on a DynamoDB table: BatchWriteItem
//!   in chunks of 25, unprocessed items and throttling retried with backoff until the deadline.
//! - [`cloudwatch_metrics`]: [`CloudWatchMetrics`], the metrics port on PutMetricData.
//! - [`startup`]: what a Lambda binary does before its first event: logging, configuration
//!   from the environment, the SDK configuration, the invocation deadline.

pub mod cloudwatch_metrics;
pub mod dynamodb_store;
pub mod s3_archive;
pub mod startup;

pub use cloudwatch_metrics::CloudWatchMetrics;
pub use dynamodb_store::DynamoDbStore;
pub use s3_archive::S3Archive;
