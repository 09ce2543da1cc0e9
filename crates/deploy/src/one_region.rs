//! One stack name, one region, per account. The archive bucket's name
//! (`<stack>-eventarchive-<account>`, the original's contract) is global, and so are IAM
//! names (roles, the device user), so a stack of the same name in a second region of the
//! account would fail midway, after CloudFormation had started. Before anything else (the
//! packages' build, the first CloudFormation call), the archive bucket's region tells whether
//! the name is taken elsewhere, and the deploy or diff is refused.

use aws_sdk_s3::operation::RequestId;
use iot_stack::names::Names;
use iot_stack::stack_name::StackName;

use crate::aws::Session;

/// The name is taken in another region of the account.
#[derive(Debug, thiserror::Error)]
#[error(
    "stack `{stack}` already exists in region {region} of account {account} (its archive \
     bucket {bucket} is there); bucket and IAM names are global, so a stack name can live in \
     one region of an account: deploy to {region}, or choose another --stack-name"
)]
pub struct TakenElsewhere {
    pub stack: String,
    pub region: String,
    pub account: String,
    pub bucket: String,
}

/// Refuses `stack` when its archive bucket exists in a region other than the session's.
pub async fn check(session: &Session, stack: &StackName) -> anyhow::Result<()> {
    let bucket = Names::new(stack).archive_bucket(&session.account);
    let Some(region) = bucket_region(&session.clients.s3, &bucket).await? else {
        return Ok(());
    };
    if region == session.region {
        return Ok(());
    }
    Err(TakenElsewhere {
        stack: stack.to_string(),
        region,
        account: session.account.clone(),
        bucket,
    }
    .into())
}

/// The region of `bucket`, or `None` if there is no such bucket. HeadBucket answers a
/// request from another region with a redirect that still carries the bucket's region in
/// `x-amz-bucket-region` (HeadBucket, Amazon S3 API Reference), so one call tells, wherever
/// it is sent.
async fn bucket_region(s3: &aws_sdk_s3::Client, bucket: &str) -> anyhow::Result<Option<String>> {
    const REGION_HEADER: &str = "x-amz-bucket-region";
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(found) => Ok(found.bucket_region().map(str::to_owned)),
        Err(err) => {
            let status = err.raw_response().map(|r| r.status().as_u16());
            let region = err
                .raw_response()
                .and_then(|r| r.headers().get(REGION_HEADER))
                .map(str::to_owned);
            match (status, region) {
                (Some(404), _) => Ok(None),
                (_, Some(region)) => Ok(Some(region)),
                _ => Err(anyhow::anyhow!(
                    "failed to look for bucket {bucket} (HeadBucket{}): {}",
                    err.request_id()
                        .map(|id| format!(", request id {id}"))
                        .unwrap_or_default(),
                    aws_sdk_s3::error::DisplayErrorContext(&err)
                )),
            }
        }
    }
}
