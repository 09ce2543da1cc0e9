//! checkov's skip list, written into a resource's `Metadata`.
//!
//! Every skip carries the reason a reviewer reads; a check is skipped only where the finding
//! does not apply to this stack or costs more than it protects, never to silence a fixable one.

use cfn_model::ResourceOptions;
use serde_json::json;

/// A checkov check not applied to one resource, and why.
#[derive(Debug, Clone, Copy)]
pub struct Skip {
    /// The check's id, such as `CKV_AWS_117`.
    pub id: &'static str,
    /// Why it does not apply.
    pub comment: &'static str,
}

/// `options` with `Metadata.checkov.skip` listing `skips`.
pub fn with_skips(options: ResourceOptions, skips: &[Skip]) -> ResourceOptions {
    let list: Vec<_> = skips
        .iter()
        .map(|skip| json!({"id": skip.id, "comment": skip.comment}))
        .collect();
    options.metadata("checkov", json!({ "skip": list }))
}
