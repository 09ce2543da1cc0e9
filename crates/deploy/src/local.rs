//! `deploy --local`: the same stack definition run on this machine by the local target. The
//! settings come from the definition ([`iot_stack::local`]); the flags say only where it runs.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use iot_stack::StackDefinition;
use iot_stack::local::Placement;
use local_target::shard_limits::ShardLimits;
use local_target::{LocalSettings, RunningTarget};

use crate::testpage_config::{self, StackAddress, Target, TestpageConfig};

/// The endpoint's port unless `--port` says otherwise.
pub const DEFAULT_PORT: u16 = 4567;
/// Loopback unless `--bind` says otherwise.
pub const DEFAULT_BIND: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// Flags of the local target.
#[derive(Debug, Clone, Args)]
pub struct LocalArgs {
    /// Run the stack on this machine instead of AWS: no account needed. With `destroy`,
    /// remove the local target's state.
    #[arg(long, global = true)]
    pub local: bool,

    /// Port of the local endpoint (the AWS-compatible API devices and the test page use); 0
    /// picks a free port.
    #[arg(long, global = true, default_value_t = DEFAULT_PORT, requires = "local")]
    pub port: u16,

    /// Address the local endpoint listens on. Loopback unless you ask otherwise: anyone who can
    /// reach it and holds the device key can put readings.
    #[arg(long, global = true, default_value_t = DEFAULT_BIND, requires = "local")]
    pub bind: IpAddr,

    /// Folder of the local target's state: stream, table, archive, metrics, device key.
    /// Default: `.local-state/<stack name>` in the current directory.
    #[arg(long, global = true, value_name = "DIR", requires = "local")]
    pub state_dir: Option<PathBuf>,

    /// Kinesis' write limits per shard: `aws` refuses what a shard on AWS would (over 1,000
    /// records or 1 MiB a second) with ProvisionedThroughputExceededException; `off` takes
    /// everything, for benchmarks of the local target itself.
    #[arg(long, global = true, value_enum, default_value_t = ShardLimitsArg::Aws, requires = "local")]
    pub shard_limits: ShardLimitsArg,
}

/// `--shard-limits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShardLimitsArg {
    Aws,
    Off,
}

impl From<ShardLimitsArg> for ShardLimits {
    fn from(arg: ShardLimitsArg) -> Self {
        match arg {
            ShardLimitsArg::Aws => ShardLimits::Aws,
            ShardLimitsArg::Off => ShardLimits::Off,
        }
    }
}

impl LocalArgs {
    /// The state folder of stack `definition`.
    pub fn state_dir(&self, definition: &StackDefinition) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(|| Path::new(".local-state").join(definition.stack_name.as_str()))
    }
}

/// The local target's settings for `definition`, placed where the flags say.
pub fn settings(
    definition: &StackDefinition,
    args: &LocalArgs,
    testpage_dir: &Path,
) -> LocalSettings {
    let placement = Placement {
        state_dir: args.state_dir(definition),
        listen: SocketAddr::new(args.bind, args.port),
        testpage_dir: testpage_dir.to_owned(),
    };
    let mut settings = iot_stack::local::settings(definition, placement);
    settings.shard_limits = args.shard_limits.into();
    settings
}

/// The test page's configuration for the running target.
pub fn testpage_config(
    settings: &LocalSettings,
    target: &RunningTarget,
    stack_name: &str,
) -> TestpageConfig {
    let endpoint = format!("http://{}", target.address);
    TestpageConfig {
        target: Target::Local,
        stack: StackAddress {
            stack_name: stack_name.to_owned(),
            region: settings.region.clone(),
            stream_name: settings.stream_name.clone(),
            api_function_name: settings.query_function_name.clone(),
            kinesis_endpoint: endpoint.clone(),
            lambda_endpoint: endpoint,
        },
        key: testpage_config::device_key(
            target.key.access_key_id(),
            target.key.secret_access_key(),
        ),
    }
}

/// How long the end of a run may wait for the storage threads; they end within one
/// checkpoint interval, so this is only reached if one is stuck in the file system.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(10);

/// Runs the local target until Ctrl-C or SIGTERM.
pub fn run(definition: &StackDefinition, args: &LocalArgs, config_js: &Path) -> anyhow::Result<()> {
    let testpage_dir = config_js.parent().unwrap_or(Path::new("."));
    let settings = settings(definition, args, testpage_dir);
    let runtime = tokio::runtime::Runtime::new().context("failed to start the async runtime")?;
    let outcome = runtime.block_on(async {
        let target = local_target::start(settings.clone())
            .await
            .with_context(|| {
                format!(
                    "failed to start the local target in {}",
                    settings.state_dir.display()
                )
            })?;
        let served = serve(definition, &settings, &target, config_js).await;
        if served.is_ok() {
            eprintln!("\nstopping: finishing the batches in flight...");
            // The counters as they stand; batches in flight finish after this and are kept.
            eprintln!("{}", crate::console::Snapshot::of(&target).line());
        }
        // Stopped on every path, so that no task outlives an error.
        let stopped = target
            .stop()
            .await
            .context("the local target stopped with an error");
        served.and(stopped)?;
        eprintln!(
            "stopped; everything acknowledged is kept in {}",
            settings.state_dir.display()
        );
        Ok(())
    });
    runtime.shutdown_timeout(SHUTDOWN_LIMIT);
    outcome
}

/// Writes the page's config and shows the console until a stop signal (`Ok`) or a failure.
async fn serve(
    definition: &StackDefinition,
    settings: &LocalSettings,
    target: &RunningTarget,
    config_js: &Path,
) -> anyhow::Result<()> {
    testpage_config(settings, target, definition.stack_name.as_str())
        .write(config_js)
        .with_context(|| format!("failed to write {}", config_js.display()))?;
    let profile = format!("{}-local", definition.stack_name.as_str());
    let use_profile = local_target::state::StateDir::existing(&settings.state_dir)
        .write_aws_profile(
            &profile,
            &settings.region,
            &format!("http://{}", target.address),
            &target.operator_key,
        )
        .context("failed to write the AWS CLI profile of the operator key")?;
    // Installed before "ready" is printed: a Ctrl-C that follows the line at once must stop the
    // target cleanly, not meet the default action and kill it mid-write.
    let stop =
        StopSignals::install().context("failed to install the Ctrl-C and SIGTERM handlers")?;
    println!("local target ready: http://{}", target.address);
    println!(
        "  stream {} ({} shard(s)), query function {}",
        settings.stream_name, settings.stream_shape.shard_count, settings.query_function_name
    );
    println!(
        "  state in {}; test page config written to {}",
        settings.state_dir.display(),
        config_js.display()
    );
    println!(
        "  shard limits: {}",
        match settings.shard_limits {
            ShardLimits::Aws => "as on AWS (1,000 records and 1 MiB a second per shard)",
            ShardLimits::Off => "off (--shard-limits off)",
        }
    );
    println!("  the AWS CLI as the stack's owner (the operator key, profile {profile}):");
    println!("    {use_profile}");
    println!(
        "  open http://{}/ in a browser; Ctrl-C stops (state is kept)",
        target.address
    );
    let failure = tokio::select! {
        () = stop.received() => None,
        error = target.failed() => Some(error),
        () = crate::console::show(target) => None,
    };
    match failure {
        Some(error) => Err(anyhow::Error::new(error).context("the local target stopped")),
        None => Ok(()),
    }
}

/// Ctrl-C (SIGINT) or SIGTERM, listened for from the moment of `install`.
struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn received(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// Removes the local target's state and the test page's config.
pub fn destroy(
    definition: &StackDefinition,
    args: &LocalArgs,
    config_js: &Path,
) -> anyhow::Result<()> {
    let state_dir = args.state_dir(definition);
    match std::fs::remove_dir_all(&state_dir) {
        Ok(()) => println!("removed {}", state_dir.display()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            println!("no local state in {}", state_dir.display());
        }
        Err(err) => {
            return Err(err).with_context(|| format!("failed to remove {}", state_dir.display()));
        }
    }
    // Only a config that points at this local stack is ours to remove.
    if let Some(config) = TestpageConfig::read(config_js)
        && config.target == Target::Local
        && config.stack.stack_name == definition.stack_name.as_str()
    {
        testpage_config::remove(config_js)
            .with_context(|| format!("failed to remove {}", config_js.display()))?;
        println!("removed {}", config_js.display());
    }
    Ok(())
}
