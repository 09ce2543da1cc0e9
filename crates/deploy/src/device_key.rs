//! The device's access key: created with IAM after the stack is up, only when no valid one is
//! configured, and written only to the test page's config (git-ignored, mode 0600). The
//! secret is never printed or logged: it goes from IAM's answer straight into that file. The
//! stack's key remover deletes the user's keys when the stack is deleted; `rotate-key`
//! replaces the key with no moment where the config holds a key IAM refuses.

use std::path::Path;

use anyhow::Context;
use aws_sdk_iam::types::StatusType;

use crate::testpage_config::{StackAddress, Target, TestpageConfig, device_key};

/// What was done about the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOutcome {
    /// The configured key is still listed for the user; kept.
    Kept {
        /// Its id.
        access_key_id: String,
    },
    /// A new key was created (older keys of the user, whose secrets no config holds, were
    /// deleted first).
    Created {
        /// Its id.
        access_key_id: String,
        /// How many older keys were deleted.
        deleted: usize,
    },
}

/// Makes sure `config_path` holds a key of `user` that IAM still lists, creating one if not.
pub async fn ensure(
    iam: &aws_sdk_iam::Client,
    user: &str,
    stack: &StackAddress,
    config_path: &Path,
) -> anyhow::Result<KeyOutcome> {
    let listed = iam
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .with_context(|| format!("failed to list the access keys of IAM user {user}"))?;
    let active: Vec<String> = listed
        .access_key_metadata()
        .iter()
        .filter(|k| k.status() != Some(&StatusType::Inactive))
        .filter_map(|k| k.access_key_id().map(str::to_owned))
        .collect();

    let configured = TestpageConfig::read(config_path).filter(|c| {
        c.target == Target::Aws
            && c.stack.stack_name == stack.stack_name
            && c.stack.region == stack.region
            && active.iter().any(|id| id == c.key.access_key_id())
    });
    if let Some(existing) = configured {
        let wanted = page_config(
            stack,
            existing.key.access_key_id().to_owned(),
            existing.key.secret_access_key().to_owned(),
        );
        if wanted != existing {
            write(&wanted, config_path)?;
        }
        return Ok(KeyOutcome::Kept {
            access_key_id: existing.key.access_key_id().to_owned(),
        });
    }

    // The only copy of a key's secret is the config this deployer writes; a key of this user
    // not in it cannot be used by anyone, and IAM allows two keys per user.
    let deleted = aws_cleanup::access_keys::delete_all_except(iam, user, None).await?;
    let access_key_id = create_and_write(iam, user, stack, config_path).await?;
    Ok(KeyOutcome::Created {
        access_key_id,
        deleted,
    })
}

/// What `rotate-key` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    /// The new key's id, now in the config.
    pub access_key_id: String,
    /// How many older keys were deleted once the new one was written.
    pub deleted: usize,
}

/// Replaces the device key: a new key is created and written to the config, and only then
/// are the older keys deleted, so a device reading the config never holds a refused key.
/// IAM allows two keys per user (IAM and AWS STS quotas, IAM User Guide): keys other than
/// the configured one, whose secrets nobody holds, are deleted first to make room.
pub async fn rotate(
    iam: &aws_sdk_iam::Client,
    user: &str,
    stack: &StackAddress,
    config_path: &Path,
) -> anyhow::Result<Rotated> {
    let configured = TestpageConfig::read(config_path)
        .filter(|c| {
            c.target == Target::Aws
                && c.stack.stack_name == stack.stack_name
                && c.stack.region == stack.region
        })
        .map(|c| c.key.access_key_id().to_owned());
    let stale =
        aws_cleanup::access_keys::delete_all_except(iam, user, configured.as_deref()).await?;
    let access_key_id = create_and_write(iam, user, stack, config_path).await?;
    let replaced =
        aws_cleanup::access_keys::delete_all_except(iam, user, Some(&access_key_id)).await?;
    Ok(Rotated {
        access_key_id,
        deleted: stale + replaced,
    })
}

/// Creates a key for `user` and writes it to the config; returns its id.
async fn create_and_write(
    iam: &aws_sdk_iam::Client,
    user: &str,
    stack: &StackAddress,
    config_path: &Path,
) -> anyhow::Result<String> {
    let created = iam
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .with_context(|| format!("failed to create an access key for IAM user {user}"))?;
    let key = created
        .access_key()
        .context("IAM CreateAccessKey returned no key")?;
    let access_key_id = key.access_key_id().to_owned();
    let config = page_config(
        stack,
        access_key_id.clone(),
        key.secret_access_key().to_owned(),
    );
    write(&config, config_path)?;
    Ok(access_key_id)
}

fn page_config(stack: &StackAddress, access_key_id: String, secret: String) -> TestpageConfig {
    TestpageConfig {
        target: Target::Aws,
        stack: stack.clone(),
        key: device_key(&access_key_id, &secret),
    }
}

fn write(config: &TestpageConfig, path: &Path) -> anyhow::Result<()> {
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("failed to create {}", folder.display()))?;
    }
    config
        .write(path)
        .with_context(|| format!("failed to write {}", path.display()))
}
