#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The binary cargo builds for the tests, run as a process under the Runtime API harness,
//! against moto.

use lambda_harness::{FunctionProcess, HarnessError, Outcome, moto};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_archiver");

#[tokio::test]
async fn the_binary_archives_a_fixture_batch_into_moto() {
    let endpoint = moto::endpoint().unwrap_or_else(|e| panic!("{e}"));
    let config = moto::sdk_config(&endpoint).await;
    let s3 = aws_sdk_s3::Client::new(&config);
    let bucket = moto::unique_name("archive");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();

    let mut env: Vec<(&str, String)> = moto::function_env(&endpoint);
    env.push(("ARCHIVE_BUCKET", bucket.clone()));
    let mut function = FunctionProcess::start(Path::new(BINARY), &env)
        .await
        .unwrap();

    let outcome = function
        .invoke(
            &lambda_harness::telemetry_fixture("kinesis-event-2015-testpage.json"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Response(json!({"batchItemFailures": []})));

    let key = "2015-09-20/49565417405577233935463591291213513374345263254128312322.json";
    let object = s3
        .get_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let body: Value =
        serde_json::from_slice(&object.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(body["Records"].as_array().unwrap().len(), 4);
    assert_eq!(body["Records"][2]["data"], "not json at all");

    // The same process serves the next invocation too; an empty batch writes nothing.
    let outcome = function
        .invoke(&json!({"Records": []}), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Response(json!({"batchItemFailures": []})));
    let listed = s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    assert_eq!(listed.key_count(), Some(1));
}

#[tokio::test]
async fn without_its_bucket_setting_the_binary_stops_with_a_clear_message() {
    let mut function = FunctionProcess::start(Path::new(BINARY), &[] as &[(&str, &str)])
        .await
        .unwrap();
    match function
        .invoke(&json!({"Records": []}), Duration::from_secs(5))
        .await
    {
        Err(HarnessError::Exited { log, .. }) => {
            assert!(
                log.contains("environment variable ARCHIVE_BUCKET is not set"),
                "{log}"
            );
        }
        other => panic!("expected the process to stop, got {other:?}"),
    }
}
