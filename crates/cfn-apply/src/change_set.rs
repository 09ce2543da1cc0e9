//! Change sets: created, waited for while CloudFormation computes them, described page by
//! page, and deleted when empty, so that nothing is left behind.

use std::fmt;

use anyhow::Context;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{Capability, ChangeSetStatus, ChangeSetType, Parameter};
use telemetry::backoff::Backoff;
use tokio::time::{Duration, Instant, sleep};

use crate::Waits;

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
    // CloudFormation computes most change sets in a second or two: the first look is soon.
    let polls = Backoff::polls(waits.poll.min(Duration::from_secs(1)), waits.max_poll);
    let mut attempt = 0;
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
                sleep(polls.wait(attempt)).await;
                attempt += 1;
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
