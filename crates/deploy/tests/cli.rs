//! The `deploy` binary as a user runs it: bad stack names are refused up front with the rule
//! they break, and `synth` writes the template to standard output or a file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::ErrorKind;
use std::net::TcpListener;
use std::process::{Command, Output};

use iot_stack::StackDefinition;

fn deploy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deploy"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn bad_stack_names_are_refused_with_the_rule_they_break() {
    let too_long = format!("--stack-name={}", "a".repeat(33));
    let cases = [
        ("--stack-name=Demo", "upper case letter `D` at position 1"),
        (
            "--stack-name=my_stack",
            "has `_` at position 3; only lower case letters",
        ),
        (
            too_long.as_str(),
            "is 33 characters long; the maximum is 32",
        ),
        ("--stack-name=", "the stack name is empty"),
        (
            "--stack-name=1demo",
            "starts with `1`; it must start with a lower case letter",
        ),
        // `=` form: `--stack-name -demo` would read `-demo` as a flag.
        (
            "--stack-name=-demo",
            "starts with `-`; it must start with a lower case letter",
        ),
        ("--stack-name=demo-", "ends with a hyphen"),
    ];
    for (flag, rule) in cases {
        let output = deploy(&[flag, "synth"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{flag} was accepted");
        assert!(output.stdout.is_empty(), "{flag} printed a template");
        assert!(stderr.contains("--stack-name"), "{flag}: {stderr}");
        assert!(
            stderr.contains(rule),
            "{flag}: expected {rule:?} in\n{stderr}"
        );
    }
}

#[test]
fn synth_prints_the_template_or_writes_it_to_a_file() {
    let expected =
        iot_stack::synth::render(&StackDefinition::new("cli-test".parse().unwrap())).unwrap();

    let printed = deploy(&["--stack-name", "cli-test", "synth"]);
    assert!(printed.status.success(), "{printed:?}");
    assert_eq!(String::from_utf8(printed.stdout).unwrap(), expected);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("template.json");
    let written = deploy(&[
        "--stack-name",
        "cli-test",
        "synth",
        "--output",
        path.to_str().unwrap(),
    ]);
    assert!(written.status.success(), "{written:?}");
    assert!(written.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
}

#[test]
fn a_file_that_cannot_be_written_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir/template.json");
    let output = deploy(&[
        "--stack-name",
        "demo",
        "synth",
        "--output",
        path.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.starts_with("error: failed to write the template to ")
            && stderr.lines().count() == 1,
        "{stderr}"
    );
}

/// A loopback port standing in for AWS: it never answers, it only counts who connected.
struct Listener(TcpListener);

impl Listener {
    fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Self(listener)
    }

    fn url(&self) -> String {
        format!("http://{}", self.0.local_addr().unwrap())
    }

    /// Connections made so far (the kernel completes them before any accept).
    fn connections(&self) -> usize {
        let mut count = 0;
        loop {
            match self.0.accept() {
                Ok(_) => count += 1,
                Err(error) if error.kind() == ErrorKind::WouldBlock => return count,
                Err(error) => panic!("{error}"),
            }
        }
    }
}

/// Arguments, environment, and the error expected.
type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);

/// `deploy` with no AWS settings from the machine: only what `env` gives.
fn deploy_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deploy"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn bad_aws_input_is_one_clear_error_and_no_aws_call() {
    let aws = Listener::new();
    let url = aws.url();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(&config, "[profile dev]\nregion = eu-west-1\n").unwrap();
    let config = config.to_str().unwrap();
    let keys = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "example"),
    ];

    let cases: Vec<Case<'_>> = vec![
        (
            vec![
                "--stack-name",
                "demo",
                "--region",
                "us-east-1",
                "--endpoint-url",
                &url,
            ],
            vec![],
            "no AWS credentials found",
        ),
        (
            vec![
                "--stack-name",
                "demo",
                "--profile",
                "nope",
                "--endpoint-url",
                &url,
            ],
            vec![("AWS_CONFIG_FILE", config)],
            "the defined profiles are: dev",
        ),
        (
            vec![
                "--stack-name",
                "demo",
                "--region",
                "mars",
                "--endpoint-url",
                &url,
            ],
            keys.to_vec(),
            "`mars` is not an AWS region name",
        ),
        (
            vec!["--stack-name", "demo", "--endpoint-url", &url],
            keys.to_vec(),
            "no AWS region is configured",
        ),
        (
            vec![
                "--stack-name",
                "demo",
                "--region",
                "us-east-1",
                "--endpoint-url",
                "localhost:5000",
            ],
            keys.to_vec(),
            "--endpoint-url `localhost:5000` is not an http:// or https:// URL",
        ),
        (
            vec![
                "--stack-name=Demo",
                "--region",
                "us-east-1",
                "--endpoint-url",
                &url,
            ],
            keys.to_vec(),
            "upper case letter `D` at position 1",
        ),
        (
            vec![
                "--stack-name",
                "demo",
                "--region",
                "us-east-1",
                "--endpoint-url",
                &url,
                "diff",
                "--local",
            ],
            keys.to_vec(),
            // Every flag is global, so after the subcommand it means the same as before it.
            "--local has none",
        ),
        (
            vec!["--stack-name", "demo", "--local", "diff"],
            keys.to_vec(),
            "--local has none",
        ),
    ];
    for (args, env, expected) in cases {
        let output = deploy_with_env(&args, &env);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in\n{stderr}"
        );
        assert_eq!(aws.connections(), 0, "{args:?} made an AWS call");
    }
}
