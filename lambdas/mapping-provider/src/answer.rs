//! What a handler tells CloudFormation, less the fields copied from the request.

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponseStatus as Status;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A handler's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub status: Status,
    pub reason: Option<String>,
    /// `None` when the request could not even be read; the answering side then uses the
    /// request's own physical id, or [`failed_create_id`].
    pub physical_resource_id: Option<String>,
    pub data: BTreeMap<String, String>,
}

impl Answer {
    /// SUCCESS for resource `physical_resource_id`, saying what was done.
    pub fn success(physical_resource_id: String, reason: String) -> Self {
        Self {
            status: Status::Success,
            reason: Some(reason),
            physical_resource_id: Some(physical_resource_id),
            data: BTreeMap::new(),
        }
    }

    /// A FAILED answer with `reason`; `physical_resource_id` as [`Answer::physical_resource_id`].
    pub fn failed(physical_resource_id: Option<String>, reason: impl Into<String>) -> Self {
        Self {
            status: Status::Failed,
            reason: Some(reason.into()),
            physical_resource_id,
            data: BTreeMap::new(),
        }
    }
}

/// The physical id of a resource whose Create failed before anything existed. It is not a
/// UUID, so the Delete that CloudFormation sends on rollback knows there is nothing to delete.
pub fn failed_create_id(request_id: &str) -> String {
    format!("not-created-{request_id}")
}
