#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The archiver core: one lossless object per batch under a key that a retry reproduces.

mod support;

use support::*;
use telemetry::archive::{ArchiveBody, DataEncoding};
use telemetry::events::KinesisEvent;
use telemetry::handlers::archive_batch;

fn fixture_event() -> KinesisEvent {
    serde_json::from_slice(&fixture("kinesis-event-2015-testpage.json")).unwrap()
}

#[tokio::test]
async fn a_batch_becomes_one_lossless_object_keyed_by_its_first_record() {
    let archive = MemoryArchive::default();
    let event = fixture_event();
    let response = archive_batch(&archive, &event).await;
    assert!(response.batch_item_failures.is_empty());

    let objects = archive.objects.lock().unwrap();
    assert_eq!(objects.len(), 1);
    let (key, body) = objects.iter().next().unwrap();
    assert_eq!(
        key,
        "2015-09-20/49565417405577233935463591291213513374345263254128312322.json"
    );
    let parsed: ArchiveBody<'_> = serde_json::from_slice(body).expect("the body is valid JSON");
    assert_eq!(parsed.records.len(), event.records.len());
    for (archived, original) in parsed.records.iter().zip(&event.records) {
        assert_eq!(
            archived.bytes().unwrap(),
            original.kinesis.data.0,
            "bytes survive"
        );
        assert_eq!(archived.sequence_number, original.kinesis.sequence_number);
        assert_eq!(archived.partition_key, original.kinesis.partition_key);
        assert!(
            archived
                .approximate_arrival_timestamp
                .starts_with("2015-09-20T10:11:13")
        );
    }
    assert_eq!(parsed.records[2].data, "not json at all");
    assert_eq!(parsed.records[3].data_encoding, DataEncoding::Base64);
    assert_eq!(parsed.records[1].partition_key, "temp-ü");
}

#[tokio::test]
async fn a_retried_batch_writes_the_same_key_and_bytes() {
    let (first, second) = (MemoryArchive::default(), MemoryArchive::default());
    let event = fixture_event();
    archive_batch(&first, &event).await;
    archive_batch(&second, &event).await;
    assert_eq!(
        *first.objects.lock().unwrap(),
        *second.objects.lock().unwrap()
    );
}

#[tokio::test]
async fn an_archive_failure_asks_for_the_whole_batch_again() {
    let archive = MemoryArchive::default();
    *archive.fail.lock().unwrap() = true;
    let event = fixture_event();
    let response = archive_batch(&archive, &event).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(
        response.batch_item_failures[0].item_identifier.as_deref(),
        Some(event.records[0].kinesis.sequence_number.as_str())
    );
}

#[tokio::test]
async fn an_empty_batch_writes_nothing() {
    let archive = MemoryArchive::default();
    let response = archive_batch(&archive, &event_of(&[])).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(archive.objects.lock().unwrap().is_empty());
}
