//! What the owner's APIs on `POST /` (DynamoDB, SQS, CloudWatch) share: who may call them,
//! the request object, the parameters an operation implements, and the owner's blocking reads.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::auth::{Caller, Principal};
use super::errors::ApiError;
use crate::owner_api::OwnerApi;

/// How a service refuses what it cannot or may not do.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Refusals {
    /// The IAM service prefix, such as `dynamodb`.
    pub service: &'static str,
    /// What the owner reads there, such as "the table".
    pub reads: &'static str,
    /// The status of `AccessDeniedException`: 403, but 400 for DynamoDB ("Error handling with
    /// DynamoDB", DynamoDB Developer Guide).
    pub denied: StatusCode,
    /// The code for an operation the endpoint does not serve.
    pub unknown: &'static str,
}

/// The owner's side, for the operator key. The device key is denied as the device user's IAM
/// policy denies it on AWS: it allows no action of these services at all.
pub(crate) fn admit(
    owner: Option<Arc<dyn OwnerApi>>,
    caller: Caller<'_>,
    refusals: Refusals,
    operation: &str,
    resource: Option<&str>,
) -> Result<Arc<dyn OwnerApi>, ApiError> {
    let Some(owner) = owner else {
        return Err(ApiError::bad_request(
            refusals.unknown,
            format!("This endpoint does not serve {}.", refusals.reads),
        ));
    };
    if caller.principal == Principal::Device {
        let on = resource.map_or_else(String::new, |resource| format!(" on resource: {resource}"));
        return Err(ApiError::new(
            refusals.denied,
            "AccessDeniedException",
            format!(
                "User: {} is not authorized to perform: {}:{operation}{on} because the device \
                 key may only put records on the stream and invoke the query function; use the \
                 operator key to read {}.",
                caller.access_key_id, refusals.service, refusals.reads
            ),
        ));
    }
    Ok(owner)
}

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
