//! A bucket emptied of every object version and delete marker, after new writes are denied.
//!
//! S3 deletes a bucket only when it holds no object, no version and no delete marker
//! ("Deleting a bucket", Amazon S3 User Guide). Listing versions (ListObjectVersions, up to
//! 1,000 a page) and deleting each page with one DeleteObjects call (at most 1,000 keys)
//! empties it. A writer still running would refill it behind the listing, so the caller first
//! adds a bucket-policy statement that denies `s3:PutObject` to everyone: an explicit deny
//! wins over any allow ("Policy evaluation logic", IAM User Guide).

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use serde_json::{Value, json};
use std::future::Future;
use tokio::time::Instant;

use crate::describe;

/// Why a bucket could not be emptied.
#[derive(Debug, thiserror::Error)]
pub enum BucketError {
    #[error("{operation} on bucket {bucket} failed: {message}")]
    Call {
        operation: &'static str,
        bucket: String,
        message: String,
    },
    #[error("the policy of bucket {bucket} is not a policy document this can extend: {reason}")]
    Policy { bucket: String, reason: String },
    #[error("could not delete {key} of bucket {bucket}: {message}")]
    NotDeleted {
        bucket: String,
        key: String,
        message: String,
    },
    #[error(
        "bucket {bucket} is not empty yet: {removed} object versions were deleted in the time \
         there was; deleting again carries on from there"
    )]
    OutOfTime { bucket: String, removed: usize },
}

/// Adds the statement `sid` to the bucket's policy: `s3:PutObject` denied to every principal
/// on every key. The policy's other statements stay. Does nothing if the statement is already
/// there (a retried request). `false` if there is no such bucket.
pub async fn deny_writes(
    s3: &Client,
    bucket: &str,
    partition: &str,
    sid: &str,
) -> Result<bool, BucketError> {
    let mut policy = match s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(found) => parse_policy(bucket, found.policy().unwrap_or_default())?,
        Err(err) => match err.code() {
            Some("NoSuchBucket") => return Ok(false),
            Some("NoSuchBucketPolicy") => json!({"Version": "2012-10-17", "Statement": []}),
            _ => return Err(failed("GetBucketPolicy", bucket, describe(&err))),
        },
    };
    let Some(statements) = policy["Statement"].as_array_mut() else {
        return Err(BucketError::Policy {
            bucket: bucket.to_owned(),
            reason: "its Statement is not a list".to_owned(),
        });
    };
    if statements.iter().any(|statement| statement["Sid"] == sid) {
        return Ok(true);
    }
    statements.push(json!({
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": format!("arn:{partition}:s3:::{bucket}/*"),
    }));
    match s3
        .put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(err) if err.code() == Some("NoSuchBucket") => Ok(false),
        Err(err) => Err(failed("PutBucketPolicy", bucket, describe(&err))),
    }
}

/// A policy document, with a single statement (allowed by the grammar) read as a list of one.
fn parse_policy(bucket: &str, text: &str) -> Result<Value, BucketError> {
    let refused = |reason: String| BucketError::Policy {
        bucket: bucket.to_owned(),
        reason,
    };
    let mut policy: Value = serde_json::from_str(text).map_err(|err| refused(err.to_string()))?;
    if !policy.is_object() {
        return Err(refused("it is not a JSON object".to_owned()));
    }
    policy["Statement"] = match policy["Statement"].take() {
        Value::Array(statements) => Value::Array(statements),
        statement @ Value::Object(_) => json!([statement]),
        _ => return Err(refused("it has no Statement".to_owned())),
    };
    Ok(policy)
}

/// Deletes every object version and delete marker of `bucket`, a listing page at a time;
/// returns how many, or `None` if there is no such bucket. With `until`, no call starts or
/// runs past it: what is left then is [`BucketError::OutOfTime`].
pub async fn delete_every_version(
    s3: &Client,
    bucket: &str,
    until: Option<Instant>,
) -> Result<Option<usize>, BucketError> {
    let mut removed = 0;
    let out_of_time = |removed| BucketError::OutOfTime {
        bucket: bucket.to_owned(),
        removed,
    };
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    loop {
        let listing = s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send();
        let page = match bounded(until, listing)
            .await
            .ok_or_else(|| out_of_time(removed))?
        {
            Ok(page) => page,
            Err(err) if err.code() == Some("NoSuchBucket") => return Ok(None),
            Err(err) => return Err(failed("ListObjectVersions", bucket, describe(&err))),
        };
        let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
        let markers = page
            .delete_markers()
            .iter()
            .map(|m| (m.key(), m.version_id()));
        let identifiers: Vec<ObjectIdentifier> = versions
            .chain(markers)
            .filter_map(|(key, version)| {
                ObjectIdentifier::builder()
                    .key(key?)
                    .set_version_id(version.map(str::to_owned))
                    .build()
                    .ok()
            })
            .collect();
        if !identifiers.is_empty() {
            let count = identifiers.len();
            let delete = Delete::builder()
                .set_objects(Some(identifiers))
                .quiet(true)
                .build()
                .map_err(|err| failed("DeleteObjects", bucket, err.to_string()))?;
            let deleting = s3.delete_objects().bucket(bucket).delete(delete).send();
            let deleted = bounded(until, deleting)
                .await
                .ok_or_else(|| out_of_time(removed))?
                .map_err(|err| failed("DeleteObjects", bucket, describe(&err)))?;
            // Quiet mode lists only the keys that failed.
            if let Some(error) = deleted.errors().first() {
                return Err(BucketError::NotDeleted {
                    bucket: bucket.to_owned(),
                    key: error.key().unwrap_or("an object").to_owned(),
                    message: format!(
                        "{}: {}",
                        error.code().unwrap_or("no code"),
                        error.message().unwrap_or("no message")
                    ),
                });
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

/// `call`'s result, or `None` if `until` comes first.
async fn bounded<T>(until: Option<Instant>, call: impl Future<Output = T>) -> Option<T> {
    match until {
        Some(until) => tokio::time::timeout_at(until, call).await.ok(),
        None => Some(call.await),
    }
}

fn failed(operation: &'static str, bucket: &str, message: String) -> BucketError {
    BucketError::Call {
        operation,
        bucket: bucket.to_owned(),
        message,
    }
}
