//! A stack operation followed to its end: each new event reported, the first failing
//! resource kept, and the final status checked against the operation's goal.

use std::fmt;

use anyhow::Context;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{ChangeSetType, StackStatus};
use telemetry::backoff::Backoff;
use tokio::time::{Instant, sleep};

use crate::Waits;
use crate::change_set::ChangeSet;
use crate::events::{EventCursor, Look};
use crate::progress::{ProgressSink, ResourceEvent};
use crate::state::{Blocker, StackClass, describe_stack, status_of};

/// How a stack operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The final status.
    pub status: StackStatus,
    /// The stack's status reason.
    pub status_reason: Option<String>,
    /// The first resource that failed, if any did.
    pub first_failure: Option<ResourceEvent>,
}

/// What a stack operation is for: the status it should end in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// CREATE_COMPLETE.
    Create,
    /// UPDATE_COMPLETE.
    Update,
    /// DELETE_COMPLETE.
    Delete,
}

impl Goal {
    /// The status the operation should end in.
    pub fn status(self) -> StackStatus {
        match self {
            Self::Create => StackStatus::CreateComplete,
            Self::Update => StackStatus::UpdateComplete,
            Self::Delete => StackStatus::DeleteComplete,
        }
    }
}

/// A stack operation that did not end as intended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct OperationFailed {
    /// The stack's name.
    pub stack: String,
    /// The status it should have reached.
    pub goal: StackStatus,
    /// How it ended.
    pub outcome: Outcome,
}

impl fmt::Display for OperationFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stack `{}` did not reach {}: its final status is {}",
            self.stack, self.goal, self.outcome.status
        )?;
        match (&self.outcome.first_failure, &self.outcome.status_reason) {
            (Some(event), _) => write!(
                f,
                "; the first failure was {} ({}) {}: {}",
                event.logical_id,
                event.resource_type,
                event.status,
                event.reason.as_deref().unwrap_or("no reason given")
            )?,
            (None, Some(reason)) => write!(f, "; reason: {reason}")?,
            (None, None) => {}
        }
        if let Some(blocker) = Blocker::of(&self.outcome.status) {
            write!(f, "; {}", blocker.explanation())?;
        }
        Ok(())
    }
}

/// Watches stack `stack_id` until its operation ends, reporting each new event to `sink`,
/// and fails with [`OperationFailed`] unless it ends in `goal`'s status.
pub async fn watch(
    cfn: &Client,
    stack: &str,
    cursor: &mut EventCursor,
    goal: Goal,
    waits: &Waits,
    sink: &mut dyn ProgressSink,
) -> anyhow::Result<Outcome> {
    let deadline = Instant::now() + waits.operation;
    // Looks at the usual interval; consecutive throttled looks wait twice as long each time.
    let polls = Backoff::polls(waits.poll, waits.max_poll);
    let mut throttles = 0;
    let mut first_failure: Option<ResourceEvent> = None;
    loop {
        let mut throttled = false;
        match cursor.look(cfn).await? {
            Look::Events(events) => report(events, &mut first_failure, sink),
            Look::Throttled => throttled = true,
        }
        let described = describe_stack(cfn, &cursor.stack_id).await?;
        let (status, status_reason) = match &described {
            Some(stack) => (
                status_of(stack),
                stack.stack_status_reason().map(str::to_owned),
            ),
            // Looked up by id, a deleted stack is still found; by name it is gone.
            None if goal == Goal::Delete => (StackStatus::DeleteComplete, None),
            None => anyhow::bail!("stack `{stack}` disappeared while being deployed"),
        };
        // Ended, or a status this build does not know: waiting for the latter could last
        // for ever, so it is reported as the final status.
        if !StackClass::of(&status).is_running() {
            // The last events may have been written after the look above.
            if let Ok(Look::Events(events)) = cursor.look(cfn).await {
                report(events, &mut first_failure, sink);
            }
            let outcome = Outcome {
                status: status.clone(),
                status_reason,
                first_failure,
            };
            if status == goal.status() {
                return Ok(outcome);
            }
            return Err(OperationFailed {
                stack: stack.to_owned(),
                goal: goal.status(),
                outcome,
            }
            .into());
        }
        if Instant::now() >= deadline {
            anyhow::bail!(
                "stack `{stack}` is still {} after {} minutes; it goes on in CloudFormation: \
                 watch it there, and run deploy again when it has ended",
                status.as_str(),
                waits.operation.as_secs() / 60
            );
        }
        throttles = if throttled { throttles + 1 } else { 0 };
        let interval = polls.wait(throttles);
        if throttled {
            sink.waiting(&format!(
                "{}: CloudFormation is throttling event reads; looking again in {} s",
                status.as_str(),
                interval.as_secs()
            ));
        } else {
            sink.waiting(status.as_str());
        }
        sleep(interval).await;
    }
}

/// Hands `events` to `sink`, keeping the first resource failure.
fn report(
    events: Vec<ResourceEvent>,
    first_failure: &mut Option<ResourceEvent>,
    sink: &mut dyn ProgressSink,
) {
    for event in events {
        if first_failure.is_none() && event.is_resource_failure() {
            *first_failure = Some(event.clone());
        }
        sink.event(&event);
    }
}

/// Executes `change_set` and watches the stack to the end.
pub async fn execute(
    cfn: &Client,
    stack: &str,
    change_set: &ChangeSet,
    waits: &Waits,
    sink: &mut dyn ProgressSink,
) -> anyhow::Result<Outcome> {
    let mut cursor = EventCursor::start(cfn, &change_set.stack_id).await?;
    cfn.execute_change_set()
        .change_set_name(&change_set.id)
        .send()
        .await
        .with_context(|| format!("failed to execute change set {}", change_set.id))?;
    let goal = if change_set.kind == ChangeSetType::Create {
        Goal::Create
    } else {
        Goal::Update
    };
    watch(cfn, stack, &mut cursor, goal, waits, sink).await
}
