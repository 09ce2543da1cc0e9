#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The provider's decisions on CloudFormation's own request documents (tests/fixtures, every
//! property a string, as CloudFormation sends them), against an in-memory Lambda.

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceRequest, CloudFormationCustomResourceResponseStatus as Status,
};
use custom_resources::event_source_mapping::{Properties, Property};
use mapping_provider::answer::Answer;
use mapping_provider::resources::event_source_mapping::properties::{
    MappingProperties, StartingPosition,
};
use mapping_provider::resources::event_source_mapping::{
    ApiError, ApiErrorKind, FoundMapping, MappingState, MappingStatus, Mappings,
};
use mapping_provider::resources::{Ports, handle};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

const CREATE: &str = include_str!("fixtures/create.json");
const UPDATE: &str = include_str!("fixtures/update.json");
const DELETE: &str = include_str!("fixtures/delete.json");
/// The physical id in the Update and Delete fixtures.
const EXISTING: &str = "3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b";

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The dispatcher's ports with `fake` as the mappings. These requests are all mappings', so
/// the S3 and IAM clients have no credentials and no endpoint: a call through them would fail.
fn ports(fake: &FakeLambda) -> Ports<'_, FakeLambda> {
    let region = aws_sdk_s3::config::Region::from_static("us-east-1");
    let behavior = aws_sdk_s3::config::BehaviorVersion::latest();
    Ports {
        mappings: fake,
        s3: aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version(behavior)
                .region(region.clone())
                .build(),
        ),
        iam: aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::Config::builder()
                .behavior_version(behavior)
                .region(region)
                .build(),
        ),
    }
}

/// An in-memory Lambda: mappings by UUID, every call logged.
#[derive(Default)]
struct FakeLambda {
    mappings: Mutex<BTreeMap<String, (MappingProperties, MappingState)>>,
    calls: Mutex<Vec<String>>,
    /// The state a created or updated mapping stays in (Lambda's would settle; this one not).
    stuck_in: Option<MappingState>,
    /// Every call fails with this error.
    failing: Option<ApiError>,
    /// Every call never returns.
    hanging: bool,
}

impl FakeLambda {
    fn with(uuid: &str, properties: MappingProperties) -> Self {
        let fake = Self::default();
        fake.mappings
            .lock()
            .unwrap()
            .insert(uuid.into(), (properties, MappingState::Enabled));
        fake
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn get_properties(&self, uuid: &str) -> Option<MappingProperties> {
        self.mappings
            .lock()
            .unwrap()
            .get(uuid)
            .map(|(p, _)| p.clone())
    }

    async fn enter(&self, call: String) -> Result<(), ApiError> {
        self.calls.lock().unwrap().push(call);
        if self.hanging {
            std::future::pending::<()>().await;
        }
        match &self.failing {
            Some(err) => Err(err.clone()),
            None => Ok(()),
        }
    }

    fn settled_state(&self) -> MappingState {
        self.stuck_in.clone().unwrap_or(MappingState::Enabled)
    }
}

impl Mappings for FakeLambda {
    async fn create(&self, properties: &MappingProperties) -> Result<MappingStatus, ApiError> {
        self.enter("create".into()).await?;
        let mut mappings = self.mappings.lock().unwrap();
        // Lambda allows one mapping per stream and function.
        if mappings.values().any(|(made, _)| {
            made.function_name == properties.function_name
                && made.stream_arn == properties.stream_arn
        }) {
            return Err(ApiError {
                operation: "CreateEventSourceMapping",
                kind: ApiErrorKind::Conflict,
                message: "ResourceConflictException: provided mapping already exists".into(),
            });
        }
        let uuid = format!("00000000-0000-4000-8000-{:012}", mappings.len() + 1);
        let state = self.settled_state();
        mappings.insert(uuid.clone(), (properties.clone(), state.clone()));
        Ok(MappingStatus { uuid, state })
    }

    async fn get(&self, uuid: &str) -> Result<Option<MappingStatus>, ApiError> {
        self.enter(format!("get {uuid}")).await?;
        Ok(self
            .mappings
            .lock()
            .unwrap()
            .get(uuid)
            .map(|(_, state)| MappingStatus {
                uuid: uuid.into(),
                state: state.clone(),
            }))
    }

    async fn update(
        &self,
        uuid: &str,
        properties: &MappingProperties,
    ) -> Result<MappingStatus, ApiError> {
        self.enter(format!("update {uuid}")).await?;
        let state = self.settled_state();
        match self.mappings.lock().unwrap().get_mut(uuid) {
            Some(mapping) => {
                *mapping = (properties.clone(), state.clone());
                Ok(MappingStatus {
                    uuid: uuid.into(),
                    state,
                })
            }
            None => Err(ApiError {
                operation: "UpdateEventSourceMapping",
                kind: ApiErrorKind::NotFound,
                message: "no such mapping".into(),
            }),
        }
    }

    async fn delete(&self, uuid: &str) -> Result<Option<MappingStatus>, ApiError> {
        self.enter(format!("delete {uuid}")).await?;
        Ok(self
            .mappings
            .lock()
            .unwrap()
            .remove(uuid)
            .map(|_| MappingStatus {
                uuid: uuid.into(),
                state: MappingState::Deleting,
            }))
    }

    async fn list(
        &self,
        function_name: &str,
        stream_arn: &str,
    ) -> Result<Vec<FoundMapping>, ApiError> {
        self.enter(format!("list {function_name} {stream_arn}"))
            .await?;
        let mappings = self.mappings.lock().unwrap();
        Ok(mappings
            .iter()
            .filter(|(_, (made, _))| {
                made.function_name == function_name && made.stream_arn == stream_arn
            })
            .map(|(uuid, (made, state))| FoundMapping {
                status: MappingStatus {
                    uuid: uuid.clone(),
                    state: state.clone(),
                },
                function_arn: made.function_name.clone(),
                stream_arn: made.stream_arn.clone(),
                starting_position: Some(made.starting_position.as_str().to_owned()),
            })
            .collect())
    }
}

async fn run(fake: &FakeLambda, request: &Value) -> (Answer, Vec<String>) {
    let created = Mutex::new(Vec::new());
    let on_created = |uuid: &str| created.lock().unwrap().push(uuid.to_owned());
    let until = Instant::now() + Duration::from_secs(30);
    let answer = handle(&ports(fake), request, until, &on_created).await;
    (answer, created.into_inner().unwrap())
}

fn properties_of(request: &Value, key: &str) -> MappingProperties {
    MappingProperties::parse(&custom_resources::resource_properties(&request[key])).unwrap()
}

fn reason(answer: &Answer) -> &str {
    answer.reason.as_deref().unwrap_or_default()
}

#[test]
fn the_fixtures_are_cloudformation_requests_and_round_trip() {
    for (text, kind) in [(CREATE, "Create"), (UPDATE, "Update"), (DELETE, "Delete")] {
        let parsed: CloudFormationCustomResourceRequest = serde_json::from_str(text).unwrap();
        let matches = matches!(
            (&parsed, kind),
            (CloudFormationCustomResourceRequest::Create(_), "Create")
                | (CloudFormationCustomResourceRequest::Update(_), "Update")
                | (CloudFormationCustomResourceRequest::Delete(_), "Delete")
        );
        assert!(matches, "{kind}: {parsed:?}");
        let again: CloudFormationCustomResourceRequest =
            serde_json::from_str(&serde_json::to_string(&parsed).unwrap()).unwrap();
        assert_eq!(parsed, again);
    }
}

/// The fixtures are copies of CloudFormation's documents; their properties are checked against
/// the one type the stack writes, so a renamed or added property cannot leave them behind.
#[test]
fn the_fixtures_hold_exactly_the_properties_of_the_shared_type() {
    for (text, key) in [
        (CREATE, "ResourceProperties"),
        (UPDATE, "ResourceProperties"),
        (UPDATE, "OldResourceProperties"),
        (DELETE, "ResourceProperties"),
    ] {
        let received = &fixture(text)[key];
        for own in custom_resources::CLOUDFORMATION_PROPERTIES {
            assert!(received.get(own).is_some(), "{key} lacks {own}");
        }
        let read: Properties<String> =
            serde_json::from_value(custom_resources::resource_properties(received)).unwrap();
        assert!(read.unknown.is_empty(), "{key}: {:?}", read.unknown);
        for property in Property::ALL {
            assert!(
                received.get(property.name()).is_some(),
                "{key} lacks {property}"
            );
        }
    }
}

#[test]
fn the_string_properties_parse_into_the_typed_configuration() {
    let properties = properties_of(&fixture(CREATE), "ResourceProperties");
    assert_eq!(
        properties,
        MappingProperties {
            function_name:
                "arn:aws:lambda:us-east-1:123456789012:function:demo-IoTDDBEventProcessor".into(),
            stream_arn: "arn:aws:kinesis:us-east-1:123456789012:stream/demo-IoTEventStream".into(),
            starting_position: StartingPosition::TrimHorizon,
            batch_size: 500,
            maximum_batching_window_in_seconds: 1,
            report_batch_item_failures: true,
            bisect_batch_on_function_error: true,
            maximum_retry_attempts: 3,
            maximum_record_age_in_seconds: 21_600,
            on_failure_destination_arn: Some(
                "arn:aws:sqs:us-east-1:123456789012:demo-IoTDDBEventProcessor-failures".into()
            ),
            parallelization_factor: 1,
        }
    );
}

#[tokio::test]
async fn create_makes_the_mapping_and_answers_its_uuid() {
    let fake = FakeLambda::default();
    let request = fixture(CREATE);
    let (answer, created) = run(&fake, &request).await;
    assert_eq!(answer.status, Status::Success, "{answer:?}");
    let uuid = answer.physical_resource_id.clone().unwrap();
    assert_eq!(created, std::slice::from_ref(&uuid));
    assert_eq!(answer.data["UUID"], uuid);
    assert_eq!(answer.data["State"], "Enabled");
    assert_eq!(
        fake.get_properties(&uuid).unwrap(),
        properties_of(&request, "ResourceProperties")
    );
}

#[tokio::test]
async fn update_of_the_batch_size_is_made_in_place() {
    let request = fixture(UPDATE);
    let fake = FakeLambda::with(EXISTING, properties_of(&request, "OldResourceProperties"));
    let (answer, created) = run(&fake, &request).await;
    assert_eq!(answer.status, Status::Success, "{answer:?}");
    assert_eq!(answer.physical_resource_id.as_deref(), Some(EXISTING));
    assert!(created.is_empty());
    assert_eq!(fake.get_properties(EXISTING).unwrap().batch_size, 250);
    assert_eq!(
        fake.calls(),
        [format!("get {EXISTING}"), format!("update {EXISTING}")]
    );
}

#[tokio::test]
async fn update_of_the_stream_makes_a_new_mapping_and_leaves_the_old_one() {
    let mut request = fixture(UPDATE);
    request["ResourceProperties"]["StreamArn"] =
        json!("arn:aws:kinesis:us-east-1:123456789012:stream/demo-OtherStream");
    let fake = FakeLambda::with(EXISTING, properties_of(&request, "OldResourceProperties"));
    let (answer, created) = run(&fake, &request).await;
    assert_eq!(answer.status, Status::Success, "{answer:?}");
    let new = answer.physical_resource_id.clone().unwrap();
    assert_ne!(new, EXISTING);
    assert_eq!(created, std::slice::from_ref(&new));
    assert!(
        reason(&answer).starts_with("StreamArn changed"),
        "{answer:?}"
    );
    assert_eq!(
        fake.get_properties(&new).unwrap().stream_arn,
        "arn:aws:kinesis:us-east-1:123456789012:stream/demo-OtherStream"
    );
    // CloudFormation deletes the old one with the Delete it sends next.
    assert!(fake.get_properties(EXISTING).is_some());
}

#[tokio::test]
async fn update_of_the_starting_position_alone_deletes_the_old_mapping_first() {
    let mut request = fixture(UPDATE);
    request["ResourceProperties"]["StartingPosition"] = json!("LATEST");
    let fake = FakeLambda::with(EXISTING, properties_of(&request, "OldResourceProperties"));
    let (answer, _) = run(&fake, &request).await;
    assert_eq!(answer.status, Status::Success, "{answer:?}");
    let new = answer.physical_resource_id.clone().unwrap();
    assert_ne!(new, EXISTING);
    assert!(fake.get_properties(EXISTING).is_none());
    assert_eq!(
        fake.get_properties(&new).unwrap().starting_position,
        StartingPosition::Latest
    );
    let calls = fake.calls();
    let deleted = calls
        .iter()
        .position(|c| c == &format!("delete {EXISTING}"));
    let made = calls.iter().position(|c| c == "create");
    assert!(deleted.is_some() && deleted < made, "{calls:?}");
}

#[tokio::test]
async fn update_of_a_mapping_deleted_behind_the_stacks_back_recreates_it() {
    let request = fixture(UPDATE);
    let fake = FakeLambda::default();
    let (answer, created) = run(&fake, &request).await;
    assert_eq!(answer.status, Status::Success, "{answer:?}");
    assert_eq!(created.len(), 1);
    assert_eq!(answer.physical_resource_id.as_ref(), created.first());
}

#[tokio::test]
async fn delete_removes_the_mapping_and_already_gone_is_success() {
    let request = fixture(DELETE);
    let fake = FakeLambda::with(EXISTING, properties_of(&request, "ResourceProperties"));
    let (answer, _) = run(&fake, &request).await;
    assert_eq!(answer.status, Status::Success, "{answer:?}");
    assert_eq!(answer.physical_resource_id.as_deref(), Some(EXISTING));
    assert!(fake.get_properties(EXISTING).is_none());

    let (again, _) = run(&fake, &request).await;
    assert_eq!(again.status, Status::Success, "{again:?}");
    assert_eq!(again.physical_resource_id.as_deref(), Some(EXISTING));
}

#[tokio::test]
async fn delete_of_an_id_that_is_not_a_uuid_succeeds_without_a_call() {
    let mut request = fixture(DELETE);
    request["PhysicalResourceId"] = json!("not-created-6a8c3bde-95d4-4a4c-9c53-0b1f6a0e2f11");
    let fake = FakeLambda::default();
    let (answer, _) = run(&fake, &request).await;
    assert_eq!(answer.status, Status::Success, "{answer:?}");
    assert_eq!(
        answer.physical_resource_id.as_deref(),
        Some("not-created-6a8c3bde-95d4-4a4c-9c53-0b1f6a0e2f11")
    );
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn invalid_properties_fail_before_any_call_naming_the_property() {
    let mut request = fixture(CREATE);
    request["ResourceProperties"]["BatchSize"] = json!("0");
    let fake = FakeLambda::default();
    let (answer, _) = run(&fake, &request).await;
    assert_eq!(answer.status, Status::Failed);
    assert!(
        reason(&answer).contains("BatchSize must be a whole number from 1 to 10000"),
        "{answer:?}"
    );
    // Not a UUID: the Delete of CloudFormation's rollback knows there is nothing to delete.
    assert_eq!(
        answer.physical_resource_id.as_deref(),
        Some("not-created-6a8c3bde-95d4-4a4c-9c53-0b1f6a0e2f11")
    );
    assert!(fake.calls().is_empty());

    // A failed Update keeps the resource's id, so CloudFormation rolls back to it.
    let mut update = fixture(UPDATE);
    update["ResourceProperties"]["MaximumRecordAgeInSeconds"] = json!("30");
    let (answer, _) = run(&fake, &update).await;
    assert_eq!(answer.status, Status::Failed);
    assert!(
        reason(&answer).contains("MaximumRecordAgeInSeconds"),
        "{answer:?}"
    );
    assert_eq!(answer.physical_resource_id.as_deref(), Some(EXISTING));
}

#[tokio::test]
async fn another_resource_type_or_a_non_request_fails() {
    let mut request = fixture(CREATE);
    request["ResourceType"] = json!("Custom::Other");
    let (answer, _) = run(&FakeLambda::default(), &request).await;
    assert_eq!(answer.status, Status::Failed);
    assert!(reason(&answer).contains("not Custom::Other"), "{answer:?}");

    let (answer, _) = run(&FakeLambda::default(), &json!({"hello": "world"})).await;
    assert_eq!(answer.status, Status::Failed);
    assert_eq!(answer.physical_resource_id, None);
}

#[tokio::test]
async fn an_api_error_is_the_reason() {
    let fake = FakeLambda {
        failing: Some(ApiError {
            operation: "CreateEventSourceMapping",
            kind: ApiErrorKind::Other,
            message: "service error: ResourceNotFoundException: Function not found".into(),
        }),
        ..FakeLambda::default()
    };
    let (answer, _) = run(&fake, &fixture(CREATE)).await;
    assert_eq!(answer.status, Status::Failed);
    assert_eq!(
        reason(&answer),
        "CreateEventSourceMapping failed: service error: ResourceNotFoundException: Function not found"
    );
}

#[tokio::test(start_paused = true)]
async fn a_call_that_never_returns_fails_at_the_deadline() {
    let fake = FakeLambda {
        hanging: true,
        ..FakeLambda::default()
    };
    let start = Instant::now();
    let until = start + Duration::from_secs(5);
    let answer = handle(&ports(&fake), &fixture(DELETE), until, &|_: &str| {}).await;
    assert_eq!(answer.status, Status::Failed);
    assert!(
        reason(&answer).starts_with("GetEventSourceMapping did not finish"),
        "{answer:?}"
    );
    assert_eq!(Instant::now(), until);
}

#[tokio::test(start_paused = true)]
async fn waiting_for_a_mapping_to_settle_stops_before_the_deadline() {
    // Created, but never leaves Creating: the mapping exists, so Create succeeds with the
    // state as it is, in time.
    let fake = FakeLambda {
        stuck_in: Some(MappingState::Creating),
        ..FakeLambda::default()
    };
    let until = Instant::now() + Duration::from_secs(5);
    let answer = handle(&ports(&fake), &fixture(CREATE), until, &|_: &str| {}).await;
    assert!(Instant::now() < until);
    assert_eq!(answer.status, Status::Success, "{answer:?}");
    assert_eq!(answer.data["State"], "Creating");
    assert!(
        fake.calls().len() > 3,
        "it looked again: {:?}",
        fake.calls()
    );

    // An update cannot go through while the mapping is busy: FAILED, in time, saying why.
    let mut update = fixture(UPDATE);
    update["PhysicalResourceId"] = json!(answer.physical_resource_id.unwrap());
    let until = Instant::now() + Duration::from_secs(5);
    let answer = handle(&ports(&fake), &update, until, &|_: &str| {}).await;
    assert!(Instant::now() < until);
    assert_eq!(answer.status, Status::Failed);
    assert!(reason(&answer).contains("is still Creating"), "{answer:?}");
}
