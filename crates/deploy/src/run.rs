//! Dispatch: each command with its checks done before any AWS call, and a summary of time
//! and AWS calls after it.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;

use cfn_apply::Waits;
use iot_stack::StackDefinition;

use crate::aws::{AwsTarget, Session};
use crate::cli::{Cli, Command, SynthArgs};
use crate::deployment::{self, DeployPaths};

/// Exit status of `diff --exit-code` when there are changes (1 is an error, 2 a usage error).
pub const DIFF_CHANGES_EXIT: u8 = 3;

/// Runs the command `cli` names.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    cli.check()?;
    let stack_name = cli.stack_name.clone().context("--stack-name is required")?;
    let definition = cli.definition.definition(stack_name);
    let local = cli.local.local;
    if local && let Some(command @ (Command::Synth(_) | Command::Package)) = &cli.command {
        anyhow::bail!(
            "{} is about the CloudFormation template and the Lambda packages, which --local \
             does not use (it runs the same stack definition on this machine); drop --local",
            match command {
                Command::Synth(_) => "synth",
                _ => "package",
            }
        );
    }
    match &cli.command {
        Some(Command::Synth(args)) => synth(&definition, args).map(|()| ExitCode::SUCCESS),
        Some(Command::Package) => package(&definition).map(|()| ExitCode::SUCCESS),
        Some(Command::Simulate(args)) => {
            let expected = local.then_some(crate::testpage_config::Target::Local);
            crate::simulate::run(args, &cli.config_js_path()?, expected).map(|()| ExitCode::SUCCESS)
        }
        None if local => {
            let config_js = cli.config_js_path()?;
            crate::local::run(&definition, &cli.local, &config_js).map(|()| ExitCode::SUCCESS)
        }
        Some(Command::Destroy(args)) if local => {
            let config_js = cli.config_js_path()?;
            if !args.yes {
                confirm(&format!(
                    "Destroy the local stack `{}` (its state folder and {})?",
                    definition.stack_name,
                    config_js.display()
                ))?;
            }
            crate::local::destroy(&definition, &cli.local, &config_js).map(|()| ExitCode::SUCCESS)
        }
        Some(Command::Status) if local => {
            let health = crate::status::local(&definition, &cli.local.state_dir(&definition))?;
            Ok(report_health(&health, definition.stack_name.as_str()))
        }
        Some(Command::Verify(args)) if local => {
            let config = crate::verify::device_config(
                &cli.config_js_path()?,
                definition.stack_name.as_str(),
                crate::testpage_config::Target::Local,
            )?;
            let names = iot_stack::names::Names::new(&definition.stack_name);
            let owner = crate::verify::LocalOwner::open(
                &cli.local.state_dir(&definition),
                definition.stack_name.as_str(),
                names.table(),
                definition.sensor_metrics,
            )?;
            let runtime = tokio::runtime::Runtime::new().context("failed to start tokio")?;
            let passed = runtime.block_on(crate::verify::run(&config, &owner, args))?;
            Ok(if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Some(Command::RotateKey) if local => anyhow::bail!(
            "rotate-key replaces the IAM user's key on AWS; the local target makes its own key \
             when its state is new (destroy it with `--local destroy --yes` for a new one)"
        ),
        Some(Command::Diff(_)) if local => anyhow::bail!(
            "diff compares the template with a deployed CloudFormation stack, and --local has \
             none (the local target always runs the current definition); drop --local to diff \
             against AWS"
        ),
        _ => {
            // Every flag is checked before the first call.
            let target = cli.aws.validate()?;
            let workspace = crate::workspace::find()?;
            let config_js = cli.config_js_in(&workspace);
            let paths = Paths {
                workspace: &workspace,
                config_js: &config_js,
            };
            let runtime = tokio::runtime::Runtime::new().context("failed to start tokio")?;
            runtime.block_on(on_aws(&cli, &target, &definition, paths))
        }
    }
}

/// Where an AWS command reads the functions' sources and writes the page's config.
#[derive(Debug, Clone, Copy)]
struct Paths<'a> {
    workspace: &'a Path,
    config_js: &'a Path,
}

async fn on_aws(
    cli: &Cli,
    target: &AwsTarget,
    definition: &StackDefinition,
    Paths {
        workspace,
        config_js,
    }: Paths<'_>,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let session = target.connect().await?;
    let stack = &definition.stack_name;
    eprintln!(
        "stack `{stack}` in account {} region {}{}",
        session.account,
        session.region,
        session
            .endpoint_url
            .as_deref()
            .map(|url| format!(" at {url}"))
            .unwrap_or_default()
    );
    let waits = Waits::default();
    let code = match &cli.command {
        None => {
            let paths = DeployPaths {
                workspace,
                config_js,
                outputs_file: cli.outputs_file.as_deref(),
            };
            deployment::deploy(&session, definition, paths, &waits).await?;
            ExitCode::SUCCESS
        }
        Some(Command::Diff(args)) => {
            match deployment::diff(&session, definition, workspace, &waits).await? {
                None => {
                    println!("no differences: stack `{stack}` is up to date");
                    ExitCode::SUCCESS
                }
                Some(change_set) => {
                    println!("changes a deploy of stack `{stack}` would make:\n{change_set}");
                    if args.exit_code {
                        ExitCode::from(DIFF_CHANGES_EXIT)
                    } else {
                        ExitCode::SUCCESS
                    }
                }
            }
        }
        Some(Command::Destroy(args)) => {
            if !args.yes {
                confirm(&format!(
                    "Destroy stack `{stack}` in account {} region {}, with every archived \
                     reading, the device's keys, the asset bucket and {}?",
                    session.account,
                    session.region,
                    config_js.display()
                ))?;
            }
            let done = crate::destroy::destroy(&session, stack, config_js, &waits).await?;
            eprintln!(
                "destroyed: stack {}, asset bucket {}, config {}",
                if done.stack { "deleted" } else { "absent" },
                if done.asset_bucket {
                    "deleted"
                } else {
                    "absent"
                },
                if done.config { "removed" } else { "absent" }
            );
            ExitCode::SUCCESS
        }
        Some(Command::Verify(args)) => {
            let config = crate::verify::device_config(
                config_js,
                stack.as_str(),
                crate::testpage_config::Target::Aws,
            )?;
            let names = iot_stack::names::Names::new(stack);
            let owner = crate::verify::AwsOwner {
                dynamodb: session.clients.dynamodb.clone(),
                s3: session.clients.s3.clone(),
                cloudwatch: session.clients.cloudwatch.clone(),
                table: names.table(),
                bucket: names.archive_bucket(&session.account),
                sensor_metrics: definition.sensor_metrics,
            };
            if crate::verify::run(&config, &owner, args).await? {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Some(Command::Status) => {
            let health = crate::status::on_aws(&session, definition).await?;
            report_health(&health, stack.as_str())
        }
        Some(Command::RotateKey) => {
            let rotated = deployment::rotate_key(&session, stack.as_str(), config_js).await?;
            eprintln!(
                "device key {} written to {} (mode 0600); {} older key(s) deleted",
                rotated.access_key_id,
                config_js.display(),
                rotated.deleted
            );
            ExitCode::SUCCESS
        }
        Some(Command::Synth(_) | Command::Package | Command::Simulate(_)) => ExitCode::SUCCESS,
    };
    report_calls(&session, started);
    Ok(code)
}

/// Prints the health report; exit status 1 unless healthy.
fn report_health(health: &crate::status::Health, stack: &str) -> ExitCode {
    print!("{}", health.render(stack));
    if health.healthy() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn report_calls(session: &Session, started: Instant) {
    let counts = session.calls.counts();
    let detail: Vec<String> = counts
        .iter()
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    eprintln!(
        "done in {:.1} s; {} AWS calls ({})",
        started.elapsed().as_secs_f64(),
        session.calls.total(),
        detail.join(", ")
    );
}

/// Asks on the terminal; without one, refuses (a script must say `--yes`).
fn confirm(question: &str) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "destroy needs confirmation and standard input is not a terminal to ask on; pass \
             --yes to confirm"
        );
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("failed to read the answer")?;
    match answer.trim() {
        "y" | "Y" | "yes" | "YES" | "Yes" => Ok(()),
        _ => anyhow::bail!("destroy cancelled: nothing was deleted"),
    }
}

fn synth(definition: &StackDefinition, args: &SynthArgs) -> anyhow::Result<()> {
    let text = iot_stack::synth::render(definition).context("failed to render the template")?;
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("failed to write the template to {}", path.display())),
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .context("failed to write the template to standard output"),
    }
}

/// One line per package: key, size, file.
fn package(definition: &StackDefinition) -> anyhow::Result<()> {
    let workspace = crate::workspace::find()?;
    let packages = crate::assets::build(&workspace, definition.architecture)?;
    let mut out = std::io::stdout().lock();
    for package in &packages {
        writeln!(
            out,
            "{}  {} bytes  {}",
            package.key(),
            package.bytes.len(),
            package.zip.display()
        )
        .context("failed to write to standard output")?;
    }
    Ok(())
}
