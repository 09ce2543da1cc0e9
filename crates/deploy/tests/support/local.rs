//! `deploy --local` as a process: started on a free port with its own state and page folders,
//! waited for with a bound, stopped by signal, killed if a test ends without stopping it.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a start may take before the test fails.
pub const READY_WITHIN: Duration = Duration::from_secs(30);

/// A running `deploy --local`, killed on drop.
pub struct LocalProcess {
    pub child: Child,
    pub address: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Drop for LocalProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LocalProcess {
    /// Everything it wrote to standard output so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Everything it wrote to standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends `signal` (`-INT`, `-KILL`, ...).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Ctrl-C, then its exit status within 30 s.
    pub fn interrupt(mut self) -> (ExitStatus, String) {
        self.signal("-INT");
        let until = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < until,
                "no stop within 30 s of SIGINT:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader thread sees the end of the pipe right after the exit.
        std::thread::sleep(Duration::from_millis(100));
        (status, self.stderr())
    }
}

/// The folders of one local stack in a test.
pub struct LocalDirs {
    _root: tempfile::TempDir,
    pub state: PathBuf,
    pub page: PathBuf,
}

impl LocalDirs {
    /// A state folder (not created) and a page folder (created) in a new temporary folder.
    pub fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let (state, page) = (root.path().join("state"), root.path().join("page"));
        std::fs::create_dir(&page).unwrap();
        Self {
            _root: root,
            state,
            page,
        }
    }

    /// `--stack-name <stack> --local --port 0 --state-dir <state> --testpage-dir <page>`.
    pub fn args(&self, stack: &str) -> Vec<String> {
        local_args(stack, &self.state, &self.page)
    }
}

/// `--stack-name <stack> --local --port 0 --state-dir <state> --testpage-dir <page>`.
pub fn local_args(stack: &str, state: &Path, page: &Path) -> Vec<String> {
    [
        "--stack-name",
        stack,
        "--local",
        "--port",
        "0",
        "--state-dir",
        &arg(state),
        "--testpage-dir",
        &arg(page),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Starts the `deploy` binary with `args` and waits for "local target ready".
pub fn start_local<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> LocalProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_deploy"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = Arc::new(Mutex::new(String::new()));
    collect(child.stderr.take().unwrap(), stderr.clone());
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    let lines = Arc::new(Mutex::new(String::new()));
    let kept = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if let Some(address) = line.strip_prefix("local target ready: http://") {
                let _ = sender.send(address.to_owned());
            }
            let mut kept = kept.lock().unwrap();
            kept.push_str(&line);
            kept.push('\n');
        }
    });
    let address = match receiver.recv_timeout(READY_WITHIN) {
        Ok(address) => address,
        Err(_) => panic!(
            "the local target did not report ready within {READY_WITHIN:?}:\n{}",
            stderr.lock().unwrap()
        ),
    };
    LocalProcess {
        child,
        address,
        stdout: lines,
        stderr,
    }
}

fn collect(mut from: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = from.read(&mut buffer) {
            if n == 0 {
                return;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    });
}

/// What a process that had to end by itself did.
#[derive(Debug)]
pub struct Ended {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

/// Runs `command` to its end; if it is still running after `limit`, kills it and fails the
/// test, saying what it had printed.
pub fn run_bounded(command: &mut Command, limit: Duration) -> Ended {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (stdout, stderr) = (Arc::default(), Arc::default());
    collect(child.stdout.take().unwrap(), Arc::clone(&stdout));
    collect(child.stderr.take().unwrap(), Arc::clone(&stderr));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{command:?} still ran after {limit:?}; it printed:\n{}",
                stderr.lock().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = started.elapsed();
    // The pipes end with the process; give the reader threads a moment to drain them.
    std::thread::sleep(Duration::from_millis(50));
    let text = |buffer: &Arc<Mutex<String>>| buffer.lock().unwrap().clone();
    Ended {
        status,
        stdout: text(&stdout),
        stderr: text(&stderr),
        took,
    }
}

/// The `deploy` binary with `args`, in the repository's folder, as a user runs it there.
pub fn deploy_in_repository<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_deploy"));
    command.args(args).current_dir(super::repository());
    command
}

/// The commands a `hint:` line names, in backticks, in order.
pub fn hinted_commands(stderr: &str) -> Vec<String> {
    let hint = stderr
        .lines()
        .find_map(|line| line.strip_prefix("hint: "))
        .unwrap_or_else(|| panic!("no hint in:\n{stderr}"));
    hint.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The words of a hinted `cargo run -p deploy -- ...` command after the `--`: the README's
/// test runs that prefix as written, these tests run the binary it builds.
pub fn deploy_words(command: &str) -> Vec<String> {
    let rest = command
        .strip_prefix(deploy::hints::DEPLOY)
        .unwrap_or_else(|| {
            panic!(
                "`{command}` does not start with `{}`",
                deploy::hints::DEPLOY
            )
        });
    shlex::split(rest).unwrap_or_else(|| panic!("`{command}` does not parse as shell words"))
}

/// A path as one argument.
pub fn arg(path: &Path) -> String {
    path.display().to_string()
}
