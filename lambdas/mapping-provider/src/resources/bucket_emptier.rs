//! `Custom::BucketEmptier`: Create and Update only name the bucket (its name is the physical
//! id, so a new bucket name is a new resource, and CloudFormation's Delete of the old one
//! empties the bucket being replaced). Delete denies new writes with a bucket-policy statement,
//! then deletes every object version and delete marker, within the time the request has.
//! A failed Create's Delete, and a bucket already gone, have nothing to empty.

use crate::answer::{Answer, failed_create_id};
use aws_cleanup::bucket::{self, BucketError};
use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest as Request;
use custom_resources::bucket_emptier::{DENY_WRITES_SID, Properties};
use serde_json::Value;
use tokio::time::Instant;

pub use custom_resources::bucket_emptier::RESOURCE_TYPE;

const BUCKET_NAME: &str = "BucketName";

/// What Create and Update say they set up.
const PROMISE: fn(&str) -> String =
    |name| format!("bucket {name} will be emptied when this resource is deleted");

fn bucket_name(properties: &Value) -> Result<String, String> {
    let read: Properties<String> = super::named::read(properties)?;
    super::named::required_name(
        RESOURCE_TYPE,
        BUCKET_NAME,
        read.bucket_name.as_ref(),
        &read.unknown,
    )
}

/// The partition of the stack's ARN (`arn:<partition>:cloudformation:...`), which the bucket
/// shares: buckets are named in ARNs of the stack's partition.
fn partition(stack_id: &str) -> &str {
    stack_id.split(':').nth(1).unwrap_or("aws")
}

/// Handles one request for this resource type; `work_until` as in the dispatcher.
pub async fn handle(
    s3: &aws_sdk_s3::Client,
    request: &Request<Value, Value>,
    work_until: Instant,
) -> Answer {
    match request {
        Request::Create(create) => super::named::answer(
            bucket_name(&create.resource_properties),
            failed_create_id(&create.request_id),
            PROMISE,
        ),
        Request::Update(update) => super::named::answer(
            bucket_name(&update.resource_properties),
            update.physical_resource_id.clone(),
            PROMISE,
        ),
        Request::Delete(delete) => {
            let id = &delete.physical_resource_id;
            match bucket_name(&delete.resource_properties) {
                Ok(name) if name == *id => {
                    match empty(s3, &name, partition(&delete.stack_id), work_until).await {
                        Ok(reason) => Answer::success(id.clone(), reason),
                        Err(err) => {
                            tracing::warn!(error = %err, bucket = %name, "emptying failed");
                            Answer::failed(Some(id.clone()), err.to_string())
                        }
                    }
                }
                // Left by a Create that failed: no bucket was ever this resource's.
                _ => Answer::success(
                    id.clone(),
                    format!("{id} is not a bucket; nothing to empty"),
                ),
            }
        }
        _ => Answer::failed(None, "unknown RequestType"),
    }
}

async fn empty(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    partition: &str,
    work_until: Instant,
) -> Result<String, BucketError> {
    if !bucket::deny_writes(s3, bucket, partition, DENY_WRITES_SID).await? {
        return Ok(format!("bucket {bucket} does not exist; nothing to empty"));
    }
    tracing::info!(bucket, "writes denied; deleting every object version");
    Ok(
        match bucket::delete_every_version(s3, bucket, Some(work_until)).await? {
            Some(removed) => format!(
                "bucket {bucket} emptied: writes denied, {removed} object versions and delete \
             markers deleted"
            ),
            None => format!("bucket {bucket} does not exist; nothing to empty"),
        },
    )
}
