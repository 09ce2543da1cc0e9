//! `destroy`: the stack's own deletion, which cleans up after itself (the archive's emptier
//! and the device keys' remover run inside it, as they do for a deletion from the console or
//! the AWS CLI), then what the deployer made outside the stack: the asset bucket and the test
//! page's config.

use std::path::Path;

use anyhow::Context;

use cfn_apply::{self as apply, Blocker, EventCursor, Goal, StackState, Waits};
use iot_stack::names::Names;
use iot_stack::stack_name::StackName;

use crate::aws::Session;
use crate::progress::TerminalProgress;
use crate::testpage_config::{self, Target, TestpageConfig};

/// What destroy did, for its summary.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Destroyed {
    /// Whether there was a stack to delete.
    pub stack: bool,
    /// Whether the asset bucket existed and was deleted.
    pub asset_bucket: bool,
    /// Whether the test page's config was removed.
    pub config: bool,
}

/// Deletes the stack `stack` and what the deployer made for it.
pub async fn destroy(
    session: &Session,
    stack: &StackName,
    config_path: &Path,
    waits: &Waits,
) -> anyhow::Result<Destroyed> {
    let clients = &session.clients;
    let names = Names::new(stack);
    let mut done = Destroyed::default();

    let described = match apply::stack_state(&clients.cloudformation, stack.as_str()).await? {
        StackState::Missing => None,
        // Deleting during another operation fails, and a status this build does not know
        // may be one; the other blocked states are what destroy is for.
        StackState::Blocked(blocked)
            if matches!(
                Blocker::of(&blocked.status),
                Some(Blocker::InProgress | Blocker::Unrecognised)
            ) =>
        {
            anyhow::bail!(blocked)
        }
        _ => apply::describe_stack(&clients.cloudformation, stack.as_str()).await?,
    };

    if let Some(found) = &described {
        let stack_id = found.stack_id().unwrap_or(stack.as_str()).to_owned();
        let mut cursor = EventCursor::start(&clients.cloudformation, &stack_id).await?;
        clients
            .cloudformation
            .delete_stack()
            .stack_name(&stack_id)
            .send()
            .await
            .with_context(|| format!("failed to delete stack `{stack}`"))?;
        let mut progress = TerminalProgress::start("deleting the stack");
        apply::watch(
            &clients.cloudformation,
            stack.as_str(),
            &mut cursor,
            Goal::Delete,
            waits,
            &mut progress,
        )
        .await?;
        done.stack = true;
    } else {
        eprintln!("stack `{stack}` does not exist in {}", session.region);
    }

    let assets = names.asset_bucket(&session.account, &session.region);
    let emptied = aws_cleanup::bucket::delete_every_version(&clients.s3, &assets, None)
        .await
        .context("failed to empty the asset bucket")?;
    if let Some(removed) = emptied {
        clients
            .s3
            .delete_bucket()
            .bucket(&assets)
            .send()
            .await
            .with_context(|| format!("failed to delete the asset bucket {assets}"))?;
        eprintln!("deleted asset bucket {assets} ({removed} object version(s))");
        done.asset_bucket = true;
    }

    match TestpageConfig::read(config_path) {
        Some(config)
            if config.target == Target::Aws && config.stack.stack_name == stack.as_str() =>
        {
            testpage_config::remove(config_path)
                .with_context(|| format!("failed to remove {}", config_path.display()))?;
            done.config = true;
        }
        Some(config) => eprintln!(
            "left {} in place: it is for {:?} stack `{}`, not this one",
            config_path.display(),
            config.target,
            config.stack.stack_name
        ),
        None => {}
    }
    Ok(done)
}
