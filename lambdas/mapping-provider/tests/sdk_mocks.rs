#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The mapping's Create decisions on the real adapter (`LambdaMappings` over aws-sdk-lambda),
//! with Lambda's answers played by the SDK's own test utility (aws-smithy-mocks): a consumer's
//! role not yet propagated in IAM, which moto never refuses, and a mapping of the function and
//! stream that exists already. Time is tokio's paused clock, so the waits cost nothing and are
//! measured exactly.

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceRequest, CloudFormationCustomResourceResponseStatus as Status,
};
use aws_sdk_lambda::Client;
use aws_sdk_lambda::error::ErrorMetadata;
use aws_sdk_lambda::operation::create_event_source_mapping::{
    CreateEventSourceMappingError, CreateEventSourceMappingOutput,
};
use aws_sdk_lambda::operation::get_event_source_mapping::{
    GetEventSourceMappingError, GetEventSourceMappingOutput,
};
use aws_sdk_lambda::operation::list_event_source_mappings::ListEventSourceMappingsOutput;
use aws_sdk_lambda::operation::update_event_source_mapping::UpdateEventSourceMappingOutput;
use aws_sdk_lambda::types::error::{
    InvalidParameterValueException, ResourceConflictException, ResourceNotFoundException,
};
use aws_sdk_lambda::types::{
    EventSourceMappingConfiguration, EventSourcePosition, FunctionResponseType,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use mapping_provider::answer::Answer;
use mapping_provider::resources::event_source_mapping::handle;
use mapping_provider::resources::event_source_mapping::lambda_api::LambdaMappings;
use serde_json::Value;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

const CREATE: &str = include_str!("fixtures/create.json");
/// The function and stream of the Create fixture.
const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:demo-IoTDDBEventProcessor";
const STREAM: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/demo-IoTEventStream";
const UUID: &str = "5a3e8f1c-2b4d-4e6f-8a9b-0c1d2e3f4a5b";
/// What Lambda answers while the consumer's role does not grant reading the stream.
const CANNOT_ACCESS: &str = "Cannot access stream arn:aws:kinesis:us-east-1:123456789012:stream/demo-IoTEventStream. Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM.";

/// The Create fixture with the resource's own properties only, as the dispatcher hands it on
/// (CloudFormation's `ServiceToken` and `ServiceTimeout` are nothing to the mapping).
fn create_request() -> CloudFormationCustomResourceRequest<Value, Value> {
    let mut request: Value = serde_json::from_str(CREATE).unwrap();
    let properties = request["ResourceProperties"].as_object_mut().unwrap();
    properties.retain(|name, _| name != "ServiceToken" && name != "ServiceTimeout");
    serde_json::from_value(request).unwrap()
}

fn metadata(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

fn invalid_parameter(message: &'static str) -> impl Fn() -> CreateEventSourceMappingError {
    move || {
        CreateEventSourceMappingError::InvalidParameterValueException(
            InvalidParameterValueException::builder()
                .r#type("User")
                .message(message)
                .meta(metadata("InvalidParameterValueException", message))
                .build(),
        )
    }
}

fn conflict() -> CreateEventSourceMappingError {
    let message = format!(
        "The event source arn (\" {STREAM} \") and function (\" {FUNCTION} \") provided mapping \
         already exists. Please update or delete the existing mapping with UUID {UUID}"
    );
    CreateEventSourceMappingError::ResourceConflictException(
        ResourceConflictException::builder()
            .r#type("User")
            .message(&message)
            .meta(metadata("ResourceConflictException", &message))
            .build(),
    )
}

fn created() -> CreateEventSourceMappingOutput {
    CreateEventSourceMappingOutput::builder()
        .uuid(UUID)
        .state("Creating")
        .build()
}

fn enabled() -> Rule {
    mock!(Client::get_event_source_mapping).then_output(|| {
        GetEventSourceMappingOutput::builder()
            .uuid(UUID)
            .state("Enabled")
            .build()
    })
}

/// The listing Lambda gives for the fixture's function and stream: one mapping at `position`.
fn listed(position: EventSourcePosition, state: &'static str) -> Rule {
    mock!(Client::list_event_source_mappings)
        .match_requests(|input| {
            input.function_name() == Some(FUNCTION) && input.event_source_arn() == Some(STREAM)
        })
        .then_output(move || {
            let mapping = EventSourceMappingConfiguration::builder()
                .uuid(UUID)
                .function_arn(FUNCTION)
                .event_source_arn(STREAM)
                .starting_position(position.clone())
                .batch_size(100)
                .state(state)
                .build();
            ListEventSourceMappingsOutput::builder()
                .event_source_mappings(mapping)
                .build()
        })
}

/// UpdateEventSourceMapping of [`UUID`] to the fixture's settings, and nothing else.
fn updated_to_the_declared_settings() -> Rule {
    mock!(Client::update_event_source_mapping)
        .match_requests(|input| {
            input.uuid() == Some(UUID)
                && input.batch_size() == Some(500)
                && input.maximum_batching_window_in_seconds() == Some(1)
                && input.function_response_types()
                    == [FunctionResponseType::ReportBatchItemFailures]
                && input.bisect_batch_on_function_error() == Some(true)
                && input.maximum_retry_attempts() == Some(3)
                && input.maximum_record_age_in_seconds() == Some(21_600)
                && input
                    .destination_config()
                    .and_then(|d| d.on_failure())
                    .and_then(|f| f.destination())
                    == Some("arn:aws:sqs:us-east-1:123456789012:demo-IoTDDBEventProcessor-failures")
        })
        .then_output(|| {
            UpdateEventSourceMappingOutput::builder()
                .uuid(UUID)
                .state("Updating")
                .build()
        })
}

/// Runs the Create fixture with `rules` as Lambda, `budget` to work in; the answer and the
/// mappings reported as this resource's.
async fn create_with(rules: &[&Rule], budget: Duration) -> (Answer, Vec<String>) {
    let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, rules);
    let mappings = LambdaMappings::new(client);
    let reported = Mutex::new(Vec::new());
    let on_created = |uuid: &str| reported.lock().unwrap().push(uuid.to_owned());
    let until = Instant::now() + budget;
    let answer = handle(&mappings, &create_request(), until, &on_created).await;
    (answer, reported.into_inner().unwrap())
}

fn reason(answer: &Answer) -> &str {
    answer.reason.as_deref().unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn a_role_not_yet_propagated_is_waited_for_and_the_create_then_succeeds() {
    let create = mock!(Client::create_event_source_mapping)
        .sequence()
        .error(invalid_parameter(CANNOT_ACCESS))
        .times(3)
        .output(created)
        .build();
    let get = enabled();
    let start = Instant::now();
    let (answer, reported) = create_with(&[&create, &get], Duration::from_secs(60)).await;

    assert_eq!(answer.status, Status::Success, "{answer:?}");
    assert_eq!(answer.physical_resource_id.as_deref(), Some(UUID));
    assert_eq!(reason(&answer), format!("created mapping {UUID}"));
    assert_eq!(answer.data["State"], "Enabled");
    assert_eq!(reported, [UUID]);
    assert_eq!(create.num_calls(), 4);
    // Three growing pauses (0.5 s, 1 s, 2 s) before the fourth attempt: backed off, not hammered.
    assert!(
        start.elapsed() >= Duration::from_millis(3_500),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_role_never_ready_fails_in_time_with_lambdas_own_refusal() {
    let create =
        mock!(Client::create_event_source_mapping).then_error(invalid_parameter(CANNOT_ACCESS));
    let start = Instant::now();
    let budget = Duration::from_secs(20);
    let (answer, reported) = create_with(&[&create], budget).await;

    assert_eq!(answer.status, Status::Failed, "{answer:?}");
    let reason = reason(&answer);
    assert!(
        reason.starts_with(&format!(
            "CreateEventSourceMapping failed: InvalidParameterValueException: {CANNOT_ACCESS}"
        )),
        "{reason}"
    );
    let calls = create.num_calls();
    assert!(calls >= 5, "{calls} attempts");
    assert!(
        reason.contains(&format!("refused {calls} times over")),
        "{reason}"
    );
    // It kept trying until little more than the time for one call was left, and no longer.
    let spent = start.elapsed();
    assert!(
        spent >= budget - Duration::from_secs(5) && spent < budget,
        "{spent:?}"
    );
    assert_eq!(
        answer.physical_resource_id.as_deref(),
        Some("not-created-6a8c3bde-95d4-4a4c-9c53-0b1f6a0e2f11")
    );
    assert!(reported.is_empty());
}

#[tokio::test(start_paused = true)]
async fn another_invalid_parameter_is_not_retried() {
    let create = mock!(Client::create_event_source_mapping).then_error(invalid_parameter(
        "BatchSize 20000 exceeds the max of 10000",
    ));
    let (answer, _) = create_with(&[&create], Duration::from_secs(20)).await;
    assert_eq!(answer.status, Status::Failed, "{answer:?}");
    assert_eq!(
        reason(&answer),
        "CreateEventSourceMapping failed: InvalidParameterValueException: BatchSize 20000 \
         exceeds the max of 10000"
    );
    assert_eq!(create.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_conflict_with_an_identical_mapping_adopts_it_updated_to_the_declared_settings() {
    let create = mock!(Client::create_event_source_mapping).then_error(conflict);
    let list = listed(EventSourcePosition::TrimHorizon, "Enabled");
    let update = updated_to_the_declared_settings();
    let get = enabled();
    let (answer, reported) =
        create_with(&[&create, &list, &update, &get], Duration::from_secs(60)).await;

    assert_eq!(answer.status, Status::Success, "{answer:?}");
    assert_eq!(answer.physical_resource_id.as_deref(), Some(UUID));
    assert_eq!(answer.data["UUID"], UUID);
    assert_eq!(answer.data["State"], "Enabled");
    assert!(
        reason(&answer).starts_with(&format!("adopted mapping {UUID}")),
        "{answer:?}"
    );
    assert_eq!(
        (create.num_calls(), list.num_calls(), update.num_calls()),
        (1, 1, 1)
    );
    // Now this resource's: a handler that died after this would have the rollback delete it.
    assert_eq!(reported, [UUID]);
}

#[tokio::test(start_paused = true)]
async fn a_conflicting_mapping_with_another_starting_position_is_refused_naming_it() {
    let create = mock!(Client::create_event_source_mapping).then_error(conflict);
    let list = listed(EventSourcePosition::Latest, "Enabled");
    let update = updated_to_the_declared_settings();
    let (answer, reported) = create_with(&[&create, &list, &update], Duration::from_secs(60)).await;

    assert_eq!(answer.status, Status::Failed, "{answer:?}");
    assert_eq!(
        reason(&answer),
        format!(
            "mapping {UUID} of this function and stream exists already, and its \
             StartingPosition is LATEST, declared TRIM_HORIZON, and Lambda cannot change a \
             mapping's starting position: delete mapping {UUID}, or declare it as it is"
        )
    );
    // Not the mapping's UUID: the rollback's Delete must leave a mapping it never had alone.
    assert_eq!(
        answer.physical_resource_id.as_deref(),
        Some("not-created-6a8c3bde-95d4-4a4c-9c53-0b1f6a0e2f11")
    );
    assert_eq!(update.num_calls(), 0);
    assert!(reported.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_conflict_without_a_mapping_of_the_pair_is_the_reason() {
    let create = mock!(Client::create_event_source_mapping).then_error(conflict);
    let list = mock!(Client::list_event_source_mappings)
        .then_output(|| ListEventSourceMappingsOutput::builder().build());
    let (answer, _) = create_with(&[&create, &list], Duration::from_secs(60)).await;
    assert_eq!(answer.status, Status::Failed, "{answer:?}");
    assert!(
        reason(&answer).starts_with("CreateEventSourceMapping failed: ResourceConflictException: "),
        "{answer:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_conflict_with_a_mapping_being_deleted_waits_for_it_and_creates_anew() {
    let create = mock!(Client::create_event_source_mapping)
        .sequence()
        .error(conflict)
        .output(created)
        .build();
    let list = listed(EventSourcePosition::TrimHorizon, "Deleting");
    let get = mock!(Client::get_event_source_mapping)
        .sequence()
        .output(|| {
            GetEventSourceMappingOutput::builder()
                .uuid(UUID)
                .state("Deleting")
                .build()
        })
        .error(|| {
            GetEventSourceMappingError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .meta(metadata("ResourceNotFoundException", "gone"))
                    .build(),
            )
        })
        .output(|| {
            GetEventSourceMappingOutput::builder()
                .uuid(UUID)
                .state("Enabled")
                .build()
        })
        .repeatedly()
        .build();
    let (answer, reported) = create_with(&[&create, &list, &get], Duration::from_secs(60)).await;
    assert_eq!(answer.status, Status::Success, "{answer:?}");
    assert_eq!(reason(&answer), format!("created mapping {UUID}"));
    assert_eq!(create.num_calls(), 2);
    assert_eq!(reported, [UUID]);
}
