//! Applying a template through CloudFormation change sets: the stack's state and whether it
//! can be deployed, a change set created and described (or found empty and deleted), executed,
//! and watched to the end through the stack's events, with the first failure kept.
//!
//! Applying is idempotent: a change set without changes is "nothing to do", not an error.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use anyhow::Context;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, Stack, StackEvent, StackStatus,
};
use aws_smithy_types::date_time::Format;
use tokio::time::{Instant, sleep};

use crate::progress::{ProgressSink, ResourceEvent};

/// The bounds of every wait, and how often to look.
#[derive(Debug, Clone, Copy)]
pub struct Waits {
    /// First interval between two looks.
    pub poll: Duration,
    /// Longest interval, reached by doubling after throttling.
    pub max_poll: Duration,
    /// Longest wait for a change set to be computed.
    pub change_set: Duration,
    /// Longest wait for a stack operation (create, update, delete, rollback).
    pub operation: Duration,
}

impl Default for Waits {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(2),
            max_poll: Duration::from_secs(30),
            // CloudFormation computes a change set in seconds; minutes means something is off.
            change_set: Duration::from_secs(5 * 60),
            // The slowest resource here (the stream, or a custom resource's provider call)
            // takes minutes; CloudFormation itself gives custom resources up to an hour.
            operation: Duration::from_secs(60 * 60),
        }
    }
}

/// Where a stack stands before a deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackState {
    /// No such stack: create it.
    Missing,
    /// Made by a CREATE change set never executed (REVIEW_IN_PROGRESS): create it again.
    Reviewing {
        /// Its id.
        id: String,
    },
    /// Settled, can be updated.
    Ready {
        /// Its id.
        id: String,
        /// Its status.
        status: String,
    },
    /// In a state that no deploy can start from.
    Blocked(BlockedStack),
}

/// A stack no deploy can start from. What to do about it is the command line's to say
/// (`hints`), since only it knows how the user runs the deployer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stack `{stack}` is {status}: {explanation}")]
pub struct BlockedStack {
    /// The stack's name.
    pub stack: String,
    /// Its status.
    pub status: String,
    /// What the status means.
    pub explanation: String,
}

/// Why a stack status blocks a deploy: one classification, which the explanation here and
/// the command line's next step (`hints`) both read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocker {
    /// ROLLBACK_COMPLETE or ROLLBACK_FAILED: a failed creation, only deletable.
    RolledBack,
    /// DELETE_FAILED.
    DeleteFailed,
    /// UPDATE_ROLLBACK_FAILED.
    UpdateRollbackFailed,
    /// Any `*_IN_PROGRESS`.
    InProgress,
}

impl Blocker {
    /// What blocks a deploy from `status`, or `None` if nothing does.
    pub fn of(status: &StackStatus) -> Option<Self> {
        Some(match status {
            StackStatus::RollbackComplete | StackStatus::RollbackFailed => Self::RolledBack,
            StackStatus::DeleteFailed => Self::DeleteFailed,
            StackStatus::UpdateRollbackFailed => Self::UpdateRollbackFailed,
            other if other.as_str().ends_with("_IN_PROGRESS") => Self::InProgress,
            _ => return None,
        })
    }

    /// What the status means.
    pub fn explanation(self) -> &'static str {
        match self {
            Self::RolledBack => {
                "its creation failed and was rolled back, and a stack in this state cannot be \
                 updated, only deleted (the events of the failed creation are in the \
                 CloudFormation console until then)"
            }
            Self::DeleteFailed => "a deletion failed, and the stack is half deleted",
            Self::UpdateRollbackFailed => {
                "an update failed and so did its rollback; CloudFormation needs its rollback \
                 continued (continue-update-rollback) before anything else"
            }
            Self::InProgress => "another operation is in progress",
        }
    }
}

/// What a status that blocks a deploy means, or `None` if it does not block one.
fn explanation(status: &StackStatus) -> Option<&'static str> {
    Blocker::of(status).map(Blocker::explanation)
}

/// CloudFormation answers DescribeStacks for an unknown stack with a generic ValidationError;
/// only its message tells "does not exist" apart from a bad request.
fn is_missing_stack<E: ProvideErrorMetadata>(error: &E) -> bool {
    error.code() == Some("ValidationError")
        && error
            .message()
            .is_some_and(|m| m.contains("does not exist"))
}

/// The stack `name_or_id`, or `None` if there is none.
pub async fn describe_stack(cfn: &Client, name_or_id: &str) -> anyhow::Result<Option<Stack>> {
    match cfn.describe_stacks().stack_name(name_or_id).send().await {
        Ok(output) => Ok(output.stacks().first().cloned()),
        Err(error) => {
            let error = error.into_service_error();
            if is_missing_stack(&error) {
                Ok(None)
            } else {
                Err(error).with_context(|| format!("failed to describe stack `{name_or_id}`"))
            }
        }
    }
}

/// Where stack `name` stands.
pub async fn stack_state(cfn: &Client, name: &str) -> anyhow::Result<StackState> {
    let Some(stack) = describe_stack(cfn, name).await? else {
        return Ok(StackState::Missing);
    };
    let id = stack.stack_id().unwrap_or(name).to_owned();
    let status = stack
        .stack_status()
        .cloned()
        .unwrap_or_else(|| StackStatus::from("UNKNOWN"));
    Ok(match status {
        StackStatus::DeleteComplete => StackState::Missing,
        StackStatus::ReviewInProgress => StackState::Reviewing { id },
        ref other => match explanation(other) {
            Some(explanation) => StackState::Blocked(BlockedStack {
                stack: name.to_owned(),
                status: other.as_str().to_owned(),
                explanation: explanation.to_owned(),
            }),
            None => StackState::Ready {
                id,
                status: other.as_str().to_owned(),
            },
        },
    })
}

/// One resource's planned change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceChange {
    /// Logical id.
    pub logical_id: String,
    /// Resource type.
    pub resource_type: String,
    /// `Add`, `Modify`, `Remove`, ...
    pub action: String,
    /// For a Modify: `True`, `False` or `Conditional`.
    pub replacement: Option<String>,
}

/// A computed change set with changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSet {
    /// Its id (ARN).
    pub id: String,
    /// The stack's id.
    pub stack_id: String,
    /// CREATE or UPDATE.
    pub kind: ChangeSetType,
    /// The changes, in CloudFormation's order.
    pub changes: Vec<ResourceChange>,
}

impl fmt::Display for ChangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<8}  {:<40}  {:<34}  REPLACEMENT",
            "ACTION", "RESOURCE", "TYPE"
        )?;
        for change in &self.changes {
            writeln!(
                f,
                "{:<8}  {:<40}  {:<34}  {}",
                change.action,
                change.logical_id,
                change.resource_type,
                change.replacement.as_deref().unwrap_or("-")
            )?;
        }
        Ok(())
    }
}

/// What to create a change set of.
#[derive(Debug, Clone)]
pub struct Proposal<'a> {
    /// The stack's name.
    pub stack: &'a str,
    /// The template.
    pub template: &'a str,
    /// Its parameters.
    pub parameters: Vec<Parameter>,
    /// CREATE (no stack, or one in review) or UPDATE.
    pub kind: ChangeSetType,
}

/// The change set of `proposal`, or `None` when it holds no change (the empty change set is
/// deleted, so nothing is left behind).
pub async fn create_change_set(
    cfn: &Client,
    proposal: Proposal<'_>,
    waits: &Waits,
) -> anyhow::Result<Option<ChangeSet>> {
    let name = format!(
        "deploy-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default()
    );
    let created = cfn
        .create_change_set()
        .stack_name(proposal.stack)
        .change_set_name(&name)
        .change_set_type(proposal.kind.clone())
        .template_body(proposal.template)
        .set_parameters(Some(proposal.parameters))
        .capabilities(Capability::CapabilityNamedIam)
        .description("created by deploy")
        .send()
        .await;
    let created = match created {
        Ok(created) => created,
        // Some CloudFormation implementations refuse an empty update up front rather than
        // failing the change set.
        Err(error) if is_no_update_error(error.as_service_error()) => return Ok(None),
        Err(error) => {
            return Err(error.into_service_error()).with_context(|| {
                format!(
                    "failed to create a change set for stack `{}`",
                    proposal.stack
                )
            });
        }
    };
    let id = created
        .id()
        .context("CreateChangeSet returned no change set id")?
        .to_owned();

    let deadline = Instant::now() + waits.change_set;
    let mut interval = waits.poll.min(Duration::from_secs(1));
    let first = loop {
        let described = cfn
            .describe_change_set()
            .change_set_name(&id)
            .send()
            .await
            .with_context(|| format!("failed to describe change set {id}"))?;
        match described.status() {
            Some(ChangeSetStatus::CreateComplete) => break described,
            Some(ChangeSetStatus::Failed) => {
                let reason = described
                    .status_reason()
                    .unwrap_or("no reason given")
                    .to_owned();
                delete_change_set(cfn, &id).await?;
                if is_empty_change_set_reason(&reason) {
                    return Ok(None);
                }
                anyhow::bail!(
                    "CloudFormation could not compute the changes of stack `{}`: {reason}",
                    proposal.stack
                );
            }
            _ if Instant::now() >= deadline => anyhow::bail!(
                "change set {id} was not computed within {} s; look at it in the CloudFormation \
                 console, delete it, and try again",
                waits.change_set.as_secs()
            ),
            _ => {
                sleep(interval).await;
                interval = (interval * 2).min(waits.max_poll);
            }
        }
    };

    let stack_id = first.stack_id().unwrap_or(proposal.stack).to_owned();
    let mut changes = Vec::new();
    let mut page = first;
    loop {
        changes.extend(page.changes().iter().filter_map(|change| {
            let resource = change.resource_change()?;
            Some(ResourceChange {
                logical_id: resource.logical_resource_id().unwrap_or("?").to_owned(),
                resource_type: resource.resource_type().unwrap_or("?").to_owned(),
                action: resource
                    .action()
                    .map(|a| a.as_str().to_owned())
                    .unwrap_or_else(|| "?".to_owned()),
                replacement: resource.replacement().map(|r| r.as_str().to_owned()),
            })
        }));
        let Some(token) = page.next_token().map(str::to_owned) else {
            break;
        };
        page = cfn
            .describe_change_set()
            .change_set_name(&id)
            .next_token(token)
            .send()
            .await
            .with_context(|| format!("failed to describe change set {id}"))?;
    }
    Ok(Some(ChangeSet {
        id,
        stack_id,
        kind: proposal.kind,
        changes,
    }))
}

/// CloudFormation's reason for a change set that changes nothing. Only the text says so.
fn is_empty_change_set_reason(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

fn is_no_update_error<E: ProvideErrorMetadata>(error: Option<&E>) -> bool {
    error.is_some_and(|e| {
        e.code() == Some("ValidationError") && e.message().is_some_and(is_empty_change_set_reason)
    })
}

/// Deletes a change set.
pub async fn delete_change_set(cfn: &Client, id: &str) -> anyhow::Result<()> {
    cfn.delete_change_set()
        .change_set_name(id)
        .send()
        .await
        .with_context(|| format!("failed to delete change set {id}"))?;
    Ok(())
}

/// How a stack operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The final status.
    pub status: String,
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
    fn status(self) -> StackStatus {
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
    pub goal: String,
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
        if let Some(explanation) = explanation(&StackStatus::from(self.outcome.status.as_str())) {
            write!(f, "; {explanation}")?;
        }
        Ok(())
    }
}

/// Reads the stack's new events, newest first in pages, and hands them on oldest first.
#[derive(Debug)]
pub struct EventCursor {
    stack_id: String,
    seen: HashSet<String>,
    /// The newest event at the start: reading stops there.
    boundary: Option<String>,
}

/// What one look at the events gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Look {
    /// New events, oldest first.
    Events(Vec<ResourceEvent>),
    /// CloudFormation asked to slow down; try later.
    Throttled,
}

/// The most pages read in one look: a stack of this size makes far fewer events between two
/// looks, so more means the boundary was lost; the rest is read at the next look.
const MAX_PAGES_PER_LOOK: usize = 20;

impl EventCursor {
    /// A cursor past every event the stack has now (the ones before the operation).
    pub async fn start(cfn: &Client, stack_id: &str) -> anyhow::Result<Self> {
        let first = cfn
            .describe_stack_events()
            .stack_name(stack_id)
            .send()
            .await
            .with_context(|| format!("failed to read the events of stack {stack_id}"))?;
        Ok(Self {
            stack_id: stack_id.to_owned(),
            seen: HashSet::new(),
            boundary: first
                .stack_events()
                .first()
                .and_then(|e| e.event_id())
                .map(str::to_owned),
        })
    }

    /// A cursor that reports every event of the stack (a stack just made).
    pub fn from_beginning(stack_id: &str) -> Self {
        Self {
            stack_id: stack_id.to_owned(),
            seen: HashSet::new(),
            boundary: None,
        }
    }

    /// The events since the last look.
    pub async fn look(&mut self, cfn: &Client) -> anyhow::Result<Look> {
        let mut fresh = Vec::new();
        let mut token: Option<String> = None;
        'pages: for _ in 0..MAX_PAGES_PER_LOOK {
            let page = match cfn
                .describe_stack_events()
                .stack_name(&self.stack_id)
                .set_next_token(token.take())
                .send()
                .await
            {
                Ok(page) => page,
                Err(error) => {
                    let error = error.into_service_error();
                    if is_throttling(&error) {
                        return Ok(Look::Throttled);
                    }
                    return Err(error).with_context(|| {
                        format!("failed to read the events of stack {}", self.stack_id)
                    });
                }
            };
            for event in page.stack_events() {
                let id = event.event_id().unwrap_or_default();
                if self.boundary.as_deref() == Some(id) || self.seen.contains(id) {
                    break 'pages;
                }
                fresh.push(resource_event(event));
            }
            match page.next_token() {
                Some(next) => token = Some(next.to_owned()),
                None => break,
            }
        }
        fresh.reverse();
        fresh.retain(|event| self.seen.insert(event.id.clone()));
        Ok(Look::Events(fresh))
    }
}

fn is_throttling<E: ProvideErrorMetadata>(error: &E) -> bool {
    matches!(
        error.code(),
        Some(
            "Throttling"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "TooManyRequestsException"
        )
    )
}

fn resource_event(event: &StackEvent) -> ResourceEvent {
    ResourceEvent {
        id: event.event_id().unwrap_or_default().to_owned(),
        timestamp: event
            .timestamp()
            .and_then(|t| t.fmt(Format::DateTime).ok())
            .unwrap_or_default(),
        logical_id: event.logical_resource_id().unwrap_or_default().to_owned(),
        resource_type: event.resource_type().unwrap_or_default().to_owned(),
        status: event
            .resource_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        reason: event.resource_status_reason().map(str::to_owned),
    }
}

enum Phase {
    Running,
    Ended,
}

fn phase(status: &StackStatus) -> Phase {
    if status.as_str().ends_with("_IN_PROGRESS") {
        Phase::Running
    } else {
        Phase::Ended
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
    let mut interval = waits.poll;
    let mut first_failure: Option<ResourceEvent> = None;
    loop {
        let mut throttled = false;
        match cursor.look(cfn).await? {
            Look::Events(events) => {
                for event in events {
                    if first_failure.is_none() && event.is_resource_failure() {
                        first_failure = Some(event.clone());
                    }
                    sink.event(&event);
                }
            }
            Look::Throttled => throttled = true,
        }
        let described = describe_stack(cfn, &cursor.stack_id).await?;
        let (status, status_reason) = match &described {
            Some(stack) => (
                stack
                    .stack_status()
                    .cloned()
                    .unwrap_or_else(|| StackStatus::from("UNKNOWN")),
                stack.stack_status_reason().map(str::to_owned),
            ),
            // Looked up by id, a deleted stack is still found; by name it is gone.
            None if goal == Goal::Delete => (StackStatus::DeleteComplete, None),
            None => anyhow::bail!("stack `{stack}` disappeared while being deployed"),
        };
        if let Phase::Ended = phase(&status) {
            // The last events may have been written after the look above.
            if let Ok(Look::Events(events)) = cursor.look(cfn).await {
                for event in events {
                    if first_failure.is_none() && event.is_resource_failure() {
                        first_failure = Some(event.clone());
                    }
                    sink.event(&event);
                }
            }
            let outcome = Outcome {
                status: status.as_str().to_owned(),
                status_reason,
                first_failure,
            };
            if status == goal.status() {
                return Ok(outcome);
            }
            return Err(OperationFailed {
                stack: stack.to_owned(),
                goal: goal.status().as_str().to_owned(),
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
        if throttled {
            interval = (interval * 2).min(waits.max_poll);
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

/// The stack's outputs, by key.
pub fn outputs(stack: &Stack) -> std::collections::BTreeMap<String, String> {
    stack
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect()
}
