//! The guarantee that CloudFormation gets an answer to every request, whatever the handler
//! does: returns, fails, panics or hangs.
//!
//! The provider is built to unwind (`[profile.release] panic = "unwind"` in the workspace
//! manifest, which cargo-lambda then keeps instead of its default `abort`), so a panic can be
//! caught. Each request's handler runs on a thread of its own, with its own tokio runtime and
//! SDK client, under `catch_unwind`; the guard waits for it on the main runtime, bounded by the
//! request's [`Budget`]:
//! - an answer in time is delivered as it is;
//! - a panic becomes FAILED with the panic's message;
//! - a handler still running when the budget's waiting ends (blocked, or in a loop) is left
//!   behind on its thread, and FAILED is delivered for it. Its thread cannot be stopped from
//!   outside; it holds no lock the guard needs, and the next request gets a new thread.
//!
//! A resource the handler had already created (it reports each one as soon as it exists) is
//! named in the FAILED answer, and on Create becomes the physical id, so CloudFormation's
//! rollback deletes it.
//!
//! What no process can catch: a stack overflow or an abort ends the process. Lambda then
//! reports the invocation as failed and, for CloudFormation's asynchronous invocation, runs it
//! again (twice); the request is answered by a retry or, in the end, by CloudFormation's own
//! timeout.

use crate::answer::Answer;
use crate::fault::Fault;
use crate::resources;
use crate::resources::event_source_mapping::lambda_api::LambdaMappings;
use crate::response::{DeliveryError, Envelope, NoResponseUrl, Responder, response_body};
use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponseStatus as Status;
use serde_json::Value;
use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

/// The least and most time kept for delivering the answer (a fifth of the invocation's time
/// in between): S3 takes milliseconds, the rest is room for retries.
const ANSWER_RESERVE_MIN: Duration = Duration::from_secs(1);
const ANSWER_RESERVE_MAX: Duration = Duration::from_secs(10);
/// Between the handler's own deadline and the moment the guard stops waiting for it: time to
/// finish the answer it is making.
const HANDLER_GRACE: Duration = Duration::from_millis(500);
/// Deliveries stop this long before the invocation's deadline, when Lambda freezes the process.
const DELIVERY_MARGIN: Duration = Duration::from_millis(100);

/// How one invocation's time is spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The handler's answer must be ready by then.
    pub work_until: SystemTime,
    /// The guard stops waiting for the handler then, and answers for it.
    pub stop_waiting_at: SystemTime,
    /// The last moment to try delivering.
    pub deliver_until: SystemTime,
}

impl Budget {
    pub fn new(now: SystemTime, deadline: SystemTime) -> Self {
        let remaining = deadline.duration_since(now).unwrap_or_default();
        let reserve = (remaining / 5).clamp(ANSWER_RESERVE_MIN, ANSWER_RESERVE_MAX);
        Self {
            work_until: now + remaining.saturating_sub(reserve + HANDLER_GRACE),
            stop_waiting_at: now + remaining.saturating_sub(reserve),
            deliver_until: now + remaining.saturating_sub(DELIVERY_MARGIN),
        }
    }
}

/// The handler thread's stack: a process's main thread gets this much, a spawned one 2 MiB.
const HANDLER_STACK_BYTES: usize = 8 * 1024 * 1024;

/// A delivered answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivered {
    pub status: Status,
    pub physical_resource_id: String,
    pub attempts: u32,
}

/// The request could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum NotAnswered {
    #[error(transparent)]
    NoResponseUrl(#[from] NoResponseUrl),
    #[error("the answer to CloudFormation was not delivered: {0}")]
    Delivery(#[from] DeliveryError),
}

/// Runs each request's handler under the guard and delivers the answer.
#[derive(Debug)]
pub struct Guard {
    responder: Responder,
    fault: Option<Fault>,
}

/// The resource the handler created last, as soon as it exists.
type Created = Arc<Mutex<Option<String>>>;

impl Guard {
    /// `fault` is the test fault the handlers inject ([`Fault::from_env`]).
    pub fn new(responder: Responder, fault: Option<Fault>) -> Self {
        Self { responder, fault }
    }

    /// Handles one invocation: always delivers an answer unless there is nowhere to send it.
    pub async fn answer(
        &self,
        payload: &Value,
        deadline: SystemTime,
    ) -> Result<Delivered, NotAnswered> {
        let envelope = Envelope::from_payload(payload)?;
        let budget = Budget::new(SystemTime::now(), deadline);
        tracing::info!(
            request_type = %envelope.request_type,
            logical_resource_id = %envelope.logical_resource_id,
            physical_resource_id = envelope.physical_resource_id.as_deref().unwrap_or(""),
            request_id = %envelope.request_id,
            "request received"
        );
        let answer = if budget.work_until > SystemTime::now() {
            self.run_guarded(payload, &envelope, budget).await
        } else {
            let left = deadline
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            Answer::failed(
                None,
                format!(
                    "the invocation had {} ms left, too little to do the work and answer; \
                     give the provider function a longer timeout",
                    left.as_millis()
                ),
            )
        };
        let body = response_body(&envelope, &answer);
        let physical_resource_id = answer
            .physical_resource_id
            .clone()
            .unwrap_or_else(|| envelope.fallback_physical_id());
        tracing::info!(
            status = ?answer.status,
            reason = answer.reason.as_deref().unwrap_or(""),
            physical_resource_id = %physical_resource_id,
            response_host = %envelope.response_host(),
            "answering CloudFormation"
        );
        let attempts = self
            .responder
            .deliver(
                &envelope.response_url,
                body,
                instant_at(budget.deliver_until),
            )
            .await?;
        tracing::info!(attempts, "answer delivered");
        Ok(Delivered {
            status: answer.status,
            physical_resource_id,
            attempts,
        })
    }

    async fn run_guarded(&self, payload: &Value, envelope: &Envelope, budget: Budget) -> Answer {
        let work_ms = budget
            .work_until
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .as_millis();
        let created = Created::default();
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let request = payload.clone();
        let (fault, reported) = (self.fault, Arc::clone(&created));
        let spawned = std::thread::Builder::new()
            .name("request".into())
            .stack_size(HANDLER_STACK_BYTES)
            .spawn(move || {
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    handle_on_this_thread(&request, budget.work_until, &reported, fault)
                }));
                let _ = sender.send(outcome.map_err(|payload| panic_message(&*payload)));
            });
        if let Err(err) = spawned {
            return Answer::failed(None, format!("could not start the request's thread: {err}"));
        }
        let reason =
            match tokio::time::timeout_at(instant_at(budget.stop_waiting_at), receiver).await {
                Ok(Ok(Ok(answer))) => return answer,
                Ok(Ok(Err(message))) => format!("the provider panicked: {message}"),
                Ok(Err(_dropped)) => "the provider's handler ended without an answer".to_owned(),
                Err(_elapsed) => format!(
                    "the provider did not answer within the {work_ms} ms this request had for its \
                 work; its handler was left behind"
                ),
            };
        tracing::error!(reason = %reason, "answering for the handler");
        let created = created
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        answer_for_failed_handler(envelope, created, reason)
    }
}

/// The handler's thread: its own runtime and SDK client (a client's connections belong to
/// the runtime that opened them, and this one ends with the request).
fn handle_on_this_thread(
    request: &Value,
    work_until: SystemTime,
    created: &Created,
    fault: Option<Fault>,
) -> Answer {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return Answer::failed(None, format!("could not start tokio: {err}")),
    };
    runtime.block_on(async {
        let config = telemetry_aws::startup::sdk_config().await;
        let mappings = LambdaMappings::new(aws_sdk_lambda::Client::new(&config));
        let ports = resources::Ports {
            mappings: &mappings,
            s3: aws_sdk_s3::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
        };
        let on_created = |id: &str| {
            *created.lock().unwrap_or_else(PoisonError::into_inner) = Some(id.to_owned());
            Fault::inject(fault, id);
        };
        resources::handle(&ports, request, instant_at(work_until), &on_created).await
    })
}

/// A caught panic's message.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".to_owned())
}

/// FAILED, with the reason the handler could not give. A resource the handler had already
/// created is named: on Create it becomes the physical id, so that the rollback's Delete
/// removes it; on Update the resource keeps its id (CloudFormation rolls back to it) and the
/// new one is left to be deleted by hand, which the reason says.
fn answer_for_failed_handler(
    envelope: &Envelope,
    created: Option<String>,
    reason: String,
) -> Answer {
    match created {
        Some(id) if envelope.request_type == "Create" => Answer::failed(
            Some(id.clone()),
            format!(
                "{reason}; {id} had been created: it is this resource's physical id, so the \
                 rollback's Delete removes it"
            ),
        ),
        Some(id) => Answer::failed(
            None,
            format!(
                "{reason}; {id} had been created as a replacement and is not part of the \
                 stack: delete it"
            ),
        ),
        None => Answer::failed(None, reason),
    }
}

/// The tokio instant at wall-clock time `at` (now, if it has passed).
pub fn instant_at(at: SystemTime) -> tokio::time::Instant {
    let left = at.duration_since(SystemTime::now()).unwrap_or_default();
    tokio::time::Instant::now() + left
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn a_fifth_of_the_time_is_kept_for_answering_within_bounds() {
        let now = at(1_000_000);
        let six = Budget::new(now, now + Duration::from_secs(6));
        assert_eq!(six.stop_waiting_at, now + Duration::from_millis(4_800));
        assert_eq!(six.work_until, now + Duration::from_millis(4_300));
        assert_eq!(six.deliver_until, now + Duration::from_millis(5_900));

        let fifteen_minutes = Budget::new(now, now + Duration::from_secs(900));
        assert_eq!(
            fifteen_minutes.stop_waiting_at,
            now + Duration::from_secs(890)
        );

        let two = Budget::new(now, now + Duration::from_secs(2));
        assert_eq!(two.stop_waiting_at, now + Duration::from_secs(1));

        let gone = Budget::new(now, now - Duration::from_secs(1));
        assert_eq!(gone.work_until, now);
    }
}
