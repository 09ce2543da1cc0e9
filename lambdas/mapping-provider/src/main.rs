//! The event-source-mapping custom-resource provider (see the library's documentation for how
//! it always answers). Lambda starts it as the supervisor; it starts itself as a worker, with
//! `--handle-one-request`, for each request.

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use mapping_provider::panic_policy::{PanicReport, abort_on_panic};
use mapping_provider::response::Responder;
use mapping_provider::supervisor::{NotAnswered, Supervisor};
use mapping_provider::worker::{self, FAULT_ENV, Fault, WORKER_ARG};
use serde_json::{Value, json};
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};
use telemetry_aws::startup::init_logging;

/// A request that was not answered, as Lambda reports it. For an asynchronous invocation (how
/// CloudFormation invokes a provider) Lambda then retries it, a new chance to answer.
#[derive(Debug)]
struct Unanswered(NotAnswered);

impl From<Unanswered> for Diagnostic {
    fn from(Unanswered(err): Unanswered) -> Self {
        let error_type = match err {
            NotAnswered::NoResponseUrl(_) => "NotACustomResourceRequest",
            NotAnswered::Delivery(_) => "ResponseNotDelivered",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: err.to_string(),
        }
    }
}

fn main() -> ExitCode {
    if std::env::args_os()
        .nth(1)
        .is_some_and(|arg| arg == WORKER_ARG)
    {
        return worker::main();
    }
    abort_on_panic(PanicReport::Log);
    init_logging();
    // One thread is plenty: the supervisor waits on a child process and two HTTP exchanges.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(error = %err, "function cannot start: tokio");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "function stopped");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), lambda_runtime::Error> {
    // Checked here too so that a bad value stops the function at init, where it shows at once.
    if let Some(fault) = Fault::from_env()? {
        tracing::warn!(
            ?fault,
            "{FAULT_ENV} is set: the worker will fail on purpose (tests only)"
        );
    }
    let worker = std::env::current_exe()?;
    let supervisor = Supervisor::new(worker, Responder::new()?);
    let supervisor = &supervisor;
    tracing::info!(
        panic_strategy = if cfg!(panic = "abort") {
            "abort"
        } else {
            "unwind (hook aborts)"
        },
        "provider ready"
    );
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = UNIX_EPOCH + Duration::from_millis(event.context.deadline);
        let delivered = supervisor
            .answer(&event.payload, deadline)
            .await
            .map_err(|err| {
                tracing::error!(error = %err, "request not answered");
                Unanswered(err)
            })?;
        Ok::<_, Unanswered>(json!({
            "Status": delivered.status,
            "PhysicalResourceId": delivered.physical_resource_id,
            "DeliveryAttempts": delivered.attempts,
        }))
    }))
    .await
}
