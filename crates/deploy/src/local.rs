//! `deploy --local`: the same stack definition run on this machine by the local target.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;

use crate::stack::StackDefinition;

/// Flags of the local target.
#[derive(Debug, Clone, Args)]
pub struct LocalArgs {
    /// Run the stack on this machine instead of AWS: no account needed. With `destroy`,
    /// remove the local target's state.
    #[arg(long)]
    pub local: bool,

    /// Port of the local endpoint (the AWS-compatible API devices and the test page use).
    #[arg(long, default_value_t = 4567, requires = "local")]
    pub port: u16,

    /// Address the local endpoint listens on. Loopback unless you ask otherwise: anyone who can
    /// reach it and holds the device key can put readings.
    #[arg(long, default_value = "127.0.0.1", requires = "local")]
    pub bind: IpAddr,

    /// Folder of the local target's state: stream, table, archive, metrics, device key.
    /// Default: `.local-state/<stack name>` in the current directory.
    #[arg(long, value_name = "DIR", requires = "local")]
    pub state_dir: Option<PathBuf>,
}

/// Runs the local target until Ctrl-C.
pub fn run(
    _definition: &StackDefinition,
    _args: &LocalArgs,
    _config_js: &std::path::Path,
) -> anyhow::Result<()> {
    anyhow::bail!("the local target is not built yet")
}

/// Removes the local target's state and the test page's config.
pub fn destroy(
    _definition: &StackDefinition,
    _args: &LocalArgs,
    _config_js: &std::path::Path,
) -> anyhow::Result<()> {
    anyhow::bail!("the local target is not built yet")
}
