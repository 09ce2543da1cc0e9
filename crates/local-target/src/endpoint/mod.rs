//! The loopback HTTP endpoint: the part of AWS' wire protocol a device uses, every API request
//! SigV4-checked against the device key, plus the test page as static files.
//!
//! # Layout
//! - [`auth`]: the `Authorization` header, its parsing, and the signature check (aws-sigv4
//!   re-signs the request with the stored secret).
//! - `errors`: an API error and its wire shape in each API.
//! - `kinesis`: `PutRecord`, `PutRecords`, `DescribeStreamSummary`, with Kinesis' limits.
//! - `lambda`: `Invoke` of the query function.
//! - `dynamodb`: the owner's reads of the table (`DescribeTable`, `GetItem`, `Query`, `Scan`).
//! - `s3`: the owner's reads of the archive bucket (`ListBuckets`, `ListObjectsV2`,
//!   `GetObject`, `HeadObject`), path-style; a request signed for `s3` goes there.
//! - `sqs`: the owner's view of the failure queues (`ListQueues`, `GetQueueUrl`,
//!   `GetQueueAttributes`, `ReceiveMessage`, `DeleteMessage`).
//! - `cloudwatch`: the owner's reads of the metrics (`ListMetrics`, `GetMetricStatistics`,
//!   `GetMetricData`), in JSON 1.0 (the AWS CLI, boto3) and the query protocol (the Rust SDK,
//!   through `query_protocol`).
//! - `json_rpc`: what the owner's JSON-protocol APIs share.
//! - `static_files`: the test page, and `config.js` (the device secret) to loopback peers only.
//! - `routes`: which request goes where (axum routes), the one authentication middleware in
//!   front of both APIs, the body cap, CORS, request ids.
//!
//! What a request may do follows whose key signed it. The device key gets what the device
//! user's IAM policy allows on AWS: put records on the stream, describe it, invoke the query
//! function; everything else is `AccessDeniedException`. The operator key gets what the
//! stack's owner may do, as far as this endpoint implements it: besides, the reads of the
//! table, the archive, the metrics and the failure queues.

pub mod auth;
mod cloudwatch;
mod dynamodb;
mod errors;
mod json_rpc;
mod kinesis;
mod lambda;
mod query_protocol;
mod routes;
mod s3;
mod sqs;
mod static_files;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::device_api::{DeviceApi, DeviceKey};
use crate::owner_api::OwnerApi;

pub use static_files::may_read_secret_config;

/// The endpoint's router, for driving it without a socket. Public only for the fuzz target
/// `endpoint_requests` (fuzz/), which sends every request it makes up through the real routes,
/// middleware and handlers in memory; [`serve`] is the way to run the endpoint. Each request
/// must carry an `axum::extract::ConnectInfo<SocketAddr>` extension, as [`serve`] adds.
#[doc(hidden)]
pub fn router<A: DeviceApi>(
    settings: EndpointSettings,
    api: Arc<A>,
    local: SocketAddr,
) -> axum::Router {
    routes::router(settings, api, local)
}

/// What the endpoint needs besides the [`DeviceApi`].
#[derive(Clone, Debug)]
pub struct EndpointSettings {
    /// The region requests must be signed for, e.g. `us-east-1`.
    pub region: String,
    /// The 12-digit account id in ARNs.
    pub account_id: String,
    /// The device key: what the device user on AWS may do.
    pub key: DeviceKey,
    /// The operator key, if any: what the stack's owner may do.
    pub operator_key: Option<DeviceKey>,
    /// What the owner reads (the table), if anything.
    pub owner: Option<Arc<dyn OwnerApi>>,
    /// The test page, served at `/`.
    pub testpage_dir: PathBuf,
}

/// Serves until `shutdown` completes, then finishes the requests in flight.
///
/// The caller binds `listener` (loopback by default; port 0 picks a free port).
pub async fn serve<A: DeviceApi>(
    listener: tokio::net::TcpListener,
    settings: EndpointSettings,
    api: Arc<A>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let router = routes::router(settings, api, local);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
