//! The rendered template against moto (a local AWS): the stack is created with every resource
//! under its designed name, and the device user's key can do what devices do and nothing else.
//!
//! moto runs no Lambda code here (it would need docker), so the tests answer the two
//! event-source-mapping custom resources for the provider, the way CloudFormation's provider
//! would: a PUT of SUCCESS to the response URL moto gives every custom resource.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_cloudformation::types::{Capability, Parameter, StackStatus};
use aws_sdk_kinesis::config::http::HttpResponse;
use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::primitives::ByteStream;
use iot_stack::assets;
use iot_stack::names::{FunctionKind, Names};
use iot_stack::stack_name::StackName;
use iot_stack::{StackDefinition, outputs};
use serde_json::{Value, json};
use support::{
    ACCOUNT, PrivateMoto, REGION, admin, moto_json, open_shards, s3, sdk_config, shared_moto,
};

mod support;

/// The smallest valid zip archive (an end-of-central-directory record and nothing else):
/// moto's CreateFunction stores the package and needs it to exist, never runs it.
const EMPTY_ZIP: [u8; 22] = [
    b'P', b'K', 5, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

/// A stack name no other test run uses: the shared moto is never reset, and tests run in
/// parallel.
fn unique_stack_name(prefix: &str) -> StackName {
    support::unique_stack(prefix).parse().unwrap()
}

/// A created stack.
struct Deployed {
    stack_id: String,
    outputs: BTreeMap<String, String>,
}

/// Uploads placeholder packages, creates the stack from the rendered template, answers its
/// custom resources, and waits for CREATE_COMPLETE.
async fn create_stack(config: &SdkConfig, endpoint: &str, stack: &StackName) -> Deployed {
    let template = iot_stack::synth::render(&StackDefinition::new(stack.clone())).unwrap();

    let asset_bucket = format!("{stack}-assets");
    let s3 = s3(config);
    s3.create_bucket()
        .bucket(&asset_bucket)
        .send()
        .await
        .unwrap();
    let mut parameters = vec![
        Parameter::builder()
            .parameter_key(assets::BUCKET_PARAMETER)
            .parameter_value(&asset_bucket)
            .build(),
    ];
    for kind in FunctionKind::ALL {
        let key = format!("{}/bootstrap.zip", kind.suffix());
        s3.put_object()
            .bucket(&asset_bucket)
            .key(&key)
            .body(ByteStream::from(EMPTY_ZIP.to_vec()))
            .send()
            .await
            .unwrap();
        parameters.push(
            Parameter::builder()
                .parameter_key(assets::key_parameter(kind))
                .parameter_value(key)
                .build(),
        );
    }

    let cloudformation = aws_sdk_cloudformation::Client::new(config);
    let created = cloudformation
        .create_stack()
        .stack_name(stack.as_str())
        .template_body(&template)
        .set_parameters(Some(parameters))
        .capabilities(Capability::CapabilityNamedIam)
        .send()
        .await
        .unwrap();
    let stack_id = created.stack_id().unwrap().to_owned();

    let rendered: Value = serde_json::from_str(&template).unwrap();
    for (logical_id, resource) in rendered["Resources"].as_object().unwrap() {
        if resource["Type"].as_str().unwrap().starts_with("Custom::") {
            answer_custom_resource(endpoint, &stack_id, logical_id).await;
        }
    }

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let described = cloudformation
            .describe_stacks()
            .stack_name(&stack_id)
            .send()
            .await
            .unwrap();
        let stack = &described.stacks()[0];
        match stack.stack_status() {
            Some(StackStatus::CreateComplete) => {
                let outputs = stack
                    .outputs()
                    .iter()
                    .map(|output| {
                        (
                            output.output_key().unwrap_or_default().to_owned(),
                            output.output_value().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect();
                return Deployed { stack_id, outputs };
            }
            Some(StackStatus::CreateInProgress) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            status => panic!(
                "stack {stack_id} is {status:?}: {:?}",
                stack.stack_status_reason()
            ),
        }
    }
}

/// What the provider would send CloudFormation for a created custom resource. moto reads Status,
/// StackId, LogicalResourceId and Data; it does not check RequestId (the one it made is only
/// in the event it would have sent the provider) or PhysicalResourceId (it uses its own).
async fn answer_custom_resource(endpoint: &str, stack_id: &str, logical_id: &str) {
    let body = json!({
        "Status": "SUCCESS",
        "Reason": "answered by the test for the provider, which moto cannot run",
        "PhysicalResourceId": format!("{logical_id}-resource"),
        "StackId": stack_id,
        "RequestId": "test-request",
        "LogicalResourceId": logical_id,
        "Data": {},
    });
    let url = format!("{endpoint}/cloudformation_{REGION}/cfnresponse");
    let response = reqwest::Client::new()
        .put(&url)
        .query(&[("stack", stack_id)])
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert!(
        status.is_success(),
        "answering {logical_id}: {status} {}",
        response.text().await.unwrap_or_default()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stack_is_created_with_every_resource_under_its_designed_name() {
    let endpoint = shared_moto();
    let config = sdk_config(&endpoint, admin()).await;
    let stack = unique_stack_name("cfn");
    let names = Names::new(&stack);
    let deployed = create_stack(&config, &endpoint, &stack).await;

    let bucket = names.archive_bucket(ACCOUNT);
    let expected_outputs = BTreeMap::from([
        (outputs::STREAM.to_owned(), names.stream()),
        (
            outputs::API_FUNCTION.to_owned(),
            names.function(FunctionKind::QueryApi),
        ),
        (outputs::REGION.to_owned(), REGION.to_owned()),
        (outputs::BUCKET.to_owned(), bucket.clone()),
        (outputs::TABLE.to_owned(), names.table()),
        (outputs::DEVICE_USER.to_owned(), names.device_user()),
    ]);
    assert_eq!(deployed.outputs, expected_outputs);

    // Every resource of the template is in the stack, except those moto's CloudFormation
    // does not implement (it skips them with a warning; cfn-lint and checkov cover them).
    let template: Value = serde_json::from_str(
        &iot_stack::synth::render(&StackDefinition::new(stack.clone())).unwrap(),
    )
    .unwrap();
    let cloudformation = aws_sdk_cloudformation::Client::new(&config);
    let listed = cloudformation
        .describe_stack_resources()
        .stack_name(&deployed.stack_id)
        .send()
        .await
        .unwrap();
    let in_stack: Vec<&str> = listed
        .stack_resources()
        .iter()
        .filter_map(|resource| resource.logical_resource_id())
        .collect();
    const NOT_IN_MOTO: [&str; 2] = ["AWS::S3::BucketPolicy", "AWS::CloudWatch::Alarm"];
    for (logical_id, resource) in template["Resources"].as_object().unwrap() {
        let kind = resource["Type"].as_str().unwrap();
        if !NOT_IN_MOTO.contains(&kind) {
            assert!(
                in_stack.contains(&logical_id.as_str()),
                "{logical_id} ({kind}) missing"
            );
        }
    }

    assert_eq!(open_shards(&config, &names.stream()).await, 1);

    s3(&config)
        .head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();

    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let table = dynamodb
        .describe_table()
        .table_name(names.table())
        .send()
        .await
        .unwrap();
    let keys: Vec<(String, String)> = table
        .table()
        .unwrap()
        .key_schema()
        .iter()
        .map(|key| {
            (
                key.attribute_name().to_owned(),
                key.key_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("SensorId".to_owned(), "HASH".to_owned()),
            ("Timestamp".to_owned(), "RANGE".to_owned())
        ]
    );

    let lambda = aws_sdk_lambda::Client::new(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    let table_name = names.table();
    for kind in FunctionKind::ALL {
        let function = lambda
            .get_function()
            .function_name(names.function(kind))
            .send()
            .await
            .unwrap();
        let configuration = function.configuration().unwrap();
        assert_eq!(
            configuration.runtime().map(|r| r.as_str()),
            Some("provided.al2023")
        );
        assert_eq!(configuration.handler(), Some("bootstrap"));
        let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/{}", names.role(kind));
        assert_eq!(configuration.role(), Some(role_arn.as_str()));
        let variables: BTreeMap<&str, &str> = configuration
            .environment()
            .and_then(|environment| environment.variables())
            .map(|variables| {
                variables
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        let expected: BTreeMap<&str, &str> = match kind {
            FunctionKind::Archiver => [("ARCHIVE_BUCKET", bucket.as_str())].into(),
            FunctionKind::Writer => [
                ("TABLE_NAME", table_name.as_str()),
                ("METRICS_NAMESPACE", "Sensors"),
            ]
            .into(),
            FunctionKind::QueryApi => [("TABLE_NAME", table_name.as_str())].into(),
            FunctionKind::MappingProvider => BTreeMap::new(),
        };
        assert_eq!(variables, expected, "{kind:?}");

        iam.get_role()
            .role_name(names.role(kind))
            .send()
            .await
            .unwrap();
        let policies = iam
            .list_role_policies()
            .role_name(names.role(kind))
            .send()
            .await
            .unwrap();
        assert_eq!(policies.policy_names(), ["least-privilege"], "{kind:?}");

        let groups = moto_json(
            &endpoint,
            "logs",
            "Logs_20140328.DescribeLogGroups",
            json!({"logGroupNamePrefix": names.log_group(kind)}),
        )
        .await
        .unwrap();
        assert_eq!(
            groups["logGroups"][0]["logGroupName"],
            names.log_group(kind)
        );
        assert_eq!(groups["logGroups"][0]["retentionInDays"], 365);
    }

    for consumer in [FunctionKind::Archiver, FunctionKind::Writer] {
        let queue = moto_json(
            &endpoint,
            "sqs",
            "AmazonSQS.GetQueueUrl",
            json!({"QueueName": names.failure_queue(consumer)}),
        )
        .await
        .unwrap();
        let url = queue["QueueUrl"].as_str().unwrap();
        assert!(url.ends_with(&names.failure_queue(consumer)), "{url}");
    }

    iam.get_user()
        .user_name(names.device_user())
        .send()
        .await
        .unwrap();
    let device_policies = iam
        .list_user_policies()
        .user_name(names.device_user())
        .send()
        .await
        .unwrap();
    assert_eq!(device_policies.policy_names(), ["device"]);
    let keys = iam
        .list_access_keys()
        .user_name(names.device_user())
        .send()
        .await
        .unwrap();
    assert!(
        keys.access_key_metadata().is_empty(),
        "the stack must create no access key"
    );
}

/// How a call was refused for lack of rights, or `None` when it was not. moto answers a
/// refusal with an `AccessDenied` error and status 403; for JSON services its body is XML,
/// which the SDK cannot parse, so the raw response is read too.
fn denial<T, E: ProvideErrorMetadata>(
    result: &Result<T, SdkError<E, HttpResponse>>,
) -> Option<String> {
    let error = result.as_ref().err()?;
    if let Some(code) = error.code().filter(|code| code.starts_with("AccessDenied")) {
        return Some(code.to_owned());
    }
    let raw = error.raw_response()?;
    let body = String::from_utf8_lossy(raw.body().bytes().unwrap_or_default());
    (raw.status().as_u16() == 403 && body.contains("<Code>AccessDenied</Code>"))
        .then(|| format!("403 {body}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_device_key_can_put_readings_and_query_and_nothing_else() {
    let moto = PrivateMoto::start().await;
    let admin = sdk_config(&moto.endpoint, admin()).await;
    let stack = unique_stack_name("dev");
    let names = Names::new(&stack);
    create_stack(&admin, &moto.endpoint, &stack).await;

    let key = aws_sdk_iam::Client::new(&admin)
        .create_access_key()
        .user_name(names.device_user())
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    let device_credentials = Credentials::new(
        key.access_key_id(),
        key.secret_access_key(),
        None,
        None,
        "device",
    );
    moto.require_authorization().await;
    let device = sdk_config(&moto.endpoint, device_credentials).await;
    let kinesis = aws_sdk_kinesis::Client::new(&device);
    let lambda = aws_sdk_lambda::Client::new(&device);
    let reading = Blob::new(r#"{"sensorid":"s-1","value":21.5}"#);

    // Allowed.
    kinesis
        .put_record()
        .stream_name(names.stream())
        .partition_key("s-1")
        .data(reading.clone())
        .send()
        .await
        .expect("the device may PutRecord");
    let entry = aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
        .partition_key("s-1")
        .data(reading.clone())
        .build()
        .unwrap();
    let put = kinesis
        .put_records()
        .stream_name(names.stream())
        .records(entry.clone())
        .records(entry)
        .send()
        .await
        .expect("the device may PutRecords");
    assert_eq!(put.failed_record_count(), Some(0));
    // moto runs no function code here (that needs docker), so the call may still fail after
    // authorisation; what this checks is that it is not refused for lack of rights.
    let query = lambda
        .invoke()
        .function_name(names.function(FunctionKind::QueryApi))
        .payload(Blob::new(r#"{"operation":"query","sensorid":"s-1"}"#))
        .send()
        .await;
    assert_eq!(
        denial(&query),
        None,
        "the device may invoke the query API: {query:?}"
    );
    eprintln!("Invoke of the query API, authorised; moto answered: {query:?}");

    // Refused.
    let delete = kinesis
        .delete_stream()
        .stream_name(names.stream())
        .send()
        .await;
    assert!(denial(&delete).is_some(), "DeleteStream: {delete:?}");
    let put_item = aws_sdk_dynamodb::Client::new(&device)
        .put_item()
        .table_name(names.table())
        .item(
            "SensorId",
            aws_sdk_dynamodb::types::AttributeValue::S("s-1".into()),
        )
        .item(
            "Timestamp",
            aws_sdk_dynamodb::types::AttributeValue::S("2026-01-01T00:00:00.000Z".into()),
        )
        .send()
        .await;
    assert!(denial(&put_item).is_some(), "PutItem: {put_item:?}");
    let get_object = s3(&device)
        .get_object()
        .bucket(names.archive_bucket(ACCOUNT))
        .key("2026-01-01/1.json")
        .send()
        .await;
    assert!(denial(&get_object).is_some(), "GetObject: {get_object:?}");
    for kind in [
        FunctionKind::Archiver,
        FunctionKind::Writer,
        FunctionKind::MappingProvider,
    ] {
        let invoke = lambda
            .invoke()
            .function_name(names.function(kind))
            .payload(Blob::new("{}"))
            .send()
            .await;
        assert!(denial(&invoke).is_some(), "Invoke {kind:?}: {invoke:?}");
    }
}

/// `deploy status` on AWS reads the stack's alarms with DescribeAlarms: missing alarms are
/// named and fail it, one in ALARM fails it with its reason, all OK passes. moto's
/// CloudFormation creates no `AWS::CloudWatch::Alarm` (see `lifecycle.rs`), so the alarms are
/// put here under the stack's names, as CloudFormation would name them.
#[tokio::test(flavor = "multi_thread")]
async fn status_reports_each_alarm_and_fails_on_one_in_alarm_or_missing() {
    let endpoint = shared_moto();
    let config = sdk_config(&endpoint, admin()).await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
    let stack = unique_stack_name("status");
    let status = || {
        let output = support::deploy(&[
            "--stack-name",
            stack.as_str(),
            "--region",
            REGION,
            "--endpoint-url",
            &endpoint,
            "status",
        ]);
        (output.status.code(), support::stdout(&output))
    };

    let names = Names::new(&stack);
    let alarms = iot_stack::monitoring::alarms(&names, &iot_stack::monitoring::SUBJECTS);
    let count = alarms.len();
    let (code, stdout) = status();
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("{count} of {count} alarms need a look")),
        "{stdout}"
    );
    assert_eq!(stdout.matches("  MISSING ").count(), count, "{stdout}");
    for alarm in &alarms {
        cloudwatch
            .put_metric_alarm()
            .alarm_name(&alarm.name)
            .namespace("AWS/Lambda")
            .metric_name("Errors")
            .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
            .period(300)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(
                aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold,
            )
            .send()
            .await
            .unwrap();
    }
    let set = |name: &str, state: aws_sdk_cloudwatch::types::StateValue, reason: &str| {
        cloudwatch
            .set_alarm_state()
            .alarm_name(name)
            .state_value(state)
            .state_reason(reason)
            .send()
    };
    for alarm in &alarms {
        set(
            &alarm.name,
            aws_sdk_cloudwatch::types::StateValue::Ok,
            "quiet",
        )
        .await
        .unwrap();
    }
    let (code, stdout) = status();
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!("healthy, none of its {count} alarms in ALARM")),
        "{stdout}"
    );

    let dead_letters = format!("{}-visible", names.failure_queue(FunctionKind::Writer));
    set(
        &dead_letters,
        aws_sdk_cloudwatch::types::StateValue::Alarm,
        "Threshold Crossed: 1 datapoint [2.0] was greater than or equal to the threshold (1.0).",
    )
    .await
    .unwrap();
    let (code, stdout) = status();
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("1 of {count} alarms need a look")),
        "{stdout}"
    );
    let rows: Vec<&str> = stdout.lines().collect();
    assert!(
        rows[1].trim_start().starts_with("ALARM") && rows[1].contains(&dead_letters),
        "{stdout}"
    );
    assert!(rows[1].contains("1 datapoint [2.0]"), "{stdout}");
    assert!(rows[2].contains("holds a batch"), "what it means: {stdout}");
}

/// `deploy verify` on moto, which runs no function: the device's put passes, the query
/// function's failure is reported as it answered, and every later step says within its
/// `--wait` what did not arrive and which function to look at, instead of hanging; the exit
/// status is 1, naming the first step that failed.
#[tokio::test(flavor = "multi_thread")]
async fn verify_on_moto_names_the_first_step_that_failed_within_its_wait() {
    let endpoint = shared_moto();
    let config = sdk_config(&endpoint, admin()).await;
    let stack = unique_stack_name("probe");
    let names = Names::new(&stack);
    create_stack(&config, &endpoint, &stack).await;
    let key = aws_sdk_iam::Client::new(&config)
        .create_access_key()
        .user_name(names.device_user())
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    let page = tempfile::tempdir().unwrap();
    deploy::testpage_config::TestpageConfig {
        target: deploy::testpage_config::Target::Aws,
        stack: deploy::testpage_config::StackAddress {
            stack_name: stack.to_string(),
            region: REGION.to_owned(),
            stream_name: names.stream(),
            api_function_name: names.function(FunctionKind::QueryApi),
            kinesis_endpoint: endpoint.clone(),
            lambda_endpoint: endpoint.clone(),
        },
        key: deploy::testpage_config::device_key(key.access_key_id(), key.secret_access_key()),
    }
    .write(&page.path().join("config.js"))
    .unwrap();

    let started = Instant::now();
    let output = support::deploy(&[
        "--stack-name",
        stack.as_str(),
        "--region",
        REGION,
        "--endpoint-url",
        &endpoint,
        "--testpage-dir",
        page.path().to_str().unwrap(),
        "verify",
        "--wait",
        "3",
    ]);
    let took = started.elapsed();
    let stdout = support::stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(took < Duration::from_secs(60), "it took {took:?}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[1].starts_with("  ok    put on stream"), "{stdout}");
    assert!(
        lines[2].starts_with("  FAIL  queryable through")
            && lines[2].contains("answered a function error"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("  FAIL  ").count(), 4, "{stdout}");
    assert!(
        stdout.contains("not within 3 s of the put (0 of 3 readings stored); the writer"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the first step that failed: queryable through"),
        "{stdout}"
    );
    assert!(!stdout.contains(key.secret_access_key()));
}
