//! Applying a CloudFormation template, with no knowledge of what the template holds: the
//! stack's state and whether a deploy can start from it, a change set created and described
//! (or found empty and deleted), executed, and watched to the end through the stack's events,
//! with the first failure kept; and the assets a template names, uploaded to an S3 bucket
//! under content-addressed keys.
//!
//! Applying is idempotent: a change set without changes is "nothing to do", not an error.
//! Every wait is bounded ([`Waits`]) and polls with the workspace's one backoff
//! ([`telemetry::backoff::Backoff`]).
//!
//! # Layout
//! - [`state`]: every stack status classified once ([`StackClass`], [`Blocker`]), where a
//!   stack stands ([`StackState`]), its outputs.
//! - [`change_set`]: a change set created, waited for, described page by page, deleted.
//! - [`events`]: the cursor over the stack's events ([`EventCursor`]), across pages, that
//!   reports each event once, oldest first.
//! - [`watch`](mod@watch): a stack operation followed to its end ([`watch()`], [`execute`]), its
//!   [`Outcome`], or [`OperationFailed`] with the first failing resource.
//! - [`progress`]: the events as [`ResourceEvent`]s, each resource status classified once
//!   ([`ResourcePhase`]), and the [`ProgressSink`] a caller shows them through.
//! - [`assets`]: the asset bucket, created encrypted and private, and the [`Asset`]s not yet
//!   in it uploaded under their content-addressed keys.

pub mod assets;
pub mod change_set;
pub mod events;
pub mod progress;
pub mod state;
pub mod watch;

use std::time::Duration;

pub use assets::{
    Asset, BucketState, Uploads, content_key, ensure_bucket, sha256_hex, upload_missing,
};
pub use change_set::{ChangeSet, Proposal, ResourceChange, create_change_set, delete_change_set};
pub use events::{EventCursor, Look};
pub use progress::{ProgressSink, RecordedProgress, ResourceEvent, ResourcePhase};
pub use state::{
    BlockedStack, Blocker, StackClass, StackState, describe_stack, outputs, stack_state,
};
pub use watch::{Goal, OperationFailed, Outcome, execute, watch};

/// The bounds of every wait, and how often to look.
#[derive(Debug, Clone, Copy)]
pub struct Waits {
    /// First interval between two looks.
    pub poll: Duration,
    /// Longest interval, reached by doubling after throttling.
    pub max_poll: Duration,
    /// Longest wait for a change set to be computed.
    pub change_set: Duration,
    /// Longest wait for a stack operation (create, update, delete, rollback).
    pub operation: Duration,
}

impl Default for Waits {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(2),
            max_poll: Duration::from_secs(30),
            // CloudFormation computes a change set in seconds; minutes means something is off.
            change_set: Duration::from_secs(5 * 60),
            // Slow resources (a Kinesis stream, a custom resource's provider call) take
            // minutes; CloudFormation itself gives custom resources up to an hour.
            operation: Duration::from_secs(60 * 60),
        }
    }
}
