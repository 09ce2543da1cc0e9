//! `deploy --stack-name NAME simulate`: simulated devices putting signed readings on the
//! stack's stream, against AWS or the local target alike (whatever `testpage/config.js` names).

use std::path::Path;

use clap::Args;

/// Flags of `simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Number of simulated sensors.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub sensors: u32,

    /// Readings per second, all sensors together.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rate: u32,

    /// Stop after this many seconds.
    #[arg(long, value_name = "SECONDS", conflicts_with = "count")]
    pub duration: Option<u64>,

    /// Stop after this many readings.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// Readings per PutRecords call (1 to 500).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=500))]
    pub batch_size: u32,
}

/// Runs the simulation and prints its report.
pub fn run(_args: &SimulateArgs, _config_js: &Path) -> anyhow::Result<()> {
    anyhow::bail!("the simulator is not built yet")
}
