//! The command line: clap's raw flags, turned into a validated [`StackDefinition`] before
//! anything runs.
//!
//! Shaped for what is to come: with no subcommand the tool will deploy; `diff` and `destroy`
//! will be subcommands beside `synth`, and `--local` a flag beside `--stack-name`. The
//! definition flags are one flattened group so that every command that renders the template
//! takes the same ones.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::stack::StackDefinition;
use crate::stack_name::StackName;
use cfn_model::resources::lambda::Architecture;

/// Deploys the IoT back end (Kinesis, S3, DynamoDB, Lambda) as one CloudFormation stack.
#[derive(Debug, Parser)]
#[command(name = "deploy", version)]
pub struct Cli {
    /// Name of the stack. Every resource name derives from it: lower case letters, digits and
    /// hyphens, starting with a letter, not ending with a hyphen, at most 32 characters.
    #[arg(long, value_name = "NAME")]
    pub stack_name: StackName,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the stack's CloudFormation template (no AWS call).
    Synth(SynthArgs),
}

/// Flags of `synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Write the template to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// The stack's shape.
    #[command(flatten)]
    pub definition: DefinitionArgs,
}

/// Flags that change the template.
#[derive(Debug, Clone, Args)]
pub struct DefinitionArgs {
    /// Shards of the Kinesis stream; each takes up to 1 MB/s or 1,000 records/s of writes.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub shard_count: u32,

    /// Instruction set the functions run on; their packages must be built for it.
    #[arg(long, value_enum, default_value_t = ArchitectureArg::X86_64)]
    pub architecture: ArchitectureArg,
}

/// `--architecture` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArchitectureArg {
    /// 64-bit x86 (the tested default).
    #[value(name = "x86_64")]
    X86_64,
    /// 64-bit ARM (Graviton).
    Arm64,
}

impl DefinitionArgs {
    /// The validated definition of stack `stack_name`.
    pub fn definition(&self, stack_name: StackName) -> StackDefinition {
        StackDefinition {
            shard_count: self.shard_count,
            architecture: match self.architecture {
                ArchitectureArg::X86_64 => Architecture::X86_64,
                ArchitectureArg::Arm64 => Architecture::Arm64,
            },
            ..StackDefinition::new(stack_name)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn synth_defaults_to_one_shard_on_x86_64_and_standard_output() {
        let cli = Cli::try_parse_from(["deploy", "--stack-name", "demo", "synth"]).unwrap();
        let Command::Synth(args) = cli.command;
        assert_eq!(args.output, None);
        let definition = args.definition.definition(cli.stack_name);
        assert_eq!(definition.shard_count, 1);
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
}
