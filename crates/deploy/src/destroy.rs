//! `destroy`: everything the stack and the deployer made, gone. CloudFormation cannot delete
//! a bucket that holds objects or a user that holds access keys, so those are emptied first;
//! the asset bucket is the deployer's own and is deleted after the stack.

use std::path::Path;

use anyhow::Context;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use cfn_apply::{self as apply, Blocker, EventCursor, Goal, StackState, Waits};
use iot_stack::names::Names;
use iot_stack::outputs;
use iot_stack::stack_name::StackName;

use crate::aws::Session;
use crate::progress::TerminalProgress;
use crate::testpage_config::{self, Target, TestpageConfig};

/// What destroy did, for its summary.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Destroyed {
    /// Object versions and delete markers removed from the archive bucket.
    pub archive_objects: usize,
    /// Access keys of the device user deleted.
    pub access_keys: usize,
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
        let outputs = apply::outputs(found);
        let archive = outputs
            .get(outputs::BUCKET)
            .cloned()
            .unwrap_or_else(|| names.archive_bucket(&session.account));
        let user = outputs
            .get(outputs::DEVICE_USER)
            .cloned()
            .unwrap_or_else(|| names.device_user());
        eprintln!("emptying archive bucket {archive} (every object version)");
        done.archive_objects = empty_bucket(&clients.s3, &archive).await?.unwrap_or(0);
        done.access_keys = crate::device_key::delete_all(&clients.iam, &user).await?;
        eprintln!("deleted {} access key(s) of {user}", done.access_keys);

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
    if empty_bucket(&clients.s3, &assets).await?.is_some() {
        clients
            .s3
            .delete_bucket()
            .bucket(&assets)
            .send()
            .await
            .with_context(|| format!("failed to delete the asset bucket {assets}"))?;
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

/// Deletes every object version and delete marker of `bucket`; `None` if there is no such
/// bucket.
pub async fn empty_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> anyhow::Result<Option<usize>> {
    let mut removed = 0;
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    loop {
        let page = match s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
        {
            Ok(page) => page,
            Err(error) => {
                let error = error.into_service_error();
                if error.code() == Some("NoSuchBucket") {
                    return Ok(None);
                }
                return Err(error)
                    .with_context(|| format!("failed to list the objects of {bucket}"));
            }
        };
        let versions = page
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                page.delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            );
        let identifiers: Vec<ObjectIdentifier> = versions
            .filter_map(|(key, version)| {
                ObjectIdentifier::builder()
                    .key(key?)
                    .set_version_id(version.map(str::to_owned))
                    .build()
                    .ok()
            })
            .collect();
        // A listing page holds at most 1,000 entries, DeleteObjects' limit.
        if !identifiers.is_empty() {
            let count = identifiers.len();
            let deleted = s3
                .delete_objects()
                .bucket(bucket)
                .delete(
                    Delete::builder()
                        .set_objects(Some(identifiers))
                        .quiet(true)
                        .build()
                        .context("delete request")?,
                )
                .send()
                .await
                .with_context(|| format!("failed to delete objects of {bucket}"))?;
            if let Some(error) = deleted.errors().first() {
                anyhow::bail!(
                    "failed to delete {} of {bucket}: {}",
                    error.key().unwrap_or("an object"),
                    error.message().unwrap_or("no reason given")
                );
            }
            removed += count;
        }
        if page.is_truncated() != Some(true) {
            return Ok(Some(removed));
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
    }
}
