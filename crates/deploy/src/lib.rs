//! The deployer of the IoT back end: the command users run (`cargo run -p deploy -- ...`).
//!
//! It checks the flags into a validated plan before any AWS call, then glues the stack
//! definition ([`iot_stack`]) to where it goes: rendered (`synth`), applied to AWS with the
//! generic CloudFormation engine ([`cfn_apply`]), or run on this machine by the local target.
//!
//! # Layout
//! - [`cli`]: clap's flags, and their conversion into a validated
//!   [`StackDefinition`](iot_stack::StackDefinition).
//! - [`run`]: dispatch of the commands, checks before any AWS call, the summary after.
//! - [`aws`]: `--profile` / `--region` / `--endpoint-url`, the SDK configuration from the
//!   standard chain, the account from STS, clients that count their calls.
//! - [`assets`]: the functions built with cargo-lambda and zipped the same way every time, as
//!   the assets `cfn-apply` uploads, and the template parameters naming them.
//! - [`progress`]: the engine's events as lines, and a spinner, on standard error.
//! - [`deployment`]: the deploy, diff and rotate-key flows.
//! - [`one_region`]: a stack name taken in another region of the account, refused before
//!   any change.
//! - [`device_key`]: the device's access key, created only when none valid is configured,
//!   written only to the test page's config, and replaced by `rotate-key`.
//! - [`destroy`]: the stack deleted (it empties its bucket and deletes the device's keys
//!   itself), then the asset bucket and the config.
//! - [`local`], [`console`]: the local target started from the definition, and its live
//!   counters on the terminal.
//! - [`simulate`], [`testpage_config`]: the device simulator, and the test page's config it
//!   shares with the AWS deploy and the local target.
//! - [`status`]: the stack's health from its alarms, on AWS (CloudWatch) and locally (the
//!   local target's evaluation of the same alarms).
//! - [`verify`]: the end-to-end probe: readings put as the device, then followed to the query
//!   function, the table, the archive and the metric, on AWS and locally.
//! - [`workspace`]: the repository, found from the current directory as cargo finds it.
//! - [`hints`]: the next step after an error, naming commands that run as printed.

pub mod assets;
pub mod aws;
pub mod cli;
pub mod console;
pub mod deployment;
pub mod destroy;
pub mod device_key;
pub mod hints;
pub mod local;
pub mod one_region;
pub mod progress;
pub mod run;
pub mod simulate;
pub mod status;
pub mod testpage_config;
pub mod verify;
pub mod workspace;
