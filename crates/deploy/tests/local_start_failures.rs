//! Every way `deploy --local` can fail to start ends the process promptly, non-zero, with a
//! message naming the problem, every time. Each case runs ten times, because the old hangs
//! were races (a task still running after `start` gave up kept the process alive in 7 of 18
//! tries with a taken port).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::TcpListener;
use std::time::Duration;

use support::local::{LocalDirs, arg, deploy_in_repository, run_bounded, start_local};

/// Tries of each case.
const TRIES: usize = 10;
/// A start failure must end the process within this.
const LIMIT: Duration = Duration::from_secs(5);

/// Starts `deploy` with `args` [`TRIES`] times; each must fail within [`LIMIT`] with every
/// one of `expected` in its error output.
fn fails_promptly(args: &[String], expected: &[&str]) {
    for attempt in 1..=TRIES {
        let ended = run_bounded(&mut deploy_in_repository(args), LIMIT);
        assert_eq!(
            ended.status.code(),
            Some(1),
            "try {attempt}: {}",
            ended.stderr
        );
        for text in expected {
            assert!(
                ended.stderr.contains(text),
                "try {attempt}: no `{text}` in:\n{}",
                ended.stderr
            );
        }
    }
}

#[test]
fn a_port_already_taken_fails_at_once_and_suggests_another() {
    let dirs = LocalDirs::new();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let mut args = dirs.args("taken");
    let at = args.iter().position(|a| a == "--port").unwrap();
    args[at + 1] = port.clone();
    fails_promptly(
        &args,
        &[
            &format!("cannot listen on 127.0.0.1:{port}"),
            "hint: ",
            "--port N",
            "--port 0",
        ],
    );
}

#[test]
fn a_missing_page_folder_fails_at_once_and_names_it() {
    let dirs = LocalDirs::new();
    let missing = dirs.page.join("not-here");
    let mut args = dirs.args("nopage");
    let at = args.iter().position(|a| a == "--testpage-dir").unwrap();
    args[at + 1] = arg(&missing);
    fails_promptly(
        &args,
        &[&format!(
            "the test page folder {} does not exist",
            missing.display()
        )],
    );
    assert!(!dirs.state.exists(), "a failed start left state behind");
}

#[test]
fn a_state_path_that_is_a_file_fails_at_once() {
    let dirs = LocalDirs::new();
    std::fs::write(&dirs.state, "not a folder").unwrap();
    fails_promptly(&dirs.args("statefile"), &[&arg(&dirs.state)]);
}

#[test]
fn a_corrupt_stream_database_fails_at_once() {
    let dirs = LocalDirs::new();
    std::fs::create_dir(&dirs.state).unwrap();
    std::fs::write(dirs.state.join("stream.db"), vec![0x5a; 8192]).unwrap();
    fails_promptly(
        &dirs.args("corrupt"),
        &[&arg(&dirs.state.join("stream.db")), "not a database"],
    );
}

#[test]
fn a_changed_stream_shape_fails_at_once_and_says_how_to_go_on() {
    let dirs = LocalDirs::new();
    let (status, _) = start_local(&dirs.args("reshape")).interrupt();
    assert!(status.success());
    let mut args = dirs.args("reshape");
    args.extend(["--shard-count".to_owned(), "2".to_owned()]);
    fails_promptly(
        &args,
        &[
            "the stream was created with shards/retention 1/24, not 2/24",
            "hint: ",
            "--shard-count 1",
            "destroy --yes",
        ],
    );
}
