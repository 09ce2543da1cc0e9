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
//! - [`run`]: dispatch of the commands, checks before any AWS call, the summary after.
//! - [`aws`]: `--profile` / `--region` / `--endpoint-url`, the SDK configuration from the
//!   standard chain, the account from STS, clients that count their calls.
//! - [`assets`]: the functions built with cargo-lambda, hashed, uploaded under
//!   content-addressed keys to the encrypted, private asset bucket.
//! - [`apply`]: change sets (empty ones deleted), execution, the stack watched through its
//!   events to the end, blocking states and failures explained.
//! - [`progress`]: event lines and a spinner on standard error.
//! - [`deployment`]: the deploy and diff flows.
//! - [`device_key`]: the device's access key, created only when none valid is configured,
//!   written only to the test page's config.
//! - [`destroy`]: buckets emptied, keys deleted, stack deleted, asset bucket and config gone.
//! - [`local`], [`simulate`], [`testpage_config`]: the local target, the device simulator,
//!   and the test page's config they share with the AWS deploy.
//! - [`workspace`]: the repository, found from the current directory as cargo finds it.
//! - [`hints`]: the next step after an error, naming commands that run as printed.

pub mod apply;
pub mod assets;
pub mod aws;
pub mod cli;
pub mod deployment;
pub mod destroy;
pub mod device_key;
pub mod hints;
pub mod local;
pub mod progress;
pub mod run;
pub mod simulate;
pub mod stack;
pub mod stack_name;
pub mod synth;
pub mod testpage_config;
pub mod workspace;
