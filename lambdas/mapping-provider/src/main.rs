//! The custom-resource provider's bootstrap (see the library's documentation for how it always
//! answers).

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use mapping_provider::always_answers::{Guard, NotAnswered};
use mapping_provider::fault::{FAULT_ENV, Fault};
use mapping_provider::response::Responder;
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
    init_logging();
    // One thread is plenty: the guard waits on a handler thread and makes one HTTP exchange.
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
    // Read at init, so that a bad value stops the function where it shows at once.
    let fault = Fault::from_env()?;
    if let Some(fault) = fault {
        tracing::warn!(
            ?fault,
            "{FAULT_ENV} is set: the handler will fail on purpose (tests only)"
        );
    }
    let guard = Guard::new(Responder::new()?, fault);
    let guard = &guard;
    tracing::info!(
        panic_strategy = if cfg!(panic = "unwind") {
            "unwind"
        } else {
            "abort"
        },
        "provider ready"
    );
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = UNIX_EPOCH + Duration::from_millis(event.context.deadline);
        let delivered = guard
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
