//! What a stack operation reports while it runs: each resource status change as a
//! [`ResourceEvent`], and what is being waited for, through a [`ProgressSink`] the caller
//! shows its own way.

use std::fmt;

use aws_sdk_cloudformation::types::ResourceStatus;

/// One stack event: a resource (or the stack) moving to a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceEvent {
    /// The event's id.
    pub id: String,
    /// When, as CloudFormation wrote it (UTC, RFC 3339).
    pub timestamp: String,
    /// Logical id (the stack's name for stack events).
    pub logical_id: String,
    /// `AWS::S3::Bucket` and the like.
    pub resource_type: String,
    /// `CREATE_IN_PROGRESS` and the like.
    pub status: ResourceStatus,
    /// Why, when CloudFormation says.
    pub reason: Option<String>,
}

impl ResourceEvent {
    /// A failure of a resource (not of the stack as a whole). A status this build does not
    /// know counts: it is reported rather than passed over.
    pub fn is_resource_failure(&self) -> bool {
        matches!(
            ResourcePhase::of(&self.status),
            ResourcePhase::Failed | ResourcePhase::Unrecognised
        ) && self.resource_type != "AWS::CloudFormation::Stack"
    }
}

/// Where a resource's operation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourcePhase {
    /// Still running.
    InProgress,
    /// Done (or, for DELETE_SKIPPED, left in place as the template asked).
    Complete,
    /// Failed.
    Failed,
    /// A status this build does not know.
    Unrecognised,
}

impl ResourcePhase {
    /// The phase of `status`, every status CloudFormation documents named.
    pub fn of(status: &ResourceStatus) -> Self {
        match status {
            ResourceStatus::CreateInProgress
            | ResourceStatus::DeleteInProgress
            | ResourceStatus::ExportInProgress
            | ResourceStatus::ExportRollbackInProgress
            | ResourceStatus::ImportInProgress
            | ResourceStatus::ImportRollbackInProgress
            | ResourceStatus::RollbackInProgress
            | ResourceStatus::UpdateInProgress
            | ResourceStatus::UpdateRollbackInProgress => Self::InProgress,
            ResourceStatus::CreateComplete
            | ResourceStatus::DeleteComplete
            | ResourceStatus::DeleteSkipped
            | ResourceStatus::ExportComplete
            | ResourceStatus::ExportRollbackComplete
            | ResourceStatus::ImportComplete
            | ResourceStatus::ImportRollbackComplete
            | ResourceStatus::RollbackComplete
            | ResourceStatus::UpdateComplete
            | ResourceStatus::UpdateRollbackComplete => Self::Complete,
            ResourceStatus::CreateFailed
            | ResourceStatus::DeleteFailed
            | ResourceStatus::ExportFailed
            | ResourceStatus::ExportRollbackFailed
            | ResourceStatus::ImportFailed
            | ResourceStatus::ImportRollbackFailed
            | ResourceStatus::RollbackFailed
            | ResourceStatus::UpdateFailed
            | ResourceStatus::UpdateRollbackFailed => Self::Failed,
            // `ResourceStatus` is non-exhaustive: a status added after this build, or `Unknown`.
            _ => Self::Unrecognised,
        }
    }
}

impl fmt::Display for ResourceEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `2026-11-27T22:00:01.123Z` -> `22:00:01`
        let time = self
            .timestamp
            .split('T')
            .nth(1)
            .map(|t| t.get(..8).unwrap_or(t))
            .unwrap_or(&self.timestamp);
        write!(
            f,
            "{time}  {:<28}  {:<32}  {}",
            self.status.as_str(),
            self.resource_type,
            self.logical_id
        )?;
        if let Some(reason) = self.reason.as_deref().filter(|r| !r.is_empty()) {
            write!(f, "  ({reason})")?;
        }
        Ok(())
    }
}

/// Where a stack operation reports progress.
pub trait ProgressSink {
    /// A new event, in time order.
    fn event(&mut self, event: &ResourceEvent);
    /// What is being waited for now (stack status, or a pause after throttling).
    fn waiting(&mut self, message: &str);
}

/// Progress kept in memory (for callers that show it their own way, and tests).
#[derive(Debug, Default)]
pub struct RecordedProgress {
    /// The events, in the order they were reported.
    pub events: Vec<ResourceEvent>,
    /// The waiting messages.
    pub waits: Vec<String>,
}

impl ProgressSink for RecordedProgress {
    fn event(&mut self, event: &ResourceEvent) {
        self.events.push(event.clone());
    }

    fn waiting(&mut self, message: &str) {
        self.waits.push(message.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(status: &str, resource_type: &str) -> ResourceEvent {
        ResourceEvent {
            id: "1".to_owned(),
            timestamp: "2026-11-27T22:00:01.123Z".to_owned(),
            logical_id: "Thing".to_owned(),
            resource_type: resource_type.to_owned(),
            status: ResourceStatus::from(status),
            reason: None,
        }
    }

    #[test]
    fn failures_and_unknown_statuses_of_resources_are_reported_not_passed_over() {
        for status in ["CREATE_FAILED", "UPDATE_ROLLBACK_FAILED", "SOMETHING_NEW"] {
            assert!(
                event(status, "AWS::S3::Bucket").is_resource_failure(),
                "{status}"
            );
        }
        for status in ["CREATE_IN_PROGRESS", "DELETE_SKIPPED", "UPDATE_COMPLETE"] {
            assert!(
                !event(status, "AWS::S3::Bucket").is_resource_failure(),
                "{status}"
            );
        }
        assert!(!event("UPDATE_FAILED", "AWS::CloudFormation::Stack").is_resource_failure());
    }
}
