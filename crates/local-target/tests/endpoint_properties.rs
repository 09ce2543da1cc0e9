#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The endpoint's invariants on generated requests through its real router, in memory, at the
//! scale of the ordinary test run (fuzz/fuzz_targets/endpoint_requests.rs checks them at a far
//! larger one): never a 5xx; a 4xx from an API route in that API's error shape; a request id
//! on every answer; no change to the stream or the function on a refusal or without the key's
//! signature.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::ConnectInfo;
use axum::http::{Method, Request};
use local_target::device_api::{DeviceKey, StreamDescription};
use local_target::endpoint::{EndpointSettings, router};
use local_target::test_util::InMemoryDeviceApi;
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Value, json};
use support::{ACCOUNT, FUNCTION, KEY_ID, REGION, Raw, SECRET, STREAM, STREAM_ARN};
use tower::ServiceExt;

#[derive(Clone, Debug)]
struct Generated {
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The service the request is signed for with the device key, if it is signed.
    signed_for: Option<&'static str>,
}

/// Bodies near what each API reads: valid, with fields missing, wrong or out of range.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let key = prop_oneof![
        Just(json!("k")),
        Just(json!("")),
        Just(json!(1)),
        "\\PC{0,300}".prop_map(|s| json!(s))
    ];
    let data = prop_oneof![
        Just(json!("eyJ2YWx1ZSI6MX0=")),
        Just(json!("%%")),
        Just(json!(null)),
        Just(json!(""))
    ];
    let stream = prop_oneof![
        Just(json!({"StreamName": STREAM})),
        Just(json!({"StreamARN": STREAM_ARN})),
        Just(json!({"StreamName": "other"})),
        Just(json!({})),
    ];
    let record = (
        key.clone(),
        data.clone(),
        prop::option::of("[0-9]{1,40}|-1|x"),
    )
        .prop_map(|(k, d, h)| json!({"PartitionKey": k, "Data": d, "ExplicitHashKey": h}));
    prop_oneof![
        (stream.clone(), record.clone()).prop_map(|(mut s, r)| {
            s.as_object_mut()
                .unwrap()
                .extend(r.as_object().unwrap().clone());
            s.to_string().into_bytes()
        }),
        (stream, prop::collection::vec(record, 0..4)).prop_map(|(mut s, records)| {
            s["Records"] = json!(records);
            s.to_string().into_bytes()
        }),
        Just(br#"{"operation": "query", "sensorid": "s"}"#.to_vec()),
        Just(b"{}".to_vec()),
        prop::collection::vec(any::<u8>(), 0..40),
    ]
}

fn generated() -> impl Strategy<Value = Generated> {
    let target = prop_oneof![
        Just("PutRecord"),
        Just("PutRecords"),
        Just("DescribeStreamSummary"),
        Just("DeleteStream"),
        Just("Nonsense"),
    ];
    (
        prop::sample::select(vec![
            Method::POST,
            Method::GET,
            Method::HEAD,
            Method::OPTIONS,
            Method::PUT,
        ]),
        prop::sample::select(vec![
            "/".to_owned(),
            format!("/2015-03-31/functions/{FUNCTION}/invocations"),
            "/2015-03-31/functions/other/invocations".to_owned(),
            format!("/2015-03-31/functions/{FUNCTION}/invocations?Qualifier=1"),
            "/2015-03-31/functions".to_owned(),
            "/2015-03-31/functions/".to_owned(),
            "/index.html".to_owned(),
            "/config.js".to_owned(),
            "/%63onfig.js".to_owned(),
            "/nothing".to_owned(),
        ]),
        prop::option::of(target),
        prop::option::of(prop::sample::select(vec![
            "RequestResponse",
            "Event",
            "DryRun",
        ])),
        body(),
        prop::option::of(prop::sample::select(vec!["kinesis", "lambda"])),
    )
        .prop_map(|(method, path, target, invocation, body, signed_for)| {
            let mut headers = vec![(
                "content-type".to_owned(),
                "application/x-amz-json-1.1".to_owned(),
            )];
            if let Some(target) = target {
                headers.push(("x-amz-target".into(), format!("Kinesis_20131202.{target}")));
            }
            if let Some(invocation) = invocation {
                headers.push(("x-amz-invocation-type".into(), invocation.into()));
            }
            Generated {
                method,
                path,
                headers,
                body,
                signed_for,
            }
        })
}

struct Answer {
    status: u16,
    headers: axum::http::HeaderMap,
    body: Value,
}

async fn send(request: &Generated) -> (Answer, Arc<InMemoryDeviceApi>) {
    let api = Arc::new(InMemoryDeviceApi::new(
        StreamDescription {
            name: STREAM.into(),
            arn: STREAM_ARN.into(),
            shard_count: 2,
            retention_hours: 24,
            created: 1_764_000_000.5,
        },
        FUNCTION,
    ));
    let page = tempfile::tempdir().unwrap();
    std::fs::write(page.path().join("index.html"), "<h1>page</h1>").unwrap();
    let settings = EndpointSettings {
        region: REGION.into(),
        operator_key: None,
        owner: None,
        account_id: ACCOUNT.into(),
        key: DeviceKey::new(KEY_ID, SECRET, None, None, "test"),
        testpage_dir: page.path().to_path_buf(),
    };
    let local: SocketAddr = "127.0.0.1:4567".parse().unwrap();
    let mut raw = Raw {
        method: "POST",
        path: request.path.clone(),
        headers: request.headers.clone(),
        body: request.body.clone(),
    };
    raw.method = match request.method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PUT" => "PUT",
        _ => "POST",
    };
    if let Some(service) = request.signed_for {
        raw.headers.push(("host".into(), "127.0.0.1:4567".into()));
        raw = raw.signed("http://127.0.0.1:4567", SECRET, service, SystemTime::now());
    }
    let mut builder = Request::builder().method(raw.method).uri(&raw.path);
    for (name, value) in &raw.headers {
        builder = builder.header(name, value);
    }
    let mut http = builder.body(axum::body::Body::from(raw.body)).unwrap();
    http.extensions_mut().insert(ConnectInfo::<SocketAddr>(
        "127.0.0.1:50000".parse().unwrap(),
    ));
    let Ok(response) = router(settings, api.clone(), local).oneshot(http).await;
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answer = Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    };
    (answer, api)
}

proptest! {
    #![proptest_config(Config { cases: 256, failure_persistence: None, ..Config::default() })]

    #[test]
    fn every_request_is_answered_in_shape_and_refusals_change_nothing(request in generated()) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (answer, api) = runtime.block_on(send(&request));
        prop_assert!(answer.status < 500, "{}: {}", answer.status, answer.body);
        prop_assert!(answer.headers.contains_key("x-amzn-requestid"));
        let path = request.path.split('?').next().unwrap();
        let kinesis = path == "/" && request.method == Method::POST;
        let lambda = path.starts_with("/2015-03-31/") && path.len() > "/2015-03-31/".len();
        // A HEAD answer has headers only.
        let has_body = request.method != Method::HEAD;
        if (400..500).contains(&answer.status) && kinesis {
            prop_assert!(answer.body["__type"].is_string() && answer.body["message"].is_string(), "{}", answer.body);
        }
        if (400..500).contains(&answer.status) && lambda {
            prop_assert!(answer.headers.contains_key("x-amzn-errortype"));
            if has_body {
                prop_assert_eq!(&answer.body["Type"], "User");
                prop_assert!(answer.body["message"].is_string());
            }
        }
        if api.record_count() + api.invocation_count() > 0 {
            prop_assert!((200..300).contains(&answer.status), "a refusal changed the state");
            prop_assert!(request.signed_for.is_some(), "an unsigned request changed the state");
        }
    }
}
