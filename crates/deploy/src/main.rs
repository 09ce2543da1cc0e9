//! `deploy`: parses the command line, dispatches, and prints the error chain once.

use std::process::ExitCode;

use clap::Parser;
use deploy::cli::Cli;

fn main() -> ExitCode {
    match deploy::run::run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
