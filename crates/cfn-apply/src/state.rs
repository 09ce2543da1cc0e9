//! Where a stack stands: every stack status classified once ([`StackClass::of`]), so that
//! "still running", "blocked" and "unknown" are decided in one match that names each status.

use anyhow::Context;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{Stack, StackStatus};

/// What a stack status means for a deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackClass {
    /// DELETE_COMPLETE: there is no stack.
    Gone,
    /// REVIEW_IN_PROGRESS: made by a CREATE change set never executed; a change set executed
    /// on it is starting.
    Reviewing,
    /// Settled, and an update can start from it.
    Deployable,
    /// No deploy can start from it, for this reason.
    Blocked(Blocker),
}

impl StackClass {
    /// The class of `status`. Every status CloudFormation documents is named; one this build
    /// does not know is [`Blocker::Unrecognised`], so no wait goes on for it and it is
    /// reported as it is.
    pub fn of(status: &StackStatus) -> Self {
        match status {
            StackStatus::DeleteComplete => Self::Gone,
            StackStatus::ReviewInProgress => Self::Reviewing,
            StackStatus::CreateComplete
            | StackStatus::UpdateComplete
            | StackStatus::UpdateRollbackComplete
            | StackStatus::ImportComplete
            | StackStatus::ImportRollbackComplete
            // A failure without rollback (or of an import's rollback): the resources are
            // kept, and CloudFormation says whether the update's change set may start.
            | StackStatus::CreateFailed
            | StackStatus::UpdateFailed
            | StackStatus::ImportRollbackFailed => Self::Deployable,
            StackStatus::RollbackComplete | StackStatus::RollbackFailed => {
                Self::Blocked(Blocker::RolledBack)
            }
            StackStatus::DeleteFailed => Self::Blocked(Blocker::DeleteFailed),
            StackStatus::UpdateRollbackFailed => Self::Blocked(Blocker::UpdateRollbackFailed),
            StackStatus::CreateInProgress
            | StackStatus::DeleteInProgress
            | StackStatus::ImportInProgress
            | StackStatus::ImportRollbackInProgress
            | StackStatus::RollbackInProgress
            | StackStatus::UpdateCompleteCleanupInProgress
            | StackStatus::UpdateInProgress
            | StackStatus::UpdateRollbackCompleteCleanupInProgress
            | StackStatus::UpdateRollbackInProgress => Self::Blocked(Blocker::InProgress),
            // `StackStatus` is non-exhaustive: a status added after this build, or `Unknown`.
            _ => Self::Blocked(Blocker::Unrecognised),
        }
    }

    /// Whether an operation is still running, so a watch goes on waiting.
    pub fn is_running(self) -> bool {
        matches!(self, Self::Reviewing | Self::Blocked(Blocker::InProgress))
    }
}

/// Why a stack status blocks a deploy: read by [`BlockedStack`]'s and [`OperationFailed`]'s
/// explanations and by the command line's next step.
///
/// [`OperationFailed`]: crate::OperationFailed
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocker {
    /// ROLLBACK_COMPLETE or ROLLBACK_FAILED: a failed creation, only deletable.
    RolledBack,
    /// DELETE_FAILED.
    DeleteFailed,
    /// UPDATE_ROLLBACK_FAILED.
    UpdateRollbackFailed,
    /// An operation is running (any `*_IN_PROGRESS` but REVIEW_IN_PROGRESS).
    InProgress,
    /// A status this build does not know.
    Unrecognised,
}

impl Blocker {
    /// What blocks a deploy from `status`, or `None` if nothing does.
    pub fn of(status: &StackStatus) -> Option<Self> {
        match StackClass::of(status) {
            StackClass::Blocked(blocker) => Some(blocker),
            StackClass::Gone | StackClass::Reviewing | StackClass::Deployable => None,
        }
    }

    /// What the status means.
    pub fn explanation(self) -> &'static str {
        match self {
            Self::RolledBack => {
                "its creation failed and was rolled back, and a stack in this state cannot be \
                 updated, only deleted (the events of the failed creation are in the \
                 CloudFormation console until then)"
            }
            Self::DeleteFailed => "a deletion failed, and the stack is half deleted",
            Self::UpdateRollbackFailed => {
                "an update failed and so did its rollback; CloudFormation needs its rollback \
                 continued (continue-update-rollback) before anything else"
            }
            Self::InProgress => "another operation is in progress",
            Self::Unrecognised => {
                "this status is not one the deployer knows, so it neither waits for it nor \
                 deploys over it; look at the stack in the CloudFormation console"
            }
        }
    }
}

/// Where a stack stands before a deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackState {
    /// No such stack: create it.
    Missing,
    /// Made by a CREATE change set never executed (REVIEW_IN_PROGRESS): create it again.
    Reviewing {
        /// Its id.
        id: String,
    },
    /// Settled, can be updated.
    Ready {
        /// Its id.
        id: String,
        /// Its status.
        status: StackStatus,
    },
    /// In a state that no deploy can start from.
    Blocked(BlockedStack),
}

/// A stack no deploy can start from. What to do about it is the command line's to say, since
/// only it knows how the user runs the deployer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stack `{stack}` is {status}: {explanation}")]
pub struct BlockedStack {
    /// The stack's name.
    pub stack: String,
    /// Its status.
    pub status: StackStatus,
    /// What the status means.
    pub explanation: String,
}

/// CloudFormation answers DescribeStacks for an unknown stack with a generic ValidationError;
/// only its message tells "does not exist" apart from a bad request.
fn is_missing_stack<E: ProvideErrorMetadata>(error: &E) -> bool {
    error.code() == Some("ValidationError")
        && error
            .message()
            .is_some_and(|m| m.contains("does not exist"))
}

/// The stack `name_or_id`, or `None` if there is none.
pub async fn describe_stack(cfn: &Client, name_or_id: &str) -> anyhow::Result<Option<Stack>> {
    match cfn.describe_stacks().stack_name(name_or_id).send().await {
        Ok(output) => Ok(output.stacks().first().cloned()),
        Err(error) => {
            let error = error.into_service_error();
            if is_missing_stack(&error) {
                Ok(None)
            } else {
                Err(error).with_context(|| format!("failed to describe stack `{name_or_id}`"))
            }
        }
    }
}

/// The status of `stack`; a stack described without one is of an unrecognised status.
pub(crate) fn status_of(stack: &Stack) -> StackStatus {
    stack
        .stack_status()
        .cloned()
        .unwrap_or_else(|| StackStatus::from("UNKNOWN"))
}

/// Where stack `name` stands.
pub async fn stack_state(cfn: &Client, name: &str) -> anyhow::Result<StackState> {
    let Some(stack) = describe_stack(cfn, name).await? else {
        return Ok(StackState::Missing);
    };
    let id = stack.stack_id().unwrap_or(name).to_owned();
    let status = status_of(&stack);
    Ok(match StackClass::of(&status) {
        StackClass::Gone => StackState::Missing,
        StackClass::Reviewing => StackState::Reviewing { id },
        StackClass::Deployable => StackState::Ready { id, status },
        StackClass::Blocked(blocker) => StackState::Blocked(BlockedStack {
            stack: name.to_owned(),
            status,
            explanation: blocker.explanation().to_owned(),
        }),
    })
}

/// The stack's outputs, by key.
pub fn outputs(stack: &Stack) -> std::collections::BTreeMap<String, String> {
    stack
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_operations_under_way_are_waited_for() {
        let running = [
            "CREATE_IN_PROGRESS",
            "UPDATE_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "ROLLBACK_IN_PROGRESS",
            "DELETE_IN_PROGRESS",
            "REVIEW_IN_PROGRESS",
        ];
        for status in running {
            assert!(
                StackClass::of(&StackStatus::from(status)).is_running(),
                "{status}"
            );
        }
        // Unknown to this build, whatever its name says: not waited for, not deployed over.
        for status in ["UNKNOWN", "", "SOMETHING_NEW_IN_PROGRESS"] {
            let class = StackClass::of(&StackStatus::from(status));
            assert_eq!(
                class,
                StackClass::Blocked(Blocker::Unrecognised),
                "{status}"
            );
            assert!(!class.is_running(), "{status}");
        }
        assert_eq!(
            StackClass::of(&StackStatus::UpdateRollbackComplete),
            StackClass::Deployable
        );
        assert_eq!(Blocker::of(&StackStatus::ReviewInProgress), None);
    }
}
