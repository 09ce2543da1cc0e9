//! `Custom::KinesisEventSourceMapping`: what Create, Update and Delete do to a Lambda
//! event-source mapping, generic over the [`Mappings`] port, and the [`Answer`] each gives.
//!
//! - **Create** makes the mapping (CreateEventSourceMapping); the physical id is its UUID, and
//!   `Data` holds `UUID` and `State`. While Lambda refuses it because the consumer's role does
//!   not yet grant what the mapping needs (a role made moments before, not yet propagated in
//!   IAM), it tries again after growing pauses, within the time it has. When a mapping of the
//!   same function and stream exists already (Lambda allows one, and answers
//!   ResourceConflictException), it adopts that mapping and updates it to the declared
//!   settings: a redelivered Create whose first answer was lost, or a mapping left by an
//!   earlier stack (DeleteFunction does not delete a function's mappings). A mapping that
//!   differs in what Lambda cannot update is a FAILED answer naming it and the difference.
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

/// The waits before creating the mapping again while Lambda says the consumer's role does not
/// grant what it needs. IAM propagates a new role's policy within seconds, usually; this is a
/// state that changes with time, not a contention to spread out, so the waits are whole.
const ROLE_PROPAGATION: Backoff =
    Backoff::polls(Duration::from_millis(500), Duration::from_secs(5));

/// Kept after a pause for one more CreateEventSourceMapping, which Lambda answers in well
/// under a second.
const CREATE_ALLOWANCE: Duration = Duration::from_secs(1);

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
    /// CreateEventSourceMapping's ResourceConflictException: a mapping of the function and
    /// stream exists already, or another operation on them is in progress.
    Conflict,
    /// CreateEventSourceMapping's InvalidParameterValueException saying that the function's
    /// execution role does not grant what the mapping needs (see [`lambda_api`] for how it is
    /// told apart): with a role the stack made moments before, not yet propagated in IAM.
    RoleNotReady,
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

/// A mapping as listed: what decides whether a Create may adopt it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundMapping {
    pub status: MappingStatus,
    pub function_arn: String,
    pub stream_arn: String,
    /// As Lambda reports it (`TRIM_HORIZON`, `LATEST`, `AT_TIMESTAMP`), if it does.
    pub starting_position: Option<String>,
}

impl FoundMapping {
    /// Whether this is a mapping of exactly the function and stream of `properties`. A mapping
    /// of a version or an alias of the function (`...:function:name:live`) is not.
    fn is_of(&self, properties: &MappingProperties) -> bool {
        let function = properties.function_name.as_str();
        let same_function = if function.starts_with("arn:") {
            self.function_arn == function
        } else {
            // A name, or a partial ARN (`123456789012:function:name`).
            let suffix = if function.contains(":function:") {
                format!(":{function}")
            } else {
                format!(":function:{function}")
            };
            self.function_arn.ends_with(&suffix)
        };
        same_function && self.stream_arn == properties.stream_arn
    }

    /// What differs from `properties` that UpdateEventSourceMapping cannot change, if anything.
    fn unchangeable_difference(&self, properties: &MappingProperties) -> Option<String> {
        let declared = properties.starting_position.as_str();
        let found = self.starting_position.as_deref();
        (found != Some(declared)).then(|| {
            format!(
                "its StartingPosition is {}, declared {declared}, and Lambda cannot change a \
                 mapping's starting position",
                found.unwrap_or("not reported")
            )
        })
    }
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
    /// The mappings of function `function_name` on stream `stream_arn`.
    fn list(
        &self,
        function_name: &str,
        stream_arn: &str,
    ) -> impl Future<Output = Result<Vec<FoundMapping>, ApiError>> + Send;
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
    #[error(
        "{last} (refused {attempts} times over {} s, waiting for the consumer's role to \
         propagate in IAM, until this request's time ran out: check that the role grants what \
         the message names)",
        .waited.as_secs()
    )]
    RoleNotReady {
        last: ApiError,
        attempts: u32,
        waited: Duration,
    },
    #[error(
        "mapping {uuid} of this function and stream exists already, and {difference}: delete \
         mapping {uuid}, or declare it as it is"
    )]
    ConflictingMapping { uuid: String, difference: String },
}

/// A mapping a request made, or found and adopted.
struct Made {
    status: MappingStatus,
    adopted: bool,
}

impl Made {
    /// What was done, for the answer's reason.
    fn describe(&self) -> String {
        let uuid = &self.status.uuid;
        if self.adopted {
            format!(
                "adopted mapping {uuid}, which existed already for this function and stream, \
                 and updated it to the declared settings"
            )
        } else {
            format!("created mapping {uuid}")
        }
    }
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
/// answer must be ready; `on_created` is told the UUID of each mapping the request makes, or
/// adopts, as soon as it is this resource's (so that whoever answers for a handler that
/// panicked or hung can name it).
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
            Ok(made) => mapping_answer(&made.status, made.describe()),
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
            let made = self.create_mapping(&properties).await?;
            let reason = format!("{id} is not a mapping; {}", made.describe());
            return Ok((made.status, reason));
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
            let made = self.create_mapping(&properties).await?;
            let reason = if same_pair {
                format!(
                    "{cause} changed: deleted mapping {id} (Lambda allows one per stream and \
                     function) and {}",
                    made.describe()
                )
            } else {
                format!(
                    "{cause} changed: {}; CloudFormation deletes mapping {id}",
                    made.describe()
                )
            };
            return Ok((made.status, reason));
        }

        let current = match self
            .call("GetEventSourceMapping", self.mappings.get(id))
            .await?
        {
            Some(current) if current.state != MappingState::Deleting => current,
            // Deleted behind the stack's back: make it exist again, under a new id.
            _ => {
                let made = self.create_mapping(&properties).await?;
                let reason = format!("mapping {id} was gone; {}", made.describe());
                return Ok((made.status, reason));
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
                let made = self.create_mapping(&properties).await?;
                let reason = format!("mapping {id} was gone; {}", made.describe());
                return Ok((made.status, reason));
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

    /// Makes the mapping of `properties`, or adopts the one of the same function and stream
    /// that exists already.
    async fn create_mapping(&self, properties: &MappingProperties) -> Result<Made, ProviderError> {
        let mut waited_for_deletion = false;
        loop {
            let conflict = match self.create_when_role_ready(properties).await {
                Ok(created) => {
                    (self.on_created)(&created.uuid);
                    tracing::info!(mapping = %created.uuid, state = created.state.as_str(), "mapping created");
                    let status = self.wait_while_transitional(created).await;
                    return Ok(Made {
                        status,
                        adopted: false,
                    });
                }
                Err(ProviderError::Api(err)) if err.kind == ApiErrorKind::Conflict => err,
                Err(err) => return Err(err),
            };
            let listed = self
                .mappings
                .list(&properties.function_name, &properties.stream_arn);
            let found = self.call("ListEventSourceMappings", listed).await?;
            let Some(existing) = found.into_iter().find(|found| found.is_of(properties)) else {
                // Not a mapping of this pair, so "another operation is in progress": the
                // conflict's own message is the reason.
                return Err(conflict.into());
            };
            if existing.status.state == MappingState::Deleting {
                if waited_for_deletion {
                    return Err(ProviderError::StillBusy {
                        uuid: existing.status.uuid,
                        state: existing.status.state.as_str().to_owned(),
                    });
                }
                // Going away: once it is gone, the pair is free for a new mapping.
                self.wait_until_gone(&existing.status.uuid).await;
                waited_for_deletion = true;
                continue;
            }
            return self.adopt(existing, properties).await;
        }
    }

    /// CreateEventSourceMapping, made again after a pause while Lambda refuses it because the
    /// consumer's role does not grant what the mapping needs yet, as long as there is time for
    /// the pause and one more call. When the time is up, the last refusal is the error.
    async fn create_when_role_ready(
        &self,
        properties: &MappingProperties,
    ) -> Result<MappingStatus, ProviderError> {
        let create = || self.call("CreateEventSourceMapping", self.mappings.create(properties));
        let started = Instant::now();
        let mut last = match create().await {
            Err(ProviderError::Api(err)) if err.kind == ApiErrorKind::RoleNotReady => err,
            other => return other,
        };
        let mut attempts = 1;
        while let Some(pause) = self.pause_before_another_create(attempts - 1) {
            tracing::warn!(
                attempts,
                pause = ?pause,
                error = %last,
                "Lambda refused the mapping: the consumer's role is not ready yet; trying again"
            );
            tokio::time::sleep(pause).await;
            match create().await {
                Err(ProviderError::Api(err)) if err.kind == ApiErrorKind::RoleNotReady => {
                    last = err;
                }
                // The last refusal says more than "did not finish".
                Err(ProviderError::OutOfTime { .. }) => break,
                other => return other,
            }
            attempts += 1;
        }
        Err(ProviderError::RoleNotReady {
            last,
            attempts,
            waited: started.elapsed(),
        })
    }

    /// The pause before another CreateEventSourceMapping after `attempt` (from 0) was refused;
    /// shorter than the backoff's when only that fits before `work_until`, `None` when not
    /// even the call does.
    fn pause_before_another_create(&self, attempt: u32) -> Option<Duration> {
        let left = self.work_until.checked_duration_since(Instant::now())?;
        let room = left
            .checked_sub(CREATE_ALLOWANCE)
            .filter(|room| !room.is_zero())?;
        Some(ROLE_PROPAGATION.wait(attempt).min(room))
    }

    /// Takes `existing` (a mapping of the same function and stream) as this resource's mapping,
    /// updated to `properties`; refused if it differs in what Lambda cannot update.
    async fn adopt(
        &self,
        existing: FoundMapping,
        properties: &MappingProperties,
    ) -> Result<Made, ProviderError> {
        let uuid = existing.status.uuid.clone();
        if let Some(difference) = existing.unchangeable_difference(properties) {
            return Err(ProviderError::ConflictingMapping { uuid, difference });
        }
        // From here on it is this resource's mapping: if the handler dies now, the rollback's
        // Delete removes it, as it would one this request had made.
        (self.on_created)(&uuid);
        tracing::info!(mapping = %uuid, state = existing.status.state.as_str(), "adopting the mapping of this function and stream");
        self.settled(existing.status).await?;
        let updated = self
            .call(
                "UpdateEventSourceMapping",
                self.mappings.update(&uuid, properties),
            )
            .await?;
        let status = self.wait_while_transitional(updated).await;
        Ok(Made {
            status,
            adopted: true,
        })
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
