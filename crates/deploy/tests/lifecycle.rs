//! The deployer against moto, run as a user runs it: a new stack created through a change
//! set with real packages, its outputs and the device's config written, the device's key
//! accepted by moto with authentication on; a second deploy that changes nothing; a diff
//! and an update of the shard count; and a destroy that leaves nothing of the stack behind.
//!
//! moto executes a change set at once and invokes no provider (that needs docker), so its
//! custom resources are answered after the deploy by the real provider binary under the
//! Lambda Runtime API harness, which PUTs to moto's response URL. Their Deletes reach the same
//! binary through the patched moto's relay (`support/relay.rs`), and the patched moto refuses
//! to delete a bucket that holds versions or a user that holds keys, as AWS does: a stack
//! reaches DELETE_COMPLETE there only if it cleans up after itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::PermissionsExt;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::primitives::ByteStream;
use deploy::testpage_config::{Target, TestpageConfig};
use iot_stack::names::{FunctionKind, Names};
use iot_stack::stack_name::StackName;
use iot_stack::{StackDefinition, outputs};
use lambda_harness::Outcome;
use serde_json::{Value, json};
use support::{ACCOUNT, REGION, admin, deploy, open_shards, s3, sdk_config, stderr, stdout};

#[tokio::test(flavor = "multi_thread")]
async fn a_new_stack_is_created_with_outputs_and_a_device_key_moto_accepts() {
    let moto = support::PrivateMoto::start().await;
    let stack = support::unique_stack("new");
    let dir = tempfile::tempdir().unwrap();
    let outputs_file = dir.path().join("outputs.json");
    let output = deploy(&[
        "--stack-name",
        &stack,
        "--endpoint-url",
        &moto.endpoint,
        "--region",
        REGION,
        "--testpage-dir",
        dir.path().to_str().unwrap(),
        "--outputs-file",
        outputs_file.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = stdout(&output);
    assert!(printed.contains("Add"), "{printed}");
    assert!(printed.contains("IoTEventStream"), "{printed}");

    let config = sdk_config(&moto.endpoint, admin()).await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let described = cfn
        .describe_stacks()
        .stack_name(&stack)
        .send()
        .await
        .unwrap();
    let found = &described.stacks()[0];
    assert_eq!(found.stack_status().unwrap().as_str(), "CREATE_COMPLETE");

    // The outputs file holds exactly the stack's outputs.
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&outputs_file).unwrap()).unwrap();
    let name: StackName = stack.parse().unwrap();
    let names = Names::new(&name);
    assert_eq!(written[&stack][outputs::STREAM], names.stream());
    assert_eq!(written[&stack][outputs::DEVICE_USER], names.device_user());
    assert_eq!(
        written[&stack][outputs::BUCKET],
        names.archive_bucket(ACCOUNT)
    );
    assert_eq!(
        written[&stack].as_object().unwrap().len(),
        found.outputs().len()
    );

    // The functions' code is the uploaded packages in the asset bucket.
    let lambda = aws_sdk_lambda::Client::new(&config);
    let assets = names.asset_bucket(ACCOUNT, REGION);
    let listed = s3(&config)
        .list_objects_v2()
        .bucket(&assets)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.contents().len(), 4, "one package per function");
    for kind in FunctionKind::ALL {
        lambda
            .get_function()
            .function_name(names.function(kind))
            .send()
            .await
            .unwrap();
    }

    // The real provider answers the custom resources and makes the two mappings.
    let template: Value = serde_json::from_str(
        &iot_stack::synth::render(&StackDefinition::new(name.clone())).unwrap(),
    )
    .unwrap();
    let answers =
        support::answer_custom_resources(&config, &moto.endpoint, &stack, &template).await;
    assert_eq!(
        answers.len(),
        4,
        "two mappings, the emptier, the key remover"
    );
    for (logical_id, outcome) in &answers {
        let Outcome::Response(summary) = outcome else {
            panic!("{logical_id}: {outcome:?}")
        };
        assert_eq!(summary["Status"], "SUCCESS", "{logical_id}: {summary}");
    }
    for consumer in [FunctionKind::Archiver, FunctionKind::Writer] {
        // By ARN, as the provider names the function (moto filters on the name as given).
        let arn = format!(
            "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}",
            names.function(consumer)
        );
        let mappings = lambda
            .list_event_source_mappings()
            .function_name(arn)
            .send()
            .await
            .unwrap();
        assert_eq!(mappings.event_source_mappings().len(), 1, "{consumer:?}");
    }

    // config.js: mode 0600, this stack's names, and a key moto accepts with authentication on.
    let config_js = dir.path().join("config.js");
    let mode = std::fs::metadata(&config_js).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let page = TestpageConfig::read(&config_js).unwrap();
    assert_eq!(page.target, Target::Aws);
    assert_eq!(page.stack.stack_name, stack);
    assert_eq!(page.stack.region, REGION);
    assert_eq!(page.stack.stream_name, names.stream());
    assert_eq!(
        page.stack.api_function_name,
        names.function(FunctionKind::QueryApi)
    );
    assert_eq!(page.stack.kinesis_endpoint, moto.endpoint);
    // The secret is in the file and nowhere in what the deploy printed.
    assert!(!page.key.secret_access_key().is_empty());
    assert!(!printed.contains(page.key.secret_access_key()));
    assert!(!stderr(&output).contains(page.key.secret_access_key()));

    moto.require_authorization().await;
    let device = sdk_config(
        &moto.endpoint,
        Credentials::new(
            page.key.access_key_id(),
            page.key.secret_access_key(),
            None,
            None,
            "device",
        ),
    )
    .await;
    let kinesis = aws_sdk_kinesis::Client::new(&device);
    kinesis
        .put_record()
        .stream_name(&page.stack.stream_name)
        .partition_key("s-1")
        .data(Blob::new(r#"{"sensorid":"s-1","value":21.5}"#))
        .send()
        .await
        .expect("moto accepts the device key for PutRecord");
    kinesis
        .describe_stream_summary()
        .stream_name(&page.stack.stream_name)
        .send()
        .await
        .expect("the device may DescribeStreamSummary");
    let forged = sdk_config(
        &moto.endpoint,
        Credentials::new(
            page.key.access_key_id(),
            "not-the-secret",
            None,
            None,
            "forged",
        ),
    )
    .await;
    let refused = aws_sdk_kinesis::Client::new(&forged)
        .put_record()
        .stream_name(&page.stack.stream_name)
        .partition_key("s-1")
        .data(Blob::new("{}"))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "authentication is on: a wrong secret is refused"
    );
}

/// The change list `shown` modifies the stream (in place: it is not a replacement).
fn assert_stream_modified(shown: &str) {
    let stream_line = shown
        .lines()
        .find(|line| line.contains("IoTEventStream"))
        .unwrap_or_else(|| panic!("no stream line in\n{shown}"));
    assert!(stream_line.starts_with("Modify"), "{stream_line}");
}

/// The physical id of `logical_id` in `stack`, if the stack has it.
async fn physical_id(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
    logical_id: &str,
) -> Option<String> {
    cfn.describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .unwrap()
        .stack_resources()
        .iter()
        .find(|resource| resource.logical_resource_id() == Some(logical_id))
        .and_then(|resource| resource.physical_resource_id().map(str::to_owned))
}

async fn change_set_count(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> usize {
    cfn.list_change_sets()
        .stack_name(stack)
        .send()
        .await
        .unwrap()
        .summaries()
        .len()
}

async fn event_count(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> usize {
    cfn.describe_stack_events()
        .stack_name(stack)
        .send()
        .await
        .unwrap()
        .stack_events()
        .len()
}

#[tokio::test(flavor = "multi_thread")]
async fn redeploy_diff_update_and_destroy() {
    let relay = support::relay::CustomResourceRelay::bind().await;
    let moto = support::PrivateMoto::start_with_relay(&relay).await;
    let endpoint = moto.endpoint.clone();
    let stack = support::unique_stack("life");
    let name: StackName = stack.parse().unwrap();
    let names = Names::new(&name);
    let dir = tempfile::tempdir().unwrap();
    let base = [
        "--stack-name",
        stack.as_str(),
        "--endpoint-url",
        endpoint.as_str(),
        "--region",
        REGION,
        "--testpage-dir",
        dir.path().to_str().unwrap(),
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| (*s).to_owned()).collect()
    };
    let run = |args: Vec<String>| deploy(&args.iter().map(String::as_str).collect::<Vec<_>>());

    let created = run(with(&[]));
    assert!(created.status.success(), "{}", stderr(&created));
    let config = sdk_config(&endpoint, admin()).await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    answer_every_create(&config, &endpoint, &name).await;
    let key_before = TestpageConfig::read(&dir.path().join("config.js"))
        .unwrap()
        .key
        .access_key_id()
        .to_owned();

    // 2. Nothing changed: said so, no operation, no change set left, the key kept.
    let events_before = event_count(&cfn, &stack).await;
    let change_sets_before = change_set_count(&cfn, &stack).await;
    let again = run(with(&[]));
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("no changes: stack"),
        "{}",
        stdout(&again)
    );
    assert_eq!(
        event_count(&cfn, &stack).await,
        events_before,
        "no new stack operation"
    );
    assert_eq!(
        change_set_count(&cfn, &stack).await,
        change_sets_before,
        "no change set left behind"
    );
    assert!(
        stderr(&again).contains("is still valid; kept"),
        "{}",
        stderr(&again)
    );
    let key_after = TestpageConfig::read(&dir.path().join("config.js"))
        .unwrap()
        .key
        .access_key_id()
        .to_owned();
    assert_eq!(key_after, key_before);

    // 3. Two shards: diff shows a Modify of the stream (exit code 3), deploy applies it.
    let diff = run(with(&["diff", "--exit-code", "--shard-count", "2"]));
    assert_eq!(diff.status.code(), Some(3), "{}", stderr(&diff));
    assert_stream_modified(&stdout(&diff));
    assert_eq!(
        change_set_count(&cfn, &stack).await,
        change_sets_before,
        "the diff's change set is deleted"
    );
    let unchanged = run(with(&["diff", "--exit-code"]));
    assert_eq!(unchanged.status.code(), Some(0), "{}", stderr(&unchanged));

    let updated = run(with(&["--shard-count", "2"]));
    assert!(updated.status.success(), "{}", stderr(&updated));
    assert_eq!(open_shards(&config, &names.stream()).await, 2);

    // 3b. On demand, traced, with an alarm address: the same stream is modified, not
    // replaced, and the alarms' topic and its key are made beside the dashboard.
    let stream_before = physical_id(&cfn, &stack, "IoTEventStream").await;
    let every_option = with(&[
        "--stream-mode",
        "on-demand",
        "--tracing",
        "--alarm-email",
        "ops@example.com",
    ]);
    let switched = run(every_option);
    assert!(switched.status.success(), "{}", stderr(&switched));
    assert_stream_modified(&stdout(&switched));
    assert_eq!(
        physical_id(&cfn, &stack, "IoTEventStream").await,
        stream_before
    );
    for made in ["AlarmTopic", "AlarmTopicKey", "PipelineDashboard"] {
        assert!(
            physical_id(&cfn, &stack, made).await.is_some(),
            "{made} was not made"
        );
    }

    // 4. Destroy with archived objects (two versions of one key, and a deleted one).
    use_the_archive(&config, &names).await;
    let s3 = s3(&config);
    let refused = run(with(&["destroy"]));
    assert!(
        !refused.status.success(),
        "destroy without --yes and no terminal must refuse"
    );
    assert!(
        stderr(&refused).contains("pass --yes"),
        "{}",
        stderr(&refused)
    );

    let destroyed = run(with(&["destroy", "--yes"]));
    assert!(destroyed.status.success(), "{}", stderr(&destroyed));
    assert_every_delete_answered(&relay);
    assert_nothing_of_the_stack_remains(&config, &names).await;
    let assets = names.asset_bucket(ACCOUNT, REGION);
    assert!(
        s3.head_bucket().bucket(&assets).send().await.is_err(),
        "asset bucket"
    );
    assert!(!dir.path().join("config.js").exists(), "config removed");
}

/// The real provider answers every custom resource's Create, all SUCCESS.
async fn answer_every_create(config: &aws_config::SdkConfig, endpoint: &str, stack: &StackName) {
    let template: Value = serde_json::from_str(
        &iot_stack::synth::render(&StackDefinition::new(stack.clone())).unwrap(),
    )
    .unwrap();
    let answers =
        support::answer_custom_resources(config, endpoint, stack.as_str(), &template).await;
    assert_eq!(answers.len(), 4);
    for (logical_id, outcome) in &answers {
        let Outcome::Response(summary) = outcome else {
            panic!("{logical_id}: {outcome:?}")
        };
        assert_eq!(summary["Status"], "SUCCESS", "{logical_id}: {summary}");
    }
}

/// moto sent the provider a Delete for each of the four custom resources, each answered
/// SUCCESS, and the emptier's answer says it deleted what the bucket held.
fn assert_every_delete_answered(relay: &support::relay::CustomResourceRelay) {
    let exchanges = relay.exchanges();
    let mut deleted: Vec<&str> = exchanges
        .iter()
        .map(|(request, answer)| {
            assert_eq!(request["RequestType"], "Delete", "{request}");
            assert_eq!(answer["Status"], "SUCCESS", "{request}\n{answer}");
            request["LogicalResourceId"].as_str().unwrap()
        })
        .collect();
    deleted.sort_unstable();
    assert_eq!(
        deleted,
        [
            iot_stack::archive::EMPTIER_LOGICAL_ID,
            iot_stack::device::KEY_REMOVER_LOGICAL_ID,
            "IoTMapEventSourceDDBEventProcessor",
            "IoTMapEventSourceS3EventProcessor",
        ]
    );
}

/// Puts two versions of one key and a delete marker in the archive, as a used stack has.
async fn use_the_archive(config: &aws_config::SdkConfig, names: &Names<'_>) {
    let s3 = s3(config);
    let archive = names.archive_bucket(ACCOUNT);
    for body in ["one", "two"] {
        s3.put_object()
            .bucket(&archive)
            .key("2026-01-01/batch.json")
            .body(ByteStream::from_static(body.as_bytes()))
            .send()
            .await
            .unwrap();
    }
    s3.delete_object()
        .bucket(&archive)
        .key("2026-01-01/batch.json")
        .send()
        .await
        .unwrap();
}

/// Deleted with the SDK, not through the deployer, as from the console or the AWS CLI: the
/// stack empties its archive and deletes the device's keys itself, and reaches
/// DELETE_COMPLETE with nothing of it left.
#[tokio::test(flavor = "multi_thread")]
async fn a_stack_deleted_directly_cleans_up_after_itself() {
    let relay = support::relay::CustomResourceRelay::bind().await;
    let moto = support::PrivateMoto::start_with_relay(&relay).await;
    let stack = support::unique_stack("gone");
    let name: StackName = stack.parse().unwrap();
    let names = Names::new(&name);
    let dir = tempfile::tempdir().unwrap();
    let created = deploy(&[
        "--stack-name",
        &stack,
        "--endpoint-url",
        &moto.endpoint,
        "--region",
        REGION,
        "--testpage-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(created.status.success(), "{}", stderr(&created));
    let config = sdk_config(&moto.endpoint, admin()).await;
    answer_every_create(&config, &moto.endpoint, &name).await;
    use_the_archive(&config, &names).await;
    let iam = aws_sdk_iam::Client::new(&config);
    let keys = iam
        .list_access_keys()
        .user_name(names.device_user())
        .send()
        .await
        .unwrap();
    assert_eq!(
        keys.access_key_metadata().len(),
        1,
        "the deploy made the device key"
    );

    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let stack_id = cfn
        .describe_stacks()
        .stack_name(&stack)
        .send()
        .await
        .unwrap()
        .stacks()[0]
        .stack_id()
        .unwrap()
        .to_owned();
    cfn.delete_stack().stack_name(&stack).send().await.unwrap();
    let after = cfn
        .describe_stacks()
        .stack_name(&stack_id)
        .send()
        .await
        .unwrap();
    let status = after.stacks()[0]
        .stack_status()
        .unwrap()
        .as_str()
        .to_owned();
    let events = cfn
        .describe_stack_events()
        .stack_name(&stack_id)
        .send()
        .await
        .unwrap();
    let reasons: Vec<String> = events
        .stack_events()
        .iter()
        .filter_map(|e| e.resource_status_reason().map(str::to_owned))
        .collect();
    assert_eq!(status, "DELETE_COMPLETE", "{reasons:#?}");
    assert_every_delete_answered(&relay);
    assert_nothing_of_the_stack_remains(&config, &names).await;
}

/// No bucket, table, stream, function, role, user, access key, queue or log group of the
/// stack remains.
async fn assert_nothing_of_the_stack_remains(config: &aws_config::SdkConfig, names: &Names<'_>) {
    let archive = names.archive_bucket(ACCOUNT);
    assert!(
        s3(config)
            .head_bucket()
            .bucket(&archive)
            .send()
            .await
            .is_err(),
        "archive bucket"
    );
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    assert!(
        dynamodb
            .describe_table()
            .table_name(names.table())
            .send()
            .await
            .is_err(),
        "table"
    );
    assert!(
        aws_sdk_kinesis::Client::new(config)
            .describe_stream_summary()
            .stream_name(names.stream())
            .send()
            .await
            .is_err(),
        "stream"
    );
    let lambda = aws_sdk_lambda::Client::new(config);
    let iam = aws_sdk_iam::Client::new(config);
    for kind in FunctionKind::ALL {
        let function = lambda
            .get_function()
            .function_name(names.function(kind))
            .send()
            .await;
        assert!(function.is_err(), "function {kind:?}");
        let role = iam.get_role().role_name(names.role(kind)).send().await;
        assert!(role.is_err(), "role {kind:?}");
    }
    assert!(
        iam.get_user()
            .user_name(names.device_user())
            .send()
            .await
            .is_err(),
        "user"
    );
    let keys = iam
        .list_access_keys()
        .user_name(names.device_user())
        .send()
        .await;
    assert!(
        keys.as_ref()
            .map_or(true, |k| k.access_key_metadata().is_empty()),
        "access keys: {keys:?}"
    );
    let endpoint = config.endpoint_url().unwrap();
    for kind in FunctionKind::ALL {
        let queue = support::moto_json(
            endpoint,
            "sqs",
            "AmazonSQS.GetQueueUrl",
            json!({"QueueName": names.failure_queue(kind)}),
        )
        .await;
        assert!(queue.is_err(), "queue of {kind:?}: {queue:?}");
        let groups = support::moto_json(
            endpoint,
            "logs",
            "Logs_20140328.DescribeLogGroups",
            json!({"logGroupNamePrefix": names.log_group(kind)}),
        )
        .await
        .unwrap();
        assert_eq!(groups["logGroups"], json!([]), "log group of {kind:?}");
    }
}

/// Two builds at once (two deploys, or two of these tests) each read whole packages, and a
/// binary rebuilt the same gives the same keys.
///
/// cargo-lambda writes its output in place after cargo's lock is released, so without the
/// deployer's own lock a build starting a moment later rewrites the zips the first is still
/// hashing, and the first uploads a truncated package. And cargo-lambda's zips carry the
/// binary's mtime, so the deployer zips the binaries itself: a fresh checkout (or a `touch`)
/// must give the same keys for the same code.
#[test]
fn package_builds_running_at_once_each_read_whole_packages_keyed_by_content() {
    use sha2::{Digest, Sha256};
    use std::process::Stdio;
    let spawn = || {
        support::deploy_command(&["--stack-name", "packages", "package"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    for stagger_ms in [200, 1_000, 2_000] {
        let first = spawn();
        std::thread::sleep(std::time::Duration::from_millis(stagger_ms));
        let second = spawn();
        let [first, second] = [first, second].map(|child| child.wait_with_output().unwrap());
        for output in [&first, &second] {
            assert!(output.status.success(), "{}", stderr(output));
        }
        let listing = stdout(&first);
        assert_eq!(listing, stdout(&second), "stagger {stagger_ms} ms");
        let lines: Vec<&str> = listing.lines().collect();
        assert_eq!(lines.len(), FunctionKind::ALL.len(), "{listing}");
        for line in lines {
            // `<function>/<sha256>.zip  <n> bytes  <file>`
            let fields: Vec<&str> = line.split("  ").collect();
            let [key, size, file] = fields[..] else {
                panic!("{line}")
            };
            let bytes = std::fs::read(file).unwrap();
            let sha = hex::encode(Sha256::digest(&bytes));
            assert!(
                key.ends_with(&format!("/{sha}.zip")),
                "{line}: file is {sha}"
            );
            assert_eq!(size, format!("{} bytes", bytes.len()), "{line}");
        }
    }

    // Built on any machine, the packages name the dependencies' sources the same way, and
    // never by the builder's home folder.
    let cargo_home = std::env::var("CARGO_HOME")
        .unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap()));
    let home_path = format!("{cargo_home}/registry/src/");
    for kind in FunctionKind::ALL {
        let binary =
            support::reading_built_binaries(|| std::fs::read(support::built_binary(kind))).unwrap();
        let holds = |needle: &str| binary.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(!holds(&home_path), "{kind:?} names {home_path}");
        assert!(
            holds("/cargo/registry/src/"),
            "{kind:?}: no remapped source path"
        );
    }

    let listing = |output: std::process::Output| {
        assert!(output.status.success(), "{}", stderr(&output));
        stdout(&output)
    };
    let before = listing(spawn().wait_with_output().unwrap());
    // What a rebuild with the same result leaves behind: the same bytes, a new mtime.
    std::fs::File::options()
        .write(true)
        .open(support::built_binary(FunctionKind::QueryApi))
        .unwrap()
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(10))
        .unwrap();
    assert_eq!(listing(spawn().wait_with_output().unwrap()), before);
}

#[test]
fn missing_cargo_lambda_and_a_missing_arm64_target_are_clear_errors() {
    let endpoint = support::shared_moto();
    let stack = support::unique_stack("tools");
    let cargo_only = std::path::Path::new(env!("CARGO"))
        .parent()
        .unwrap()
        .display()
        .to_string();
    let args = [
        "--stack-name",
        stack.as_str(),
        "--endpoint-url",
        endpoint.as_str(),
        "--region",
        REGION,
    ];
    let output = support::deploy_command(&args)
        .env("PATH", &cargo_only)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("cargo-lambda is not installed"),
        "{message}"
    );
    // The install command is the hint's; tests/hints.rs runs it.
    assert!(
        message.contains(&format!(
            "hint: install cargo-lambda for this repository with `{}`",
            deploy::hints::INSTALL_CARGO_LAMBDA
        )),
        "{message}"
    );

    if aarch64_installed() {
        arm64_packages_are_aarch64_elf_binaries();
        return;
    }
    let mut arm = args.to_vec();
    arm.extend(["--arch", "arm64"]);
    let output = deploy(&arm);
    let message = stderr(&output);
    assert!(!output.status.success());
    assert!(
        message.contains("--arch arm64 needs the Rust target `aarch64-unknown-linux-gnu`"),
        "{message}"
    );
    assert!(
        message.contains("rustup target add aarch64-unknown-linux-gnu"),
        "{message}"
    );
    let cfn_created = message.contains("changes to stack");
    assert!(
        !cfn_created,
        "nothing is deployed when the build cannot run"
    );
}

/// Whether rustup lists the aarch64 Linux target as installed.
fn aarch64_installed() -> bool {
    let listed = std::process::Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .expect("rustup lists the installed targets");
    assert!(listed.status.success(), "{}", stderr(&listed));
    stdout(&listed)
        .lines()
        .any(|target| target.trim() == "aarch64-unknown-linux-gnu")
}

/// With the target installed, `--arch arm64` builds every package, and each holds an ELF
/// binary for the machine Lambda's arm64 runs: EM_AARCH64 (183) in the header's `e_machine`.
fn arm64_packages_are_aarch64_elf_binaries() {
    use std::io::Read;
    const EM_AARCH64: u16 = 183;
    let output =
        support::deploy_command(&["--stack-name", "packages", "--arch", "arm64", "package"])
            .output()
            .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let listing = stdout(&output);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), FunctionKind::ALL.len(), "{listing}");
    for line in lines {
        // `<function>/<sha256>.zip  <n> bytes  <file>`
        let file = line.split("  ").nth(2).unwrap_or_else(|| panic!("{line}"));
        let mut archive = zip::ZipArchive::new(std::fs::File::open(file).unwrap()).unwrap();
        let mut binary = Vec::new();
        archive
            .by_name("bootstrap")
            .unwrap()
            .read_to_end(&mut binary)
            .unwrap();
        assert_eq!(binary.get(..4), Some(&b"\x7fELF"[..]), "{file} is not ELF");
        // e_ident[EI_DATA] = 1: little endian, so e_machine (offset 18) is read as such.
        assert_eq!(binary[5], 1, "{file}");
        let machine = u16::from_le_bytes([binary[18], binary[19]]);
        assert_eq!(machine, EM_AARCH64, "{file} is for machine {machine}");
    }
}

/// `rotate-key`: a new key in the config, the old one deleted (moto refuses it once
/// authentication is on), and neither secret in anything the deployer printed.
#[tokio::test(flavor = "multi_thread")]
async fn rotate_key_replaces_the_device_key_and_the_old_one_is_refused() {
    let moto = support::PrivateMoto::start().await;
    let stack = support::unique_stack("rot");
    let dir = tempfile::tempdir().unwrap();
    let base = [
        "--stack-name",
        stack.as_str(),
        "--endpoint-url",
        moto.endpoint.as_str(),
        "--region",
        REGION,
        "--testpage-dir",
        dir.path().to_str().unwrap(),
    ];
    let created = deploy(&base);
    assert!(created.status.success(), "{}", stderr(&created));
    let config_js = dir.path().join("config.js");
    let old = TestpageConfig::read(&config_js).unwrap();

    let rotated = deploy(&[&base[..], &["rotate-key"][..]].concat());
    assert!(rotated.status.success(), "{}", stderr(&rotated));
    let new = TestpageConfig::read(&config_js).unwrap();
    assert_ne!(new.key.access_key_id(), old.key.access_key_id());
    for secret in [old.key.secret_access_key(), new.key.secret_access_key()] {
        for printed in [
            stdout(&created),
            stderr(&created),
            stdout(&rotated),
            stderr(&rotated),
        ] {
            assert!(
                !printed.contains(secret),
                "a secret was printed:\n{printed}"
            );
        }
    }
    let mode = std::fs::metadata(&config_js).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let name: StackName = stack.parse().unwrap();
    let config = sdk_config(&moto.endpoint, admin()).await;
    let listed = aws_sdk_iam::Client::new(&config)
        .list_access_keys()
        .user_name(Names::new(&name).device_user())
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = listed
        .access_key_metadata()
        .iter()
        .filter_map(|k| k.access_key_id())
        .collect();
    assert_eq!(ids, [new.key.access_key_id()]);

    moto.require_authorization().await;
    let put = |id: &str, secret: &str| {
        let credentials = Credentials::new(id, secret, None, None, "device");
        let endpoint = moto.endpoint.clone();
        let stream = new.stack.stream_name.clone();
        async move {
            let device = sdk_config(&endpoint, credentials).await;
            aws_sdk_kinesis::Client::new(&device)
                .put_record()
                .stream_name(stream)
                .partition_key("s-1")
                .data(Blob::new(r#"{"sensorid":"s-1","value":1}"#))
                .send()
                .await
        }
    };
    let refused = put(old.key.access_key_id(), old.key.secret_access_key()).await;
    assert!(refused.is_err(), "the old key is refused");
    put(new.key.access_key_id(), new.key.secret_access_key())
        .await
        .expect("the new key works");
}

/// The patched moto refuses what AWS refuses: a stack whose bucket holds versions and whose
/// user holds a key, with nothing in it to clean up (the stack as it was before its cleanup
/// resources), ends DELETE_FAILED with both still there. So the test above, which reaches
/// DELETE_COMPLETE, shows the stack's own cleanup at work and not moto's leniency.
#[tokio::test(flavor = "multi_thread")]
async fn without_cleanup_resources_the_patched_moto_fails_the_deletion_as_aws_does() {
    let moto = support::PrivateMoto::start().await;
    let config = sdk_config(&moto.endpoint, admin()).await;
    let stack = support::unique_stack("bare");
    let (bucket, user) = (format!("{stack}-bucket"), format!("{stack}-user"));
    let template = json!({
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {
                "BucketName": bucket,
                "VersioningConfiguration": {"Status": "Enabled"}}},
            "User": {"Type": "AWS::IAM::User", "Properties": {"UserName": user}}
        }
    });
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    cfn.create_stack()
        .stack_name(&stack)
        .template_body(template.to_string())
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam)
        .send()
        .await
        .unwrap();
    let s3 = s3(&config);
    for body in ["one", "two"] {
        s3.put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from_static(body.as_bytes()))
            .send()
            .await
            .unwrap();
    }
    let iam = aws_sdk_iam::Client::new(&config);
    iam.create_access_key()
        .user_name(&user)
        .send()
        .await
        .unwrap();

    cfn.delete_stack().stack_name(&stack).send().await.unwrap();
    let described = cfn
        .describe_stacks()
        .stack_name(&stack)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.stacks()[0].stack_status().unwrap().as_str(),
        "DELETE_FAILED"
    );
    s3.head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("the bucket with versions stays");
    iam.get_user()
        .user_name(&user)
        .send()
        .await
        .expect("the user with a key stays");
}

/// A stack name taken in one region of the account is refused in another before anything is
/// built or any CloudFormation call made, naming the region where it lives.
#[tokio::test(flavor = "multi_thread")]
async fn a_stack_name_taken_in_another_region_is_refused_up_front() {
    let moto = support::PrivateMoto::start().await;
    let stack = support::unique_stack("two");
    let dir = tempfile::tempdir().unwrap();
    let at = |region: &'static str| {
        vec![
            "--stack-name".to_owned(),
            stack.clone(),
            "--endpoint-url".to_owned(),
            moto.endpoint.clone(),
            "--region".to_owned(),
            region.to_owned(),
            "--testpage-dir".to_owned(),
            dir.path().display().to_string(),
        ]
    };
    let first = at(REGION);
    let created = deploy(&first.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(created.status.success(), "{}", stderr(&created));

    let second = at("eu-west-1");
    let refused = deploy(&second.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!refused.status.success());
    let said = stderr(&refused);
    assert!(
        said.contains(&format!("already exists in region {REGION}")),
        "{said}"
    );
    assert!(said.contains("another --stack-name"), "{said}");
    assert!(
        !said.contains("building the functions"),
        "nothing was built: {said}"
    );
    let config = sdk_config(&moto.endpoint, admin()).await;
    let west = aws_sdk_cloudformation::Client::from_conf(
        aws_sdk_cloudformation::config::Builder::from(&config)
            .region(aws_sdk_cloudformation::config::Region::new("eu-west-1"))
            .build(),
    );
    let stacks = west.list_stacks().send().await.unwrap();
    assert!(
        stacks.stack_summaries().is_empty(),
        "no stack, not even an empty one, in eu-west-1: {:?}",
        stacks.stack_summaries()
    );
}
