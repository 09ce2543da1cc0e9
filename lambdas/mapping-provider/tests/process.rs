#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The binary cargo builds for the tests, run as a process under the Runtime API harness, its
//! Lambda API at moto (where each test makes its own stream and function), answering a loopback
//! stand-in for CloudFormation's pre-signed ResponseURL. The tests of a mapping that exists
//! already run on a moto of their own that refuses a second mapping of one stream and function,
//! as AWS does.

mod support;

use aws_sdk_lambda::types::{EventSourcePosition, FunctionResponseType};
use lambda_harness::moto;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime};
use support::{Aws, CloserMoto, RecordedPut, ResponseSink, invoke, properties, provider, request};

/// Generous for requests expected to succeed; moto answers in milliseconds.
const NORMAL: Duration = Duration::from_secs(10);
/// For the failure cases: short, so that "answered well before the deadline" means something.
const SHORT: Duration = Duration::from_secs(6);
/// "Well before": at least this long before the deadline.
const MARGIN: Duration = Duration::from_secs(1);
/// A handler that hangs is given up on when the time kept for answering begins (a fifth of the
/// invocation's, at least 1 s): its answer comes later than the others, by design.
const MARGIN_AFTER_STOP: Duration = Duration::from_millis(600);

fn is_uuid(id: &str) -> bool {
    mapping_provider::resources::event_source_mapping::is_mapping_uuid(id)
}

fn id_of(put: &RecordedPut) -> String {
    put.body["PhysicalResourceId"].as_str().unwrap().to_owned()
}

fn reason_of(put: &RecordedPut) -> &str {
    put.body["Reason"].as_str().unwrap_or_default()
}

/// Invokes with a deadline `timeout` from now and returns the answer, checking that it arrived
/// at least `margin` before that deadline.
async fn answered_in_time(
    function: &mut lambda_harness::FunctionProcess,
    sink: &ResponseSink,
    name: &str,
    request: &Value,
    timeout: Duration,
    margin: Duration,
) -> RecordedPut {
    let deadline = SystemTime::now() + timeout;
    invoke(function, request, timeout).await;
    let answer = sink.answer(name);
    let early = deadline.duration_since(answer.at).unwrap_or_default();
    eprintln!(
        "{name}: answered {} ms before the deadline: {}",
        early.as_millis(),
        answer.body["Reason"]
    );
    assert!(
        early >= margin,
        "{name} answered only {} ms before its deadline: {answer:?}",
        early.as_millis()
    );
    answer
}

#[tokio::test]
async fn create_makes_exactly_the_requested_mapping_and_answers_its_uuid() {
    let aws = Aws::connect().await;
    let stream = aws.stream(&moto::unique_name("mp-create")).await;
    let function = aws.function(&moto::unique_name("mp-create-consumer")).await;
    let sink = ResponseSink::start().await;
    let mut provider = provider(&aws.endpoint, &[]).await;

    let props = properties(&function, &stream);
    let create = request("Create", &sink.url("create"), None, &props, None);
    let summary = invoke(&mut provider, &create, NORMAL).await;
    let answer = sink.answer("create");

    let uuid = id_of(&answer);
    assert!(is_uuid(&uuid), "{answer:?}");
    assert_eq!(
        answer.body,
        json!({
            "Status": "SUCCESS",
            "Reason": format!("created mapping {uuid}"),
            "PhysicalResourceId": uuid,
            "StackId": support::STACK_ID,
            "RequestId": create["RequestId"],
            "LogicalResourceId": "WriterMapping",
            "NoEcho": false,
            "Data": {"UUID": uuid, "State": "Enabled"}
        })
    );
    // Signed for an empty Content-Type, as CloudFormation's pre-signed URL expects.
    assert_eq!(answer.content_type.as_deref(), Some(""));
    assert_eq!(answer.signature.as_deref(), Some("secret-create"));
    assert_eq!(summary["Status"], "SUCCESS");
    assert_eq!(summary["DeliveryAttempts"], 1);

    let mapping = aws.mapping(&uuid).await.expect("the mapping exists");
    assert_eq!(mapping.event_source_arn(), Some(stream.as_str()));
    assert_eq!(mapping.function_arn(), Some(function.as_str()));
    assert_eq!(mapping.batch_size(), Some(500));
    assert_eq!(
        mapping.starting_position(),
        Some(&EventSourcePosition::TrimHorizon)
    );
    assert_eq!(mapping.maximum_batching_window_in_seconds(), Some(1));
    assert_eq!(
        mapping.function_response_types(),
        [FunctionResponseType::ReportBatchItemFailures]
    );
    assert_eq!(mapping.bisect_batch_on_function_error(), Some(true));
    assert_eq!(mapping.maximum_retry_attempts(), Some(3));
    assert_eq!(mapping.maximum_record_age_in_seconds(), Some(21_600));
    assert_eq!(mapping.parallelization_factor(), Some(1));
    assert_eq!(
        mapping
            .destination_config()
            .and_then(|d| d.on_failure())
            .and_then(|f| f.destination()),
        Some("arn:aws:sqs:us-east-1:123456789012:mapping-test-failures")
    );
    assert_eq!(mapping.state(), Some("Enabled"));

    // The pre-signed URL is a credential: it never reaches the log (its host does).
    let log = provider.log_lines().join("\n");
    assert!(!log.contains("secret-create"), "{log}");
    assert!(log.contains("127.0.0.1"), "{log}");
}

#[tokio::test]
async fn update_changes_in_place_or_replaces_and_delete_is_idempotent() {
    let aws = Aws::connect().await;
    let first_stream = aws.stream(&moto::unique_name("mp-update-a")).await;
    let second_stream = aws.stream(&moto::unique_name("mp-update-b")).await;
    let function = aws.function(&moto::unique_name("mp-update-consumer")).await;
    let sink = ResponseSink::start().await;
    let mut provider = provider(&aws.endpoint, &[]).await;

    let original = properties(&function, &first_stream);
    let create = request("Create", &sink.url("create"), None, &original, None);
    invoke(&mut provider, &create, NORMAL).await;
    let uuid = id_of(&sink.answer("create"));

    // BatchSize: in place, same physical id.
    let mut smaller = original.clone();
    smaller["BatchSize"] = json!("250");
    let update = request(
        "Update",
        &sink.url("batch"),
        Some(&uuid),
        &smaller,
        Some(&original),
    );
    invoke(&mut provider, &update, NORMAL).await;
    let answer = sink.answer("batch");
    assert_eq!(answer.body["Status"], "SUCCESS", "{answer:?}");
    assert_eq!(id_of(&answer), uuid);
    assert_eq!(answer.body["Data"]["UUID"], uuid.as_str());
    assert_eq!(aws.mapping(&uuid).await.unwrap().batch_size(), Some(250));

    // StreamArn: a new mapping and id; the old one stays for CloudFormation's Delete.
    let mut moved = smaller.clone();
    moved["StreamArn"] = json!(second_stream);
    let update = request(
        "Update",
        &sink.url("stream"),
        Some(&uuid),
        &moved,
        Some(&smaller),
    );
    invoke(&mut provider, &update, NORMAL).await;
    let answer = sink.answer("stream");
    assert_eq!(answer.body["Status"], "SUCCESS", "{answer:?}");
    let new_uuid = id_of(&answer);
    assert!(is_uuid(&new_uuid) && new_uuid != uuid, "{answer:?}");
    let new_mapping = aws
        .mapping(&new_uuid)
        .await
        .expect("the new mapping exists");
    assert_eq!(new_mapping.event_source_arn(), Some(second_stream.as_str()));
    assert_eq!(new_mapping.batch_size(), Some(250));
    let old_mapping = aws.mapping(&uuid).await.expect("the old mapping is left");
    assert_eq!(old_mapping.event_source_arn(), Some(first_stream.as_str()));

    // CloudFormation's Delete of the old id removes it; a second Delete is still SUCCESS.
    for name in ["delete-old", "delete-old-again"] {
        let delete = request("Delete", &sink.url(name), Some(&uuid), &smaller, None);
        invoke(&mut provider, &delete, NORMAL).await;
        let answer = sink.answer(name);
        assert_eq!(answer.body["Status"], "SUCCESS", "{answer:?}");
        assert_eq!(id_of(&answer), uuid);
        assert!(aws.mapping(&uuid).await.is_none());
    }
    assert!(
        aws.mapping(&new_uuid).await.is_some(),
        "only the old mapping is deleted"
    );

    // A physical id that is not a UUID (a Create that failed) is deleted by doing nothing.
    let leftover = "not-created-00000000-0000-4000-8000-000000000000";
    let delete = request(
        "Delete",
        &sink.url("not-a-uuid"),
        Some(leftover),
        &moved,
        None,
    );
    invoke(&mut provider, &delete, NORMAL).await;
    let answer = sink.answer("not-a-uuid");
    assert_eq!(answer.body["Status"], "SUCCESS", "{answer:?}");
    assert_eq!(id_of(&answer), leftover);

    let delete = request(
        "Delete",
        &sink.url("delete-new"),
        Some(&new_uuid),
        &moved,
        None,
    );
    invoke(&mut provider, &delete, NORMAL).await;
    assert_eq!(sink.answer("delete-new").body["Status"], "SUCCESS");
    assert!(aws.mapping(&new_uuid).await.is_none());
}

#[tokio::test]
async fn invalid_properties_and_a_missing_function_fail_in_time_with_the_reason() {
    let aws = Aws::connect().await;
    let stream = aws.stream(&moto::unique_name("mp-invalid")).await;
    let function = aws
        .function(&moto::unique_name("mp-invalid-consumer"))
        .await;
    let sink = ResponseSink::start().await;
    let mut provider = provider(&aws.endpoint, &[]).await;

    let mut invalid = properties(&function, &stream);
    invalid["BatchSize"] = json!("0");
    invalid["StartingPosition"] = json!("AT_TIMESTAMP");
    invalid["MaximumRecordAgeInSeconds"] = json!("30");
    let create = request("Create", &sink.url("invalid"), None, &invalid, None);
    let answer = answered_in_time(&mut provider, &sink, "invalid", &create, SHORT, MARGIN).await;
    assert_eq!(answer.body["Status"], "FAILED");
    let reason = reason_of(&answer);
    for expected in [
        "BatchSize must be a whole number from 1 to 10000",
        "StartingPosition must be TRIM_HORIZON or LATEST, got \"AT_TIMESTAMP\"",
        "MaximumRecordAgeInSeconds must be -1 (no limit) or a whole number of seconds from 60 to 604800",
    ] {
        assert!(reason.contains(expected), "{expected:?} not in {reason:?}");
    }
    // Not a UUID, so that the rollback's Delete knows nothing was made; and it answers SUCCESS.
    let failed_id = id_of(&answer);
    assert!(!is_uuid(&failed_id), "{answer:?}");
    let delete = request(
        "Delete",
        &sink.url("rollback"),
        Some(&failed_id),
        &invalid,
        None,
    );
    invoke(&mut provider, &delete, NORMAL).await;
    assert_eq!(sink.answer("rollback").body["Status"], "SUCCESS");

    let missing = "arn:aws:lambda:us-east-1:123456789012:function:mp-no-such-function";
    let create = request(
        "Create",
        &sink.url("missing"),
        None,
        &properties(missing, &stream),
        None,
    );
    let answer = answered_in_time(&mut provider, &sink, "missing", &create, SHORT, MARGIN).await;
    assert_eq!(answer.body["Status"], "FAILED");
    let reason = reason_of(&answer);
    assert!(
        reason.starts_with("CreateEventSourceMapping failed: ResourceNotFoundException: ")
            && reason.contains("mp-no-such-function"),
        "{reason}"
    );
}

#[tokio::test]
async fn an_unreachable_lambda_api_fails_in_time_with_the_reason() {
    // A port that was free a moment ago: nothing listens there, connections are refused.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let sink = ResponseSink::start().await;
    let mut provider = provider(&closed, &[]).await;
    let props = properties(
        "arn:aws:lambda:us-east-1:123456789012:function:consumer",
        "arn:aws:kinesis:us-east-1:123456789012:stream/stream",
    );
    let create = request("Create", &sink.url("unreachable"), None, &props, None);
    let answer =
        answered_in_time(&mut provider, &sink, "unreachable", &create, SHORT, MARGIN).await;
    assert_eq!(answer.body["Status"], "FAILED");
    let reason = reason_of(&answer);
    assert!(
        reason.starts_with("CreateEventSourceMapping failed: dispatch failure"),
        "{reason}"
    );
    assert!(reason.contains("Connection refused"), "{reason}");
    assert!(!is_uuid(&id_of(&answer)));
}

#[tokio::test]
async fn a_refused_response_is_put_again_until_delivered() {
    let aws = Aws::connect().await;
    let sink = ResponseSink::failing_first(&[500, 500]).await;
    let mut provider = provider(&aws.endpoint, &[]).await;
    // A Delete of nothing: the answer is all that happens.
    let props = properties(
        "arn:aws:lambda:us-east-1:123456789012:function:consumer",
        "arn:aws:kinesis:us-east-1:123456789012:stream/stream",
    );
    let delete = request(
        "Delete",
        &sink.url("flaky"),
        Some("not-created-x"),
        &props,
        None,
    );
    let summary = invoke(&mut provider, &delete, NORMAL).await;

    let puts = sink.puts("flaky");
    assert_eq!(
        puts.iter().map(|p| p.status).collect::<Vec<_>>(),
        [500, 500, 200],
        "{puts:#?}"
    );
    assert!(puts.iter().all(|p| p.body == puts[0].body));
    assert_eq!(puts[2].body["Status"], "SUCCESS");
    assert_eq!(summary["DeliveryAttempts"], 3);
}

#[tokio::test]
async fn a_panic_after_the_mapping_exists_is_answered_failed_and_the_mapping_can_be_rolled_back() {
    let aws = Aws::connect().await;
    let stream = aws.stream(&moto::unique_name("mp-panic")).await;
    let function = aws.function(&moto::unique_name("mp-panic-consumer")).await;
    let sink = ResponseSink::start().await;
    let fault = [(mapping_provider::fault::FAULT_ENV, "panic-after-create")];
    let mut provider = provider(&aws.endpoint, &fault).await;

    let props = properties(&function, &stream);
    let create = request("Create", &sink.url("panic"), None, &props, None);
    let answer = answered_in_time(&mut provider, &sink, "panic", &create, SHORT, MARGIN).await;
    assert_eq!(answer.body["Status"], "FAILED", "{answer:?}");
    let reason = reason_of(&answer);
    assert!(
        reason.starts_with("the provider panicked: forced panic after creating mapping"),
        "{reason}"
    );
    let log = provider.log_lines().join("\n");
    assert!(log.contains("panicked at"), "{log}");

    // The mapping that existed when the worker died is the physical id, so CloudFormation's
    // rollback Delete removes it; the same process, unharmed, answers that Delete too.
    let uuid = id_of(&answer);
    assert!(is_uuid(&uuid), "{answer:?}");
    assert!(aws.mapping(&uuid).await.is_some());
    let delete = request("Delete", &sink.url("rollback"), Some(&uuid), &props, None);
    invoke(&mut provider, &delete, NORMAL).await;
    assert_eq!(sink.answer("rollback").body["Status"], "SUCCESS");
    assert!(aws.mapping(&uuid).await.is_none());
}

#[tokio::test]
async fn a_hung_handler_is_answered_for_before_the_deadline() {
    let aws = Aws::connect().await;
    let stream = aws.stream(&moto::unique_name("mp-hang")).await;
    let function = aws.function(&moto::unique_name("mp-hang-consumer")).await;
    let sink = ResponseSink::start().await;
    let fault = [(mapping_provider::fault::FAULT_ENV, "hang-after-create")];
    let mut provider = provider(&aws.endpoint, &fault).await;

    let props = properties(&function, &stream);
    let create = request("Create", &sink.url("hang"), None, &props, None);
    let answer = answered_in_time(
        &mut provider,
        &sink,
        "hang",
        &create,
        SHORT,
        MARGIN_AFTER_STOP,
    )
    .await;
    assert_eq!(answer.body["Status"], "FAILED", "{answer:?}");
    assert!(
        reason_of(&answer).contains("did not answer within"),
        "{answer:?}"
    );
    let uuid = id_of(&answer);
    assert!(aws.mapping(&uuid).await.is_some(), "{answer:?}");

    let delete = request("Delete", &sink.url("rollback"), Some(&uuid), &props, None);
    invoke(&mut provider, &delete, NORMAL).await;
    assert_eq!(sink.answer("rollback").body["Status"], "SUCCESS");
}

/// Lambda runs an asynchronous invocation again when the first one failed, so the provider can
/// receive the same Create twice: here the first answer is delivered, as when it was lost on
/// the way. Both answer SUCCESS with the one mapping there is.
#[tokio::test]
async fn the_same_create_delivered_twice_answers_success_twice_with_one_mapping() {
    let moto = CloserMoto::start().await;
    let aws = Aws::at(&moto.endpoint).await;
    let stream = aws.stream(&moto::unique_name("mp-twice")).await;
    let function = aws.function(&moto::unique_name("mp-twice-consumer")).await;
    let sink = ResponseSink::start().await;
    let mut provider = provider(&aws.endpoint, &[]).await;

    let create = request(
        "Create",
        &sink.url("twice"),
        None,
        &properties(&function, &stream),
        None,
    );
    invoke(&mut provider, &create, NORMAL).await;
    invoke(&mut provider, &create, NORMAL).await;

    let answers: Vec<RecordedPut> = sink
        .puts("twice")
        .into_iter()
        .filter(|put| put.status == 200)
        .collect();
    assert_eq!(answers.len(), 2, "{answers:#?}");
    for answer in &answers {
        assert_eq!(answer.body["Status"], "SUCCESS", "{answer:?}");
    }
    let uuid = id_of(&answers[0]);
    assert!(is_uuid(&uuid), "{answers:#?}");
    assert_eq!(id_of(&answers[1]), uuid);
    assert_eq!(answers[1].body["Data"]["UUID"], uuid.as_str());
    assert!(
        reason_of(&answers[1]).starts_with(&format!("adopted mapping {uuid}")),
        "{answers:#?}"
    );
    let mappings = aws.mappings_of(&function, &stream).await;
    let uuids: Vec<_> = mappings.iter().filter_map(|m| m.uuid()).collect();
    assert_eq!(uuids, [uuid.as_str()], "one mapping, not two");
    assert_eq!(mappings[0].batch_size(), Some(500));
}

/// A mapping of the stack's function and stream can exist before the stack's Create: left by
/// an earlier stack of the same name (DeleteFunction does not delete a function's mappings).
/// The Create adopts it, updated to the declared settings. One whose starting position
/// differs, which Lambda cannot update, is refused, named, and left as it was.
#[tokio::test]
async fn a_create_adopts_an_identical_mapping_and_refuses_a_differing_one() {
    let moto = CloserMoto::start().await;
    let aws = Aws::at(&moto.endpoint).await;
    let function = aws.function(&moto::unique_name("mp-adopt-consumer")).await;
    let sink = ResponseSink::start().await;
    let mut provider = provider(&aws.endpoint, &[]).await;

    let stream = aws.stream(&moto::unique_name("mp-adopt")).await;
    let left = aws.make_mapping(&function, &stream, "TRIM_HORIZON").await;
    let create = request(
        "Create",
        &sink.url("identical"),
        None,
        &properties(&function, &stream),
        None,
    );
    invoke(&mut provider, &create, NORMAL).await;
    let answer = sink.answer("identical");
    assert_eq!(answer.body["Status"], "SUCCESS", "{answer:?}");
    assert_eq!(id_of(&answer), left);
    assert_eq!(answer.body["Data"]["UUID"], left.as_str());
    assert!(
        reason_of(&answer).starts_with(&format!("adopted mapping {left}")),
        "{answer:?}"
    );
    let mappings = aws.mappings_of(&function, &stream).await;
    assert_eq!(mappings.len(), 1, "{mappings:#?}");
    let adopted = &mappings[0];
    assert_eq!(adopted.uuid(), Some(left.as_str()));
    assert_eq!(adopted.batch_size(), Some(500));
    assert_eq!(adopted.maximum_batching_window_in_seconds(), Some(1));
    assert_eq!(
        adopted.function_response_types(),
        [FunctionResponseType::ReportBatchItemFailures]
    );
    assert_eq!(adopted.bisect_batch_on_function_error(), Some(true));
    assert_eq!(adopted.maximum_retry_attempts(), Some(3));
    assert_eq!(adopted.maximum_record_age_in_seconds(), Some(21_600));
    assert_eq!(
        adopted
            .destination_config()
            .and_then(|d| d.on_failure())
            .and_then(|f| f.destination()),
        Some("arn:aws:sqs:us-east-1:123456789012:mapping-test-failures")
    );

    let other_stream = aws.stream(&moto::unique_name("mp-adopt-latest")).await;
    let latest = aws.make_mapping(&function, &other_stream, "LATEST").await;
    let create = request(
        "Create",
        &sink.url("differing"),
        None,
        &properties(&function, &other_stream),
        None,
    );
    invoke(&mut provider, &create, NORMAL).await;
    let answer = sink.answer("differing");
    assert_eq!(answer.body["Status"], "FAILED", "{answer:?}");
    let reason = reason_of(&answer);
    assert!(
        reason.starts_with(&format!(
            "mapping {latest} of this function and stream exists"
        )) && reason.contains("its StartingPosition is LATEST, declared TRIM_HORIZON"),
        "{reason}"
    );
    // Not a UUID, so that the rollback's Delete leaves the mapping that was there alone.
    assert!(!is_uuid(&id_of(&answer)), "{answer:?}");
    let mappings = aws.mappings_of(&function, &other_stream).await;
    assert_eq!(mappings.len(), 1, "{mappings:#?}");
    assert_eq!(mappings[0].uuid(), Some(latest.as_str()));
    assert_eq!(
        mappings[0].starting_position(),
        Some(&EventSourcePosition::Latest)
    );
    assert_eq!(mappings[0].batch_size(), Some(100), "left as it was");
}
