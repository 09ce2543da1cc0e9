//! `AWS::KMS::Key`.

use serde::Serialize;

use crate::expr::Expr;
use crate::policy::PolicyDocument;
use crate::resources::fixed_type;
use crate::template::Handle;

/// A customer managed symmetric encryption key.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Key {
    /// `Description`.
    pub description: String,
    /// `EnableKeyRotation`: a new key material every year.
    pub enable_key_rotation: bool,
    /// `KeyPolicy`.
    pub key_policy: PolicyDocument,
}

fixed_type!(Key, "AWS::KMS::Key");

impl Handle<Key> {
    /// `Fn::GetAtt Arn`.
    pub fn arn(&self) -> Expr {
        self.attribute("Arn")
    }
}
