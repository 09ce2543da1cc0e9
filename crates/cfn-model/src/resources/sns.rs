//! `AWS::SNS::Topic`.

use serde::Serialize;

use crate::expr::Expr;
use crate::resources::fixed_type;
use crate::template::Handle;

/// An SNS topic.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Topic {
    /// `TopicName`.
    pub topic_name: Expr,
    /// `KmsMasterKeyId`: the KMS key that encrypts messages at rest.
    pub kms_master_key_id: Expr,
    /// `Subscription`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscription: Vec<Subscription>,
}

fixed_type!(Topic, "AWS::SNS::Topic");

/// A subscription declared with its topic.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Subscription {
    /// `Endpoint`: for `email`, the address.
    pub endpoint: String,
    /// `Protocol`, such as `email`.
    pub protocol: String,
}

impl Handle<Topic> {
    /// `Ref`: the topic's ARN.
    pub fn arn(&self) -> Expr {
        self.reference()
    }
}
