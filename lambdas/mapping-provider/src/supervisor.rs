//! The supervisor: the bootstrap process that Lambda runs. For each request it splits the
//! invocation's time into a budget, runs a worker process on the request, turns whatever the
//! worker did (answered, panicked, died, hung) into an [`Answer`], and delivers it.
//!
//! Its own code is small and free of panicking calls: it parses the request's envelope
//! leniently, waits for a child process and makes one HTTP PUT.

use crate::provider::Answer;
use crate::response::{DeliveryError, Envelope, NoResponseUrl, Responder, response_body};
use crate::worker::{Report, WORKER_ARG, WorkOrder, instant_at};
use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponseStatus as Status;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// The least and most time kept for delivering the answer (a fifth of the invocation's time
/// in between): S3 takes milliseconds, the rest is room for retries.
const ANSWER_RESERVE_MIN: Duration = Duration::from_secs(1);
const ANSWER_RESERVE_MAX: Duration = Duration::from_secs(10);
/// Between the worker's own deadline and the moment it is stopped: time to write its answer
/// and exit.
const WORKER_GRACE: Duration = Duration::from_millis(500);
/// Deliveries stop this long before the invocation's deadline, when Lambda freezes the process.
const DELIVERY_MARGIN: Duration = Duration::from_millis(100);
/// The most report output read from a worker.
const MAX_REPORT_BYTES: u64 = 1024 * 1024;

/// How one invocation's time is spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The worker's answer must be ready by then.
    pub work_until: SystemTime,
    /// The worker is stopped then, if it is still running.
    pub stop_worker_at: SystemTime,
    /// The last moment to try delivering.
    pub deliver_until: SystemTime,
}

impl Budget {
    pub fn new(now: SystemTime, deadline: SystemTime) -> Self {
        let remaining = deadline.duration_since(now).unwrap_or_default();
        let reserve = (remaining / 5).clamp(ANSWER_RESERVE_MIN, ANSWER_RESERVE_MAX);
        Self {
            work_until: now + remaining.saturating_sub(reserve + WORKER_GRACE),
            stop_worker_at: now + remaining.saturating_sub(reserve),
            deliver_until: now + remaining.saturating_sub(DELIVERY_MARGIN),
        }
    }
}

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

/// Runs workers and answers for them.
#[derive(Debug)]
pub struct Supervisor {
    worker: PathBuf,
    responder: Responder,
}

/// What a worker reported before it ended.
#[derive(Debug, Default)]
struct Reports {
    created: Option<String>,
    answer: Option<Answer>,
    panicked: Option<String>,
}

impl Supervisor {
    /// `worker` is the binary to run as a worker: this one.
    pub fn new(worker: PathBuf, responder: Responder) -> Self {
        Self { worker, responder }
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
            self.run_worker(payload, &envelope, budget).await
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

    async fn run_worker(&self, payload: &Value, envelope: &Envelope, budget: Budget) -> Answer {
        let work_ms = budget
            .work_until
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .as_millis();
        let mut child = match Command::new(&self.worker)
            .arg(WORKER_ARG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(child) => child,
            Err(err) => {
                return Answer::failed(None, format!("could not start the worker process: {err}"));
            }
        };
        let order = WorkOrder {
            request: payload.clone(),
            work_until_unix_ms: budget
                .work_until
                .duration_since(UNIX_EPOCH)
                .map(|since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
                .unwrap_or_default(),
        };
        // Serializing a JSON value and a number cannot fail.
        let order = serde_json::to_vec(&order).unwrap_or_default();

        let mut reports = Reports::default();
        let exchange = exchange(&mut child, &order, &mut reports);
        let ended = tokio::time::timeout_at(instant_at(budget.stop_worker_at), exchange).await;
        let reason = match ended {
            Ok(Ok(status)) => {
                if let Some(answer) = reports.answer.take() {
                    return answer;
                }
                match reports.panicked.take() {
                    Some(message) => format!(
                        "the provider panicked: {message}; its worker process ended ({status})"
                    ),
                    None => {
                        format!("the provider's worker process ended without an answer ({status})")
                    }
                }
            }
            Ok(Err(err)) => {
                let _ = child.kill().await;
                format!("lost contact with the provider's worker process: {err}")
            }
            Err(_elapsed) => {
                // kill_on_drop would do it as well; killing here also reaps the process now.
                let _ = child.kill().await;
                format!(
                    "the provider's worker did not answer within the {work_ms} ms this request \
                     had for its work, and was stopped"
                )
            }
        };
        tracing::error!(reason = %reason, "answering for the worker");
        answer_for_failed_worker(envelope, reports.created.take(), reason)
    }
}

/// Gives the worker its order, collects its reports until it closes its output, and waits for
/// it to end.
async fn exchange(
    child: &mut Child,
    order: &[u8],
    reports: &mut Reports,
) -> std::io::Result<ExitStatus> {
    if let Some(mut stdin) = child.stdin.take() {
        // A worker that died before reading its order shows up below, as an exit without an
        // answer; the write error itself adds nothing.
        if let Err(err) = stdin.write_all(order).await {
            tracing::warn!(error = %err, "could not give the worker its order");
        }
        // Dropping stdin closes it: the worker reads to the end.
    }
    if let Some(stdout) = child.stdout.take() {
        let mut lines = BufReader::new(stdout.take(MAX_REPORT_BYTES)).lines();
        while let Some(line) = lines.next_line().await? {
            match serde_json::from_str::<Report>(&line) {
                Ok(Report::Created { uuid }) => reports.created = Some(uuid),
                Ok(Report::Answer(answer)) => reports.answer = Some(answer),
                Ok(Report::Panicked { message }) => reports.panicked = Some(message),
                // Something in the worker wrote to standard output: keep it in the log.
                Err(_) => tracing::info!(output = %line, "worker output"),
            }
        }
    }
    child.wait().await
}

/// FAILED, with the reason the worker could not give. A mapping the worker had already created
/// is named: on Create it becomes the physical id, so that the rollback's Delete removes it; on
/// Update the resource keeps its id (CloudFormation rolls back to it) and the new mapping is
/// left to be deleted by hand, which the reason says.
fn answer_for_failed_worker(
    envelope: &Envelope,
    created: Option<String>,
    reason: String,
) -> Answer {
    match created {
        Some(uuid) if envelope.request_type == "Create" => Answer::failed(
            Some(uuid.clone()),
            format!(
                "{reason}; mapping {uuid} had been created: it is this resource's physical id, \
                 so the rollback's Delete removes it"
            ),
        ),
        Some(uuid) => Answer::failed(
            None,
            format!(
                "{reason}; mapping {uuid} had been created as a replacement and is not part of \
                 the stack: delete it"
            ),
        ),
        None => Answer::failed(None, reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn a_fifth_of_the_time_is_kept_for_answering_within_bounds() {
        let now = at(1_000_000);
        let six = Budget::new(now, now + Duration::from_secs(6));
        assert_eq!(six.stop_worker_at, now + Duration::from_millis(4_800));
        assert_eq!(six.work_until, now + Duration::from_millis(4_300));
        assert_eq!(six.deliver_until, now + Duration::from_millis(5_900));

        let fifteen_minutes = Budget::new(now, now + Duration::from_secs(900));
        assert_eq!(
            fifteen_minutes.stop_worker_at,
            now + Duration::from_secs(890)
        );

        let two = Budget::new(now, now + Duration::from_secs(2));
        assert_eq!(two.stop_worker_at, now + Duration::from_secs(1));

        let gone = Budget::new(now, now - Duration::from_secs(1));
        assert_eq!(gone.work_until, now);
    }
}
