//! What the deployer's moto tests share: the `deploy` binary run as a user runs it, a moto
//! server of a test's own, and the real custom-resource provider answering for CloudFormation.
#![allow(dead_code)]

pub mod local;
pub mod relay;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;
use cfn_model::resources::lambda::Architecture;

use iot_stack::names::FunctionKind;
use lambda_harness::{FunctionProcess, Outcome};
use serde_json::{Value, json};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

pub fn shared_moto() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: run scripts/test, which starts moto on loopback")
    })
}

/// A stack name no other test or run against the same moto uses.
pub fn unique_stack(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let id = (nanos as u64) ^ (u64::from(std::process::id()) << 40);
    format!("{prefix}{:x}", id & 0xffff_ffff_ffff)
}

pub async fn sdk_config(endpoint: &str, credentials: Credentials) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(credentials)
        .load()
        .await
}

pub fn admin() -> Credentials {
    Credentials::new("test", "test", None, None, "static")
}

pub fn s3(config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    )
}

/// How many shards of `stream` are open.
pub async fn open_shards(config: &SdkConfig, stream: &str) -> i32 {
    aws_sdk_kinesis::Client::new(config)
        .describe_stream_summary()
        .stream_name(stream)
        .send()
        .await
        .unwrap()
        .stream_description_summary()
        .unwrap()
        .open_shard_count()
}

/// moto's test credentials, and no shared files or instance metadata to find others in.
pub const TEST_AWS_ENV: [(&str, &str); 5] = [
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
    (
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/aws-credentials",
    ),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

/// The `deploy` binary with a clean AWS environment: static test credentials, no shared
/// files, no instance metadata, cargo-lambda on PATH.
pub fn deploy_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_deploy"));
    let path = format!(
        "{}:{}",
        repository().join(".venv-lambda/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    command
        .args(args)
        .env_clear()
        .env("PATH", path)
        .envs(TEST_AWS_ENV)
        .stdin(Stdio::null());
    // Where cargo, rustup and zig (cargo-lambda's linker) keep their files; an empty HOME
    // would leave zig without a cache folder.
    for kept in [
        "HOME",
        "CARGO_HOME",
        "RUSTUP_HOME",
        "XDG_CACHE_HOME",
        "TMPDIR",
    ] {
        if let Some(value) = std::env::var_os(kept) {
            command.env(kept, value);
        }
    }
    command
}

/// Runs `deploy` and returns its output, echoing it for the test log.
pub fn deploy(args: &[&str]) -> Output {
    let output = deploy_command(args).output().unwrap();
    eprintln!(
        "$ deploy {}\n--- stdout\n{}--- stderr\n{}--- {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        output.status
    );
    output
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A moto server of a test's own on a free loopback port (with the resource-aware IAM
/// authorisation of `moto_closer_to_aws.py`), stopped on drop.
pub struct PrivateMoto {
    process: Child,
    pub endpoint: String,
    log: tempfile::NamedTempFile,
}

impl PrivateMoto {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// With custom resources' Deletes sent to `relay`, which serves this moto from now on.
    pub async fn start_with_relay(relay: &relay::CustomResourceRelay) -> Self {
        let moto = Self::start_with(&[("MOTO_CUSTOM_RESOURCE_RELAY", relay.url.as_str())]).await;
        relay.serve_moto(&moto.endpoint);
        moto
    }

    async fn start_with(env: &[(&str, &str)]) -> Self {
        let python = repository().join(".venv/bin/python");
        assert!(
            python.is_file(),
            "{} is missing: run scripts/test",
            python.display()
        );
        let launcher =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/moto_closer_to_aws.py");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let process = Command::new(&python)
            .arg(&launcher)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        let mut moto = Self {
            process,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = reqwest::get(format!("{}/moto-api/", moto.endpoint)).await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return moto;
            }
            let exited = moto.process.try_wait().unwrap();
            if exited.is_some() || Instant::now() > deadline {
                let log = std::fs::read_to_string(moto.log.path()).unwrap_or_default();
                panic!("moto did not start ({exited:?}):\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// From now on every request must be signed by a known key and allowed by its policies.
    pub async fn require_authorization(&self) {
        let response = reqwest::Client::new()
            .post(format!("{}/moto-api/reset-auth", self.endpoint))
            .body("0")
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{response:?}");
    }
}

impl Drop for PrivateMoto {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A JSON-protocol call for the services the workspace has no SDK crate for (CloudWatch Logs,
/// SQS), the service's error as text. moto without authentication does not check signatures; it only reads the service name from the
/// credential scope of the Authorization header.
pub async fn moto_json(
    endpoint: &str,
    service: &str,
    target: &str,
    body: Value,
) -> Result<Value, String> {
    let content_type = if service == "sqs" {
        "application/x-amz-json-1.0"
    } else {
        "application/x-amz-json-1.1"
    };
    let response = reqwest::Client::new()
        .post(endpoint)
        .header("X-Amz-Target", target)
        .header("Content-Type", content_type)
        .header(
            "Authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=test/20260101/{REGION}/{service}/aws4_request, \
                 SignedHeaders=host, Signature=unchecked"
            ),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    if !status.is_success() {
        return Err(format!("{target}: {status} {text}"));
    }
    Ok(serde_json::from_str(&text).unwrap())
}

/// A function's binary as cargo-lambda built it for the deploy (x86_64 Linux, runnable here):
/// what its package holds as `bootstrap`.
pub fn built_binary(kind: FunctionKind) -> PathBuf {
    deploy::assets::lambda_dir(&repository(), Architecture::X86_64)
        .join(deploy::assets::cargo_package(kind))
        .join("bootstrap")
}

/// `read`'s result, taken while no deploy can put new binaries in place: cargo-lambda copies
/// them there on every build, even one that compiled nothing, and another test may be
/// deploying.
pub fn reading_built_binaries<T>(read: impl FnOnce() -> T) -> T {
    let packages = deploy::assets::lambda_dir(&repository(), Architecture::X86_64);
    let _lock = deploy::assets::lock_packages(&packages).unwrap();
    read()
}

/// The custom resources' provider, as the stack's provider function runs it.
pub fn provider_binary() -> PathBuf {
    built_binary(FunctionKind::MappingProvider)
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `Ref` and `Fn::GetAtt [X, Arn]` of the template, resolved from the stack's physical ids.
fn resolve(value: &Value, physical: &dyn Fn(&str) -> (String, String)) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("Ref") => {
            json!(physical(map["Ref"].as_str().unwrap()).0)
        }
        Value::Object(map) if map.len() == 1 && map.contains_key("Fn::GetAtt") => {
            let target = map["Fn::GetAtt"][0].as_str().unwrap();
            assert_eq!(map["Fn::GetAtt"][1], "Arn", "only Arn is resolved here");
            let (id, kind) = physical(target);
            json!(match kind.as_str() {
                "AWS::Lambda::Function" =>
                    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{id}"),
                "AWS::Kinesis::Stream" => format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{id}"),
                "AWS::SQS::Queue" => format!(
                    "arn:aws:sqs:{REGION}:{ACCOUNT}:{}",
                    id.rsplit('/').next().unwrap()
                ),
                other => panic!("no ARN rule for {other}"),
            })
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve(v, physical)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(v, physical)).collect()),
        other => other.clone(),
    }
}

/// The provider binary as packaged, running under the Runtime API harness from a copy of its
/// own: a test rebuilding the packages meanwhile cannot replace a running executable ("Text
/// file busy").
pub struct Provider {
    pub process: FunctionProcess,
    _copy: tempfile::TempDir,
}

/// The provider under the Runtime API harness, its AWS calls going to moto at `endpoint`
/// with moto's admin test credentials.
pub async fn start_provider(endpoint: &str) -> Provider {
    let mut env = lambda_harness::moto::function_env(endpoint);
    env.retain(|(name, _)| !name.starts_with("AWS_ACCESS") && !name.starts_with("AWS_SECRET"));
    env.push(("AWS_ACCESS_KEY_ID", "test".to_owned()));
    env.push(("AWS_SECRET_ACCESS_KEY", "test".to_owned()));
    let binary = provider_binary();
    assert!(
        binary.is_file(),
        "{} is missing: the deploy builds it",
        binary.display()
    );
    let copy = tempfile::tempdir().unwrap();
    let bootstrap = copy.path().join("bootstrap");
    reading_built_binaries(|| std::fs::copy(&binary, &bootstrap)).unwrap();
    Provider {
        process: FunctionProcess::start(&bootstrap, &env).await.unwrap(),
        _copy: copy,
    }
}

/// Answers every custom resource of the stack the way CloudFormation's provider would: the
/// real provider binary, under the Lambda Runtime API harness, gets the Create request with
/// moto's response URL, makes the event-source mapping in moto's Lambda, and PUTs its answer
/// to moto. Returns each resource's logical id and the provider's invocation outcome.
pub async fn answer_custom_resources(
    config: &SdkConfig,
    endpoint: &str,
    stack: &str,
    template: &Value,
) -> Vec<(String, Outcome)> {
    let cfn = aws_sdk_cloudformation::Client::new(config);
    let described = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .unwrap();
    let stack_id = described.stacks()[0].stack_id().unwrap().to_owned();
    let resources = cfn
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .unwrap();
    let physical = |logical: &str| {
        let resource = resources
            .stack_resources()
            .iter()
            .find(|r| r.logical_resource_id() == Some(logical))
            .unwrap_or_else(|| panic!("{logical} is not in the stack"));
        (
            resource.physical_resource_id().unwrap().to_owned(),
            resource.resource_type().unwrap().to_owned(),
        )
    };
    let mut provider = start_provider(endpoint).await;
    let provider = &mut provider.process;

    let mut answers = Vec::new();
    for (logical_id, resource) in template["Resources"].as_object().unwrap() {
        let kind = resource["Type"].as_str().unwrap();
        if !kind.starts_with("Custom::") {
            continue;
        }
        let properties = resolve(&resource["Properties"], &physical);
        let request = json!({
            "RequestType": "Create",
            "ServiceToken": properties["ServiceToken"],
            "ResponseURL": format!(
                "{endpoint}/cloudformation_{REGION}/cfnresponse?stack={}",
                percent_encode(&stack_id)
            ),
            "StackId": stack_id,
            "RequestId": format!("{logical_id}-create"),
            "ResourceType": kind,
            "LogicalResourceId": logical_id,
            "ResourceProperties": properties,
        });
        let outcome = provider
            .invoke(&request, Duration::from_secs(30))
            .await
            .unwrap();
        answers.push((logical_id.clone(), outcome));
    }
    answers
}

/// The repository, found as the deployer finds it (tests run inside it).
pub fn repository() -> std::path::PathBuf {
    deploy::workspace::find().expect("tests run inside the repository")
}
