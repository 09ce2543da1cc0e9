//! `deploy`: parses the command line, dispatches, and prints the error chain once, with the
//! next step when there is one.

use std::process::ExitCode;

use clap::Parser;
use deploy::cli::Cli;
use deploy::hints::{self, Rerun};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(error) = cli.check() {
        error.exit();
    }
    let rerun = Rerun::of(&cli);
    match deploy::run::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            if let Some(next) = hints::next_step(&error, &rerun) {
                eprintln!("hint: {next}");
            }
            ExitCode::FAILURE
        }
    }
}
