//! The provider's decisions, generic over the [`Mappings`] port: what Create, Update and
//! Delete do to the event-source mapping, and the [`Answer`] each gives CloudFormation.
//!
//! Every call through the port is bounded by `work_until`, and waiting for a mapping to leave a
//! transitional state stops before it, so an answer is always ready in time. A failure is never
//! swallowed: it becomes a FAILED answer whose reason is the real error.

use crate::properties::{MappingProperties, PropertiesError, RESOURCE_TYPE, replacement_cause};
use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceRequest, CloudFormationCustomResourceResponseStatus as Status,
    CreateRequest, DeleteRequest, UpdateRequest,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// The first wait before looking at a mapping's state again; it doubles up to [`POLL_MAX`].
const POLL_FIRST: Duration = Duration::from_millis(250);
const POLL_MAX: Duration = Duration::from_secs(2);

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
    #[error("not a CloudFormation custom-resource request: {0}")]
    NotARequest(String),
    #[error("this provider handles {RESOURCE_TYPE}, not {0}")]
    WrongResourceType(String),
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

/// What the provider tells CloudFormation, less the fields copied from the request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub status: Status,
    pub reason: Option<String>,
    /// `None` when the request could not even be read; the answering side then uses the
    /// request's own physical id, or [`failed_create_id`].
    pub physical_resource_id: Option<String>,
    pub data: BTreeMap<String, String>,
}

impl Answer {
    fn success(physical_resource_id: String, reason: String) -> Self {
        Self {
            status: Status::Success,
            reason: Some(reason),
            physical_resource_id: Some(physical_resource_id),
            data: BTreeMap::new(),
        }
    }

    fn mapping(status: &MappingStatus, reason: String) -> Self {
        let mut answer = Self::success(status.uuid.clone(), reason);
        answer.data.insert("UUID".into(), status.uuid.clone());
        answer
            .data
            .insert("State".into(), status.state.as_str().into());
        answer
    }

    /// A FAILED answer with `reason`; `physical_resource_id` as [`Answer::physical_resource_id`].
    pub fn failed(physical_resource_id: Option<String>, reason: impl Into<String>) -> Self {
        Self {
            status: Status::Failed,
            reason: Some(reason.into()),
            physical_resource_id,
            data: BTreeMap::new(),
        }
    }
}

/// The physical id of a resource whose Create failed before a mapping existed. It is not a
/// UUID, so the Delete that CloudFormation sends on rollback knows there is nothing to delete.
pub fn failed_create_id(request_id: &str) -> String {
    format!("not-created-{request_id}")
}

/// Whether `id` has the shape of a mapping UUID (8-4-4-4-12 hex digits).
pub fn is_mapping_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Handles one request: `request` is the invocation payload, `work_until` the instant by which
/// the answer must be ready, `on_created` is told each new mapping's UUID as soon as it exists
/// (so that whoever answers for a crashed handler can name it).
pub async fn handle<M: Mappings>(
    mappings: &M,
    request: &Value,
    work_until: Instant,
    on_created: &(dyn Fn(&str) + Sync),
) -> Answer {
    let provider = Provider {
        mappings,
        work_until,
        on_created,
    };
    let parsed = CloudFormationCustomResourceRequest::<Value, Value>::deserialize(request);
    match parsed {
        Ok(CloudFormationCustomResourceRequest::Create(request)) => provider.create(&request).await,
        Ok(CloudFormationCustomResourceRequest::Update(request)) => provider.update(&request).await,
        Ok(CloudFormationCustomResourceRequest::Delete(request)) => provider.delete(&request).await,
        Ok(_) => Answer::failed(None, "unknown RequestType"),
        Err(err) => Answer::failed(
            None,
            ProviderError::NotARequest(err.to_string()).to_string(),
        ),
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
            check_type(&request.resource_type)?;
            let properties = MappingProperties::parse(&request.resource_properties)?;
            self.create_mapping(&properties).await
        }
        .await;
        match result {
            Ok(status) => {
                let reason = format!("created mapping {}", status.uuid);
                Answer::mapping(&status, reason)
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
            Ok((status, reason)) => Answer::mapping(&status, reason),
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
        check_type(&request.resource_type)?;
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
        if let Some(cause) = replacement_cause(old, new) {
            // Lambda allows one mapping per stream and function: when only the starting
            // position changes, the old mapping has to go before the new one can exist.
            // CloudFormation's Delete of the old id then finds it gone, which is success.
            let same_pair = ["FunctionName", "StreamArn"]
                .iter()
                .all(|key| old.get(key) == new.get(key));
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
        let mut pause = POLL_FIRST;
        while status.state.is_transitional() {
            let Some(seen) = self.look_again(&status.uuid, pause).await else {
                break;
            };
            match seen {
                Some(now) => status = now,
                None => break,
            }
            pause = (pause * 2).min(POLL_MAX);
        }
        status
    }

    /// Waits, while there is time, for mapping `id` to disappear after a delete.
    async fn wait_until_gone(&self, id: &str) {
        let mut pause = POLL_FIRST;
        while let Some(Some(_still_there)) = self.look_again(id, pause).await {
            pause = (pause * 2).min(POLL_MAX);
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

fn check_type(resource_type: &str) -> Result<(), ProviderError> {
    if resource_type == RESOURCE_TYPE {
        Ok(())
    } else {
        Err(ProviderError::WrongResourceType(resource_type.to_owned()))
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
