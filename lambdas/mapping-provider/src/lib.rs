//! The CloudFormation custom-resource provider: one Lambda function that answers every custom
//! resource of the stack, and always answers CloudFormation:
//! `Custom::KinesisEventSourceMapping` (a Lambda event-source mapping from the Kinesis stream
//! to a consumer function), `Custom::BucketEmptier` (the archive emptied when the stack is
//! deleted) and `Custom::AccessKeyRemover` (the device user's keys deleted then).
//!
//! A request goes through three steps: the [`always_answers`] guard reads its envelope
//! (ResponseURL, ids) and splits the invocation's time into a budget; the [`resources`]
//! dispatcher hands it to the module of its resource type, on a thread of its own; the
//! [`response`] is cut to CloudFormation's 4,096-byte limit and PUT to the ResponseURL with
//! backoff until shortly before the invocation's deadline.
//!
//! # Layout
//! - [`always_answers`]: the guard: the time budget, the handler's thread, panics and hangs
//!   answered FAILED with the reason, a resource already created named for the rollback.
//! - [`resources`]: the dispatcher over resource types, one module each:
//!   - [`resources::event_source_mapping`]: Create, Update and Delete of the mapping, its
//!     properties (the shared [`custom_resources`] type, validated against Lambda's limits)
//!     and the port on aws-sdk-lambda.
//!   - [`resources::bucket_emptier`], [`resources::access_key_remover`]: nothing on Create
//!     and Update; on Delete, the work of [`aws_cleanup`].
//! - [`answer`]: what a handler tells CloudFormation.
//! - [`response`]: the response document and its delivery to the ResponseURL.
//! - [`fault`]: the test-only faults that prove the guarantee.

pub mod always_answers;
pub mod answer;
pub mod fault;
pub mod resources;
pub mod response;
