//! The endpoint's Lambda API on a real loopback socket, driven by the official aws-sdk-lambda
//! client and by raw signed requests: Invoke of the query function with Lambda's answers, and
//! every other function or operation refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::SystemTime;

use aws_sdk_kinesis::error::ProvideErrorMetadata;
use serde_json::{Value, json};
use support::*;

#[tokio::test]
async fn invoke_runs_the_query_function_by_name_arn_or_latest() {
    let endpoint = Endpoint::start().await;
    let lambda = endpoint.lambda().await;
    for name in [
        FUNCTION.to_owned(),
        format!("{FUNCTION}:$LATEST"),
        format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"),
    ] {
        let output = lambda
            .invoke()
            .function_name(&name)
            .payload(aws_sdk_lambda::primitives::Blob::new(
                br#"{"operation":"query","sensorid":"s1"}"#.to_vec(),
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(output.status_code(), 200, "{name}");
        assert_eq!(output.function_error(), None);
        assert_eq!(output.executed_version(), Some("$LATEST"));
        let answer: Value = serde_json::from_slice(output.payload().unwrap().as_ref()).unwrap();
        assert_eq!(answer["echo"]["sensorid"], "s1", "{name}");
    }
    assert_eq!(endpoint.api.invocation_count(), 3);
}

#[tokio::test]
async fn a_function_error_is_http_200_with_the_unhandled_header_and_lambdas_body() {
    let endpoint = Endpoint::start().await;
    let output = endpoint
        .lambda()
        .await
        .invoke()
        .function_name(FUNCTION)
        .payload(aws_sdk_lambda::primitives::Blob::new(
            br#"{"operation":"query"}"#.to_vec(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(output.status_code(), 200);
    assert_eq!(output.function_error(), Some("Unhandled"));
    let body: Value = serde_json::from_slice(output.payload().unwrap().as_ref()).unwrap();
    assert_eq!(
        body,
        json!({"errorType": "InvalidRequest", "errorMessage": "sensorid is required"})
    );

    // The same on the wire, as a browser sees it.
    let response = Raw::invoke(FUNCTION, br#"{}"#)
        .signed(&endpoint.url, SECRET, "lambda", SystemTime::now())
        .send(&endpoint.url)
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-amz-function-error"], "Unhandled");
    assert_eq!(response.headers()["x-amz-executed-version"], "$LATEST");
    assert!(response.headers().contains_key("x-amzn-requestid"));
}

#[tokio::test]
async fn other_lambda_operations_are_denied() {
    let endpoint = Endpoint::start().await;
    let lambda = endpoint.lambda().await;
    let error = lambda
        .get_function()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap_err();
    let status = error.raw_response().unwrap().status().as_u16();
    assert_eq!(status, 403);
    assert_eq!(
        error.into_service_error().code(),
        Some("AccessDeniedException")
    );

    let error = lambda.list_functions().send().await.unwrap_err();
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 403);
    assert_eq!(
        error.into_service_error().code(),
        Some("AccessDeniedException")
    );
    endpoint.assert_untouched();
}

#[tokio::test]
async fn an_unknown_function_is_not_found() {
    let endpoint = Endpoint::start().await;
    let lambda = endpoint.lambda().await;
    for name in ["demo-Other", "demo-IoTAPI:1"] {
        let error = lambda
            .invoke()
            .function_name(name)
            .send()
            .await
            .unwrap_err();
        assert_eq!(error.raw_response().unwrap().status().as_u16(), 404);
        let service = error.into_service_error();
        assert!(service.is_resource_not_found_exception(), "{service:?}");
    }
    endpoint.assert_untouched();
}

#[tokio::test]
async fn a_payload_that_is_not_json_is_invalid_request_content() {
    let endpoint = Endpoint::start().await;
    let error = endpoint
        .lambda()
        .await
        .invoke()
        .function_name(FUNCTION)
        .payload(aws_sdk_lambda::primitives::Blob::new(
            b"sensor 1 please".to_vec(),
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 400);
    let service = error.into_service_error();
    assert!(
        service.is_invalid_request_content_exception(),
        "{service:?}"
    );
    endpoint.assert_untouched();
}

#[tokio::test]
async fn only_request_response_invocations_run() {
    let endpoint = Endpoint::start().await;
    let error = endpoint
        .lambda()
        .await
        .invoke()
        .function_name(FUNCTION)
        .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
        .payload(aws_sdk_lambda::primitives::Blob::new(b"{}".to_vec()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 400);
    let service = error.into_service_error();
    assert!(
        service.is_invalid_parameter_value_exception(),
        "{service:?}"
    );
    assert!(
        aws_sdk_lambda::error::ProvideErrorMetadata::message(&service)
            .unwrap()
            .contains("RequestResponse")
    );
    endpoint.assert_untouched();
}
