//! An IAM user's access keys, deleted. IAM refuses DeleteUser while the user has access keys
//! (DeleteUser, IAM API Reference), and a user has at most two (IAM and AWS STS quotas, IAM
//! User Guide), so one listing finds them all.

use aws_sdk_iam::Client;
use aws_sdk_iam::error::ProvideErrorMetadata;

use crate::describe;

/// Why the keys could not all be deleted.
#[derive(Debug, thiserror::Error)]
#[error("{operation} for IAM user {user} failed: {message}")]
pub struct KeysError {
    pub operation: &'static str,
    pub user: String,
    pub message: String,
}

/// Deletes every access key of `user` except `keep`; returns how many were deleted. A user
/// that does not exist has none, and a key deleted meanwhile by someone else counts as gone.
pub async fn delete_all_except(
    iam: &Client,
    user: &str,
    keep: Option<&str>,
) -> Result<usize, KeysError> {
    let failed = |operation, message| KeysError {
        operation,
        user: user.to_owned(),
        message,
    };
    let listed = match iam.list_access_keys().user_name(user).send().await {
        Ok(listed) => listed,
        Err(err) if err.code() == Some("NoSuchEntity") => return Ok(0),
        Err(err) => return Err(failed("ListAccessKeys", describe(&err))),
    };
    let mut deleted = 0;
    let doomed = listed
        .access_key_metadata()
        .iter()
        .filter_map(|key| key.access_key_id())
        .filter(|id| Some(*id) != keep);
    for id in doomed {
        match iam
            .delete_access_key()
            .user_name(user)
            .access_key_id(id)
            .send()
            .await
        {
            Ok(_) => deleted += 1,
            Err(err) if err.code() == Some("NoSuchEntity") => {}
            Err(err) => {
                return Err(failed(
                    "DeleteAccessKey",
                    format!("{id}: {}", describe(&err)),
                ));
            }
        }
    }
    Ok(deleted)
}
