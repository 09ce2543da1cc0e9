//! The device identity: an IAM user that can put readings and query, nothing more.

use cfn_model::resources::iam::{Policy, User};
use cfn_model::resources::lambda::Function;
use cfn_model::{Expr, Handle, PolicyDocument, ResourceOptions, Statement, TemplateBuilder};
use custom_resources::access_key_remover::{self, Properties as RemoverProperties};

use crate::checkov::{self, Skip};
use crate::names::Names;
use crate::provider::Provider;
use crate::stream::EventStream;

/// The device user.
#[derive(Debug)]
pub struct Device {
    /// The user. It has no access key in the template: the deployer creates one after the
    /// stack is up and writes it only to git-ignored local config, so no secret is ever in a
    /// stack output or event, nor in CloudFormation at all. The key remover deletes the keys
    /// when the stack goes.
    pub user: Handle<User>,
}

/// Logical id of the key remover.
pub const KEY_REMOVER_LOGICAL_ID: &str = "IoTDeviceKeyRemover";

/// Logical id of the user.
pub const USER_LOGICAL_ID: &str = "IoTDeviceUser";
/// Logical id of its policy.
pub const POLICY_LOGICAL_ID: &str = "IoTDevicePolicy";

const POLICY_SKIPS: &[Skip] = &[Skip {
    id: "CKV_AWS_40",
    comment: "There is exactly one device identity, the user this policy is written for; a \
              group holding one user adds a resource without narrowing any right.",
}];

impl Device {
    /// Declares the user `<stack>-device` and a policy allowing `DescribeStreamSummary`,
    /// `PutRecord` and `PutRecords` on the stream and `InvokeFunction` on the query API
    /// (unqualified ARN), nothing else.
    pub fn declare(
        template: &mut TemplateBuilder,
        names: &Names<'_>,
        stream: &EventStream,
        query_api: &Handle<Function>,
    ) -> Self {
        let user = template.resource(
            USER_LOGICAL_ID,
            User {
                user_name: Some(names.device_user().into()),
            },
        );
        // A policy resource rather than the user's inline `Policies`, so that the rights are
        // a separate, reviewable resource (and local CloudFormation emulators that ignore a
        // user's inline policies still attach them).
        template.resource_with(
            POLICY_LOGICAL_ID,
            Policy {
                policy_name: "device".to_owned(),
                policy_document: PolicyDocument::new([
                    stream.put(),
                    Statement::allow(["lambda:InvokeFunction"], [query_api.arn()])
                        .sid("QuerySensorHistory"),
                ]),
                roles: Vec::new(),
                users: vec![user.name()],
            },
            checkov::with_skips(ResourceOptions::default(), POLICY_SKIPS),
        );
        Self { user }
    }

    /// Declares the user's key remover: on Delete it deletes every access key of the user,
    /// so that CloudFormation's own deletion of the user, which comes after (the remover refers
    /// to the user), succeeds.
    pub fn declare_key_remover(&self, template: &mut TemplateBuilder, provider: &Provider) {
        provider.custom_resource(
            template,
            KEY_REMOVER_LOGICAL_ID,
            access_key_remover::RESOURCE_TYPE,
            RemoverProperties::<Expr> {
                user_name: Some(self.user.name().into()),
                unknown: Default::default(),
            },
            ResourceOptions::default(),
        );
    }

    /// What the key remover needs, on this user only.
    pub fn remove_keys(&self) -> Statement {
        Statement::allow(
            ["iam:ListAccessKeys", "iam:DeleteAccessKey"],
            [self.user.arn()],
        )
        .sid("RemoveDeviceKeys")
    }
}
