//! `deploy --stack-name NAME simulate`: simulated devices putting signed readings on the
//! stack's stream, against AWS or the local target alike (whatever `testpage/config.js` names).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow};
use clap::Args;
use device_simulator::{Plan, Progress, Stop, Target};
use indicatif::{ProgressBar, ProgressStyle};

use crate::testpage_config::{self, TestpageConfig};

/// How long a run lasts when neither `--duration` nor `--count` is given.
const DEFAULT_SECONDS: u64 = 10;

/// Flags of `simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Number of simulated sensors (sim-0001, sim-0002, ...). Each sensor's readings need
    /// their own millisecond, so at most 1,000 readings per second per sensor.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub sensors: u32,

    /// Readings per second, all sensors together.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rate: u32,

    /// Stop after this many seconds (the default is 10 unless --count is given).
    #[arg(long, value_name = "SECONDS", conflicts_with = "count", value_parser = clap::value_parser!(u64).range(1..))]
    pub duration: Option<u64>,

    /// Stop after this many readings.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Readings per PutRecords call (1 to 500). At low rates a call goes out every second
    /// with what is due, so batches may be smaller.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=500))]
    pub batch_size: u32,
}

impl SimulateArgs {
    /// The validated plan.
    pub fn plan(&self) -> anyhow::Result<Plan> {
        let stop = match (self.duration, self.count) {
            (_, Some(count)) => Stop::Count(count),
            (Some(seconds), None) => Stop::After(Duration::from_secs(seconds)),
            (None, None) => Stop::After(Duration::from_secs(DEFAULT_SECONDS)),
        };
        Ok(Plan::new(self.sensors, self.rate, stop, self.batch_size)?)
    }
}

/// The device's view of the stack, from the test page's configuration.
pub fn target(config: &TestpageConfig) -> Target {
    Target {
        // On AWS the SDK finds the regional endpoint itself.
        endpoint_url: match config.target {
            testpage_config::Target::Local => Some(config.stack.kinesis_endpoint.clone()),
            testpage_config::Target::Aws => None,
        },
        region: config.stack.region.clone(),
        stream_name: config.stack.stream_name.clone(),
        credentials: config.key.clone(),
    }
}

/// Readings done (acknowledged or failed) of those planned, then the tally and rate.
fn progress_style() -> anyhow::Result<ProgressStyle> {
    ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}")
        .context("the progress bar template")
}

/// No test page config to take the stack's address and key from.
#[derive(Debug, thiserror::Error)]
#[error(
    "no stack to send to: {} is missing or unreadable; a deploy or a running local target \
     writes it",
    path.display()
)]
pub struct NoStackConfigured {
    /// The config file looked for.
    pub path: std::path::PathBuf,
}

/// Runs the simulation and prints its report; an error if any reading failed. With
/// `expected`, the config must name that kind of target (`--local simulate` sends only to the
/// local target).
pub fn run(
    args: &SimulateArgs,
    config_js: &Path,
    expected: Option<testpage_config::Target>,
) -> anyhow::Result<()> {
    let plan = args.plan()?;
    let config = TestpageConfig::read(config_js).ok_or_else(|| NoStackConfigured {
        path: config_js.to_owned(),
    })?;
    if let Some(expected) = expected
        && config.target != expected
    {
        anyhow::bail!(
            "{} names stack `{}` on {:?}, not the local target; start the local target (it \
             rewrites the file), or drop --local to simulate against what the file names",
            config_js.display(),
            config.stack.stack_name,
            config.target
        );
    }
    let target = target(&config);
    eprintln!(
        "simulating {} sensors, {} readings/s, {} per call, {}, on stream {} ({}, {})",
        plan.sensors,
        plan.rate,
        plan.batch_size,
        match plan.stop {
            Stop::After(duration) => format!("for {} s", duration.as_secs()),
            Stop::Count(count) => format!("{count} readings"),
        },
        target.stream_name,
        target.region,
        target.endpoint_url.as_deref().unwrap_or("AWS"),
    );

    let bar = ProgressBar::new(0).with_style(progress_style()?);
    let show = |progress: &Progress| {
        bar.set_length(progress.planned);
        bar.set_position(progress.sent + progress.failed);
        bar.set_message(format!(
            "({} acknowledged, {} failed, {} throttled, {:.0} readings/s)",
            progress.sent,
            progress.failed,
            progress.throttled,
            progress.rate()
        ));
    };
    let runtime = tokio::runtime::Runtime::new().context("failed to start the async runtime")?;
    let report = runtime.block_on(device_simulator::run_until(&target, &plan, show, async {
        // Ctrl-C stops sending; what is in flight is still counted and reported.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }));
    bar.finish_and_clear();
    println!("{report}");
    if report.failed > 0 {
        return Err(anyhow!(
            "{} of {} readings failed; first error: {}",
            report.failed,
            report.failed + report.sent,
            report.first_error.as_deref().unwrap_or("unknown")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        args: SimulateArgs,
    }

    fn parse(flags: &[&str]) -> Result<SimulateArgs, clap::Error> {
        Command::try_parse_from(std::iter::once("simulate").chain(flags.iter().copied()))
            .map(|command| command.args)
    }

    #[test]
    fn the_defaults_run_ten_seconds() {
        let plan = parse(&[]).unwrap().plan().unwrap();
        assert_eq!(plan.stop, Stop::After(Duration::from_secs(10)));
        assert_eq!((plan.sensors, plan.rate, plan.batch_size), (10, 100, 100));
    }

    #[test]
    fn count_and_duration_are_exclusive_and_positive() {
        assert!(parse(&["--count", "5", "--duration", "5"]).is_err());
        assert!(parse(&["--count", "0"]).is_err());
        assert!(parse(&["--duration", "0"]).is_err());
        let plan = parse(&["--count", "5"]).unwrap().plan().unwrap();
        assert_eq!(plan.stop, Stop::Count(5));
    }

    #[test]
    fn a_rate_too_high_for_the_sensors_is_explained() {
        let error = parse(&["--sensors", "1", "--rate", "5000"])
            .unwrap()
            .plan()
            .unwrap_err();
        assert!(error.to_string().contains("at least 5 sensors"), "{error}");
    }

    #[test]
    fn the_progress_bar_template_is_valid() {
        assert!(progress_style().is_ok());
    }

    #[test]
    fn a_missing_configuration_says_what_to_run() {
        let folder = tempfile::tempdir().unwrap();
        let error = run(&parse(&[]).unwrap(), &folder.path().join("config.js"), None).unwrap_err();
        assert!(
            error.downcast_ref::<NoStackConfigured>().is_some(),
            "{error}"
        );
        let cli = crate::cli::Cli::try_parse_from(["deploy", "--stack-name", "demo"]).unwrap();
        let next = crate::hints::next_step(&error, &crate::hints::Rerun::of(&cli)).unwrap();
        assert!(
            next.contains("`cargo run -p deploy -- --stack-name demo --local`"),
            "{next}"
        );
    }

    #[test]
    fn the_local_target_is_addressed_by_its_url_and_aws_by_the_sdk() {
        let mut config = TestpageConfig {
            target: testpage_config::Target::Local,
            stack: testpage_config::StackAddress {
                stack_name: "demo".into(),
                region: "eu-west-1".into(),
                stream_name: "demo-IoTEventStream".into(),
                api_function_name: "demo-IoTAPI".into(),
                kinesis_endpoint: "http://127.0.0.1:4567".into(),
                lambda_endpoint: "http://127.0.0.1:4567".into(),
            },
            key: crate::testpage_config::device_key("AKIA", "secret"),
        };
        let local = target(&config);
        assert_eq!(local.endpoint_url.as_deref(), Some("http://127.0.0.1:4567"));
        assert_eq!(local.stream_name, "demo-IoTEventStream");
        config.target = testpage_config::Target::Aws;
        assert_eq!(target(&config).endpoint_url, None);
    }
}
