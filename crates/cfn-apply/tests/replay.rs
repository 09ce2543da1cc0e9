//! The CloudFormation paths moto cannot show (it writes no per-resource events, never rolls
//! back, and is never throttled), played by the SDK's own test utility, aws-smithy-mocks, with
//! responses shaped as CloudFormation's. Time is paused, so the polling waits cost nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::{
    DescribeStackEventsError, DescribeStackEventsOutput,
};
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::types::{
    ChangeSetStatus, ChangeSetType, ExecutionStatus, ResourceStatus, Stack, StackEvent, StackStatus,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use aws_smithy_types::retry::RetryConfig;
use cfn_apply::{
    self as apply, ChangeSet, OperationFailed, Proposal, RecordedProgress, StackState, Waits,
};

const STACK: &str = "demo";
const STACK_ID: &str =
    "arn:aws:cloudformation:eu-west-1:123456789012:stack/demo/0b7c1a30-1f2e-11f0-9d4a-0a1b2c3d4e5f";
const CHANGE_SET_ID: &str =
    "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/deploy-1/6a8c3bde-95d4-4a4c";

/// Short, so a test that loops shows it in its call counts rather than in its run time.
fn waits() -> Waits {
    Waits {
        poll: Duration::from_secs(2),
        max_poll: Duration::from_secs(16),
        change_set: Duration::from_secs(60),
        operation: Duration::from_secs(600),
    }
}

/// The client, with the SDK's own retries off: what is tested is the deployer's handling.
fn client(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, rules, |c| c
        .retry_config(RetryConfig::disabled()))
}

/// A stack event; `n` orders them in time.
fn event(n: i64, logical_id: &str, kind: &str, status: &str, reason: Option<&str>) -> StackEvent {
    StackEvent::builder()
        .event_id(format!("event-{n}"))
        .stack_id(STACK_ID)
        .stack_name(STACK)
        .logical_resource_id(logical_id)
        .resource_type(kind)
        .resource_status(ResourceStatus::from(status))
        .set_resource_status_reason(reason.map(str::to_owned))
        .timestamp(DateTime::from_secs(1_795_000_000 + n))
        .build()
}

fn stack_event(n: i64, status: &str, reason: Option<&str>) -> StackEvent {
    event(n, STACK, "AWS::CloudFormation::Stack", status, reason)
}

fn stack(status: StackStatus, reason: Option<&str>) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_name(STACK)
                .stack_id(STACK_ID)
                .stack_status(status)
                .set_stack_status_reason(reason.map(str::to_owned))
                .creation_time(DateTime::from_secs(1_795_000_000))
                .build(),
        )
        .build()
}

/// DescribeStackEvents as CloudFormation pages it: newest first, `page_size` a page, the
/// token being the offset. The first call (the cursor's start) sees only `before`; every
/// later one sees `during` (newest first) on top of it.
fn paged_events(before: Vec<StackEvent>, during: Vec<StackEvent>, page_size: usize) -> Rule {
    let calls = Arc::new(AtomicUsize::new(0));
    mock!(Client::describe_stack_events).then_compute_output(move |input| {
        let all: Vec<StackEvent> = if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            before.clone()
        } else {
            during.iter().chain(before.iter()).cloned().collect()
        };
        let offset: usize = input.next_token().map_or(0, |t| t.parse().unwrap());
        let end = (offset + page_size).min(all.len());
        DescribeStackEventsOutput::builder()
            .set_stack_events(Some(all[offset..end].to_vec()))
            .set_next_token((end < all.len()).then(|| end.to_string()))
            .build()
    })
}

fn change_set(kind: ChangeSetType) -> ChangeSet {
    ChangeSet {
        id: CHANGE_SET_ID.to_owned(),
        stack_id: STACK_ID.to_owned(),
        kind,
        changes: Vec::new(),
    }
}

fn executes() -> Rule {
    mock!(Client::execute_change_set)
        .match_requests(|input| input.change_set_name() == Some(CHANGE_SET_ID))
        .then_output(|| ExecuteChangeSetOutput::builder().build())
}

fn summary(progress: &RecordedProgress) -> Vec<String> {
    progress
        .events
        .iter()
        .map(|e| format!("{} {}", e.logical_id, e.status))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn every_resource_status_is_reported_once_in_time_order_across_pages() {
    let before = vec![stack_event(0, "REVIEW_IN_PROGRESS", Some("User Initiated"))];
    let during = vec![
        stack_event(7, "CREATE_COMPLETE", None),
        event(
            6,
            "IoTEventStream",
            "AWS::Kinesis::Stream",
            "CREATE_COMPLETE",
            None,
        ),
        event(
            5,
            "IoTArchiveBucket",
            "AWS::S3::Bucket",
            "CREATE_COMPLETE",
            None,
        ),
        event(
            4,
            "IoTEventStream",
            "AWS::Kinesis::Stream",
            "CREATE_IN_PROGRESS",
            Some("Resource creation Initiated"),
        ),
        event(
            3,
            "IoTArchiveBucket",
            "AWS::S3::Bucket",
            "CREATE_IN_PROGRESS",
            None,
        ),
        event(
            2,
            "IoTEventStream",
            "AWS::Kinesis::Stream",
            "CREATE_IN_PROGRESS",
            None,
        ),
        stack_event(1, "CREATE_IN_PROGRESS", Some("User Initiated")),
    ];
    let events = paged_events(before, during, 2);
    let statuses = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack(StackStatus::CreateInProgress, None))
        .output(|| stack(StackStatus::CreateComplete, None))
        .repeatedly()
        .build();
    let execute = executes();
    let cfn = client(&[&events, &statuses, &execute]);

    let mut progress = RecordedProgress::default();
    let outcome = apply::execute(
        &cfn,
        STACK,
        &change_set(ChangeSetType::Create),
        &waits(),
        &mut progress,
    )
    .await
    .unwrap();

    assert_eq!(outcome.status, StackStatus::CreateComplete);
    assert_eq!(outcome.first_failure, None);
    assert_eq!(
        summary(&progress),
        [
            "demo CREATE_IN_PROGRESS",
            "IoTEventStream CREATE_IN_PROGRESS",
            "IoTArchiveBucket CREATE_IN_PROGRESS",
            "IoTEventStream CREATE_IN_PROGRESS",
            "IoTArchiveBucket CREATE_COMPLETE",
            "IoTEventStream CREATE_COMPLETE",
            "demo CREATE_COMPLETE",
        ]
    );
    assert_eq!(execute.num_calls(), 1);
    // The start, then 4 pages of the 7 new events (and the old one) at the first look.
    assert!(events.num_calls() >= 5, "{}", events.num_calls());
}

#[tokio::test(start_paused = true)]
async fn a_failed_create_reports_the_first_failing_resource_and_the_status_after_rollback() {
    let first_reason = "Resource handler returned message: \"LimitExceededException: shard limit \
                        of 200 reached\" (HandlerErrorCode: ServiceLimitExceeded)";
    let before = vec![stack_event(0, "REVIEW_IN_PROGRESS", Some("User Initiated"))];
    let during = vec![
        stack_event(8, "ROLLBACK_COMPLETE", None),
        event(
            7,
            "IoTArchiveBucket",
            "AWS::S3::Bucket",
            "DELETE_COMPLETE",
            None,
        ),
        event(
            6,
            "IoTEventStream",
            "AWS::Kinesis::Stream",
            "DELETE_COMPLETE",
            None,
        ),
        stack_event(
            5,
            "ROLLBACK_IN_PROGRESS",
            Some(
                "The following resource(s) failed to create: [IoTArchiveBucket, IoTEventStream]. Rollback requested by user.",
            ),
        ),
        event(
            4,
            "IoTArchiveBucket",
            "AWS::S3::Bucket",
            "CREATE_FAILED",
            Some("Resource creation cancelled"),
        ),
        event(
            3,
            "IoTEventStream",
            "AWS::Kinesis::Stream",
            "CREATE_FAILED",
            Some(first_reason),
        ),
        event(
            2,
            "IoTEventStream",
            "AWS::Kinesis::Stream",
            "CREATE_IN_PROGRESS",
            None,
        ),
        stack_event(1, "CREATE_IN_PROGRESS", Some("User Initiated")),
    ];
    let events = paged_events(before, during, 3);
    let statuses = mock!(Client::describe_stacks).then_output(|| {
        stack(
            StackStatus::RollbackComplete,
            Some("The following resource(s) failed to create: [IoTArchiveBucket, IoTEventStream]."),
        )
    });
    let execute = executes();
    let cfn = client(&[&events, &statuses, &execute]);

    let mut progress = RecordedProgress::default();
    let error = apply::execute(
        &cfn,
        STACK,
        &change_set(ChangeSetType::Create),
        &waits(),
        &mut progress,
    )
    .await
    .unwrap_err();
    let failed = error
        .downcast_ref::<OperationFailed>()
        .expect("an OperationFailed");
    assert_eq!(failed.outcome.status, StackStatus::RollbackComplete);
    let first = failed.outcome.first_failure.as_ref().unwrap();
    assert_eq!(first.logical_id, "IoTEventStream");
    assert_eq!(first.reason.as_deref(), Some(first_reason));

    let message = error.to_string();
    assert!(
        message.contains("final status is ROLLBACK_COMPLETE"),
        "{message}"
    );
    assert!(
        message.contains("first failure was IoTEventStream (AWS::Kinesis::Stream) CREATE_FAILED: Resource handler returned message"),
        "{message}"
    );
    assert_eq!(
        progress.events.len(),
        8,
        "every event shown, the rollback too"
    );
}

#[tokio::test(start_paused = true)]
async fn a_change_set_without_changes_is_deleted_and_means_nothing_to_do() {
    let create = mock!(Client::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id(CHANGE_SET_ID)
            .stack_id(STACK_ID)
            .build()
    });
    let describe = mock!(Client::describe_change_set)
        .sequence()
        .output(|| {
            DescribeChangeSetOutput::builder()
                .change_set_id(CHANGE_SET_ID)
                .stack_id(STACK_ID)
                .status(ChangeSetStatus::CreatePending)
                .build()
        })
        .output(|| {
            DescribeChangeSetOutput::builder()
                .change_set_id(CHANGE_SET_ID)
                .stack_id(STACK_ID)
                .status(ChangeSetStatus::Failed)
                .execution_status(ExecutionStatus::Unavailable)
                .status_reason(
                    "The submitted information didn't contain changes. Submit different \
                     information to create a change set.",
                )
                .build()
        })
        .build();
    let delete = mock!(Client::delete_change_set)
        .match_requests(|input| input.change_set_name() == Some(CHANGE_SET_ID))
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let cfn = client(&[&create, &describe, &delete]);

    let proposal = Proposal {
        stack: STACK,
        template: "{}",
        parameters: Vec::new(),
        kind: ChangeSetType::Update,
    };
    let changes = apply::create_change_set(&cfn, proposal, &waits())
        .await
        .unwrap();
    assert_eq!(changes, None);
    assert_eq!(create.num_calls(), 1);
    assert_eq!(describe.num_calls(), 2);
    assert_eq!(delete.num_calls(), 1, "no failed change set left behind");
}

#[tokio::test(start_paused = true)]
async fn another_failure_to_compute_a_change_set_is_an_error_with_the_reason() {
    let create = mock!(Client::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id(CHANGE_SET_ID)
            .stack_id(STACK_ID)
            .build()
    });
    let describe = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::Failed)
            .status_reason("Template format error: Unresolved resource dependencies [Nope]")
            .build()
    });
    let delete =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let cfn = client(&[&create, &describe, &delete]);
    let proposal = Proposal {
        stack: STACK,
        template: "{}",
        parameters: Vec::new(),
        kind: ChangeSetType::Update,
    };
    let message = apply::create_change_set(&cfn, proposal, &waits())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("Unresolved resource dependencies [Nope]"),
        "{message}"
    );
    assert_eq!(delete.num_calls(), 1);
}

#[tokio::test]
async fn a_stack_in_rollback_complete_or_mid_operation_blocks_deploy_with_the_way_out() {
    let cases = [
        (
            StackStatus::RollbackComplete,
            "its creation failed and was rolled back",
        ),
        (
            StackStatus::UpdateInProgress,
            "another operation is in progress",
        ),
        (
            StackStatus::UpdateRollbackFailed,
            "continue-update-rollback",
        ),
    ];
    for (status, expected) in cases {
        let answer = status.clone();
        let describe =
            mock!(Client::describe_stacks).then_output(move || stack(answer.clone(), None));
        let cfn = client(&[&describe]);
        let StackState::Blocked(blocked) = apply::stack_state(&cfn, STACK).await.unwrap() else {
            panic!("{status:?} should block")
        };
        let message = blocked.to_string();
        assert!(
            message.starts_with(&format!("stack `demo` is {}", status.as_str())),
            "{message}"
        );
        assert!(message.contains(expected), "{message}");
    }

    let ready = mock!(Client::describe_stacks)
        .then_output(|| stack(StackStatus::UpdateRollbackComplete, None));
    let cfn = client(&[&ready]);
    assert!(matches!(
        apply::stack_state(&cfn, STACK).await.unwrap(),
        StackState::Ready { .. }
    ));

    let missing = mock!(Client::describe_stacks).then_error(|| {
        aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError::generic(
            ErrorMetadata::builder()
                .code("ValidationError")
                .message("Stack with id demo does not exist")
                .build(),
        )
    });
    let cfn = client(&[&missing]);
    assert_eq!(
        apply::stack_state(&cfn, STACK).await.unwrap(),
        StackState::Missing
    );
}

#[tokio::test(start_paused = true)]
async fn throttled_event_reads_back_off_and_the_events_still_arrive() {
    let throttled = || {
        DescribeStackEventsError::generic(
            ErrorMetadata::builder()
                .code("Throttling")
                .message("Rate exceeded")
                .build(),
        )
    };
    let old = stack_event(0, "UPDATE_COMPLETE", None);
    let new = [
        stack_event(3, "UPDATE_COMPLETE", None),
        event(
            2,
            "IoTEventStream",
            "AWS::Kinesis::Stream",
            "UPDATE_COMPLETE",
            None,
        ),
        event(
            1,
            "IoTEventStream",
            "AWS::Kinesis::Stream",
            "UPDATE_IN_PROGRESS",
            None,
        ),
    ];
    let (o1, o2, n1) = (old.clone(), old.clone(), new.clone());
    let events = mock!(Client::describe_stack_events)
        .sequence()
        .output(move || {
            DescribeStackEventsOutput::builder()
                .stack_events(o1.clone())
                .build()
        })
        .error(throttled)
        .times(3)
        .output(move || {
            DescribeStackEventsOutput::builder()
                .set_stack_events(Some(n1.iter().cloned().chain([o2.clone()]).collect()))
                .build()
        })
        .repeatedly()
        .build();
    let statuses = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack(StackStatus::UpdateInProgress, None))
        .times(3)
        .output(|| stack(StackStatus::UpdateComplete, None))
        .repeatedly()
        .build();
    let execute = executes();
    let cfn = client(&[&events, &statuses, &execute]);

    let mut progress = RecordedProgress::default();
    let outcome = apply::execute(
        &cfn,
        STACK,
        &change_set(ChangeSetType::Update),
        &waits(),
        &mut progress,
    )
    .await
    .unwrap();
    assert_eq!(outcome.status, StackStatus::UpdateComplete);
    assert_eq!(
        summary(&progress),
        [
            "IoTEventStream UPDATE_IN_PROGRESS",
            "IoTEventStream UPDATE_COMPLETE",
            "demo UPDATE_COMPLETE",
        ]
    );
    let backoffs: Vec<&String> = progress
        .waits
        .iter()
        .filter(|w| w.contains("throttling"))
        .collect();
    assert_eq!(backoffs.len(), 3, "{:?}", progress.waits);
    // The interval doubles at each throttled look: 4 s, 8 s, then the 16 s cap.
    assert!(backoffs[0].ends_with("again in 4 s"), "{backoffs:?}");
    assert!(backoffs[1].ends_with("again in 8 s"), "{backoffs:?}");
    assert!(backoffs[2].ends_with("again in 16 s"), "{backoffs:?}");
}

/// A status CloudFormation adds after this build ends the watch at once and is reported as
/// the final status: the wildcard of the classification never means "keep waiting".
#[tokio::test(start_paused = true)]
async fn an_unrecognised_stack_status_ends_the_watch_and_is_reported() {
    let events = paged_events(
        vec![stack_event(0, "UPDATE_COMPLETE", None)],
        vec![stack_event(1, "UPDATE_SOMETHING_NEW", None)],
        10,
    );
    let statuses = mock!(Client::describe_stacks)
        .then_output(|| stack(StackStatus::from("UPDATE_SOMETHING_NEW"), None));
    let execute = executes();
    let cfn = client(&[&events, &statuses, &execute]);

    let mut progress = RecordedProgress::default();
    let error = apply::execute(
        &cfn,
        STACK,
        &change_set(ChangeSetType::Update),
        &waits(),
        &mut progress,
    )
    .await
    .unwrap_err();
    let failed = error
        .downcast_ref::<OperationFailed>()
        .expect("an OperationFailed");
    assert_eq!(failed.outcome.status.as_str(), "UPDATE_SOMETHING_NEW");
    assert!(
        error.to_string().contains("not one the deployer knows"),
        "{error}"
    );
    assert_eq!(
        statuses.num_calls(),
        1,
        "no second look: nothing is waited for"
    );
    assert_eq!(progress.waits, Vec::<String>::new());
}
