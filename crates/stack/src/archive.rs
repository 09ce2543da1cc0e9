//! The S3 bucket every batch of the stream is archived to.

use cfn_model::resources::custom::CustomResource;
use cfn_model::resources::s3::{
    Bucket, BucketEncryption, BucketPolicy, LifecycleConfiguration, LifecycleRule,
    OwnershipControls, PublicAccessBlockConfiguration, VersioningConfiguration,
};
use cfn_model::{
    DeletionPolicy, Expr, Handle, PolicyDocument, Principal, ResourceOptions, Statement,
    TemplateBuilder,
};
use custom_resources::bucket_emptier::{self, Properties as EmptierProperties};

use crate::checkov::{self, Skip};
use crate::names::Names;
use crate::provider::Provider;

/// The archive bucket and the rights its users need.
#[derive(Debug)]
pub struct Archive {
    /// The bucket.
    pub bucket: Handle<Bucket>,
    /// Its policy.
    pub policy: Handle<BucketPolicy>,
}

/// Logical id of the emptier.
pub const EMPTIER_LOGICAL_ID: &str = "IoTArchiveBucketEmptier";

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
                // Said explicitly: the emptier empties the bucket and it goes with the stack.
                checkov::with_skips(
                    ResourceOptions::default()
                        .deletion_policy(DeletionPolicy::Delete)
                        .update_replace_policy(DeletionPolicy::Delete),
                    SKIPS,
                ),
            );
        let policy = template.resource(
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
        Self { bucket, policy }
    }

    /// Declares the bucket's emptier: on Delete, it denies new writes to the bucket and then
    /// deletes every object version and delete marker, so that CloudFormation's own deletion
    /// of the bucket, which comes after (the emptier refers to the bucket), succeeds. It
    /// depends on the policy it edits, so the policy is still there while it runs. Whatever
    /// writes to the bucket should depend on the emptier, so as to be gone before it runs.
    pub fn declare_emptier(
        &self,
        template: &mut TemplateBuilder,
        provider: &Provider,
    ) -> Handle<CustomResource<EmptierProperties<Expr>>> {
        provider.custom_resource(
            template,
            EMPTIER_LOGICAL_ID,
            bucket_emptier::RESOURCE_TYPE,
            EmptierProperties {
                bucket_name: Some(self.bucket.name().into()),
                unknown: Default::default(),
            },
            ResourceOptions::default().depends_on(&self.policy),
        )
    }

    /// What the emptier needs, on this bucket only: its policy read and rewritten (to add the
    /// statement denying writes), its versions listed, and each version deleted by its id
    /// (`s3:DeleteObjectVersion`, which DeleteObject in the Amazon S3 API Reference names for a
    /// specific version; delete markers are versions too).
    pub fn empty_on_delete(&self) -> Vec<Statement> {
        vec![
            Statement::allow(
                [
                    "s3:GetBucketPolicy",
                    "s3:PutBucketPolicy",
                    "s3:ListBucketVersions",
                ],
                [self.bucket.arn()],
            )
            .sid("EmptyArchiveBucket"),
            Statement::allow(["s3:DeleteObjectVersion"], [self.bucket.objects_arn()])
                .sid("DeleteArchiveVersions"),
        ]
    }

    /// What the archiver needs: writing objects, nothing else (it never reads or lists).
    pub fn write_objects(&self) -> Statement {
        Statement::allow(["s3:PutObject"], [self.bucket.objects_arn()]).sid("WriteArchive")
    }
}
