//! What the process tests share: the stand-in for CloudFormation's ResponseURL, the stream and
//! function the test makes in moto, a moto of a test's own closer to AWS, the request
//! documents, and the provider process.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::put;
use lambda_harness::{FunctionProcess, Outcome, moto};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

pub const BINARY: &str = env!("CARGO_BIN_EXE_mapping-provider");
pub const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/mapping-test/0b7c1a30-1f2e-11f0-9d4a-0a1b2c3d4e5f";

/// One PUT the ResponseURL stand-in received.
#[derive(Clone, Debug)]
pub struct RecordedPut {
    /// The response name in the URL path (one per request).
    pub name: String,
    /// The Content-Type header as sent (`Some("")` is what the pre-signed URL wants).
    pub content_type: Option<String>,
    pub signature: Option<String>,
    pub body: Value,
    pub at: SystemTime,
    /// What the stand-in answered.
    pub status: u16,
}

#[derive(Default)]
struct SinkState {
    puts: Mutex<Vec<RecordedPut>>,
    /// Statuses to answer before answering 200.
    script: Mutex<VecDeque<u16>>,
}

/// A loopback HTTP server in the place of CloudFormation's pre-signed S3 URL.
pub struct ResponseSink {
    base: String,
    state: Arc<SinkState>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for ResponseSink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn record(
    State(state): State<Arc<SinkState>>,
    Path(name): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let status = state.script.lock().unwrap().pop_front().unwrap_or(200);
    let signature = query.and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("X-Amz-Signature=").map(str::to_owned))
    });
    state.puts.lock().unwrap().push(RecordedPut {
        name,
        content_type: headers
            .get("content-type")
            .map(|v| v.to_str().unwrap_or("(not text)").to_owned()),
        signature,
        body: serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned())),
        at: SystemTime::now(),
        status,
    });
    StatusCode::from_u16(status).unwrap()
}

impl ResponseSink {
    /// Answers 200 to every PUT.
    pub async fn start() -> Self {
        Self::failing_first(&[]).await
    }

    /// Answers `statuses` to the first PUTs, then 200.
    pub async fn failing_first(statuses: &[u16]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(SinkState::default());
        state.script.lock().unwrap().extend(statuses);
        let app = Router::new()
            .route("/responses/{name}", put(record))
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base,
            state,
            server,
        }
    }

    /// A ResponseURL shaped like a pre-signed one, named for one request.
    pub fn url(&self, name: &str) -> String {
        format!(
            "{}/responses/{name}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=7200&X-Amz-Signature=secret-{name}",
            self.base
        )
    }

    /// Every PUT for `name`, in order.
    pub fn puts(&self, name: &str) -> Vec<RecordedPut> {
        let puts = self.state.puts.lock().unwrap();
        puts.iter().filter(|p| p.name == name).cloned().collect()
    }

    /// The one accepted PUT for `name`; fails if there is none or more than one.
    pub fn answer(&self, name: &str) -> RecordedPut {
        let accepted: Vec<_> = self
            .puts(name)
            .into_iter()
            .filter(|p| p.status == 200)
            .collect();
        assert_eq!(accepted.len(), 1, "accepted PUTs for {name}: {accepted:#?}");
        accepted.into_iter().next().unwrap()
    }
}

/// A moto server of a test's own on a free loopback port, run through the launcher that closes
/// some of moto's gaps to AWS (`crates/deploy/tests/support/moto_closer_to_aws.py`; for these
/// tests, that Lambda refuses a second mapping of one stream and function). Stopped on drop.
pub struct CloserMoto {
    process: Child,
    pub endpoint: String,
    log: PathBuf,
}

impl CloserMoto {
    pub async fn start() -> Self {
        let repository = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        // The venv scripts/test makes, with moto in it.
        let python = repository.join(".venv/bin/python");
        assert!(
            python.is_file(),
            "{} is missing: run scripts/test",
            python.display()
        );
        let launcher = repository.join("crates/deploy/tests/support/moto_closer_to_aws.py");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::env::temp_dir().join(format!("mapping-provider-moto-{port}.log"));
        let process = Command::new(&python)
            .arg(&launcher)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut moto = Self {
            process,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        };
        // moto_server listens once it has loaded, so a connection means it answers.
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            let exited = moto.process.try_wait().unwrap();
            if exited.is_some() || Instant::now() > deadline {
                let log = std::fs::read_to_string(&moto.log).unwrap_or_default();
                panic!("moto did not start ({exited:?}):\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        moto
    }
}

impl Drop for CloserMoto {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// moto, and clients for what the tests make in it.
pub struct Aws {
    pub endpoint: String,
    pub lambda: aws_sdk_lambda::Client,
    kinesis: aws_sdk_kinesis::Client,
    iam: aws_sdk_iam::Client,
}

impl Aws {
    /// The moto that `scripts/test` starts.
    pub async fn connect() -> Self {
        Self::at(&moto::endpoint().unwrap_or_else(|e| panic!("{e}"))).await
    }

    /// The moto at `endpoint`.
    pub async fn at(endpoint: &str) -> Self {
        let config = moto::sdk_config(endpoint).await;
        Self {
            endpoint: endpoint.to_owned(),
            lambda: aws_sdk_lambda::Client::new(&config),
            kinesis: aws_sdk_kinesis::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
        }
    }

    /// A one-shard stream; returns its ARN.
    pub async fn stream(&self, name: &str) -> String {
        self.kinesis
            .create_stream()
            .stream_name(name)
            .shard_count(1)
            .send()
            .await
            .unwrap();
        let summary = self
            .kinesis
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .unwrap();
        summary
            .stream_description_summary()
            .unwrap()
            .stream_arn()
            .to_owned()
    }

    /// A consumer function (code that never runs: moto runs nothing without docker); returns
    /// its ARN.
    pub async fn function(&self, name: &str) -> String {
        let trust = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"
            }]
        });
        let role = self
            .iam
            .create_role()
            .role_name(format!("{name}-role"))
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .unwrap();
        let role_arn = role.role().unwrap().arn().to_owned();
        let code = aws_sdk_lambda::types::FunctionCode::builder()
            .zip_file(aws_sdk_lambda::primitives::Blob::new(zip_one_file(
                "bootstrap",
                b"#!/bin/sh\nexit 0\n",
            )))
            .build();
        let function = self
            .lambda
            .create_function()
            .function_name(name)
            .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
            .handler("bootstrap")
            .role(role_arn)
            .code(code)
            .send()
            .await
            .unwrap();
        function.function_arn().unwrap().to_owned()
    }

    /// The mapping's configuration as Lambda reports it, or `None` if it does not exist.
    pub async fn mapping(
        &self,
        uuid: &str,
    ) -> Option<aws_sdk_lambda::operation::get_event_source_mapping::GetEventSourceMappingOutput>
    {
        use aws_sdk_lambda::operation::get_event_source_mapping::GetEventSourceMappingError;
        match self
            .lambda
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
        {
            Ok(output) => Some(output),
            Err(err) => match err.into_service_error() {
                GetEventSourceMappingError::ResourceNotFoundException(_) => None,
                other => panic!("GetEventSourceMapping {uuid}: {other:?}"),
            },
        }
    }
}

impl Aws {
    /// Every mapping of `function_arn` on `stream_arn`.
    pub async fn mappings_of(
        &self,
        function_arn: &str,
        stream_arn: &str,
    ) -> Vec<aws_sdk_lambda::types::EventSourceMappingConfiguration> {
        self.lambda
            .list_event_source_mappings()
            .function_name(function_arn)
            .event_source_arn(stream_arn)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .unwrap()
    }

    /// A mapping made outside the stack (Lambda's defaults but for `position`), as an earlier
    /// stack would have left it; returns its UUID.
    pub async fn make_mapping(
        &self,
        function_arn: &str,
        stream_arn: &str,
        position: &str,
    ) -> String {
        let made = self
            .lambda
            .create_event_source_mapping()
            .function_name(function_arn)
            .event_source_arn(stream_arn)
            .starting_position(aws_sdk_lambda::types::EventSourcePosition::from(position))
            .send()
            .await
            .unwrap();
        made.uuid().unwrap().to_owned()
    }
}

/// A zip holding one executable file, as a function's code.
pub fn zip_one_file(name: &str, content: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o755);
    zip.start_file(name, options).unwrap();
    zip.write_all(content).unwrap();
    zip.finish().unwrap().into_inner()
}

/// The properties the template sends, every scalar as a string as CloudFormation passes them.
pub fn properties(function_arn: &str, stream_arn: &str) -> Value {
    json!({
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:mapping-test-EventSourceMappingProvider",
        "FunctionName": function_arn,
        "StreamArn": stream_arn,
        "BatchSize": "500",
        "StartingPosition": "TRIM_HORIZON",
        "MaximumBatchingWindowInSeconds": "1",
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "BisectBatchOnFunctionError": "true",
        "MaximumRetryAttempts": "3",
        "MaximumRecordAgeInSeconds": "21600",
        "OnFailureDestinationArn": "arn:aws:sqs:us-east-1:123456789012:mapping-test-failures"
    })
}

/// A request id shaped like CloudFormation's (a UUID), unique in this run.
fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{:08x}-0000-4000-8000-{:012x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A request as CloudFormation sends it. `physical_id` for Update and Delete; `old` for Update.
pub fn request(
    kind: &str,
    response_url: &str,
    physical_id: Option<&str>,
    properties: &Value,
    old: Option<&Value>,
) -> Value {
    let mut request = json!({
        "ServiceToken": properties["ServiceToken"],
        "RequestType": kind,
        "RequestId": request_id(),
        "ResponseURL": response_url,
        "StackId": STACK_ID,
        "ResourceType": "Custom::KinesisEventSourceMapping",
        "LogicalResourceId": "WriterMapping",
        "ResourceProperties": properties,
    });
    if let Some(id) = physical_id {
        request["PhysicalResourceId"] = json!(id);
    }
    if let Some(old) = old {
        request["OldResourceProperties"] = old.clone();
    }
    request
}

/// The binary under the Runtime API harness, its Lambda API pointed at `endpoint`.
pub async fn provider(endpoint: &str, extra: &[(&str, &str)]) -> FunctionProcess {
    let mut env = moto::function_env(endpoint);
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    FunctionProcess::start(std::path::Path::new(BINARY), &env)
        .await
        .unwrap()
}

/// Invokes the provider with `request`, giving it `timeout` as its deadline, and returns the
/// function's own result (a summary of the delivery).
pub async fn invoke(function: &mut FunctionProcess, request: &Value, timeout: Duration) -> Value {
    match function.invoke(request, timeout).await {
        Ok(Outcome::Response(summary)) => summary,
        other => panic!(
            "the provider did not return normally: {other:?}\nlog:\n{}",
            function.log_lines().join("\n")
        ),
    }
}
