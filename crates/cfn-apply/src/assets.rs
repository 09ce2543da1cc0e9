//! The asset bucket: created encrypted and private, and given each asset not yet in it. An
//! asset's key is content-addressed ([`content_key`]): a changed asset gets a new key, so the
//! template parameter naming it changes and CloudFormation updates what uses it, and an
//! unchanged one is never sent again.

use std::path::Path;

use anyhow::Context;
use sha2::{Digest, Sha256};

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::head_bucket::HeadBucketError;
use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};

/// A file to upload under a content-addressed key.
pub trait Asset {
    /// Its S3 key, from [`content_key`].
    fn key(&self) -> String;
    /// The bytes to upload: those the key was computed from.
    fn bytes(&self) -> &[u8];
    /// The file it was read from, for messages.
    fn file(&self) -> &Path;
    /// Its media type, such as `application/zip`.
    fn content_type(&self) -> &str;
}

/// SHA-256 of `bytes`, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The content-addressed key `<prefix>/<sha256 hex>.<extension>`.
pub fn content_key(prefix: &str, sha256_hex: &str, extension: &str) -> String {
    format!("{prefix}/{sha256_hex}.{extension}")
}

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

/// How many assets were sent and how many were already there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Uploads {
    /// Sent now.
    pub uploaded: usize,
    /// Already in the bucket under their key.
    pub skipped: usize,
}

/// Uploads each asset whose key is not in the bucket yet.
pub async fn upload_missing<A: Asset>(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    assets: &[A],
) -> anyhow::Result<Uploads> {
    let mut uploads = Uploads::default();
    for asset in assets {
        let key = asset.key();
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
            .body(ByteStream::from(asset.bytes().to_vec()))
            .content_type(asset.content_type())
            .server_side_encryption(ServerSideEncryption::Aes256)
            .send()
            .await
            .with_context(|| {
                format!(
                    "failed to upload {} to s3://{bucket}/{key}",
                    asset.file().display()
                )
            })?;
        uploads.uploaded += 1;
    }
    Ok(uploads)
}
