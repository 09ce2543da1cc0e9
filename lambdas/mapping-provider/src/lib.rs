//! The CloudFormation custom-resource provider for `Custom::KinesisEventSourceMapping`: it
//! creates, updates and deletes a Lambda event-source mapping from a Kinesis stream to a
//! consumer function, and it always answers CloudFormation.
//!
//! # What it does
//! - **Create** makes the mapping (CreateEventSourceMapping); the physical id is its UUID, and
//!   `Data` holds `UUID` and `State`.
//! - **Update** changes the mapping in place (UpdateEventSourceMapping), unless `FunctionName`,
//!   `StreamArn` or `StartingPosition` changed: then it makes a new mapping, a new physical id,
//!   and CloudFormation deletes the old one with a Delete. When only `StartingPosition` changed,
//!   the old mapping is deleted first, because Lambda allows one mapping per stream and function.
//! - **Delete** deletes the mapping; a mapping already gone, or a physical id that is not a UUID
//!   (a Create that failed before a mapping existed), is success.
//! - Before an update or delete, and after a create or update, it waits while the mapping is in
//!   a transitional state (Creating, Updating, ...), never past the time it has.
//!
//! # How it always answers, even when it panics
//! cargo-lambda builds release binaries with `panic = "abort"`, so a panic ends the process
//! before any `catch_unwind` or `JoinHandle` could see it, and so does a stack overflow in any
//! build. Catching is not an option; isolation is. The binary runs in two roles:
//!
//! - The **supervisor** is the process Lambda starts. For each request it reads only the
//!   envelope (ResponseURL, ids), splits the invocation's time into a [`supervisor::Budget`],
//!   and starts a **worker**: the same binary, run again with
//!   [`worker::WORKER_ARG`], given the request on standard input.
//! - The worker does all the work (parsing, validation, the Lambda API calls, waiting) and
//!   reports on standard output: each mapping as soon as it is created, then the answer. Its
//!   panic hook writes the panic message as a last report before the process aborts.
//! - The supervisor answers with the worker's answer; or, if the worker ended without one
//!   (panic, abort, signal) or is still running when its time is up (it is killed), with FAILED
//!   and the reason (the panic message and how the process ended). A mapping the worker had
//!   created is named, and on Create becomes the physical id, so CloudFormation's rollback
//!   deletes it.
//! - The supervisor delivers the answer with a PUT to the ResponseURL, retried with backoff
//!   until shortly before the invocation's deadline, and the answer is cut to CloudFormation's
//!   4,096-byte limit.
//!
//! Both processes install [`panic_policy::abort_on_panic`], which aborts after reporting in
//! every build, so the release test build (which unwinds by default) behaves exactly like
//! cargo-lambda's. The worker costs one process start per request (milliseconds), which
//! CloudFormation, sending a handful of requests per deployment, never notices.
//!
//! The test-only variable [`worker::FAULT_ENV`] makes the worker panic or hang right after it
//! created a mapping; the process tests use it to prove the guarantee.
//!
//! # Layout
//! - [`properties`]: the resource's properties, parsed and validated against Lambda's limits.
//! - [`provider`]: the decisions for Create, Update and Delete, generic over the
//!   [`provider::Mappings`] port, bounded by the time left.
//! - [`lambda_mappings`]: the port on aws-sdk-lambda, typed errors.
//! - [`response`]: the response document and its delivery to the ResponseURL.
//! - [`worker`]: the worker role: the work order, the reports, the test faults.
//! - [`supervisor`]: the supervisor role: the time budget, running a worker, answering for it.
//! - [`panic_policy`]: panics abort, in every build.

pub mod lambda_mappings;
pub mod panic_policy;
pub mod properties;
pub mod provider;
pub mod response;
pub mod supervisor;
pub mod worker;
