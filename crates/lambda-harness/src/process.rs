//! A bootstrap binary run as Lambda runs it: a process of its own, told where the Runtime API
//! is through its environment, its standard output and error captured as its log.

use crate::HarnessError;
use crate::runtime_api::{Outcome, RuntimeApi};
use serde_json::Value;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// A running function; the process is killed when this is dropped.
#[derive(Debug)]
pub struct FunctionProcess {
    api: RuntimeApi,
    child: Child,
    started: Instant,
    log: Arc<Mutex<Vec<String>>>,
}

impl FunctionProcess {
    /// Starts `binary` with the variables Lambda sets (function name, memory, version, region,
    /// Runtime API address) plus `env`. Nothing else is inherited from the test's environment,
    /// so the function sees only what it would see in Lambda.
    pub async fn start<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        binary: &Path,
        env: &[(K, V)],
    ) -> Result<Self, HarnessError> {
        Self::start_with_args(binary, &[], env).await
    }

    /// As [`Self::start`], with command-line arguments (for an interpreter and its script).
    pub async fn start_with_args<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        binary: &Path,
        args: &[&str],
        env: &[(K, V)],
    ) -> Result<Self, HarnessError> {
        let api = RuntimeApi::start().await?;
        let mut command = Command::new(binary);
        command
            .args(args)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", "under-test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/under-test")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "harness")
            .env("AWS_REGION", "us-east-1")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = command.spawn().map_err(|source| HarnessError::Spawn {
            binary: binary.display().to_string(),
            source,
        })?;
        let log = Arc::new(Mutex::new(Vec::new()));
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(collect_lines(stdout, log.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(collect_lines(stderr, log.clone()));
        }
        Ok(Self {
            api,
            child,
            started,
            log,
        })
    }

    /// Invokes the function once and waits for its answer, at most `timeout` (which is also the
    /// deadline the function is told).
    pub async fn invoke(
        &mut self,
        payload: &Value,
        timeout: Duration,
    ) -> Result<Outcome, HarnessError> {
        let (request_id, mut answer) = self.api.enqueue(payload, timeout);
        let waited = Instant::now();
        let limit = tokio::time::sleep(timeout + Duration::from_secs(2));
        tokio::pin!(limit);
        tokio::select! {
            outcome = &mut answer => outcome.map_err(|_| self.timeout(&request_id, waited)),
            status = self.child.wait() => {
                let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                // Let the log readers drain what the process wrote last.
                tokio::time::sleep(Duration::from_millis(50)).await;
                match self.api.init_error() {
                    Some(init) => Err(HarnessError::InitError(init)),
                    None => Err(HarnessError::Exited { status, log: self.log_text() }),
                }
            }
            () = &mut limit => Err(self.timeout(&request_id, waited)),
        }
    }

    /// Time from process start to its first `GET /next`, waiting up to `limit` for it.
    pub async fn time_to_first_poll(&self, limit: Duration) -> Option<Duration> {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if let Some(at) = self.api.first_poll() {
                return Some(at.duration_since(self.started));
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        None
    }

    /// The process id, for measuring it from outside.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Every line the function has written so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn log_text(&self) -> String {
        self.log_lines().join("\n")
    }

    fn timeout(&self, request_id: &str, waited: Instant) -> HarnessError {
        HarnessError::Timeout {
            request_id: request_id.to_owned(),
            waited_ms: waited.elapsed().as_millis(),
            log: self.log_text(),
        }
    }
}

async fn collect_lines(stream: impl AsyncRead + Unpin, log: Arc<Mutex<Vec<String>>>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        log.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line);
    }
}
