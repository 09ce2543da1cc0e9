//! The endpoint's Kinesis API on a real loopback socket, driven by the official aws-sdk-kinesis
//! client and by raw requests signed with aws-sigv4: what the device may do, Kinesis' limits,
//! and the operations it may not call. Behind it is local-target's in-memory `DeviceApi`, so
//! each refusal is shown to have changed nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::SystemTime;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use local_target::device_api::NewRecord;
use serde_json::json;
use support::*;

#[tokio::test]
async fn put_record_and_put_records_store_what_the_sdk_sent() {
    let endpoint = Endpoint::start().await;
    let kinesis = endpoint.kinesis().await;
    let one = kinesis
        .put_record()
        .stream_name(STREAM)
        .partition_key("sensor-1")
        .data(Blob::new(br#"{"value":1}"#.to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(one.shard_id(), "shardId-000000000001");
    assert!(one.sequence_number().starts_with("4963"));
    assert_eq!(
        one.encryption_type(),
        Some(&aws_sdk_kinesis::types::EncryptionType::Kms)
    );

    let many = kinesis
        .put_records()
        .stream_arn(STREAM_ARN)
        .records(entry("sensor-2", 3))
        .records(
            PutRecordsRequestEntry::builder()
                .partition_key("sensor-3")
                .explicit_hash_key(u128::MAX.to_string())
                .data(Blob::new(b"ab".to_vec()))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(many.failed_record_count(), Some(0));
    assert_eq!(many.records().len(), 2);
    assert!(many.records().iter().all(|r| r.error_code().is_none()));

    let stored = endpoint.api.records();
    assert_eq!(
        stored,
        vec![
            NewRecord {
                partition_key: "sensor-1".into(),
                data: br#"{"value":1}"#.to_vec(),
                explicit_hash_key: None,
            },
            NewRecord {
                partition_key: "sensor-2".into(),
                data: b"xxx".to_vec(),
                explicit_hash_key: None,
            },
            NewRecord {
                partition_key: "sensor-3".into(),
                data: b"ab".to_vec(),
                explicit_hash_key: Some(u128::MAX),
            },
        ]
    );
}

#[tokio::test]
async fn describe_stream_summary_reports_the_stream_as_aws_does() {
    let endpoint = Endpoint::start().await;
    let summary = endpoint
        .kinesis()
        .await
        .describe_stream_summary()
        .stream_name(STREAM)
        .send()
        .await
        .unwrap();
    let summary = summary.stream_description_summary().unwrap();
    assert_eq!(summary.stream_name(), STREAM);
    assert_eq!(summary.stream_arn(), STREAM_ARN);
    assert_eq!(
        summary.stream_status(),
        &aws_sdk_kinesis::types::StreamStatus::Active
    );
    assert_eq!(
        summary.stream_mode_details().unwrap().stream_mode(),
        &aws_sdk_kinesis::types::StreamMode::Provisioned
    );
    assert_eq!(summary.retention_period_hours(), 24);
    assert_eq!(
        summary.stream_creation_timestamp().as_secs_f64(),
        1_764_000_000.5
    );
    assert_eq!(
        summary.encryption_type(),
        Some(&aws_sdk_kinesis::types::EncryptionType::Kms)
    );
    assert_eq!(summary.key_id(), Some("alias/aws/kinesis"));
    assert_eq!(summary.open_shard_count(), 2);
    assert_eq!(summary.consumer_count(), Some(0));
    assert_eq!(summary.enhanced_monitoring().len(), 1);
    assert!(
        summary.enhanced_monitoring()[0]
            .shard_level_metrics()
            .is_empty()
    );
}

#[tokio::test]
async fn a_record_over_one_mebibyte_is_a_validation_error() {
    let endpoint = Endpoint::start().await;
    let kinesis = endpoint.kinesis().await;
    let error = kinesis
        .put_record()
        .stream_name(STREAM)
        .partition_key("k")
        .data(blob(MIB + 1))
        .send()
        .await
        .unwrap_err();
    let (status, code, message) = failure(error);
    assert_eq!((status, code.as_str()), (400, "ValidationException"));
    assert!(message.contains("'data'"), "{message}");
    endpoint.assert_untouched();

    // Exactly one mebibyte is fine.
    kinesis
        .put_record()
        .stream_name(STREAM)
        .partition_key("k")
        .data(blob(MIB))
        .send()
        .await
        .unwrap();
    assert_eq!(endpoint.api.record_count(), 1);
}

#[tokio::test]
async fn five_hundred_and_one_records_are_a_validation_error() {
    let endpoint = Endpoint::start().await;
    let kinesis = endpoint.kinesis().await;
    let entries: Vec<_> = (0..501).map(|i| entry(&format!("s{i}"), 1)).collect();
    let error = kinesis
        .put_records()
        .stream_name(STREAM)
        .set_records(Some(entries.clone()))
        .send()
        .await
        .unwrap_err();
    let (status, code, message) = failure(error);
    assert_eq!((status, code.as_str()), (400, "ValidationException"));
    assert!(message.contains("'records'"), "{message}");
    endpoint.assert_untouched();

    kinesis
        .put_records()
        .stream_name(STREAM)
        .set_records(Some(entries[..500].to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(endpoint.api.record_count(), 500);
}

#[tokio::test]
async fn a_call_over_five_mebibytes_is_an_invalid_argument() {
    let endpoint = Endpoint::start().await;
    let kinesis = endpoint.kinesis().await;
    // Five full records plus one byte of partition key each.
    let error = kinesis
        .put_records()
        .stream_name(STREAM)
        .set_records(Some((0..5).map(|_| entry("k", MIB)).collect()))
        .send()
        .await
        .unwrap_err();
    let (status, code, message) = failure(error);
    assert_eq!((status, code.as_str()), (400, "InvalidArgumentException"));
    assert!(message.contains("5 MB"), "{message}");
    endpoint.assert_untouched();

    // Exactly five mebibytes of data and keys pass.
    kinesis
        .put_records()
        .stream_name(STREAM)
        .set_records(Some((0..5).map(|_| entry("k", MIB - 1)).collect()))
        .send()
        .await
        .unwrap();
    assert_eq!(endpoint.api.record_count(), 5);
}

#[tokio::test]
async fn partition_keys_must_have_one_to_256_characters() {
    let endpoint = Endpoint::start().await;
    let kinesis = endpoint.kinesis().await;
    for key in [String::new(), "k".repeat(257), "é".repeat(257)] {
        let error = kinesis
            .put_record()
            .stream_name(STREAM)
            .partition_key(&key)
            .data(blob(1))
            .send()
            .await
            .unwrap_err();
        let (status, code, message) = failure(error);
        assert_eq!(
            (status, code.as_str()),
            (400, "ValidationException"),
            "{key}"
        );
        assert!(message.contains("'partitionKey'"), "{message}");

        let error = kinesis
            .put_records()
            .stream_name(STREAM)
            .records(entry("fine", 1))
            .records(entry(&key, 1))
            .send()
            .await
            .unwrap_err();
        let (status, code, message) = failure(error);
        assert_eq!((status, code.as_str()), (400, "ValidationException"));
        assert!(
            message.contains("records.2.member.partitionKey"),
            "{message}"
        );
    }
    endpoint.assert_untouched();

    // 256 characters of two bytes each are 256 characters, not 512.
    kinesis
        .put_record()
        .stream_name(STREAM)
        .partition_key("é".repeat(256))
        .data(blob(1))
        .send()
        .await
        .unwrap();
    assert_eq!(endpoint.api.record_count(), 1);
}

#[tokio::test]
async fn an_explicit_hash_key_outside_128_bits_is_refused() {
    let endpoint = Endpoint::start().await;
    let kinesis = endpoint.kinesis().await;
    for (key, expected) in [
        (
            "340282366920938463463374607431768211456",
            "InvalidArgumentException",
        ),
        ("-1", "ValidationException"),
        ("12a", "ValidationException"),
    ] {
        let error = kinesis
            .put_record()
            .stream_name(STREAM)
            .partition_key("k")
            .explicit_hash_key(key)
            .data(blob(1))
            .send()
            .await
            .unwrap_err();
        let (status, code, _) = failure(error);
        assert_eq!((status, code.as_str()), (400, expected), "{key}");
    }
    endpoint.assert_untouched();
}

#[tokio::test]
async fn an_unknown_stream_is_not_found_by_name_or_arn() {
    let endpoint = Endpoint::start().await;
    let kinesis = endpoint.kinesis().await;
    let error = kinesis
        .put_record()
        .stream_name("other-stream")
        .partition_key("k")
        .data(blob(1))
        .send()
        .await
        .unwrap_err();
    let (status, code, message) = failure(error);
    assert_eq!((status, code.as_str()), (400, "ResourceNotFoundException"));
    assert!(message.contains("other-stream"), "{message}");

    let error = kinesis
        .describe_stream_summary()
        .stream_arn("arn:aws:kinesis:us-east-1:123456789012:stream/other-stream")
        .send()
        .await
        .unwrap_err();
    let (status, code, _) = failure(error);
    assert_eq!((status, code.as_str()), (400, "ResourceNotFoundException"));
    endpoint.assert_untouched();
}

#[tokio::test]
async fn bad_json_and_bad_base64_are_serialization_errors() {
    let endpoint = Endpoint::start().await;
    let mut raw = Raw::kinesis("PutRecord", json!({}));
    raw.body = b"{not json".to_vec();
    let raw = raw.signed(&endpoint.url, SECRET, "kinesis", SystemTime::now());
    let (status, body) = error_of(raw.send(&endpoint.url).await).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("SerializationException"))
    );

    let raw = Raw::kinesis(
        "PutRecord",
        json!({"StreamName": STREAM, "PartitionKey": "k", "Data": "***"}),
    )
    .signed(&endpoint.url, SECRET, "kinesis", SystemTime::now());
    let (status, body) = error_of(raw.send(&endpoint.url).await).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("SerializationException"))
    );
    endpoint.assert_untouched();
}

#[tokio::test]
async fn a_stream_that_cannot_store_is_an_internal_failure() {
    let endpoint = Endpoint::start().await;
    endpoint.api.set_unavailable(true);
    let error = endpoint
        .kinesis()
        .await
        .put_records()
        .stream_name(STREAM)
        .records(entry("k", 1))
        .send()
        .await
        .unwrap_err();
    let (status, code, _) = failure(error);
    assert_eq!((status, code.as_str()), (500, "InternalFailure"));
    endpoint.assert_untouched();
}

#[tokio::test]
async fn other_kinesis_operations_are_denied() {
    let endpoint = Endpoint::start().await;
    let kinesis = endpoint.kinesis().await;
    let error = kinesis
        .list_shards()
        .stream_name(STREAM)
        .send()
        .await
        .unwrap_err();
    let (status, code, message) = failure(error);
    assert_eq!((status, code.as_str()), (400, "AccessDeniedException"));
    assert!(message.contains("kinesis:ListShards"), "{message}");

    let error = kinesis
        .delete_stream()
        .stream_name(STREAM)
        .send()
        .await
        .unwrap_err();
    let (status, code, _) = failure(error);
    assert_eq!((status, code.as_str()), (400, "AccessDeniedException"));

    // A made-up operation is unknown rather than denied.
    let raw = Raw::kinesis("PutRecordz", put_record_body("k")).signed(
        &endpoint.url,
        SECRET,
        "kinesis",
        SystemTime::now(),
    );
    let (status, body) = error_of(raw.send(&endpoint.url).await).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
    endpoint.assert_untouched();
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused_before_it_is_read() {
    let endpoint = Endpoint::start().await;
    let raw = Raw {
        method: "POST",
        path: "/".into(),
        headers: vec![("x-amz-target".into(), "Kinesis_20131202.PutRecords".into())],
        body: vec![b' '; 7 * MIB + 1],
    };
    let (status, body) = error_of(raw.send(&endpoint.url).await).await;
    assert_eq!(status, 413);
    assert_eq!(body["__type"], "RequestEntityTooLargeException");
    endpoint.assert_untouched();
}
