//! `Custom::KinesisEventSourceMapping`: what Create, Update and Delete do to a Lambda
//! event-source mapping, generic over the [`Mappings`] port, and the [`Answer`] each gives.
//!
//! - **Create** makes the mapping (CreateEventSourceMapping); the physical id is its UUID, and
//!   `Data` holds `UUID` and `State`.
//! - **Update** changes the mapping in place (UpdateEventSourceMapping), unless `FunctionName`,
//!   `StreamArn` or `StartingPosition` changed: then it makes a new mapping, a new physical id,
//!   and CloudFormation deletes the old one with a Delete. When only `StartingPosition` changed,
//!   the old mapping is deleted first, because Lambda allows one mapping per stream and function.
//! - **Delete** deletes the mapping; a mapping already gone, or a physical id that is not a UUID
//!   (a Create that failed before a mapping existed), is success.
//! - Before an update or delete, and after a create or update, it waits while the mapping is in
//!   a transitional state (Creating, Updating, ...), never past the time it has.
//!
//! Every call through the port is bounded by `work_until`, so an answer is always ready in
//! time. A failure is never swallowed: it becomes a FAILED answer whose reason is the real
//! error.
//!
//! # Layout
//! - [`properties`]: the properties, read with the shared type and validated against Lambda's
//!   limits.
//! - [`lambda_api`]: the port on aws-sdk-lambda, typed errors.

pub mod lambda_api;
pub mod properties;

use crate::answer::{Answer, failed_create_id};
use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceRequest, CreateRequest, DeleteRequest, UpdateRequest,
};
use custom_resources::event_source_mapping::Property;
use properties::{MappingProperties, PropertiesError, replacement};
use serde_json::Value;
use std::future::Future;
use std::time::Duration;
use telemetry::backoff::Backoff;
use tokio::time::Instant;

pub use custom_resources::event_source_mapping::RESOURCE_TYPE;

/// The waits before looking at a mapping's state again.
const POLLS: Backoff = Backoff::polls(Duration::from_millis(250), Duration::from_secs(2));

/// A mapping's state, as Lambda reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MappingState {
    Creating,
    Enabling,
    Enabled,
    Disabling,
    Disabled,
    Updating,
    Deleting,
    /// A state this code does not know; treated as settled, so that a new state never makes
    /// the provider wait until its deadline.
    Other(String),
}

impl MappingState {
    pub fn parse(state: &str) -> Self {
        match state {
            "Creating" => Self::Creating,
            "Enabling" => Self::Enabling,
            "Enabled" => Self::Enabled,
            "Disabling" => Self::Disabling,
            "Disabled" => Self::Disabled,
            "Updating" => Self::Updating,
            "Deleting" => Self::Deleting,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Creating => "Creating",
            Self::Enabling => "Enabling",
            Self::Enabled => "Enabled",
            Self::Disabling => "Disabling",
            Self::Disabled => "Disabled",
            Self::Updating => "Updating",
            Self::Deleting => "Deleting",
            Self::Other(state) => state,
        }
    }

    /// Lambda refuses to update or delete a mapping in one of these states.
    pub fn is_transitional(&self) -> bool {
        matches!(
            self,
            Self::Creating | Self::Enabling | Self::Disabling | Self::Updating
        )
    }
}

/// A mapping's identity and state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingStatus {
    pub uuid: String,
    pub state: MappingState,
}

/// What kind of failure a Lambda API call had, as far as the provider's decisions go. The
/// adapter decides it from the typed SDK error, never from message text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// ResourceNotFoundException.
    NotFound,
    Other,
}

/// A failed Lambda API call, with the SDK's full error text.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct ApiError {
    pub operation: &'static str,
    pub kind: ApiErrorKind,
    pub message: String,
}

/// The event-source mappings of the Lambda API (the port; `LambdaMappings` is the adapter).
pub trait Mappings {
    fn create(
        &self,
        properties: &MappingProperties,
    ) -> impl Future<Output = Result<MappingStatus, ApiError>> + Send;
    /// `None` when there is no such mapping.
    fn get(
        &self,
        uuid: &str,
    ) -> impl Future<Output = Result<Option<MappingStatus>, ApiError>> + Send;
    /// Changes what can change in place (not the function, stream or starting position).
    fn update(
        &self,
        uuid: &str,
        properties: &MappingProperties,
    ) -> impl Future<Output = Result<MappingStatus, ApiError>> + Send;
    /// `None` when there was no such mapping.
    fn delete(
        &self,
        uuid: &str,
    ) -> impl Future<Output = Result<Option<MappingStatus>, ApiError>> + Send;
}

/// Why a request failed; the text is the FAILED answer's reason.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error(transparent)]
    Properties(#[from] PropertiesError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("{operation} did not finish in the time this request had left")]
    OutOfTime { operation: &'static str },
    #[error(
        "mapping {uuid} is still {state} and Lambda refuses changes until it settles; \
         this request ran out of time waiting"
    )]
    StillBusy { uuid: String, state: String },
}

/// SUCCESS for the mapping, with its UUID and state as the resource's `Data`.
fn mapping_answer(status: &MappingStatus, reason: String) -> Answer {
    let mut answer = Answer::success(status.uuid.clone(), reason);
    answer.data.insert("UUID".into(), status.uuid.clone());
    answer
        .data
        .insert("State".into(), status.state.as_str().into());
    answer
}

/// Whether `id` is a mapping's UUID, in the hyphenated form Lambda gives it.
pub fn is_mapping_uuid(id: &str) -> bool {
    id.len() == uuid::fmt::Hyphenated::LENGTH && uuid::Uuid::try_parse(id).is_ok()
}

/// Handles one request for this resource type. `work_until` is the instant by which the
/// answer must be ready; `on_created` is told each new mapping's UUID as soon as it exists (so
/// that whoever answers for a handler that panicked or hung can name it).
pub async fn handle<M: Mappings>(
    mappings: &M,
    request: &CloudFormationCustomResourceRequest<Value, Value>,
    work_until: Instant,
    on_created: &(dyn Fn(&str) + Sync),
) -> Answer {
    let provider = Provider {
        mappings,
        work_until,
        on_created,
    };
    match request {
        CloudFormationCustomResourceRequest::Create(request) => provider.create(request).await,
        CloudFormationCustomResourceRequest::Update(request) => provider.update(request).await,
        CloudFormationCustomResourceRequest::Delete(request) => provider.delete(request).await,
        _ => Answer::failed(None, "unknown RequestType"),
    }
}

struct Provider<'a, M> {
    mappings: &'a M,
    work_until: Instant,
    on_created: &'a (dyn Fn(&str) + Sync),
}

impl<M: Mappings> Provider<'_, M> {
    async fn create(&self, request: &CreateRequest<Value>) -> Answer {
        let result = async {
            let properties = MappingProperties::parse(&request.resource_properties)?;
            self.create_mapping(&properties).await
        }
        .await;
        match result {
            Ok(status) => {
                let reason = format!("created mapping {}", status.uuid);
                mapping_answer(&status, reason)
            }
            Err(err) => {
                tracing::warn!(error = %err, "create failed");
                Answer::failed(Some(failed_create_id(&request.request_id)), err.to_string())
            }
        }
    }

    async fn update(&self, request: &UpdateRequest<Value, Value>) -> Answer {
        let id = &request.physical_resource_id;
        match self.try_update(request).await {
            Ok((status, reason)) => mapping_answer(&status, reason),
            // A failed Update keeps the resource's id: CloudFormation then rolls back to it.
            Err(err) => {
                tracing::warn!(error = %err, mapping = %id, "update failed");
                Answer::failed(Some(id.clone()), err.to_string())
            }
        }
    }

    async fn try_update(
        &self,
        request: &UpdateRequest<Value, Value>,
    ) -> Result<(MappingStatus, String), ProviderError> {
        let properties = MappingProperties::parse(&request.resource_properties)?;
        let id = request.physical_resource_id.as_str();
        if !is_mapping_uuid(id) {
            let created = self.create_mapping(&properties).await?;
            let reason = format!("{id} is not a mapping; created mapping {}", created.uuid);
            return Ok((created, reason));
        }
        let (old, new) = (
            &request.old_resource_properties,
            &request.resource_properties,
        );
        if let Some(cause) = replacement(old, new) {
            // Lambda allows one mapping per stream and function: when only the starting
            // position changes, the old mapping has to go before the new one can exist.
            // CloudFormation's Delete of the old id then finds it gone, which is success.
            // The function and the stream are compared first, so this cause means both are
            // the same.
            let same_pair = cause == Property::StartingPosition;
            if same_pair {
                self.delete_mapping(id).await?;
            }
            let created = self.create_mapping(&properties).await?;
            let reason = if same_pair {
                format!(
                    "{cause} changed: deleted mapping {id} (Lambda allows one per stream and \
                     function) and created mapping {}",
                    created.uuid
                )
            } else {
                format!(
                    "{cause} changed: created mapping {}; CloudFormation deletes mapping {id}",
                    created.uuid
                )
            };
            return Ok((created, reason));
        }

        let current = match self
            .call("GetEventSourceMapping", self.mappings.get(id))
            .await?
        {
            Some(current) if current.state != MappingState::Deleting => current,
            // Deleted behind the stack's back: make it exist again, under a new id.
            _ => {
                let created = self.create_mapping(&properties).await?;
                let reason = format!("mapping {id} was gone; created mapping {}", created.uuid);
                return Ok((created, reason));
            }
        };
        self.settled(current).await?;
        let updated = self.call(
            "UpdateEventSourceMapping",
            self.mappings.update(id, &properties),
        );
        let updated = match updated.await {
            Err(ProviderError::Api(ApiError {
                kind: ApiErrorKind::NotFound,
                ..
            })) => {
                let created = self.create_mapping(&properties).await?;
                let reason = format!("mapping {id} was gone; created mapping {}", created.uuid);
                return Ok((created, reason));
            }
            result => result?,
        };
        let status = self.wait_while_transitional(updated).await;
        Ok((status, format!("updated mapping {id} in place")))
    }

    async fn delete(&self, request: &DeleteRequest<Value>) -> Answer {
        let id = &request.physical_resource_id;
        if !is_mapping_uuid(id) {
            // Left by a Create that failed before a mapping existed.
            return Answer::success(
                id.clone(),
                format!("{id} is not a mapping; nothing to delete"),
            );
        }
        match self.delete_mapping(id).await {
            Ok(()) => Answer::success(id.clone(), format!("mapping {id} deleted")),
            Err(err) => {
                tracing::warn!(error = %err, mapping = %id, "delete failed");
                Answer::failed(Some(id.clone()), err.to_string())
            }
        }
    }

    /// Deletes mapping `id`; already gone is success. Waits for a transitional state to settle
    /// first (Lambda refuses the delete meanwhile) and, after it, for the mapping to disappear.
    async fn delete_mapping(&self, id: &str) -> Result<(), ProviderError> {
        let Some(current) = self
            .call("GetEventSourceMapping", self.mappings.get(id))
            .await?
        else {
            return Ok(());
        };
        if current.state != MappingState::Deleting {
            self.settled(current).await?;
            let deleted = self.call("DeleteEventSourceMapping", self.mappings.delete(id));
            if deleted.await?.is_none() {
                return Ok(());
            }
        }
        self.wait_until_gone(id).await;
        Ok(())
    }

    async fn create_mapping(
        &self,
        properties: &MappingProperties,
    ) -> Result<MappingStatus, ProviderError> {
        let created = self
            .call("CreateEventSourceMapping", self.mappings.create(properties))
            .await?;
        (self.on_created)(&created.uuid);
        tracing::info!(mapping = %created.uuid, state = created.state.as_str(), "mapping created");
        Ok(self.wait_while_transitional(created).await)
    }

    /// One call through the port, bounded by the time left.
    async fn call<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ProviderError> {
        match tokio::time::timeout_at(self.work_until, call).await {
            Ok(result) => Ok(result?),
            Err(_elapsed) => Err(ProviderError::OutOfTime { operation }),
        }
    }

    /// Waits for `status` to leave a transitional state; an error if time runs out first.
    async fn settled(&self, status: MappingStatus) -> Result<MappingStatus, ProviderError> {
        let status = self.wait_while_transitional(status).await;
        if status.state.is_transitional() {
            return Err(ProviderError::StillBusy {
                uuid: status.uuid,
                state: status.state.as_str().to_owned(),
            });
        }
        Ok(status)
    }

    /// Looks again, with growing pauses, while the mapping is transitional and there is time
    /// for another look; returns the last state seen. Failing to look is not the request's
    /// failure: the state seen last is reported.
    async fn wait_while_transitional(&self, mut status: MappingStatus) -> MappingStatus {
        let mut attempt = 0;
        while status.state.is_transitional() {
            let Some(seen) = self.look_again(&status.uuid, POLLS.wait(attempt)).await else {
                break;
            };
            match seen {
                Some(now) => status = now,
                None => break,
            }
            attempt += 1;
        }
        status
    }

    /// Waits, while there is time, for mapping `id` to disappear after a delete.
    async fn wait_until_gone(&self, id: &str) {
        let mut attempt = 0;
        while let Some(Some(_still_there)) = self.look_again(id, POLLS.wait(attempt)).await {
            attempt += 1;
        }
    }

    /// After `pause`, the mapping's status (`Some(None)` if it is gone); `None` if there is no
    /// time for the pause and a call, or the call failed.
    async fn look_again(&self, id: &str, pause: Duration) -> Option<Option<MappingStatus>> {
        let at = Instant::now() + pause;
        if at + pause >= self.work_until {
            return None;
        }
        tokio::time::sleep_until(at).await;
        match self
            .call("GetEventSourceMapping", self.mappings.get(id))
            .await
        {
            Ok(seen) => Some(seen),
            Err(err) => {
                tracing::warn!(error = %err, mapping = id, "could not look at the mapping's state");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_uuids_are_recognised() {
        assert!(is_mapping_uuid("a1b2c3d4-0000-4abc-8def-0123456789ab"));
        assert!(!is_mapping_uuid(
            "not-created-49347ca5-c603-44e5-a34b-10cf1854a887"
        ));
        assert!(!is_mapping_uuid("a1b2c3d4-0000-4abc-8def-0123456789a"));
        assert!(!is_mapping_uuid("g1b2c3d4-0000-4abc-8def-0123456789ab"));
        assert!(!is_mapping_uuid(""));
    }

    #[test]
    fn unknown_states_are_settled() {
        assert!(MappingState::parse("Creating").is_transitional());
        assert!(MappingState::parse("Updating").is_transitional());
        assert!(!MappingState::parse("Enabled").is_transitional());
        assert!(!MappingState::parse("Deleting").is_transitional());
        assert!(!MappingState::parse("Frobnicating").is_transitional());
        assert_eq!(MappingState::parse("Frobnicating").as_str(), "Frobnicating");
    }
}
