//! Checks of the rendered template: the checked-in copy is current, cfn-lint and checkov find
//! nothing, and every IAM statement grants exactly the rights the design needs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use custom_resources::event_source_mapping::{self, Property};
use custom_resources::{access_key_remover, bucket_emptier};
use iot_stack::{archive, device};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use iot_stack::StackDefinition;
use serde_json::{Value, json};

/// What `deploy --stack-name demo synth` prints.
fn render_demo() -> String {
    let definition = StackDefinition::new("demo".parse().unwrap());
    iot_stack::synth::render(&definition).unwrap()
}

fn demo_template() -> Value {
    serde_json::from_str(&render_demo()).unwrap()
}

/// The stack with every option its flags turn on: on-demand stream, tracing, alarm address,
/// stack-wide metrics.
fn every_option() -> StackDefinition {
    StackDefinition {
        capacity: iot_stack::StreamCapacity::OnDemand,
        tracing: true,
        alarm_email: Some("ops@example.com".to_owned()),
        sensor_metrics: telemetry::metrics::SensorMetrics::StackWide,
        ..StackDefinition::new("demo".parse().unwrap())
    }
}

/// The templates the lints and the IAM walk check: the default, and every option on.
fn rendered_variants() -> [(&'static str, String); 2] {
    [
        ("default", render_demo()),
        (
            "every option",
            iot_stack::synth::render(&every_option()).unwrap(),
        ),
    ]
}

/// `tool` from PATH (scripts/test puts the test venv first), else from the venv `venv`
/// beside the workspace; a missing tool fails the test, it never skips it.
fn find_tool(env_var: Option<&str>, tool: &str, venv: &str) -> PathBuf {
    if let Some(path) = env_var.and_then(std::env::var_os) {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file());
    let in_venv = repository().join(venv).join("bin").join(tool);
    on_path
        .or_else(|| in_venv.is_file().then_some(in_venv))
        .unwrap_or_else(|| {
            panic!(
                "{tool} is not installed (not on PATH, not in {venv}/bin): run scripts/test, \
                 which installs it"
            )
        })
}

fn write_temp(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

fn text_of(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_checked_in_template_is_what_synth_renders_now() {
    let path = repository().join("infra/demo.template.json");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == render_demo(),
        "{} is not what synth renders now; regenerate it with\n  cargo run -p deploy -- \
         --stack-name demo synth --output infra/demo.template.json\nand review the difference",
        path.display()
    );
}

#[test]
fn cfn_lint_reports_nothing() {
    let cfn_lint = find_tool(None, "cfn-lint", ".venv");
    let files: Vec<_> = rendered_variants()
        .iter()
        .map(|(_, template)| write_temp(template))
        .collect();
    let output = Command::new(&cfn_lint)
        .args(files.iter().map(|file| file.path()))
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", cfn_lint.display()));
    assert!(
        output.status.success() && output.stdout.is_empty(),
        "cfn-lint found problems:\n{}",
        text_of(&output)
    );
}

/// checkov's JSON report of `path`.
fn checkov(checkov: &Path, path: &Path) -> std::process::Child {
    Command::new(checkov)
        .args([
            "--framework",
            "cloudformation",
            "--compact",
            "--skip-download",
        ])
        .args(["-o", "json", "-f"])
        .arg(path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", checkov.display()))
}

fn report(child: std::process::Child) -> Value {
    let output = child.wait_with_output().unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "checkov's output is not JSON ({error}):\n{}",
            text_of(&output)
        )
    });
    // One framework gives one report object; some versions wrap it in a list.
    match report {
        Value::Array(mut reports) if reports.len() == 1 => reports.remove(0),
        report => report,
    }
}

fn check_ids(report: &Value, kind: &str) -> BTreeSet<(String, String)> {
    report["results"][kind]
        .as_array()
        .map(|checks| {
            checks
                .iter()
                .map(|check| {
                    let id = check["check_id"].as_str().unwrap_or_default().to_owned();
                    let resource = check["resource"].as_str().unwrap_or_default().to_owned();
                    (id, resource)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn checkov_fails_nothing_and_every_skip_is_needed_and_explained() {
    let checkov_path = find_tool(Some("CHECKOV"), "checkov", ".venv-checkov");
    for (variant, template) in rendered_variants() {
        eprintln!("checkov on the {variant} template");
        checkov_passes(&checkov_path, &template);
    }
}

fn checkov_passes(checkov_path: &Path, template: &str) {
    let template = template.to_owned();
    let mut stripped: Value = serde_json::from_str(&template).unwrap();
    for resource in stripped["Resources"].as_object_mut().unwrap().values_mut() {
        resource.as_object_mut().unwrap().remove("Metadata");
    }
    let file = write_temp(&template);
    let stripped_file = write_temp(&stripped.to_string());
    // Both at once: checkov takes seconds per run.
    let with_skips = checkov(checkov_path, file.path());
    let without_skips = checkov(checkov_path, stripped_file.path());
    let with_skips = report(with_skips);
    let without_skips = report(without_skips);

    let summary = &with_skips["summary"];
    eprintln!("checkov summary: {summary}");
    assert_eq!(summary["parsing_errors"], json!(0), "{summary}");
    assert!(summary["passed"].as_u64().unwrap_or(0) > 0, "{summary}");
    let failed = check_ids(&with_skips, "failed_checks");
    assert!(failed.is_empty(), "checkov failed checks: {failed:#?}");

    // A skip must be for a check that fails without it, never a blanket silencer.
    let skipped = check_ids(&with_skips, "skipped_checks");
    let failing_without_skips = check_ids(&without_skips, "failed_checks");
    let needless: Vec<_> = skipped.difference(&failing_without_skips).collect();
    assert!(
        needless.is_empty(),
        "skips of checks that pass anyway: {needless:#?}"
    );

    for check in with_skips["results"]["skipped_checks"].as_array().unwrap() {
        let reason = check["check_result"]["suppress_comment"]
            .as_str()
            .unwrap_or_default();
        assert!(
            reason.split_whitespace().count() >= 12,
            "skip of {} on {} needs a real reason, not {reason:?}",
            check["check_id"],
            check["resource"]
        );
    }
}

// ---- IAM ----------------------------------------------------------------------------------

/// The rights each identity of the stack needs, by the logical id of the resource holding its
/// policy. Nothing more may be granted, and nothing less.
fn designed_rights(tracing: bool) -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let mut rights = untraced_rights();
    if tracing {
        for traced in [
            "IoTS3EventProcessorRole",
            "IoTDDBEventProcessorRole",
            "IoTAPIRole",
        ] {
            let role = rights.get_mut(traced).unwrap();
            role.extend(["xray:PutTraceSegments", "xray:PutTelemetryRecords"]);
        }
    }
    rights
}

fn untraced_rights() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    const WRITE_OWN_LOGS: [&str; 2] = ["logs:CreateLogStream", "logs:PutLogEvents"];
    const READ_STREAM: [&str; 5] = [
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
    ];
    let set = |groups: &[&[&'static str]]| groups.iter().flat_map(|g| g.iter().copied()).collect();
    BTreeMap::from([
        (
            "IoTS3EventProcessorRole",
            set(&[
                &WRITE_OWN_LOGS,
                &READ_STREAM,
                &["sqs:SendMessage", "s3:PutObject"],
            ]),
        ),
        (
            "IoTDDBEventProcessorRole",
            set(&[
                &WRITE_OWN_LOGS,
                &READ_STREAM,
                &[
                    "sqs:SendMessage",
                    "dynamodb:BatchWriteItem",
                    "cloudwatch:PutMetricData",
                ],
            ]),
        ),
        ("IoTAPIRole", set(&[&WRITE_OWN_LOGS, &["dynamodb:Query"]])),
        (
            "EventSourceMappingProviderRole",
            set(&[
                &WRITE_OWN_LOGS,
                &[
                    "lambda:CreateEventSourceMapping",
                    "lambda:UpdateEventSourceMapping",
                    "lambda:DeleteEventSourceMapping",
                    "lambda:GetEventSourceMapping",
                    "lambda:ListEventSourceMappings",
                    "s3:GetBucketPolicy",
                    "s3:PutBucketPolicy",
                    "s3:ListBucketVersions",
                    "s3:DeleteObjectVersion",
                    "iam:ListAccessKeys",
                    "iam:DeleteAccessKey",
                ],
            ]),
        ),
        (
            "IoTDevicePolicy",
            set(&[&[
                "kinesis:DescribeStreamSummary",
                "kinesis:PutRecord",
                "kinesis:PutRecords",
                "lambda:InvokeFunction",
            ]]),
        ),
    ])
}

/// Actions AWS offers no resource-level permission for, so their resource must be `*`, with
/// the condition key that narrows them instead.
const STAR_RESOURCE_ONLY: [(&str, &str); 2] = [
    ("cloudwatch:PutMetricData", "cloudwatch:namespace"),
    ("lambda:CreateEventSourceMapping", "lambda:FunctionArn"),
];

/// Actions with neither a resource type nor a condition key in the Service Authorization
/// Reference: `*` without a condition is the narrowest a statement can grant them. Each must
/// change no resource: listing mappings reads configuration, the X-Ray ones send traces.
const STAR_ONLY_WITHOUT_CONDITION: [&str; 3] = [
    "lambda:ListEventSourceMappings",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
];

/// Resources whose policies may hold `Deny` statements (which may use wildcards: denying
/// more is safe).
const DENY_ONLY_POLICIES: [&str; 1] = ["IoTArchiveBucketPolicy"];

/// Every statement of every policy document in `template`, with the resource holding it and
/// whether it is a trust policy.
fn statements(template: &Value) -> Vec<(String, bool, Value)> {
    fn collect(holder: &str, value: &Value, found: &mut Vec<(String, bool, Value)>) {
        match value {
            Value::Object(map) => {
                for (key, item) in map {
                    let trust = key == "AssumeRolePolicyDocument";
                    if trust || key == "PolicyDocument" {
                        for statement in item["Statement"].as_array().into_iter().flatten() {
                            found.push((holder.to_owned(), trust, statement.clone()));
                        }
                    } else {
                        collect(holder, item, found);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| collect(holder, item, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    for (logical_id, resource) in template["Resources"].as_object().unwrap() {
        collect(logical_id, &resource["Properties"], &mut found);
    }
    found
}

fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// Everything wrong with the IAM statements of `template`; empty when each identity has
/// exactly its designed rights, each scoped to named resources.
fn iam_violations(template: &Value) -> Vec<String> {
    let traced = template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .any(|resource| resource["Properties"]["TracingConfig"].is_object());
    let designed = designed_rights(traced);
    let mut granted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut violations = Vec::new();
    for (holder, trust, statement) in statements(template) {
        let effect = statement["Effect"].as_str().unwrap_or_default();
        let actions: Vec<String> = as_list(&statement["Action"])
            .iter()
            .map(|action| action.as_str().unwrap_or("<not a string>").to_owned())
            .collect();
        let resources = as_list(&statement["Resource"]);
        if statement.get("NotAction").is_some() || statement.get("NotResource").is_some() {
            violations.push(format!("{holder}: NotAction/NotResource in {statement}"));
        }
        if trust {
            let lambda_only = json!({"Service": ["lambda.amazonaws.com"]});
            if effect != "Allow"
                || actions != ["sts:AssumeRole"]
                || statement["Principal"] != lambda_only
            {
                violations.push(format!("{holder}: trust statement {statement}"));
            }
            continue;
        }
        if effect == "Deny" {
            if !DENY_ONLY_POLICIES.contains(&holder.as_str()) || statement["Condition"].is_null() {
                violations.push(format!("{holder}: unexpected Deny {statement}"));
            }
            continue;
        }
        if effect != "Allow" {
            violations.push(format!("{holder}: effect {effect:?} in {statement}"));
            continue;
        }
        let Some(rights) = designed.get(holder.as_str()) else {
            violations.push(format!(
                "{holder}: grants rights but is not a designed identity"
            ));
            continue;
        };
        if resources.is_empty() {
            violations.push(format!("{holder}: no Resource in {statement}"));
        }
        for action in &actions {
            if action.contains('*') || action.contains('?') {
                violations.push(format!("{holder}: wildcard action {action}"));
            }
            if !rights.contains(action.as_str()) {
                violations.push(format!("{holder}: {action} is not a designed right"));
            }
            granted
                .entry(holder.clone())
                .or_default()
                .insert(action.clone());
        }
        for resource in &resources {
            if resource != "*" {
                continue;
            }
            for action in &actions {
                let narrowing = STAR_RESOURCE_ONLY
                    .iter()
                    .find(|(star_only, _)| star_only == action)
                    .map(|(_, key)| *key);
                match narrowing {
                    Some(key) if statement["Condition"]["StringEquals"][key].is_array() => {}
                    Some(key) => violations.push(format!(
                        "{holder}: {action} on * without a StringEquals {key} condition"
                    )),
                    None if STAR_ONLY_WITHOUT_CONDITION.contains(&action.as_str()) => {}
                    None => violations.push(format!(
                        "{holder}: {action} on resource *, but it supports resource ARNs"
                    )),
                }
            }
        }
    }
    for (holder, rights) in &designed {
        let given = granted.get(*holder).cloned().unwrap_or_default();
        for missing in rights.iter().filter(|right| !given.contains(**right)) {
            violations.push(format!("{holder}: designed right {missing} is not granted"));
        }
    }
    violations
}

#[test]
fn every_iam_statement_grants_only_designed_rights_on_named_resources() {
    let template = demo_template();
    let found = statements(&template);
    assert!(
        found.len() >= 15,
        "too few statements found: {}",
        found.len()
    );
    for (variant, rendered) in rendered_variants() {
        let violations = iam_violations(&serde_json::from_str(&rendered).unwrap());
        assert!(
            violations.is_empty(),
            "IAM violations of the {variant} template:\n{}",
            violations.join("\n")
        );
    }
}

/// The IAM check itself can fail: each kind of excess is caught.
#[test]
fn the_iam_check_catches_wildcards_stars_extra_and_missing_rights() {
    let with = |pointer: &str, edit: &dyn Fn(&mut Value)| {
        let mut template = demo_template();
        edit(template.pointer_mut(pointer).unwrap());
        iam_violations(&template).join("\n")
    };
    let device = "/Resources/IoTDevicePolicy/Properties/PolicyDocument/Statement/0";
    let api_role = "/Resources/IoTAPIRole/Properties/Policies/0/PolicyDocument/Statement/1";

    let wildcard = with(device, &|s| s["Action"] = json!(["kinesis:Put*"]));
    assert!(
        wildcard.contains("wildcard action kinesis:Put*"),
        "{wildcard}"
    );

    let star = with(api_role, &|s| s["Resource"] = json!(["*"]));
    assert!(star.contains("dynamodb:Query on resource *"), "{star}");

    let extra = with(api_role, &|s| {
        s["Action"] = json!(["dynamodb:Query", "dynamodb:Scan"])
    });
    assert!(
        extra.contains("dynamodb:Scan is not a designed right"),
        "{extra}"
    );

    let missing = with(api_role, &|s| s["Action"] = json!(["dynamodb:GetItem"]));
    assert!(
        missing.contains("designed right dynamodb:Query is not granted"),
        "{missing}"
    );

    let unconditioned = with(
        "/Resources/IoTDDBEventProcessorRole/Properties/Policies/0/PolicyDocument/Statement",
        &|statements| {
            for statement in statements.as_array_mut().unwrap() {
                statement.as_object_mut().unwrap().remove("Condition");
            }
        },
    );
    assert!(
        unconditioned.contains("cloudwatch:PutMetricData on * without"),
        "{unconditioned}"
    );
}

#[test]
fn the_template_has_the_designed_resources_and_properties() {
    let template = demo_template();
    let resources = &template["Resources"];
    let props = |id: &str| &resources[id]["Properties"];

    assert_eq!(
        props("IoTEventStream")["StreamEncryption"]["KeyId"],
        "alias/aws/kinesis"
    );
    assert_eq!(
        props("IoTArchiveBucket")["BucketName"],
        json!({"Fn::Sub": "demo-eventarchive-${AWS::AccountId}"})
    );
    assert_eq!(props("SensorDataTable")["TableName"], "demo-SensorData");
    assert_eq!(props("SensorDataTable")["BillingMode"], "PAY_PER_REQUEST");
    for (function, variables) in [
        (
            "IoTS3EventProcessor",
            json!({"ARCHIVE_BUCKET": {"Ref": "IoTArchiveBucket"}}),
        ),
        (
            "IoTDDBEventProcessor",
            json!({"METRICS_NAMESPACE": "Sensors", "TABLE_NAME": {"Ref": "SensorDataTable"}}),
        ),
        ("IoTAPI", json!({"TABLE_NAME": {"Ref": "SensorDataTable"}})),
    ] {
        assert_eq!(props(function)["FunctionName"], format!("demo-{function}"));
        assert_eq!(props(function)["Environment"]["Variables"], variables);
        assert_eq!(props(function)["Runtime"], "provided.al2023");
        assert_eq!(props(function)["Handler"], "bootstrap");
        assert_eq!(
            resources[format!("{function}LogGroup")]["Properties"]["LogGroupName"],
            format!("/aws/lambda/demo-{function}")
        );
    }
    for mapping in [
        "IoTMapEventSourceS3EventProcessor",
        "IoTMapEventSourceDDBEventProcessor",
    ] {
        assert_eq!(
            resources[mapping]["Type"],
            event_source_mapping::RESOURCE_TYPE
        );
        let keys: BTreeSet<&str> = props(mapping)
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        // Every property of the shared type, and CloudFormation's own.
        let expected: BTreeSet<&str> = Property::ALL
            .iter()
            .map(|property| property.name())
            .chain(custom_resources::CLOUDFORMATION_PROPERTIES)
            .collect();
        assert_eq!(keys, expected, "{mapping}");
        assert_eq!(
            props(mapping)["FunctionResponseTypes"],
            json!(["ReportBatchItemFailures"])
        );
    }
    assert_eq!(
        props("IoTMapEventSourceDDBEventProcessor")["BatchSize"],
        500
    );
    let outputs: BTreeSet<&str> = template["Outputs"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        outputs,
        [
            "ArchiveBucket",
            "DeviceUser",
            "KinesisStream",
            "LambdaAPIFunction",
            "Region",
            "SensorDataTable"
        ]
        .into()
    );
    assert!(
        !render_demo().contains("AWS::IAM::AccessKey"),
        "no access key (and so no secret) may be in the template"
    );
}

/// CloudFormation waits an hour by default for a provider that never answers, and as long
/// again for the rollback's Delete; every custom resource says five minutes, longer than the
/// provider's own timeout so that an answer from a slow invocation is still taken.
#[test]
fn every_custom_resource_has_a_service_timeout_beyond_the_provider_timeout() {
    let template = demo_template();
    let resources = template["Resources"].as_object().unwrap();
    let provider_timeout = resources["EventSourceMappingProvider"]["Properties"]["Timeout"]
        .as_u64()
        .unwrap();
    let custom: Vec<(&String, &Value)> = resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str().unwrap().starts_with("Custom::"))
        .collect();
    assert_eq!(
        custom.len(),
        4,
        "two mappings, the emptier, the key remover"
    );
    for (id, resource) in custom {
        let timeout = resource["Properties"]["ServiceTimeout"].as_u64();
        assert!(
            timeout.is_some_and(|t| t <= 300 && t > provider_timeout),
            "{id}: ServiceTimeout {timeout:?}, provider timeout {provider_timeout}"
        );
        assert_eq!(
            resource["Properties"]["ServiceToken"],
            json!({"Fn::GetAtt": ["EventSourceMappingProvider", "Arn"]}),
            "{id}: one provider serves every custom resource"
        );
    }
}

/// The cleanup runs in the order that lets CloudFormation finish: the mappings (the archive's
/// only writers) go before the emptier, the emptier before the bucket and the policy it
/// edits, the key remover before the user.
#[test]
fn the_cleanup_resources_run_before_what_they_clean_and_after_the_writers() {
    let template = demo_template();
    let resources = &template["Resources"];
    let emptier = &resources[archive::EMPTIER_LOGICAL_ID];
    assert_eq!(emptier["Type"], bucket_emptier::RESOURCE_TYPE);
    assert_eq!(
        emptier["Properties"]["BucketName"],
        json!({"Ref": archive::LOGICAL_ID})
    );
    assert_eq!(emptier["DependsOn"], json!([archive::POLICY_LOGICAL_ID]));
    for mapping in [
        "IoTMapEventSourceS3EventProcessor",
        "IoTMapEventSourceDDBEventProcessor",
    ] {
        assert_eq!(
            resources[mapping]["DependsOn"],
            json!([archive::EMPTIER_LOGICAL_ID]),
            "{mapping}"
        );
    }
    let remover = &resources[device::KEY_REMOVER_LOGICAL_ID];
    assert_eq!(remover["Type"], access_key_remover::RESOURCE_TYPE);
    assert_eq!(
        remover["Properties"]["UserName"],
        json!({"Ref": device::USER_LOGICAL_ID})
    );
}

/// The provider's S3 and IAM rights name the archive bucket and the device user, nothing else.
#[test]
fn the_cleanup_rights_name_only_the_archive_bucket_and_the_device_user() {
    let template = demo_template();
    let bucket = json!({"Fn::GetAtt": [archive::LOGICAL_ID, "Arn"]});
    let objects = json!({"Fn::Sub": format!("${{{}.Arn}}/*", archive::LOGICAL_ID)});
    let user = json!({"Fn::GetAtt": [device::USER_LOGICAL_ID, "Arn"]});
    let mut seen = 0;
    for (holder, _, statement) in statements(&template) {
        if holder != "EventSourceMappingProviderRole" {
            continue;
        }
        let actions = as_list(&statement["Action"]);
        let resources = as_list(&statement["Resource"]);
        for action in actions.iter().filter_map(Value::as_str) {
            let allowed: &[&Value] = match action.split(':').next() {
                Some("s3") if action == "s3:DeleteObjectVersion" => &[&objects],
                Some("s3") => &[&bucket],
                Some("iam") => &[&user],
                _ => continue,
            };
            seen += 1;
            assert!(
                resources.iter().all(|r| allowed.contains(&r)),
                "{action} on {resources:?}"
            );
        }
    }
    assert_eq!(seen, 6, "the four S3 rights and the two IAM rights");
}

#[test]
fn shard_count_and_architecture_come_from_the_definition() {
    let mut definition = StackDefinition::new("demo".parse().unwrap());
    definition.capacity = iot_stack::StreamCapacity::Provisioned { shards: 4 };
    definition.architecture = cfn_model::resources::lambda::Architecture::Arm64;
    let template: Value =
        serde_json::from_str(&iot_stack::synth::render(&definition).unwrap()).unwrap();
    assert_eq!(
        template["Resources"]["IoTEventStream"]["Properties"]["ShardCount"],
        4
    );
    assert_eq!(
        template["Resources"]["IoTAPI"]["Properties"]["Architectures"],
        json!(["arm64"])
    );
}

/// The writer's metrics setting is its environment: per sensor by default (nothing written,
/// the writer's own default), `SENSOR_METRICS=stack` when asked for.
#[test]
fn the_sensor_metrics_setting_is_the_writers_environment() {
    let environment = |definition: &StackDefinition| -> Value {
        let template: Value =
            serde_json::from_str(&iot_stack::synth::render(definition).unwrap()).unwrap();
        template["Resources"]["IoTDDBEventProcessor"]["Properties"]["Environment"]["Variables"]
            .clone()
    };
    let default = environment(&StackDefinition::new("demo".parse().unwrap()));
    assert_eq!(default["METRICS_NAMESPACE"], "Sensors");
    assert!(default.get("SENSOR_METRICS").is_none(), "{default}");
    let stack_wide = environment(&StackDefinition {
        sensor_metrics: telemetry::metrics::SensorMetrics::StackWide,
        ..StackDefinition::new("demo".parse().unwrap())
    });
    assert_eq!(stack_wide["SENSOR_METRICS"], "stack");
    assert_eq!(stack_wide["METRICS_NAMESPACE"], "Sensors");
}

/// The repository: this crate is `crates/stack` in it.
fn repository() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository holds this crate")
}
