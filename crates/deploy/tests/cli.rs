//! The `deploy` binary as a user runs it: bad stack names are refused up front with the rule
//! they break, and `synth` writes the template to standard output or a file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use deploy::stack::StackDefinition;

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
        deploy::synth::render(&StackDefinition::new("cli-test".parse().unwrap())).unwrap();

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
