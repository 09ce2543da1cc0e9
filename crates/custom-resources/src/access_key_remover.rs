//! `Custom::AccessKeyRemover`: when this resource is deleted, every access key of its IAM user
//! is deleted. IAM refuses to delete a user that has access keys (DeleteUser, IAM API
//! Reference), and the device user's key is made outside the template (its secret must never
//! pass through CloudFormation), so without this a stack could not be deleted once a key
//! existed.

use crate::field::Field;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The resource type, as a template names it.
pub const RESOURCE_TYPE: &str = "Custom::AccessKeyRemover";

/// The resource's properties; see [`crate::event_source_mapping::Properties`] for `Text`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "PascalCase",
    bound(deserialize = "Text: serde::de::DeserializeOwned")
)]
pub struct Properties<Text> {
    /// The user whose keys are deleted on Delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<Field<Text>>,
    /// Whatever else a request held: not a property of this resource.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown: BTreeMap<String, Value>,
}
