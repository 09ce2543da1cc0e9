//! Every hint names a command that runs as printed. Each test provokes an error, takes the
//! commands from its `hint:` line, and runs them. `cargo run -p deploy --` commands run as the
//! binary that prefix builds (the README's own test runs the prefix itself, as written); AWS
//! commands run against moto.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use cfn_apply::BlockedStack;
use clap::Parser;
use deploy::hints::{self, Rerun};
use support::local::{
    LocalDirs, deploy_in_repository, deploy_words, hinted_commands, run_bounded, start_local,
};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn a_changed_shape_hints_at_the_old_shard_count_and_at_destroy_and_both_work() {
    let dirs = LocalDirs::new();
    let (status, _) = start_local(&dirs.args("hintshape")).interrupt();
    assert!(status.success());
    let mut args = dirs.args("hintshape");
    args.extend(["--shard-count", "3"].map(str::to_owned));
    let failed = run_bounded(&mut deploy_in_repository(&args), LIMIT);
    let commands = hinted_commands(&failed.stderr);
    assert_eq!(commands.len(), 2, "{commands:?}");

    // The first starts the stack as it was created.
    let words = deploy_words(&commands[0]);
    assert!(
        words.windows(2).any(|w| w == ["--shard-count", "1"]),
        "{words:?}"
    );
    let (status, stderr) = start_local(&words).interrupt();
    assert!(status.success(), "{stderr}");

    // The second removes it; then the new shape starts.
    let destroyed = run_bounded(
        &mut deploy_in_repository(&deploy_words(&commands[1])),
        LIMIT,
    );
    assert!(destroyed.status.success(), "{}", destroyed.stderr);
    assert!(!dirs.state.exists());
    let (status, stderr) = start_local(&args).interrupt();
    assert!(status.success(), "{stderr}");
}

#[test]
fn a_taken_port_hints_at_a_free_one_and_that_starts() {
    let dirs = LocalDirs::new();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut args = dirs.args("hintport");
    let at = args.iter().position(|a| a == "--port").unwrap();
    args[at + 1] = taken.local_addr().unwrap().port().to_string();
    let failed = run_bounded(&mut deploy_in_repository(&args), LIMIT);
    let commands = hinted_commands(&failed.stderr);
    let words = deploy_words(commands.last().unwrap());
    assert!(words.windows(2).any(|w| w == ["--port", "0"]), "{words:?}");
    let (status, stderr) = start_local(&words).interrupt();
    assert!(status.success(), "{stderr}");
}

#[test]
fn simulate_without_a_stack_hints_at_starting_one_and_that_starts() {
    let dirs = LocalDirs::new();
    let args = dirs.args("hintsim");
    let mut simulate = args.clone();
    simulate.extend(["simulate", "--count", "1"].map(str::to_owned));
    let failed = run_bounded(&mut deploy_in_repository(&simulate), LIMIT);
    assert_eq!(failed.status.code(), Some(1));
    let commands = hinted_commands(&failed.stderr);
    assert_eq!(commands.len(), 2, "{commands:?}");
    let local = deploy_words(&commands[0]);
    assert!(local.contains(&"--local".to_owned()), "{local:?}");
    let process = start_local(&local);
    // With the target running, the same simulate command now succeeds.
    let simulated = run_bounded(&mut deploy_in_repository(&simulate), LIMIT);
    assert!(simulated.status.success(), "{}", simulated.stderr);
    let (status, stderr) = process.interrupt();
    assert!(status.success(), "{stderr}");
}

#[test]
fn missing_cargo_lambda_hints_at_the_install_and_it_puts_cargo_lambda_on_path() {
    let cargo = std::env::var("CARGO").expect("cargo runs the tests");
    let cargo_dir = std::path::Path::new(&cargo).parent().unwrap().to_owned();
    let bare_path = format!("{}:/usr/bin:/bin", cargo_dir.display());
    let failed = run_bounded(
        deploy_in_repository(&["--stack-name", "hintlambda", "package"]).env("PATH", &bare_path),
        LIMIT,
    );
    assert_eq!(failed.status.code(), Some(1), "{}", failed.stderr);
    let commands = hinted_commands(&failed.stderr);
    assert_eq!(commands, [hints::INSTALL_CARGO_LAMBDA]);
    let installed = run_bounded(
        Command::new("bash")
            .args(["-c", &format!("{} && cargo lambda --version", commands[0])])
            .current_dir(support::repository())
            .env("PATH", &bare_path),
        Duration::from_secs(300),
    );
    assert!(installed.status.success(), "{}", installed.stderr);
    assert!(
        installed.stdout.contains("cargo-lambda"),
        "{}",
        installed.stdout
    );
}

#[test]
fn a_missing_rust_target_hints_at_a_target_rustup_knows() {
    let error = anyhow::Error::new(deploy::assets::BuildError::TargetMissing {
        arch: "arm64",
        target: "aarch64-unknown-linux-gnu",
    });
    let next = hints::next_step(&error, &rerun(&["--stack-name", "demo"])).unwrap();
    // `rustup target add` needs rustup's download server, which this machine cannot reach;
    // what can be checked is that rustup knows the target by that name.
    assert!(
        next.contains("`rustup target add aarch64-unknown-linux-gnu`"),
        "{next}"
    );
    let list = Command::new("rustup")
        .args(["target", "list"])
        .output()
        .unwrap();
    assert!(list.status.success());
    assert!(
        String::from_utf8_lossy(&list.stdout)
            .lines()
            .any(|line| line.starts_with("aarch64-unknown-linux-gnu")),
        "rustup does not list the target"
    );
}

fn rerun(args: &[&str]) -> Rerun {
    let args = std::iter::once("deploy").chain(args.iter().copied());
    Rerun::of(&deploy::cli::Cli::try_parse_from(args).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_stacks_hint_at_commands_that_run_against_cloudformation() {
    let moto = support::PrivateMoto::start().await;
    let stack = support::unique_stack("hint");
    // A real stack for the AWS CLI's commands to act on.
    let config = support::sdk_config(&moto.endpoint, support::admin()).await;
    aws_sdk_cloudformation::Client::new(&config)
        .create_stack()
        .stack_name(&stack)
        .template_body(r#"{"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {}}}}"#)
        .send()
        .await
        .unwrap();

    let rerun = rerun(&[
        "--stack-name",
        &stack,
        "--region",
        support::REGION,
        "--endpoint-url",
        &moto.endpoint,
    ]);
    let hint_for = |status: &str| {
        let error = anyhow::Error::new(BlockedStack {
            stack: stack.clone(),
            status: aws_sdk_cloudformation::types::StackStatus::from(status),
            explanation: String::new(),
        });
        let next = hints::next_step(&error, &rerun).unwrap();
        let commands: Vec<String> = next
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        assert!(!commands.is_empty(), "{status}: {next}");
        commands
    };

    // Watching an operation: the AWS CLI's describe-stack-events, on the stack, succeeds.
    for command in hint_for("UPDATE_IN_PROGRESS") {
        let ran = run_aws(&command);
        assert!(ran.status.success(), "`{command}`: {}", ran.stderr);
        assert!(ran.stdout.contains(&stack), "`{command}`: {}", ran.stdout);
    }
    // continue-update-rollback parses (the stack is not in UPDATE_ROLLBACK_FAILED, so the
    // service refuses it; a usage error would exit 252, a service error exits 254 or 255).
    for command in hint_for("UPDATE_ROLLBACK_FAILED") {
        let ran = run_aws(&command);
        assert_ne!(ran.status.code(), Some(252), "`{command}`: {}", ran.stderr);
        assert!(
            !ran.stderr.contains("usage:"),
            "`{command}`: {}",
            ran.stderr
        );
    }
    // A rolled-back stack: destroy, then deploy. Destroy runs here; deploy is the deployer's
    // own command, run by the lifecycle tests.
    let commands = hint_for("ROLLBACK_COMPLETE");
    assert_eq!(commands.len(), 2, "{commands:?}");
    let words = deploy_words(&commands[0]);
    assert!(
        words.ends_with(&["destroy".to_owned(), "--yes".to_owned()]),
        "{words:?}"
    );
    let page = tempfile::tempdir().unwrap();
    let mut destroy = support::deploy_command(&[]);
    destroy
        .args(&words)
        .arg("--testpage-dir")
        .arg(page.path())
        .current_dir(support::repository());
    let destroyed = run_bounded(&mut destroy, Duration::from_secs(120));
    assert!(destroyed.status.success(), "{}", destroyed.stderr);
    assert!(
        destroyed.stderr.contains("stack deleted"),
        "{}",
        destroyed.stderr
    );
    let deploy_words_ = deploy_words(&commands[1]);
    assert_eq!(
        deploy_words_[..2],
        ["--stack-name".to_owned(), stack.clone()]
    );
}

/// Runs a hinted `aws ...` command with moto's test credentials.
fn run_aws(command: &str) -> support::local::Ended {
    let words = shlex::split(command).unwrap();
    assert_eq!(words[0], "aws", "{command}");
    run_bounded(
        Command::new(&words[0])
            .args(&words[1..])
            .envs(support::TEST_AWS_ENV),
        Duration::from_secs(60),
    )
}
