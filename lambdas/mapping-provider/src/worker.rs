//! The worker: a child process (the same binary, started with [`WORKER_ARG`]) that handles
//! exactly one request. It reads a [`WorkOrder`] on standard input and writes [`Report`]s, one
//! JSON document per line, on standard output; its log goes to standard error, which it shares
//! with the supervisor (so Lambda collects it).
//!
//! If the worker panics, the panic hook writes [`Report::Panicked`] before the process aborts;
//! if it dies any other way, or hangs, the supervisor notices without any help from it.

use crate::lambda_mappings::LambdaMappings;
use crate::panic_policy::{PanicReport, abort_on_panic};
use crate::provider::{self, Answer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The command-line argument that makes the binary a worker.
pub const WORKER_ARG: &str = "--handle-one-request";

/// Test-only fault injection: a test sets this variable on the function to prove that a worker
/// that panics or hangs is still answered for. The stack never sets it. Read once, when the
/// process starts; an unknown value stops the function at init rather than being ignored.
pub const FAULT_ENV: &str = "MAPPING_PROVIDER_TEST_FAULT";

/// The largest work order read (an asynchronous invocation's payload is at most 256 KB).
const MAX_ORDER_BYTES: u64 = 1024 * 1024;

/// What the supervisor gives the worker.
#[derive(Debug, Serialize, Deserialize)]
pub struct WorkOrder {
    /// The invocation payload, the CloudFormation request as received.
    pub request: Value,
    /// When the answer must be ready, in milliseconds since the Unix epoch.
    pub work_until_unix_ms: u64,
}

/// What the worker tells the supervisor, one per line.
#[derive(Debug, Serialize, Deserialize)]
pub enum Report {
    /// A mapping now exists, whatever happens next.
    Created { uuid: String },
    /// The finished answer.
    Answer(Answer),
    /// The worker panicked and is aborting.
    Panicked { message: String },
}

/// A deliberate failure, for tests only (see [`FAULT_ENV`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Panic right after a mapping is created: the worst moment, a resource exists and no
    /// answer has been written.
    PanicAfterCreate,
    /// Block the worker's only thread after a mapping is created, so that no timeout inside it
    /// can fire; only the supervisor can end it.
    HangAfterCreate,
}

#[derive(Debug, thiserror::Error)]
#[error("{FAULT_ENV}={0:?} is not a known test fault (panic-after-create, hang-after-create)")]
pub struct UnknownFault(String);

impl Fault {
    pub fn from_env() -> Result<Option<Self>, UnknownFault> {
        match std::env::var(FAULT_ENV) {
            Err(_) => Ok(None),
            Ok(value) => match value.as_str() {
                "" => Ok(None),
                "panic-after-create" => Ok(Some(Self::PanicAfterCreate)),
                "hang-after-create" => Ok(Some(Self::HangAfterCreate)),
                _ => Err(UnknownFault(value)),
            },
        }
    }
}

/// Writes one report line. A write error means the supervisor is gone (it stopped this worker
/// or died); there is nobody left to tell.
fn write_report(report: &Report) {
    let Ok(mut line) = serde_json::to_vec(report) else {
        return;
    };
    line.push(b'\n');
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(&line);
    let _ = stdout.flush();
}

/// Called by the panic hook.
pub(crate) fn report_panic(message: String) {
    write_report(&Report::Panicked { message });
}

/// The worker's `main`.
pub fn main() -> ExitCode {
    abort_on_panic(PanicReport::Supervisor);
    init_logging();
    let answer = run();
    write_report(&Report::Answer(answer));
    ExitCode::SUCCESS
}

fn run() -> Answer {
    let fault = match Fault::from_env() {
        Ok(fault) => fault,
        Err(err) => return Answer::failed(None, err.to_string()),
    };
    let mut input = Vec::new();
    if let Err(err) = std::io::stdin()
        .take(MAX_ORDER_BYTES)
        .read_to_end(&mut input)
    {
        return Answer::failed(
            None,
            format!("the worker could not read its work order: {err}"),
        );
    }
    let order: WorkOrder = match serde_json::from_slice(&input) {
        Ok(order) => order,
        Err(err) => {
            return Answer::failed(None, format!("the worker's work order is invalid: {err}"));
        }
    };
    // One thread: the worker does one request, and a blocked thread (the hang fault) blocks
    // everything, as the test intends.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            return Answer::failed(None, format!("the worker could not start tokio: {err}"));
        }
    };
    runtime.block_on(async {
        let work_until = instant_at(UNIX_EPOCH + Duration::from_millis(order.work_until_unix_ms));
        let config = telemetry_aws::startup::sdk_config().await;
        let mappings = LambdaMappings::new(aws_sdk_lambda::Client::new(&config));
        let on_created = move |uuid: &str| {
            write_report(&Report::Created {
                uuid: uuid.to_owned(),
            });
            inject(fault, uuid);
        };
        provider::handle(&mappings, &order.request, work_until, &on_created).await
    })
}

fn inject(fault: Option<Fault>, uuid: &str) {
    match fault {
        None => {}
        Some(Fault::PanicAfterCreate) => {
            panic!("forced panic after creating mapping {uuid} ({FAULT_ENV}=panic-after-create)")
        }
        Some(Fault::HangAfterCreate) => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
    }
}

/// The tokio instant at wall-clock time `at` (now, if it has passed).
pub fn instant_at(at: SystemTime) -> tokio::time::Instant {
    let left = at.duration_since(SystemTime::now()).unwrap_or_default();
    tokio::time::Instant::now() + left
}

/// The shared JSON log format, on standard error: standard output carries the reports.
fn init_logging() {
    telemetry_aws::startup::init_logging_to(std::io::stderr);
}
