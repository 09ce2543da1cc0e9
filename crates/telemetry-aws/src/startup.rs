//! What every Lambda binary does before its first event. Configuration is read once, at init,
//! from environment variables the stack sets; never from the function's own name (the 2015
//! functions derived the stack name from theirs and broke on a hyphen).

use std::time::{Duration, Instant, SystemTime};

/// A setting the function cannot start without.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set; the stack sets it on the function")]
    Missing(&'static str),
    #[error("environment variable {0} is empty")]
    Empty(&'static str),
}

/// Reads a required, non-empty environment variable. A missing one is logged as the reason
/// the function cannot start (the error the process exits with is only shown as a debug form).
pub fn required_env(name: &'static str) -> Result<String, ConfigError> {
    let result = match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => Err(ConfigError::Empty(name)),
        Ok(value) => Ok(value),
        Err(_) => Err(ConfigError::Missing(name)),
    };
    if let Err(err) = &result {
        tracing::error!(error = %err, "function cannot start");
    }
    result
}

/// JSON logs, one object per line, for CloudWatch Logs Insights. `RUST_LOG` sets the filter
/// (default `info`). Lambda adds its own timestamp and request id to each line.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_target(false)
        .with_current_span(false)
        .flatten_event(true)
        .without_time()
        .init();
}

/// The SDK configuration from the standard chain (`AWS_REGION`, the role's credentials, and
/// `AWS_ENDPOINT_URL` when set, which is how tests point a binary at moto). Built once per
/// process: configuration is expensive, clients are cheap.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// The instant by which retries must stop so that the invocation still answers in time: the
/// invocation's deadline less a tenth of what remains (at least 300 ms) for the answer itself.
pub fn work_deadline(invocation_deadline: SystemTime) -> Instant {
    let remaining = invocation_deadline
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    let margin = (remaining / 10).max(Duration::from_millis(300));
    Instant::now() + remaining.saturating_sub(margin)
}
