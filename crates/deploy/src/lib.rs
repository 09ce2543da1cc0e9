//! The deployer of the IoT back end.
//!
//! The whole stack is defined in typed Rust with `cfn-model`, CDK-style, and rendered as one
//! CloudFormation template (`deploy --stack-name demo synth`). The stack name is checked before
//! anything else, because every physical name derives from it.
//!
//! # Layout
//! - [`cli`]: clap's flags, and their conversion into a validated [`stack::StackDefinition`].
//! - [`stack_name`]: [`stack_name::StackName`], the rules a stack name must follow, and why.
//! - [`stack`]: the stack definition, one construct per module:
//!   - `names`: every physical name, derived from the stack name in one place;
//!   - `assets`: the code parameters (asset bucket, one key per function);
//!   - `stream`, `archive`, `table`: the Kinesis stream, the S3 archive bucket, the DynamoDB
//!     table, each with the IAM statements its users need;
//!   - `functions`: a Lambda function with its own log group and least-privilege role;
//!   - `mapping`: the event-source-mapping custom resources and their failure queues;
//!   - `device`: the device IAM user and its policy;
//!   - `checkov`: the `Metadata` skip list for checks that do not apply, with reasons.
//! - [`synth`]: the rendered template.

pub mod cli;
pub mod local;
pub mod simulate;
pub mod stack;
pub mod stack_name;
pub mod synth;
pub mod testpage_config;
