//! The S3 bucket every batch of the stream is archived to.

use cfn_model::resources::s3::{
    Bucket, BucketEncryption, BucketPolicy, LifecycleConfiguration, LifecycleRule,
    OwnershipControls, PublicAccessBlockConfiguration, VersioningConfiguration,
};
use cfn_model::{
    DeletionPolicy, Expr, Handle, PolicyDocument, Principal, ResourceOptions, Statement,
    TemplateBuilder,
};

use crate::checkov::{self, Skip};
use crate::names::Names;

/// The archive bucket and the rights its users need.
#[derive(Debug)]
pub struct Archive {
    /// The bucket.
    pub bucket: Handle<Bucket>,
}

/// Logical id of the bucket.
pub const LOGICAL_ID: &str = "IoTArchiveBucket";
/// Logical id of its policy.
pub const POLICY_LOGICAL_ID: &str = "IoTArchiveBucketPolicy";

/// Noncurrent versions (left when a retried batch overwrites its own object) are kept this
/// long, then deleted: long enough to recover from a bad overwrite, short enough not to pay
/// for every retry forever.
const NONCURRENT_VERSION_DAYS: u32 = 30;

const SKIPS: &[Skip] = &[Skip {
    id: "CKV_AWS_18",
    comment: "Server access logging needs a second bucket, which would itself be flagged for \
              lacking access logs. Writes come only from the archiver's role; use CloudTrail \
              S3 data events where an access audit trail is required.",
}];

impl Archive {
    /// Declares the bucket `<stack>-eventarchive-<account>`: encrypted (SSE-S3), every public
    /// access blocked, ACLs disabled, versioned, and a policy that refuses any request not
    /// made over TLS.
    pub fn declare(template: &mut TemplateBuilder, names: &Names<'_>) -> Self {
        let bucket =
            template.resource_with(
                LOGICAL_ID,
                Bucket {
                    bucket_name: Some(Expr::sub(names.archive_bucket_sub())),
                    bucket_encryption: Some(BucketEncryption::s3_managed()),
                    public_access_block_configuration: Some(
                        PublicAccessBlockConfiguration::block_all(),
                    ),
                    ownership_controls: Some(OwnershipControls::bucket_owner_enforced()),
                    versioning_configuration: Some(VersioningConfiguration::enabled()),
                    lifecycle_configuration: Some(LifecycleConfiguration {
                        rules: vec![
                            LifecycleRule::new("ExpireOverwrittenBatches")
                                .expire_noncurrent_versions_after(NONCURRENT_VERSION_DAYS)
                                .abort_incomplete_uploads_after(1),
                        ],
                    }),
                },
                // Said explicitly: `destroy` empties the bucket and removes it with the stack.
                checkov::with_skips(
                    ResourceOptions::default()
                        .deletion_policy(DeletionPolicy::Delete)
                        .update_replace_policy(DeletionPolicy::Delete),
                    SKIPS,
                ),
            );
        template.resource(
            POLICY_LOGICAL_ID,
            BucketPolicy {
                bucket: bucket.name(),
                policy_document: PolicyDocument::new([Statement::deny(
                    ["s3:*"],
                    [bucket.arn(), bucket.objects_arn()],
                )
                .sid("DenyInsecureTransport")
                .principal(Principal::Everyone)
                .condition("Bool", "aws:SecureTransport", ["false".into()])]),
            },
        );
        Self { bucket }
    }

    /// What the archiver needs: writing objects, nothing else (it never reads or lists).
    pub fn write_objects(&self) -> Statement {
        Statement::allow(["s3:PutObject"], [self.bucket.objects_arn()]).sid("WriteArchive")
    }
}
