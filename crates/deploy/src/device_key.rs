//! The device's access key: created with IAM after the stack is up, only when no valid one is
//! configured, and written only to the test page's config (git-ignored, mode 0600). The
//! secret is never printed or logged: it goes from IAM's answer straight into that file.

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
    let deleted = delete_keys(iam, user, listed.access_key_metadata()).await?;
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
    Ok(KeyOutcome::Created {
        access_key_id,
        deleted,
    })
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

/// Deletes every access key of `user`; a missing user has none.
pub async fn delete_all(iam: &aws_sdk_iam::Client, user: &str) -> anyhow::Result<usize> {
    let listed = match iam.list_access_keys().user_name(user).send().await {
        Ok(listed) => listed,
        Err(error) => {
            let error = error.into_service_error();
            if error.is_no_such_entity_exception() {
                return Ok(0);
            }
            return Err(error)
                .with_context(|| format!("failed to list the access keys of IAM user {user}"));
        }
    };
    delete_keys(iam, user, listed.access_key_metadata()).await
}

/// Deletes `keys` of `user`; returns how many.
async fn delete_keys(
    iam: &aws_sdk_iam::Client,
    user: &str,
    keys: &[aws_sdk_iam::types::AccessKeyMetadata],
) -> anyhow::Result<usize> {
    let mut deleted = 0;
    for id in keys.iter().filter_map(|key| key.access_key_id()) {
        iam.delete_access_key()
            .user_name(user)
            .access_key_id(id)
            .send()
            .await
            .with_context(|| format!("failed to delete access key {id} of {user}"))?;
        deleted += 1;
    }
    Ok(deleted)
}
