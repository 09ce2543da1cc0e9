//! The endpoint on a real loopback socket, driven by the official aws-sdk-kinesis and
//! aws-sdk-lambda clients, and by raw requests signed with aws-sigv4 for what the SDK will not
//! send. Behind it is an in-memory implementation of the project's own `DeviceApi` port that
//! records what reached it, so each refusal is shown to have changed nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use local_target::device_api::{
    Appended, DeviceApi, DeviceKey, FunctionError, NewRecord, StreamDescription, StreamUnavailable,
};
use local_target::endpoint::{EndpointSettings, serve};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const KEY_ID: &str = "AKIALOCALTESTDEVICE0";
const SECRET: &str = "local/secret/Key+for+the+device+under+test0";
const STREAM: &str = "demo-IoTEventStream";
const STREAM_ARN: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/demo-IoTEventStream";
const FUNCTION: &str = "demo-IoTAPI";
const MIB: usize = 1024 * 1024;

/// The port, in memory: keeps what it was given.
#[derive(Default)]
struct InMemoryApi {
    records: Mutex<Vec<NewRecord>>,
    invocations: Mutex<Vec<Value>>,
    sequence: AtomicU64,
    unavailable: AtomicBool,
}

impl DeviceApi for InMemoryApi {
    fn stream(&self) -> StreamDescription {
        StreamDescription {
            name: STREAM.into(),
            arn: STREAM_ARN.into(),
            shard_count: 2,
            retention_hours: 24,
            created: 1_764_000_000.5,
        }
    }

    async fn put_records(
        &self,
        records: Vec<NewRecord>,
    ) -> Result<Vec<Appended>, StreamUnavailable> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(StreamUnavailable("disk full".into()));
        }
        let appended = records
            .iter()
            .map(|_| Appended {
                shard_id: "shardId-000000000001".into(),
                sequence_number: format!(
                    "4963{:052}",
                    self.sequence.fetch_add(1, Ordering::SeqCst)
                ),
            })
            .collect();
        self.records.lock().unwrap().extend(records);
        Ok(appended)
    }

    fn query_function_name(&self) -> &str {
        FUNCTION
    }

    async fn invoke_query(&self, payload: Value) -> Result<Value, FunctionError> {
        self.invocations.lock().unwrap().push(payload.clone());
        if payload.get("sensorid").is_none() {
            return Err(FunctionError {
                error_type: "InvalidRequest".into(),
                error_message: "sensorid is required".into(),
            });
        }
        Ok(json!({"Items": [], "Count": 0, "ScannedCount": 0, "echo": payload}))
    }
}

impl InMemoryApi {
    fn record_count(&self) -> usize {
        self.records.lock().unwrap().len()
    }
    fn invocation_count(&self) -> usize {
        self.invocations.lock().unwrap().len()
    }
}

struct Endpoint {
    url: String,
    api: Arc<InMemoryApi>,
    _page: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Endpoint {
    async fn start() -> Self {
        let page = tempfile::tempdir().unwrap();
        std::fs::write(page.path().join("index.html"), "<h1>test page</h1>").unwrap();
        std::fs::write(
            page.path().join("config.js"),
            format!("window.IOT_CONFIG = {{\"secretAccessKey\": \"{SECRET}\"}};\n"),
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let api = Arc::new(InMemoryApi::default());
        let settings = EndpointSettings {
            region: REGION.into(),
            account_id: ACCOUNT.into(),
            key: DeviceKey {
                access_key_id: KEY_ID.into(),
                secret_access_key: SECRET.into(),
            },
            testpage_dir: page.path().to_path_buf(),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(listener, settings, api.clone(), async move {
            let _ = stopped.await;
        }));
        Self {
            url,
            api,
            _page: page,
            _stop: stop,
        }
    }

    async fn sdk_config(&self, key_id: &str, secret: &str, region: &str) -> aws_config::SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .credentials_provider(Credentials::new(key_id, secret, None, None, "test"))
            .endpoint_url(&self.url)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await
    }

    async fn kinesis(&self) -> aws_sdk_kinesis::Client {
        self.kinesis_as(KEY_ID, SECRET, REGION).await
    }

    async fn kinesis_as(
        &self,
        key_id: &str,
        secret: &str,
        region: &str,
    ) -> aws_sdk_kinesis::Client {
        aws_sdk_kinesis::Client::new(&self.sdk_config(key_id, secret, region).await)
    }

    async fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.sdk_config(KEY_ID, SECRET, REGION).await)
    }

    /// Nothing reached the stream or the function.
    fn assert_untouched(&self) {
        assert_eq!(
            self.api.record_count(),
            0,
            "a refused request stored records"
        );
        assert_eq!(
            self.api.invocation_count(),
            0,
            "a refused request ran the function"
        );
    }
}

/// Status and AWS error code of a failed SDK call.
fn failure<E: ProvideErrorMetadata + std::fmt::Debug>(
    error: aws_sdk_kinesis::error::SdkError<E, aws_sdk_kinesis::config::http::HttpResponse>,
) -> (u16, String, String) {
    let status = error
        .raw_response()
        .map(|response| response.status().as_u16())
        .expect("a response from the endpoint");
    (
        status,
        error.code().unwrap_or_default().to_owned(),
        error.message().unwrap_or_default().to_owned(),
    )
}

fn blob(size: usize) -> Blob {
    Blob::new(vec![b'x'; size])
}

fn entry(key: &str, size: usize) -> PutRecordsRequestEntry {
    PutRecordsRequestEntry::builder()
        .partition_key(key)
        .data(blob(size))
        .build()
        .unwrap()
}

/// A raw request, signed with aws-sigv4 as a client would sign it.
struct Raw {
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn kinesis(operation: &str, body: Value) -> Self {
        Self {
            method: "POST",
            path: "/".into(),
            headers: vec![
                ("content-type".into(), "application/x-amz-json-1.1".into()),
                (
                    "x-amz-target".into(),
                    format!("Kinesis_20131202.{operation}"),
                ),
            ],
            body: body.to_string().into_bytes(),
        }
    }

    fn invoke(function: &str, body: &[u8]) -> Self {
        Self {
            method: "POST",
            path: format!("/2015-03-31/functions/{function}/invocations"),
            headers: vec![],
            body: body.to_vec(),
        }
    }

    /// Adds `X-Amz-Date` and `Authorization` for `secret`, `service` and `time`.
    fn signed(mut self, base: &str, secret: &str, service: &str, time: SystemTime) -> Self {
        let url = format!("{base}{}", self.path);
        let signable = SignableRequest::new(
            self.method,
            url,
            self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(&self.body),
        )
        .unwrap();
        let identity =
            aws_credential_types::Credentials::new(KEY_ID, secret, None, None, "test").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(REGION)
            .name(service)
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let added: Vec<(String, String)> = instructions
            .headers()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        self.headers.extend(added);
        self
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.into(), value.into()));
        self
    }

    async fn send(self, base: &str) -> reqwest::Response {
        let mut request = reqwest::Client::new()
            .request(self.method.parse().unwrap(), format!("{base}{}", self.path));
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request.body(self.body).send().await.unwrap()
    }
}

async fn error_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert!(
        response.headers().contains_key("x-amzn-requestid"),
        "every answer has a request id"
    );
    (status, response.json().await.unwrap())
}

fn put_record_body(key: &str) -> Value {
    json!({"StreamName": STREAM, "PartitionKey": key, "Data": "eyJ2YWx1ZSI6MX0="})
}

// ---- what the device may do ----

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

    let stored = endpoint.api.records.lock().unwrap().clone();
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

// ---- authentication: every failure is 403 and changes nothing ----

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

// ---- Kinesis' limits ----

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
    endpoint.api.unavailable.store(true, Ordering::SeqCst);
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

// ---- what the device may not do ----

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

// ---- the browser side ----

#[tokio::test]
async fn a_preflight_from_a_file_page_is_answered() {
    let endpoint = Endpoint::start().await;
    let client = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        client
            .request(reqwest::Method::OPTIONS, format!("{}/", endpoint.url))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type,x-amz-date,x-amz-target,x-amz-user-agent",
            )
            .send()
    };
    let response = preflight("null").await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], "null");
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    for name in [
        "authorization",
        "x-amz-date",
        "x-amz-target",
        "x-amz-invocation-type",
    ] {
        assert!(allowed.contains(name), "{allowed}");
    }
    assert!(
        headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );

    // Another site gets no permission.
    let response = preflight("https://evil.example").await.unwrap();
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );

    // An actual answer exposes the headers the page reads.
    let response = Raw::invoke(FUNCTION, b"{}")
        .header("origin", "null")
        .signed(&endpoint.url, SECRET, "lambda", SystemTime::now())
        .send(&endpoint.url)
        .await;
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    for name in [
        "x-amz-function-error",
        "x-amzn-requestid",
        "x-amzn-errortype",
    ] {
        assert!(exposed.contains(name), "{exposed}");
    }
}

#[tokio::test]
async fn the_test_page_is_served_and_config_js_only_to_this_machines_pages() {
    let endpoint = Endpoint::start().await;
    let client = reqwest::Client::new();
    let index = client
        .get(format!("{}/", endpoint.url))
        .send()
        .await
        .unwrap();
    assert_eq!(index.status(), 200);
    assert_eq!(index.text().await.unwrap(), "<h1>test page</h1>");

    let config = client
        .get(format!("{}/config.js", endpoint.url))
        .send()
        .await
        .unwrap();
    assert_eq!(config.status(), 200);
    assert_eq!(config.headers()["cache-control"], "no-store");
    assert!(config.text().await.unwrap().contains(SECRET));

    // A page of another site including it with <script src>, under any spelling of the path.
    for path in ["/config.js", "/%63onfig.js", "/./config.js", "//config.js"] {
        let refused = client
            .get(format!("{}{path}", endpoint.url))
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403, "{path}");
        assert!(!refused.text().await.unwrap().contains(SECRET));
    }
    // A DNS-rebound name of another site.
    let refused = client
        .get(format!("{}/config.js", endpoint.url))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    let missing = client
        .get(format!("{}/nothing-here.html", endpoint.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let wrong_method = client
        .delete(format!("{}/index.html", endpoint.url))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
}
