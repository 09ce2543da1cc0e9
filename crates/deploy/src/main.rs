//! `deploy`: parses the command line, dispatches, and prints the error chain once.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use deploy::cli::{Cli, Command, SynthArgs};
use deploy::stack_name::StackName;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Synth(args) => synth(cli.stack_name, &args),
    }
}

fn synth(stack_name: StackName, args: &SynthArgs) -> anyhow::Result<()> {
    let definition = args.definition.definition(stack_name);
    let text = deploy::synth::render(&definition).context("failed to render the template")?;
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("failed to write the template to {}", path.display())),
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .context("failed to write the template to standard output"),
    }
}
