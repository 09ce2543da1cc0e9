//! The asset bucket: created encrypted and private, and given each package not yet in it.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::head_bucket::HeadBucketError;
use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};

use super::Package;

/// Whether the asset bucket existed or was made now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketState {
    /// It was there.
    Existing,
    /// It was created, encrypted and private.
    Created,
}

/// Creates the asset bucket unless it exists: default encryption (SSE-S3 with a bucket key),
/// every public access blocked.
pub async fn ensure_bucket(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    region: &str,
) -> anyhow::Result<BucketState> {
    use anyhow::Context;
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => return Ok(BucketState::Existing),
        Err(error) => match error.into_service_error() {
            HeadBucketError::NotFound(_) => {}
            other => {
                return Err(other).with_context(|| {
                    format!("failed to check the asset bucket {bucket} (another account may own the name)")
                });
            }
        },
    }
    let mut create = s3.create_bucket().bucket(bucket);
    // us-east-1 is the one region that refuses a location constraint naming itself.
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    create
        .send()
        .await
        .with_context(|| format!("failed to create the asset bucket {bucket}"))?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::Aes256)
                .build()
                .context("encryption rule")?,
        )
        .bucket_key_enabled(true)
        .build();
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .context("encryption configuration")?,
        )
        .send()
        .await
        .with_context(|| format!("failed to set default encryption on {bucket}"))?;
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .with_context(|| format!("failed to block public access to {bucket}"))?;
    Ok(BucketState::Created)
}

/// How many packages were sent and how many were already there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Uploads {
    /// Sent now.
    pub uploaded: usize,
    /// Already in the bucket under their key.
    pub skipped: usize,
}

/// Uploads each package whose key is not in the bucket yet.
pub async fn upload_missing(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    packages: &[Package],
) -> anyhow::Result<Uploads> {
    use anyhow::Context;
    let mut uploads = Uploads::default();
    for package in packages {
        let key = package.key();
        match s3.head_object().bucket(bucket).key(&key).send().await {
            Ok(_) => {
                uploads.skipped += 1;
                continue;
            }
            Err(error) => match error.into_service_error() {
                HeadObjectError::NotFound(_) => {}
                other if other.code() == Some("NotFound") => {}
                other => {
                    return Err(other)
                        .with_context(|| format!("failed to check s3://{bucket}/{key}"));
                }
            },
        }
        s3.put_object()
            .bucket(bucket)
            .key(&key)
            .body(ByteStream::from(package.bytes.clone()))
            .content_type("application/zip")
            .server_side_encryption(ServerSideEncryption::Aes256)
            .send()
            .await
            .with_context(|| {
                format!(
                    "failed to upload {} to s3://{bucket}/{key}",
                    package.zip.display()
                )
            })?;
        uploads.uploaded += 1;
    }
    Ok(uploads)
}
