//! What to do next after an error: one place that turns the typed errors of the deployer and
//! the local target into a next step, naming commands that work as printed from the
//! repository's folder.
//!
//! The libraries below say what went wrong; only the command line knows how the user called
//! it, so commands are written here, with the user's own stack name, region, profile,
//! endpoint and folders. `tests/hints.rs` provokes each error and runs each command printed.

use std::net::SocketAddr;

use aws_sdk_cloudformation::types::StackStatus;
use cfn_apply::{BlockedStack, Blocker, OperationFailed};
use local_target::StartError;
use local_target::storage::StorageError;

use crate::assets::BuildError;
use crate::cli::Cli;

/// How a hint runs this deployer: the README's way, from the repository's folder.
pub const DEPLOY: &str = "cargo run -p deploy --";

/// Installs cargo-lambda where `scripts/test` keeps it and puts it on `PATH`.
pub const INSTALL_CARGO_LAMBDA: &str = "source scripts/lib.sh && ensure_venv .venv-lambda \
     scripts/requirements-lambda.txt && export PATH=$PWD/.venv-lambda/bin:$PATH";

/// The flags that name the stack the user is working on: stack name, account and region
/// (AWS), or the local target's folders and address. Commands in hints repeat them.
#[derive(Debug, Clone, Default)]
pub struct Rerun {
    stack_name: String,
    /// `(flag, value)` in the order given; a flag without a value has `None`.
    flags: Vec<(&'static str, Option<String>)>,
}

impl Rerun {
    /// The stack `cli` works on, and where.
    pub fn of(cli: &Cli) -> Self {
        let mut rerun = Self {
            stack_name: cli
                .stack_name
                .as_ref()
                .map_or_else(|| "NAME".to_owned(), |name| name.as_str().to_owned()),
            flags: Vec::new(),
        };
        let local = &cli.local;
        if local.local {
            rerun.push("--local", None);
            if let Some(dir) = &local.state_dir {
                rerun.push("--state-dir", Some(dir.display().to_string()));
            }
            if local.bind != crate::local::DEFAULT_BIND {
                rerun.push("--bind", Some(local.bind.to_string()));
            }
            if local.port != crate::local::DEFAULT_PORT {
                rerun.push("--port", Some(local.port.to_string()));
            }
        } else {
            let aws = &cli.aws;
            for (flag, value) in [
                ("--profile", &aws.profile),
                ("--region", &aws.region),
                ("--endpoint-url", &aws.endpoint_url),
            ] {
                if let Some(value) = value {
                    rerun.push(flag, Some(value.clone()));
                }
            }
        }
        if let Some(dir) = &cli.testpage_dir {
            rerun.push("--testpage-dir", Some(dir.display().to_string()));
        }
        rerun
    }

    fn push(&mut self, flag: &'static str, value: Option<String>) {
        self.flags.retain(|(f, _)| *f != flag);
        self.flags.push((flag, value));
    }

    /// The same stack, with `flag` set to `value` (replacing the user's own).
    pub fn with(&self, flag: &'static str, value: impl ToString) -> Self {
        let mut rerun = self.clone();
        rerun.push(flag, Some(value.to_string()));
        rerun
    }

    /// This deployer for the same stack, with `more` arguments (a subcommand and its flags).
    pub fn deploy(&self, more: &[&str]) -> String {
        let mut words = vec!["--stack-name".to_owned(), self.stack_name.clone()];
        words.extend(self.flag_words());
        words.extend(more.iter().map(|word| (*word).to_owned()));
        format!("{DEPLOY} {}", quote(&words))
    }

    /// The AWS CLI's `aws cloudformation <operation> --stack-name <stack>`, with the user's
    /// profile, region and endpoint.
    pub fn aws_cloudformation(&self, operation: &str) -> String {
        let mut words = vec![
            "aws".to_owned(),
            "cloudformation".to_owned(),
            operation.to_owned(),
            "--stack-name".to_owned(),
            self.stack_name.clone(),
        ];
        for (flag, value) in &self.flags {
            if let ("--profile" | "--region" | "--endpoint-url", Some(value)) = (*flag, value) {
                words.extend([(*flag).to_owned(), value.clone()]);
            }
        }
        quote(&words)
    }

    fn local(&self) -> Self {
        let mut rerun = self.clone();
        if !rerun.flags.iter().any(|(flag, _)| *flag == "--local") {
            rerun.flags.insert(0, ("--local", None));
        }
        rerun
    }

    fn without_local(mut self) -> Self {
        self.flags
            .retain(|(flag, _)| !matches!(*flag, "--local" | "--state-dir" | "--bind" | "--port"));
        self
    }

    fn flag_words(&self) -> impl Iterator<Item = String> + '_ {
        self.flags
            .iter()
            .flat_map(|(flag, value)| std::iter::once((*flag).to_owned()).chain(value.clone()))
    }
}

/// Words joined for a POSIX shell, quoted where needed.
fn quote(words: &[String]) -> String {
    // A word with a NUL cannot be passed to a program at all; shown as is, it is at least seen.
    shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| words.join(" "))
}

/// The next step after `error`, if there is a better one than reading the message.
pub fn next_step(error: &anyhow::Error, rerun: &Rerun) -> Option<String> {
    error.chain().find_map(|cause| {
        if let Some(start) = cause.downcast_ref::<StartError>() {
            return start_error(start, rerun);
        }
        if let Some(blocked) = cause.downcast_ref::<BlockedStack>() {
            return stack_status(&blocked.status, rerun);
        }
        if let Some(failed) = cause.downcast_ref::<OperationFailed>() {
            if bucket_name_still_held(failed) {
                return Some(format!(
                    "S3 still holds this bucket name from a recent deletion; it frees the name \
                     after a while (often minutes, sometimes longer). Remove the rolled-back \
                     stack with `{}`, wait, then deploy again with `{}`",
                    rerun.deploy(&["destroy", "--yes"]),
                    rerun.deploy(&[])
                ));
            }
            return stack_status(&failed.outcome.status, rerun);
        }
        if let Some(build) = cause.downcast_ref::<BuildError>() {
            return build_error(build);
        }
        if cause
            .downcast_ref::<crate::status::NoLocalTarget>()
            .is_some()
        {
            return Some(format!(
                "start the local target with `{}` and run this command again from another \
                 terminal while it runs",
                rerun.local().deploy(&[]),
            ));
        }
        if cause
            .downcast_ref::<crate::simulate::NoStackConfigured>()
            .is_some()
        {
            return Some(format!(
                "start the local target with `{}` and run this command from another terminal \
                 while it runs, or deploy to AWS with `{}` first",
                rerun.local().deploy(&[]),
                rerun.clone().without_local().deploy(&[]),
            ));
        }
        None
    })
}

/// A bucket whose name was deleted moments ago cannot be created again at once: S3 answers
/// OperationAborted, "A conflicting conditional operation is currently in progress against
/// this resource" (Error responses, Amazon S3 API Reference), which CloudFormation passes on
/// as the bucket's failure reason. Only the text tells it apart.
fn bucket_name_still_held(failed: &OperationFailed) -> bool {
    failed.outcome.first_failure.as_ref().is_some_and(|event| {
        event.resource_type == "AWS::S3::Bucket"
            && event.reason.as_deref().is_some_and(|reason| {
                reason.contains("OperationAborted")
                    || reason.contains("conflicting conditional operation")
            })
    })
}

fn start_error(error: &StartError, rerun: &Rerun) -> Option<String> {
    match error {
        StartError::Storage(StorageError::ShapeChanged { stored, wanted, .. })
            if stored.retention_hours == wanted.retention_hours =>
        {
            Some(format!(
                "run it with the shard count it was created with, `{}`, or remove the local \
                 stack (its readings too) with `{}` and start again",
                rerun.with("--shard-count", stored.shard_count).deploy(&[]),
                rerun.deploy(&["destroy", "--yes"]),
            ))
        }
        StartError::Storage(StorageError::ShapeChanged { .. }) => Some(format!(
            "this version keeps records for another time than the stream was created with; \
             remove the local stack (its readings too) with `{}` and start again",
            rerun.deploy(&["destroy", "--yes"]),
        )),
        StartError::Listen { address, .. } => Some(listen_hint(address, rerun)),
        StartError::TestpageDir { .. } => Some(
            "pass the folder holding the test page's index.html with --testpage-dir DIR, or \
             leave the flag out to use the repository's testpage folder"
                .to_owned(),
        ),
        StartError::Storage(_) => None,
    }
}

fn listen_hint(address: &SocketAddr, rerun: &Rerun) -> String {
    format!(
        "another program (perhaps another `deploy --local`) may be using {address}; stop it, \
         or choose a port with --port N, or let the system pick a free one: `{}`",
        rerun.with("--port", 0).deploy(&[]),
    )
}

fn stack_status(status: &StackStatus, rerun: &Rerun) -> Option<String> {
    let destroy = rerun.deploy(&["destroy", "--yes"]);
    Some(match Blocker::of(status)? {
        Blocker::RolledBack => format!(
            "delete the stack, with every archived reading, with `{destroy}`, then deploy \
             again with `{}`",
            rerun.deploy(&[])
        ),
        Blocker::DeleteFailed => format!("finish the deletion with `{destroy}`"),
        Blocker::UpdateRollbackFailed => format!(
            "continue the rollback with `{}` (add --resources-to-skip for the resources that \
             cannot roll back), then deploy again",
            rerun.aws_cloudformation("continue-update-rollback")
        ),
        Blocker::InProgress => format!(
            "wait for the operation to end (follow it with `{}`), then run the command again",
            rerun.aws_cloudformation("describe-stack-events")
        ),
        Blocker::Unrecognised => format!(
            "read what the stack is doing with `{}`",
            rerun.aws_cloudformation("describe-stack-events")
        ),
    })
}

fn build_error(error: &BuildError) -> Option<String> {
    match error {
        BuildError::CargoLambdaMissing { .. } => Some(format!(
            "install cargo-lambda for this repository with `{INSTALL_CARGO_LAMBDA}`, then run \
             the command again in the same shell"
        )),
        BuildError::TargetMissing { target, .. } => Some(format!(
            "add the Rust target with `rustup target add {target}`, or build for x86_64 (the \
             default)"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use clap::Parser;

    use super::*;

    fn rerun(args: &[&str]) -> Rerun {
        Rerun::of(&Cli::try_parse_from(args).unwrap())
    }

    #[test]
    fn commands_repeat_the_flags_that_name_the_stack_and_quote_what_needs_it() {
        let aws = rerun(&[
            "deploy",
            "--stack-name",
            "demo",
            "--region",
            "eu-west-1",
            "--profile",
            "my profile",
            "--shard-count",
            "3",
        ]);
        assert_eq!(
            aws.deploy(&["destroy", "--yes"]),
            "cargo run -p deploy -- --stack-name demo --profile 'my profile' --region \
             eu-west-1 destroy --yes"
        );
        assert_eq!(
            aws.aws_cloudformation("describe-stack-events"),
            "aws cloudformation describe-stack-events --stack-name demo --profile 'my profile' \
             --region eu-west-1"
        );

        let local = rerun(&[
            "deploy",
            "--stack-name",
            "demo",
            "--local",
            "--state-dir",
            "/tmp/s",
            "--port",
            "4000",
        ]);
        assert_eq!(
            local.with("--port", 0).deploy(&[]),
            "cargo run -p deploy -- --stack-name demo --local --state-dir /tmp/s --port 0"
        );
        assert_eq!(
            local.clone().without_local().deploy(&[]),
            "cargo run -p deploy -- --stack-name demo"
        );
    }

    #[test]
    fn a_bucket_name_still_held_after_a_deletion_says_to_wait() {
        let failure = |resource_type: &str, reason: &str| {
            anyhow::Error::new(OperationFailed {
                stack: "demo".to_owned(),
                goal: StackStatus::CreateComplete,
                outcome: cfn_apply::Outcome {
                    status: StackStatus::RollbackComplete,
                    status_reason: None,
                    first_failure: Some(cfn_apply::ResourceEvent {
                        id: "e1".to_owned(),
                        timestamp: "2026-12-01T00:00:00Z".to_owned(),
                        logical_id: "IoTArchiveBucket".to_owned(),
                        resource_type: resource_type.to_owned(),
                        status: aws_sdk_cloudformation::types::ResourceStatus::CreateFailed,
                        reason: Some(reason.to_owned()),
                    }),
                },
            })
        };
        let cli = Cli::try_parse_from(["deploy", "--stack-name", "demo"]).unwrap();
        let held = failure(
            "AWS::S3::Bucket",
            "Resource handler returned message: \"A conflicting conditional operation is \
             currently in progress against this resource. Please try again. (Service: S3, \
             Status Code: 409, Request ID: X)\"",
        );
        let next = next_step(&held, &Rerun::of(&cli)).unwrap();
        assert!(next.contains("frees the name"), "{next}");
        assert!(next.contains("`cargo run -p deploy -- --stack-name demo destroy --yes`"));
        let other = failure("AWS::S3::Bucket", "Access Denied");
        let next = next_step(&other, &Rerun::of(&cli)).unwrap();
        assert!(!next.contains("frees the name"), "{next}");
    }

    /// The way out of a failed create is the command line's hint, naming the command with the
    /// user's own flags (the engine's replay test provokes the failure itself).
    #[test]
    fn a_failed_create_names_destroy_with_the_users_flags() {
        let error = anyhow::Error::new(OperationFailed {
            stack: "demo".to_owned(),
            goal: StackStatus::CreateComplete,
            outcome: cfn_apply::Outcome {
                status: StackStatus::RollbackComplete,
                status_reason: None,
                first_failure: None,
            },
        });
        let cli = Cli::try_parse_from(["deploy", "--stack-name", "demo"]).unwrap();
        let next = next_step(&error, &Rerun::of(&cli)).unwrap();
        assert!(
            next.contains("`cargo run -p deploy -- --stack-name demo destroy --yes`"),
            "{next}"
        );
    }
}
