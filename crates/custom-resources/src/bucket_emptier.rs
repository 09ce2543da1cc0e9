//! `Custom::BucketEmptier`: when this resource is deleted, its bucket is emptied (every object
//! version and delete marker), after a bucket-policy statement has denied new writes.
//! CloudFormation cannot delete a bucket that holds anything ("Deleting a bucket", Amazon S3
//! User Guide), so a stack whose archive was ever written to could not be deleted without it.
//!
//! The bucket's construct declares the emptier with the bucket, so that the two leave a
//! template together: an emptier removed while its bucket stays would empty a live bucket.

use crate::field::Field;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The resource type, as a template names it.
pub const RESOURCE_TYPE: &str = "Custom::BucketEmptier";

/// The `Sid` of the statement that denies writes while the bucket is emptied.
pub const DENY_WRITES_SID: &str = "DenyWritesWhileEmptying";

/// The resource's properties; see [`crate::event_source_mapping::Properties`] for `Text`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "PascalCase",
    bound(deserialize = "Text: serde::de::DeserializeOwned")
)]
pub struct Properties<Text> {
    /// The bucket to empty on Delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_name: Option<Field<Text>>,
    /// Whatever else a request held: not a property of this resource.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown: BTreeMap<String, Value>,
}
