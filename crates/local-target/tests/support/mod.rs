//! What the endpoint tests share: the endpoint on a real loopback socket with local-target's
//! in-memory `DeviceApi` behind it, SDK clients for it, and raw requests signed with aws-sigv4
//! for what the SDK will not send.

// Each test file uses a part of this module; the rest would be dead code in that file.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::SystemTime;

use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use local_target::device_api::{DeviceKey, StreamDescription};
use local_target::endpoint::EndpointSettings;
use local_target::test_util::{InMemoryDeviceApi, LoopbackEndpoint};
use serde_json::{Value, json};

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";
pub const KEY_ID: &str = "AKIALOCALTESTDEVICE0";
pub const SECRET: &str = "local/secret/Key+for+the+device+under+test0";
pub const STREAM: &str = "demo-IoTEventStream";
pub const STREAM_ARN: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/demo-IoTEventStream";
pub const FUNCTION: &str = "demo-IoTAPI";
pub const MIB: usize = 1024 * 1024;

/// The endpoint serving a page folder and the in-memory port, until dropped.
pub struct Endpoint {
    pub url: String,
    pub api: Arc<InMemoryDeviceApi>,
    _page: tempfile::TempDir,
    _endpoint: LoopbackEndpoint,
}

impl Endpoint {
    pub async fn start() -> Self {
        let page = tempfile::tempdir().unwrap();
        std::fs::write(page.path().join("index.html"), "<h1>test page</h1>").unwrap();
        std::fs::write(
            page.path().join("config.js"),
            format!("window.IOT_CONFIG = {{\"secretAccessKey\": \"{SECRET}\"}};\n"),
        )
        .unwrap();
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
        let settings = EndpointSettings {
            region: REGION.into(),
            operator_key: None,
            owner: None,
            account_id: ACCOUNT.into(),
            key: DeviceKey::new(KEY_ID, SECRET, None, None, "test"),
            testpage_dir: page.path().to_path_buf(),
        };
        let endpoint = LoopbackEndpoint::start(settings, api.clone())
            .await
            .unwrap();
        Self {
            url: endpoint.url.clone(),
            api,
            _page: page,
            _endpoint: endpoint,
        }
    }

    pub async fn sdk_config(
        &self,
        key_id: &str,
        secret: &str,
        region: &str,
    ) -> aws_config::SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .credentials_provider(Credentials::new(key_id, secret, None, None, "test"))
            .endpoint_url(&self.url)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await
    }

    pub async fn kinesis(&self) -> aws_sdk_kinesis::Client {
        self.kinesis_as(KEY_ID, SECRET, REGION).await
    }

    pub async fn kinesis_as(
        &self,
        key_id: &str,
        secret: &str,
        region: &str,
    ) -> aws_sdk_kinesis::Client {
        aws_sdk_kinesis::Client::new(&self.sdk_config(key_id, secret, region).await)
    }

    pub async fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.sdk_config(KEY_ID, SECRET, REGION).await)
    }

    /// Nothing reached the stream or the function.
    pub fn assert_untouched(&self) {
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
pub fn failure<E: ProvideErrorMetadata + std::fmt::Debug>(
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

pub fn blob(size: usize) -> Blob {
    Blob::new(vec![b'x'; size])
}

pub fn entry(key: &str, size: usize) -> PutRecordsRequestEntry {
    PutRecordsRequestEntry::builder()
        .partition_key(key)
        .data(blob(size))
        .build()
        .unwrap()
}

/// A raw request, signed with aws-sigv4 as a client would sign it.
#[derive(Clone)]
pub struct Raw {
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Raw {
    pub fn kinesis(operation: &str, body: Value) -> Self {
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

    /// A JSON 1.0 call, as DynamoDB, SQS and CloudWatch take them.
    pub fn json_1_0(target: &str, body: Value) -> Self {
        Self {
            method: "POST",
            path: "/".into(),
            headers: vec![
                ("content-type".into(), "application/x-amz-json-1.0".into()),
                ("x-amz-target".into(), target.into()),
            ],
            body: body.to_string().into_bytes(),
        }
    }

    pub fn invoke(function: &str, body: &[u8]) -> Self {
        Self {
            method: "POST",
            path: format!("/2015-03-31/functions/{function}/invocations"),
            headers: vec![],
            body: body.to_vec(),
        }
    }

    /// Adds `X-Amz-Date` and `Authorization` for `secret`, `service` and `time`.
    pub fn signed(self, base: &str, secret: &str, service: &str, time: SystemTime) -> Self {
        self.signed_as(base, KEY_ID, secret, service, time)
    }

    /// As [`Raw::signed`], with the key `key_id`.
    pub fn signed_as(
        mut self,
        base: &str,
        key_id: &str,
        secret: &str,
        service: &str,
        time: SystemTime,
    ) -> Self {
        let url = format!("{base}{}", self.path);
        let signable = SignableRequest::new(
            self.method,
            url,
            self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(&self.body),
        )
        .unwrap();
        let identity =
            aws_credential_types::Credentials::new(key_id, secret, None, None, "test").into();
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

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.into(), value.into()));
        self
    }

    pub async fn send(self, base: &str) -> reqwest::Response {
        let mut request = reqwest::Client::new()
            .request(self.method.parse().unwrap(), format!("{base}{}", self.path));
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request.body(self.body).send().await.unwrap()
    }
}

pub async fn error_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert!(
        response.headers().contains_key("x-amzn-requestid"),
        "every answer has a request id"
    );
    (status, response.json().await.unwrap())
}

pub fn put_record_body(key: &str) -> Value {
    json!({"StreamName": STREAM, "PartitionKey": key, "Data": "eyJ2YWx1ZSI6MX0="})
}
