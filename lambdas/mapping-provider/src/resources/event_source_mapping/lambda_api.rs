//! [`Mappings`] on the Lambda API, with aws-sdk-lambda. Calls use the SDK's own retry
//! configuration (the standard mode from the shared configuration); the provider bounds each
//! call by the time left. Errors are told apart by their typed SDK variants, and one variant
//! further by what it says (see [`ROLE_NOT_READY`]).

use super::properties::MappingProperties;
use super::{ApiError, ApiErrorKind, FoundMapping, MappingState, MappingStatus, Mappings};
use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::operation::RequestId;
use aws_sdk_lambda::operation::create_event_source_mapping::CreateEventSourceMappingError;
use aws_sdk_lambda::operation::delete_event_source_mapping::DeleteEventSourceMappingError;
use aws_sdk_lambda::operation::get_event_source_mapping::GetEventSourceMappingError;
use aws_sdk_lambda::operation::update_event_source_mapping::UpdateEventSourceMappingError;
use aws_sdk_lambda::types::{
    DestinationConfig, EventSourceMappingConfiguration, EventSourcePosition, FunctionResponseType,
    OnFailure,
};

/// The Lambda API's event-source mappings.
#[derive(Clone, Debug)]
pub struct LambdaMappings {
    client: Client,
}

impl LambdaMappings {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// The real error, readable in a stack event: a service error as Lambda's code and message
/// with the request id; anything else (no connection, timeout) as its chain of causes. (The
/// SDK's own `Display` says only "service error"; its `DisplayErrorContext` appends a debug
/// dump of the raw HTTP response.)
fn message<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let request_id = err
        .request_id()
        .map(|id| format!(" (request id {id})"))
        .unwrap_or_default();
    if let SdkError::ServiceError(_) = err
        && let Some(code) = err.code()
    {
        let text = err.message().unwrap_or("no message");
        return format!("{code}: {text}{request_id}");
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text + &request_id
}

/// What Lambda says, in an InvalidParameterValueException of CreateEventSourceMapping, when the
/// function's execution role does not grant what the mapping needs. For the stream: "Cannot
/// access stream `<arn>`. Please ensure the role can perform the GetRecords, GetShardIterator,
/// DescribeStream, and ListStreams Actions on your stream in IAM". The same refusal for the
/// role's other rights reads "The function execution role does not have permissions to call
/// `<action>` on ...", and for its trust policy "... cannot be assumed by Lambda" (the phrases
/// the Terraform AWS provider retries on for this call, for the same reason).
///
/// Lambda gives these no error code of their own: they are the InvalidParameterValueException
/// of a parameter that is wrong for good ("One of the parameters in the request is not valid",
/// Errors of CreateEventSourceMapping in the Lambda API Reference, whose example is an IAM role
/// Lambda is unable to assume). The typed variant narrows it to that exception, and only its
/// message tells a role's rights from, say, a batch size. The rights are the ones "Process
/// Amazon Kinesis Data Streams records with Lambda" (Lambda Developer Guide,
/// <https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-create.html>) says the
/// execution role needs before the mapping can be created. The stack grants them to the
/// consumer's role in the same template, moments before, and IAM is eventually consistent; the
/// provider has checked every other parameter against Lambda's limits already. So here they
/// mean "not propagated yet", and are retried; a right that is truly missing fails the same
/// way, with the same message, when the request's time is up.
pub const ROLE_NOT_READY: [&str; 4] = [
    "Cannot access stream",
    "ensure the role can perform",
    "execution role does not have permissions",
    "cannot be assumed by Lambda",
];

/// Whether `message` (of an InvalidParameterValueException) is one of [`ROLE_NOT_READY`].
fn says_role_not_ready(message: Option<&str>) -> bool {
    message.is_some_and(|text| ROLE_NOT_READY.iter().any(|marker| text.contains(marker)))
}

fn other(operation: &'static str, message: String) -> ApiError {
    ApiError {
        operation,
        kind: ApiErrorKind::Other,
        message,
    }
}

/// A response without a UUID cannot be tracked by CloudFormation: reported as an error. A
/// response without a state is taken to be in `assumed`, the state the call leads through.
fn status(
    operation: &'static str,
    uuid: Option<&str>,
    state: Option<&str>,
    assumed: MappingState,
) -> Result<MappingStatus, ApiError> {
    let uuid = uuid.ok_or_else(|| other(operation, "the response has no UUID".into()))?;
    Ok(MappingStatus {
        uuid: uuid.to_owned(),
        state: state.map_or(assumed, MappingState::parse),
    })
}

/// A listed mapping; without a UUID it cannot be adopted, which is reported as an error.
fn found(
    operation: &'static str,
    mapping: &EventSourceMappingConfiguration,
) -> Result<FoundMapping, ApiError> {
    Ok(FoundMapping {
        status: status(
            operation,
            mapping.uuid(),
            mapping.state(),
            MappingState::Other("unknown".into()),
        )?,
        function_arn: mapping.function_arn().unwrap_or_default().to_owned(),
        stream_arn: mapping.event_source_arn().unwrap_or_default().to_owned(),
        starting_position: mapping
            .starting_position()
            .map(|position| position.as_str().to_owned()),
    })
}

fn response_types(properties: &MappingProperties) -> Vec<FunctionResponseType> {
    if properties.report_batch_item_failures {
        vec![FunctionResponseType::ReportBatchItemFailures]
    } else {
        Vec::new()
    }
}

/// The on-failure destination; on update, an `OnFailure` without a destination removes one
/// set before.
fn destination(properties: &MappingProperties) -> DestinationConfig {
    let on_failure = OnFailure::builder()
        .set_destination(properties.on_failure_destination_arn.clone())
        .build();
    DestinationConfig::builder().on_failure(on_failure).build()
}

impl Mappings for LambdaMappings {
    async fn create(&self, properties: &MappingProperties) -> Result<MappingStatus, ApiError> {
        const OPERATION: &str = "CreateEventSourceMapping";
        let mut call = self
            .client
            .create_event_source_mapping()
            .function_name(&properties.function_name)
            .event_source_arn(&properties.stream_arn)
            .starting_position(EventSourcePosition::from(
                properties.starting_position.as_str(),
            ))
            .batch_size(properties.batch_size)
            .maximum_batching_window_in_seconds(properties.maximum_batching_window_in_seconds)
            .set_function_response_types(Some(response_types(properties)))
            .bisect_batch_on_function_error(properties.bisect_batch_on_function_error)
            .maximum_retry_attempts(properties.maximum_retry_attempts)
            .maximum_record_age_in_seconds(properties.maximum_record_age_in_seconds)
            .parallelization_factor(properties.parallelization_factor)
            .enabled(true);
        if properties.on_failure_destination_arn.is_some() {
            call = call.destination_config(destination(properties));
        }
        let output = call.send().await.map_err(|err| {
            let text = message(&err);
            let kind =
                match err.as_service_error() {
                    Some(CreateEventSourceMappingError::InvalidParameterValueException(
                        refusal,
                    )) if says_role_not_ready(refusal.message()) => ApiErrorKind::RoleNotReady,
                    Some(CreateEventSourceMappingError::ResourceConflictException(_)) => {
                        ApiErrorKind::Conflict
                    }
                    _ => ApiErrorKind::Other,
                };
            ApiError {
                operation: OPERATION,
                kind,
                message: text,
            }
        })?;
        status(
            OPERATION,
            output.uuid(),
            output.state(),
            MappingState::Creating,
        )
    }

    async fn get(&self, uuid: &str) -> Result<Option<MappingStatus>, ApiError> {
        const OPERATION: &str = "GetEventSourceMapping";
        match self
            .client
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
        {
            Ok(output) => status(
                OPERATION,
                output.uuid(),
                output.state(),
                MappingState::Other("unknown".into()),
            )
            .map(Some),
            Err(err) => {
                let text = message(&err);
                match err.into_service_error() {
                    GetEventSourceMappingError::ResourceNotFoundException(_) => Ok(None),
                    _ => Err(other(OPERATION, text)),
                }
            }
        }
    }

    async fn update(
        &self,
        uuid: &str,
        properties: &MappingProperties,
    ) -> Result<MappingStatus, ApiError> {
        const OPERATION: &str = "UpdateEventSourceMapping";
        let call = self
            .client
            .update_event_source_mapping()
            .uuid(uuid)
            .batch_size(properties.batch_size)
            .maximum_batching_window_in_seconds(properties.maximum_batching_window_in_seconds)
            .set_function_response_types(Some(response_types(properties)))
            .bisect_batch_on_function_error(properties.bisect_batch_on_function_error)
            .maximum_retry_attempts(properties.maximum_retry_attempts)
            .maximum_record_age_in_seconds(properties.maximum_record_age_in_seconds)
            .parallelization_factor(properties.parallelization_factor)
            .destination_config(destination(properties))
            .enabled(true);
        match call.send().await {
            Ok(output) => status(
                OPERATION,
                output.uuid(),
                output.state(),
                MappingState::Updating,
            ),
            Err(err) => {
                let text = message(&err);
                let kind = match err.into_service_error() {
                    UpdateEventSourceMappingError::ResourceNotFoundException(_) => {
                        ApiErrorKind::NotFound
                    }
                    _ => ApiErrorKind::Other,
                };
                Err(ApiError {
                    operation: OPERATION,
                    kind,
                    message: text,
                })
            }
        }
    }

    async fn delete(&self, uuid: &str) -> Result<Option<MappingStatus>, ApiError> {
        const OPERATION: &str = "DeleteEventSourceMapping";
        match self
            .client
            .delete_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
        {
            Ok(output) => status(
                OPERATION,
                output.uuid(),
                output.state(),
                MappingState::Deleting,
            )
            .map(Some),
            Err(err) => {
                let text = message(&err);
                match err.into_service_error() {
                    DeleteEventSourceMappingError::ResourceNotFoundException(_) => Ok(None),
                    _ => Err(other(OPERATION, text)),
                }
            }
        }
    }

    async fn list(
        &self,
        function_name: &str,
        stream_arn: &str,
    ) -> Result<Vec<FoundMapping>, ApiError> {
        const OPERATION: &str = "ListEventSourceMappings";
        let listed = self
            .client
            .list_event_source_mappings()
            .function_name(function_name)
            .event_source_arn(stream_arn)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|err| other(OPERATION, message(&err)))?;
        listed
            .iter()
            .map(|mapping| found(OPERATION, mapping))
            .collect()
    }
}
