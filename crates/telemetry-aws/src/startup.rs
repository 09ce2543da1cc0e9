//! What every Lambda binary does before its first event. Configuration is read once, at init,
//! from environment variables the stack sets; never from the function's own name (the 2015
//! functions derived the stack name from theirs and broke on a hyphen).

use std::time::{Duration, Instant, SystemTime};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

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

/// JSON logs, one object per line, for CloudWatch Logs Insights. The filter is `RUST_LOG` in
/// its target form (`info`, or `warn,writer=debug,aws_smithy_runtime=trace`), else Lambda's own
/// `AWS_LAMBDA_LOG_LEVEL`, else `info`. Lambda adds its own timestamp and request id to each line.
pub fn init_logging() {
    init_logging_to(std::io::stdout);
}

/// [`init_logging`], with the lines going to `writer`. A second call in one process changes
/// nothing.
pub fn init_logging_to<W>(writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let (filter, refused) = log_filter();
    let installed = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(writer)
                .with_target(false)
                .with_current_span(false)
                .flatten_event(true)
                .without_time(),
        )
        .with(filter)
        .try_init();
    if let (Ok(()), Some((variable, value))) = (installed, refused) {
        tracing::warn!(
            variable,
            value,
            "log filter not understood; logging at info"
        );
    }
}

/// The log filter from the environment, and the variable and value refused, if one was.
fn log_filter() -> (Targets, Option<(&'static str, String)>) {
    log_filter_from(|variable| std::env::var(variable).ok())
}

/// [`log_filter`], reading variables through `lookup`.
fn log_filter_from(
    lookup: impl Fn(&str) -> Option<String>,
) -> (Targets, Option<(&'static str, String)>) {
    let default = Targets::new().with_default(LevelFilter::INFO);
    for variable in ["RUST_LOG", "AWS_LAMBDA_LOG_LEVEL"] {
        let Some(value) = lookup(variable) else {
            continue;
        };
        // Lambda's levels include FATAL, which tracing calls ERROR.
        let text = value.trim().to_ascii_lowercase().replace("fatal", "error");
        return match text.parse::<Targets>() {
            Ok(filter) => (filter, None),
            Err(_) => (default, Some((variable, value))),
        };
    }
    (default, None)
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

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    fn filter(vars: &[(&str, &str)]) -> (Targets, Option<(&'static str, String)>) {
        log_filter_from(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn log_filter_reads_rust_log_then_lambda_level() {
        let (none, refused) = filter(&[]);
        assert!(none.would_enable("writer", &Level::INFO));
        assert!(!none.would_enable("writer", &Level::DEBUG));
        assert_eq!(refused, None);

        let (targets, _) = filter(&[("RUST_LOG", "warn,aws_smithy_runtime=trace")]);
        assert!(targets.would_enable("aws_smithy_runtime::client", &Level::TRACE));
        assert!(!targets.would_enable("writer", &Level::INFO));

        let (lambda, _) = filter(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]);
        assert!(lambda.would_enable("writer", &Level::ERROR));
        assert!(!lambda.would_enable("writer", &Level::WARN));

        let (first, _) = filter(&[("RUST_LOG", "debug"), ("AWS_LAMBDA_LOG_LEVEL", "ERROR")]);
        assert!(first.would_enable("writer", &Level::DEBUG));
    }

    #[test]
    fn a_log_filter_not_understood_is_named_and_info_is_used() {
        let (targets, refused) = filter(&[("RUST_LOG", "writer=loud")]);
        assert_eq!(refused, Some(("RUST_LOG", "writer=loud".to_owned())));
        assert!(targets.would_enable("writer", &Level::INFO));
    }
}
