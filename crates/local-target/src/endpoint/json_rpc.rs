//! What the JSON-protocol APIs of the owner (DynamoDB, SQS, CloudWatch) share: the request
//! object, the parameters an operation implements, and the owner's blocking reads.

use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::errors::ApiError;

/// The request body: one JSON object, the operation's input.
pub(crate) fn parse(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    serde_json::from_slice(body).map_err(|err| {
        ApiError::bad_request(
            "SerializationException",
            format!("The request body could not be read as the operation's JSON input: {err}"),
        )
    })
}

/// The first parameter of `request` that is not in `known`, named in a message: the endpoint
/// refuses what it does not implement rather than ignoring it.
pub(crate) fn unknown_parameter(
    request: &Map<String, Value>,
    operation: &str,
    known: &[&str],
) -> Option<String> {
    let name = request
        .keys()
        .find(|name| !known.contains(&name.as_str()))?;
    Some(format!(
        "The local target does not implement the parameter {name} of {operation}; it \
         implements {}.",
        known.join(", ")
    ))
}

/// Runs one of the owner's reads off the async threads; a storage failure is the service's
/// fault (500), logged.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, crate::storage::StorageError> + Send + 'static,
) -> Result<T, ApiError> {
    let failed = |message: String| {
        tracing::error!(error = %message, "a read of the local state failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            message,
        )
    };
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| failed(err.to_string()))?
        .map_err(|err| failed(err.to_string()))
}
