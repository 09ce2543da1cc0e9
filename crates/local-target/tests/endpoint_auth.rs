//! The endpoint's SigV4 check on a real loopback socket: every failure is a 403 in its API's
//! shape and changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, SystemTime};

use aws_sdk_kinesis::error::ProvideErrorMetadata;
use serde_json::Value;
use support::*;

#[tokio::test]
async fn a_wrong_secret_is_an_invalid_signature() {
    let endpoint = Endpoint::start().await;
    let kinesis = endpoint.kinesis_as(KEY_ID, "not-the-secret", REGION).await;
    let error = kinesis
        .put_record()
        .stream_name(STREAM)
        .partition_key("k")
        .data(blob(1))
        .send()
        .await
        .unwrap_err();
    let (status, code, message) = failure(error);
    assert_eq!((status, code.as_str()), (403, "InvalidSignatureException"));
    assert!(message.starts_with("The request signature we calculated does not match"));

    let lambda =
        aws_sdk_lambda::Client::new(&endpoint.sdk_config(KEY_ID, "not-the-secret", REGION).await);
    let error = lambda
        .invoke()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap_err();
    let status = error.raw_response().unwrap().status().as_u16();
    let service = error.into_service_error();
    assert_eq!(status, 403);
    assert_eq!(service.code(), Some("InvalidSignatureException"));
    endpoint.assert_untouched();
}

#[tokio::test]
async fn an_unknown_key_is_unrecognized() {
    let endpoint = Endpoint::start().await;
    let kinesis = endpoint
        .kinesis_as("AKIAOTHERKEY00000000", SECRET, REGION)
        .await;
    let error = kinesis
        .put_records()
        .stream_name(STREAM)
        .records(entry("k", 1))
        .send()
        .await
        .unwrap_err();
    let (status, code, _) = failure(error);
    assert_eq!(
        (status, code.as_str()),
        (403, "UnrecognizedClientException")
    );
    endpoint.assert_untouched();
}

#[tokio::test]
async fn a_region_other_than_the_endpoints_is_refused() {
    let endpoint = Endpoint::start().await;
    let kinesis = endpoint.kinesis_as(KEY_ID, SECRET, "eu-west-1").await;
    let error = kinesis
        .put_record()
        .stream_name(STREAM)
        .partition_key("k")
        .data(blob(1))
        .send()
        .await
        .unwrap_err();
    let (status, code, message) = failure(error);
    assert_eq!((status, code.as_str()), (403, "InvalidSignatureException"));
    assert!(message.contains("'eu-west-1'"), "{message}");
    endpoint.assert_untouched();
}

#[tokio::test]
async fn a_signature_for_another_service_is_refused() {
    let endpoint = Endpoint::start().await;
    let response = Raw::kinesis("PutRecord", put_record_body("k"))
        .signed(&endpoint.url, SECRET, "lambda", SystemTime::now())
        .send(&endpoint.url)
        .await;
    let (status, body) = error_of(response).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (403, Some("InvalidSignatureException"))
    );
    assert!(body["message"].as_str().unwrap().contains("'kinesis'"));
    endpoint.assert_untouched();
}

#[tokio::test]
async fn a_tampered_body_fails_the_signature() {
    let endpoint = Endpoint::start().await;
    let mut raw = Raw::kinesis("PutRecord", put_record_body("sensor-1")).signed(
        &endpoint.url,
        SECRET,
        "kinesis",
        SystemTime::now(),
    );
    raw.body = put_record_body("sensor-2").to_string().into_bytes();
    let (status, body) = error_of(raw.send(&endpoint.url).await).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (403, Some("InvalidSignatureException"))
    );
    endpoint.assert_untouched();

    // The untampered request passes, so the refusal was the tampering.
    let response = Raw::kinesis("PutRecord", put_record_body("sensor-1"))
        .signed(&endpoint.url, SECRET, "kinesis", SystemTime::now())
        .send(&endpoint.url)
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(endpoint.api.record_count(), 1);
}

#[tokio::test]
async fn a_tampered_signed_header_fails_the_signature() {
    let endpoint = Endpoint::start().await;
    // Signed as a harmless DescribeStreamSummary, sent as a PutRecord.
    let raw = Raw::kinesis("DescribeStreamSummary", put_record_body("k"))
        .signed(&endpoint.url, SECRET, "kinesis", SystemTime::now())
        .header("x-amz-target", "Kinesis_20131202.PutRecord");
    let (status, body) = error_of(raw.send(&endpoint.url).await).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (403, Some("InvalidSignatureException"))
    );
    endpoint.assert_untouched();
}

#[tokio::test]
async fn a_content_hash_that_does_not_match_the_body_is_refused() {
    let endpoint = Endpoint::start().await;
    let raw = Raw::kinesis("PutRecord", put_record_body("k"))
        .header(
            "x-amz-content-sha256",
            "0000000000000000000000000000000000000000000000000000000000000000",
        )
        .signed(&endpoint.url, SECRET, "kinesis", SystemTime::now());
    let (status, body) = error_of(raw.send(&endpoint.url).await).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (403, Some("InvalidSignatureException"))
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("x-amz-content-sha256")
    );
    endpoint.assert_untouched();
}

#[tokio::test]
async fn a_date_sixteen_minutes_off_has_expired() {
    let endpoint = Endpoint::start().await;
    let stale = SystemTime::now() - Duration::from_secs(16 * 60);
    let raw = Raw::kinesis("PutRecord", put_record_body("k")).signed(
        &endpoint.url,
        SECRET,
        "kinesis",
        stale,
    );
    let (status, body) = error_of(raw.send(&endpoint.url).await).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (403, Some("InvalidSignatureException"))
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Signature expired: ")
    );

    let future = SystemTime::now() + Duration::from_secs(16 * 60);
    let raw = Raw::invoke(FUNCTION, b"{}").signed(&endpoint.url, SECRET, "lambda", future);
    let response = raw.send(&endpoint.url).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "InvalidSignatureException"
    );
    endpoint.assert_untouched();
}

#[tokio::test]
async fn a_request_without_authentication_is_refused_in_each_apis_shape() {
    let endpoint = Endpoint::start().await;
    let (status, body) = error_of(
        Raw::kinesis("PutRecord", put_record_body("k"))
            .send(&endpoint.url)
            .await,
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (403, Some("MissingAuthenticationTokenException"))
    );

    let response = Raw::invoke(FUNCTION, b"{}").send(&endpoint.url).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "MissingAuthenticationTokenException"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["Type"], "User");
    assert_eq!(body["message"], "Missing Authentication Token");
    endpoint.assert_untouched();
}
