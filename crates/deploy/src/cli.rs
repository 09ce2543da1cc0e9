//! The command line: clap's raw flags, turned into a validated [`StackDefinition`] and AWS
//! target before anything runs.
//!
//! With no subcommand the tool deploys; `synth`, `package`, `diff`, `destroy`, `rotate-key`,
//! `simulate`, `status` and `verify` are subcommands; `--local` runs the stack on this machine instead. The definition flags and
//! the AWS flags are global, so they may come before or after the subcommand.

use std::path::PathBuf;
use telemetry::metrics::SensorMetrics;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::aws::AwsArgs;
use crate::local::LocalArgs;
use crate::simulate::SimulateArgs;
use crate::verify::VerifyArgs;
use crate::workspace::WorkspaceError;
use cfn_model::resources::lambda::Architecture;
use iot_stack::mapping::ParallelizationFactor;
use iot_stack::stack_name::StackName;
use iot_stack::{StackDefinition, StreamCapacity};

/// Deploys the IoT back end (Kinesis, S3, DynamoDB, Lambda) as one CloudFormation stack, and
/// manages it over its life: with no command, deploy (create or update through a change set).
#[derive(Debug, Parser)]
#[command(name = "deploy", version)]
pub struct Cli {
    /// Name of the stack (required). Every resource name derives from it: lower case letters,
    /// digits and hyphens, starting with a letter, not ending with a hyphen, at most 32
    /// characters.
    // Optional to clap only because clap cannot make a global flag required; `check` requires it.
    #[arg(long, global = true, value_name = "NAME")]
    pub stack_name: Option<StackName>,

    /// Account, region and endpoint.
    #[command(flatten)]
    pub aws: AwsArgs,

    /// Write the stack's outputs to this file as JSON (`{"<stack>": {"<key>": "<value>"}}`),
    /// after a deploy.
    #[arg(long, global = true, value_name = "FILE")]
    pub outputs_file: Option<PathBuf>,

    /// The stack's shape.
    #[command(flatten)]
    pub definition: DefinitionArgs,

    /// Folder of the test page; the device's config is written to `<DIR>/config.js`.
    /// Default: the workspace's `testpage` folder.
    #[arg(long, global = true, value_name = "DIR")]
    pub testpage_dir: Option<PathBuf>,

    /// The local target.
    #[command(flatten)]
    pub local: LocalArgs,

    /// What to do; nothing means deploy.
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// What clap cannot check itself: `--stack-name` is required, wherever it is given.
    pub fn check(&self) -> Result<(), clap::Error> {
        if self.stack_name.is_none() {
            return Err(Self::command().error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "the following required argument was not provided: --stack-name <NAME>",
            ));
        }
        if self.definition.stream_mode == StreamModeArg::OnDemand
            && let Some(shards) = self.definition.shard_count
        {
            return Err(Self::command().error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "--shard-count {shards} sets the shards of a provisioned stream; an \
                     on-demand stream (--stream-mode on-demand) adds and removes its own, so \
                     leave --shard-count out or use --stream-mode provisioned"
                ),
            ));
        }
        Ok(())
    }

    /// `<testpage dir>/config.js`; by default in the repository's `testpage` folder.
    pub fn config_js_path(&self) -> Result<PathBuf, WorkspaceError> {
        match &self.testpage_dir {
            Some(dir) => Ok(dir.join("config.js")),
            None => Ok(self.config_js_in(&crate::workspace::find()?)),
        }
    }

    /// `<testpage dir>/config.js`, the default folder being in the repository at `workspace`.
    pub fn config_js_in(&self, workspace: &std::path::Path) -> PathBuf {
        match &self.testpage_dir {
            Some(dir) => dir.join("config.js"),
            None => crate::testpage_config::default_path(workspace),
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the stack's CloudFormation template (no AWS call).
    Synth(SynthArgs),
    /// Build the functions' packages with cargo-lambda, as a deploy does, and print each one's
    /// content-addressed key, size and file (no AWS call).
    Package,
    /// Show what a deploy would change: a change set is created, described and deleted.
    Diff(DiffArgs),
    /// Delete the stack (it empties its archive and deletes the device's keys itself, as it
    /// does when deleted from the console or the AWS CLI), then the asset bucket and the test
    /// page's config.
    Destroy(DestroyArgs),
    /// Replace the device's access key: a new key is written to the test page's config, then
    /// the old one is deleted.
    RotateKey,
    /// Simulated devices putting readings on the stack's stream (AWS or local, as the test
    /// page's config says).
    Simulate(SimulateArgs),
    /// The stack's health at a glance: each of its alarms' state and why, those in ALARM
    /// first with what they mean. Exit status 1 when any is in ALARM or missing. With
    /// --local, from the running local target.
    Status,
    /// An end-to-end probe: puts a few readings as the device (the key in the test page's
    /// config), then confirms with your credentials that each is queryable through the API
    /// function, in the table, archived, and counted in the metric; reports each step's
    /// latency. Exit status 1 when a step fails, naming the first. With --local, of the
    /// running local target.
    Verify(VerifyArgs),
}

/// Flags of `synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Write the template to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Flags of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Exit with status 3 when there are changes (0 when none, 1 on error).
    #[arg(long)]
    pub exit_code: bool,
}

/// Flags of `destroy`.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

/// Flags that change the template.
#[derive(Debug, Clone, Args)]
pub struct DefinitionArgs {
    /// How the Kinesis stream's capacity is set.
    #[arg(long, global = true, value_enum, default_value_t = StreamModeArg::Provisioned)]
    pub stream_mode: StreamModeArg,

    /// Shards of a provisioned stream (default 1); each takes up to 1 MB/s or 1,000
    /// records/s of writes. Not with `--stream-mode on-demand`.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub shard_count: Option<u32>,

    /// Instruction set the functions are built for and run on.
    #[arg(long = "arch", alias = "architecture", global = true, value_enum, default_value_t = ArchitectureArg::X86_64)]
    pub architecture: ArchitectureArg,

    /// Batches of one shard each consumer processes at once, 1 to 10; each partition key's
    /// readings still arrive in order.
    #[arg(long, global = true, value_name = "N", default_value = "1", value_parser = parse_parallelization_factor)]
    pub parallelization_factor: ParallelizationFactor,

    /// Turn on X-Ray active tracing of the functions (X-Ray charges per trace recorded).
    #[arg(long, global = true)]
    pub tracing: bool,

    /// Send the alarms' notifications to this address: the stack subscribes it to an
    /// encrypted SNS topic, and AWS mails it a link to confirm first.
    #[arg(long, global = true, value_name = "ADDRESS", value_parser = parse_email)]
    pub alarm_email: Option<String>,

    /// How the writer publishes the readings' values: `SensorData` per sensor (one custom
    /// metric each, about $0.30 a month at us-east-1 list prices, as in 2015) or one
    /// `SensorData` of all sensors. The table and the query API are the same either way.
    #[arg(long, global = true, value_enum, default_value_t = SensorMetricsArg::PerSensor)]
    pub sensor_metrics: SensorMetricsArg,
}

/// `--sensor-metrics` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SensorMetricsArg {
    /// `SensorData` with a `SensorId` dimension: a custom metric per sensor.
    PerSensor,
    /// One `SensorData` without dimensions, of every sensor: one custom metric.
    Stack,
}

/// `--stream-mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StreamModeArg {
    /// A fixed number of shards (`--shard-count`), paid per shard-hour.
    Provisioned,
    /// Kinesis adds and removes shards with the traffic, paid per GB put and read.
    OnDemand,
}

/// An address SNS can mail: one `@` between a local part and a domain with a dot, nothing
/// that is not printable. SNS checks it again; this catches a flag given the wrong value.
fn parse_email(value: &str) -> Result<String, String> {
    let (local, domain) = value
        .split_once('@')
        .ok_or_else(|| format!("`{value}` is not an e-mail address: it has no @"))?;
    let printable = value.chars().all(|c| c.is_ascii_graphic());
    if local.is_empty() || !domain.contains('.') || domain.contains('@') || !printable {
        return Err(format!(
            "`{value}` is not an e-mail address such as ops@example.com"
        ));
    }
    Ok(value.to_owned())
}

/// A factor Lambda allows, 1 to 10, as the definition holds it.
fn parse_parallelization_factor(value: &str) -> Result<ParallelizationFactor, String> {
    value
        .parse::<u8>()
        .ok()
        .and_then(ParallelizationFactor::new)
        .ok_or_else(|| {
            format!("`{value}` is not a parallelization factor: Lambda takes a whole number from 1 to 10")
        })
}

/// `--arch` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArchitectureArg {
    /// 64-bit x86 (the tested default).
    #[value(name = "x86_64")]
    X86_64,
    /// 64-bit ARM (Graviton); needs the Rust target aarch64-unknown-linux-gnu.
    Arm64,
}

impl DefinitionArgs {
    /// The validated definition of stack `stack_name`.
    pub fn definition(&self, stack_name: StackName) -> StackDefinition {
        StackDefinition {
            capacity: match self.stream_mode {
                StreamModeArg::Provisioned => StreamCapacity::Provisioned {
                    shards: self.shard_count.unwrap_or(1),
                },
                StreamModeArg::OnDemand => StreamCapacity::OnDemand,
            },
            architecture: match self.architecture {
                ArchitectureArg::X86_64 => Architecture::X86_64,
                ArchitectureArg::Arm64 => Architecture::Arm64,
            },
            parallelization_factor: self.parallelization_factor,
            tracing: self.tracing,
            alarm_email: self.alarm_email.clone(),
            sensor_metrics: match self.sensor_metrics {
                SensorMetricsArg::PerSensor => SensorMetrics::PerSensor,
                SensorMetricsArg::Stack => SensorMetrics::StackWide,
            },
            ..StackDefinition::new(stack_name)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn synth_defaults_to_one_shard_on_x86_64_and_standard_output() {
        let cli = Cli::try_parse_from(["deploy", "--stack-name", "demo", "synth"]).unwrap();
        let Some(Command::Synth(args)) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!(args.output, None);
        let definition = cli.definition.definition(cli.stack_name.unwrap());
        assert_eq!(
            definition.capacity,
            StreamCapacity::Provisioned { shards: 1 }
        );
        assert!(!definition.tracing);
        assert_eq!(definition.alarm_email, None);
        assert_eq!(definition.architecture, Architecture::X86_64);
        assert_eq!(definition.stack_name.as_str(), "demo");
    }

    #[test]
    fn zero_shards_are_refused() {
        let error = Cli::try_parse_from([
            "deploy",
            "--stack-name",
            "demo",
            "synth",
            "--shard-count",
            "0",
        ])
        .unwrap_err();
        assert!(error.to_string().contains("--shard-count"), "{error}");
    }

    #[test]
    fn on_demand_takes_no_shard_count_and_the_error_says_why() {
        let cli = Cli::try_parse_from([
            "deploy",
            "--stack-name",
            "demo",
            "--stream-mode",
            "on-demand",
            "--shard-count",
            "2",
        ])
        .unwrap();
        let error = cli.check().unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
        assert!(error.to_string().contains("--shard-count 2"), "{error}");
        let cli = Cli::try_parse_from([
            "deploy",
            "--stack-name",
            "demo",
            "--stream-mode",
            "on-demand",
            "--tracing",
            "--alarm-email",
            "ops@example.com",
        ])
        .unwrap();
        cli.check().unwrap();
        let definition = cli.definition.definition(cli.stack_name.unwrap());
        assert_eq!(definition.capacity, StreamCapacity::OnDemand);
        assert!(definition.tracing);
        assert_eq!(definition.alarm_email.as_deref(), Some("ops@example.com"));
    }

    #[test]
    fn a_parallelization_factor_outside_lambdas_range_is_refused_by_name() {
        let parse = |factor: &str| {
            Cli::try_parse_from([
                "deploy",
                "--stack-name",
                "demo",
                "--parallelization-factor",
                factor,
            ])
        };
        let cli = parse("4").unwrap();
        let definition = cli.definition.definition(cli.stack_name.unwrap());
        assert_eq!(definition.parallelization_factor.get(), 4);
        let default = Cli::try_parse_from(["deploy", "--stack-name", "demo"]).unwrap();
        assert_eq!(
            default.definition.parallelization_factor,
            ParallelizationFactor::ONE
        );
        for bad in ["0", "11", "x", "2.5"] {
            let text = parse(bad).unwrap_err().to_string();
            assert!(
                text.contains("--parallelization-factor") && text.contains("from 1 to 10"),
                "{text}"
            );
        }
    }

    #[test]
    fn an_alarm_email_that_is_no_address_is_refused_by_name() {
        for bad in [
            "ops",
            "@example.com",
            "ops@localhost",
            "ops@a@b.com",
            "o ps@example.com",
        ] {
            let error =
                Cli::try_parse_from(["deploy", "--stack-name", "demo", "--alarm-email", bad])
                    .unwrap_err();
            let text = error.to_string();
            assert!(
                text.contains("--alarm-email") && text.contains(bad),
                "{text}"
            );
        }
    }

    #[test]
    fn no_command_deploys_and_definition_flags_go_before_or_after_the_command() {
        let cli =
            Cli::try_parse_from(["deploy", "--stack-name", "demo", "--shard-count", "2"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.definition.shard_count, Some(2));
        for args in [
            ["deploy", "--stack-name", "demo", "--arch", "arm64", "diff"],
            [
                "deploy",
                "--stack-name",
                "demo",
                "diff",
                "--architecture",
                "arm64",
            ],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            assert!(matches!(cli.command, Some(Command::Diff(_))));
            assert_eq!(cli.definition.architecture, ArchitectureArg::Arm64);
        }
    }

    #[test]
    fn every_flag_and_command_has_help_text() {
        fn check(command: &clap::Command) {
            for arg in command.get_arguments() {
                assert!(
                    arg.get_help().is_some(),
                    "{} --{:?} has no help",
                    command.get_name(),
                    arg.get_long()
                );
            }
            for sub in command.get_subcommands() {
                assert!(sub.get_about().is_some(), "{} has no help", sub.get_name());
                check(sub);
            }
        }
        check(&Cli::command());
    }

    #[test]
    fn the_config_path_follows_the_testpage_dir() {
        let cli = Cli::try_parse_from(["deploy", "--stack-name", "demo", "--testpage-dir", "/x/y"])
            .unwrap();
        assert_eq!(
            cli.config_js_path().unwrap(),
            PathBuf::from("/x/y/config.js")
        );
        // Tests run in the package's folder, inside the repository.
        let cli = Cli::try_parse_from(["deploy", "--stack-name", "demo"]).unwrap();
        let repository = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        assert_eq!(
            cli.config_js_path().unwrap(),
            repository
                .canonicalize()
                .unwrap()
                .join("testpage/config.js")
        );
    }

    #[test]
    fn every_flag_is_global_so_it_may_follow_the_subcommand() {
        let cli = Cli::try_parse_from([
            "deploy",
            "synth",
            "--stack-name",
            "demo",
            "--region",
            "eu-west-1",
        ])
        .unwrap();
        cli.check().unwrap();
        assert_eq!(cli.stack_name.unwrap().as_str(), "demo");
        let cli = Cli::try_parse_from([
            "deploy",
            "destroy",
            "--yes",
            "--stack-name",
            "demo",
            "--local",
            "--state-dir",
            "/s",
        ])
        .unwrap();
        assert!(cli.local.local);
        let command = Cli::command();
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            assert!(
                arg.is_global_set() || id == "help" || id == "version",
                "--{id} is not global"
            );
        }
    }

    #[test]
    fn the_stack_name_is_required_wherever_it_goes() {
        let cli = Cli::try_parse_from(["deploy", "synth"]).unwrap();
        let error = cli.check().unwrap_err();
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
        assert!(error.to_string().contains("--stack-name"), "{error}");
    }
}
