//! The stack definition on the local target: the names, the stream's shape and each
//! consumer's event-source mapping come from the same definition as the template, so the
//! local stack behaves as the deployed one. Only where it runs (state folder, address, test
//! page folder) is the caller's to say.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use local_target::LocalSettings;
use local_target::alarms::{Comparison, LocalAlarm, Statistic, Watch};
use local_target::consumers::ConsumerSettings;
use local_target::shard_limits::ShardLimits;
use local_target::storage::metrics::MetricId;
use local_target::storage::stream::StreamShape;

use crate::StackDefinition;
use crate::mapping::{self, MappingSettings};
use crate::monitoring::{self, MetricName, SUBJECTS, Signal};
use crate::names::{FunctionKind, Names};
use crate::stream::RETENTION_HOURS;

/// The region the local target claims to be in (signatures name a region).
pub const LOCAL_REGION: &str = "us-east-1";
/// The account id of local ARNs.
pub const LOCAL_ACCOUNT: &str = "000000000000";

/// Where a local target runs: not part of the definition.
#[derive(Debug, Clone)]
pub struct Placement {
    /// The state folder (stream, table, archive, metrics, device key).
    pub state_dir: PathBuf,
    /// The endpoint's address.
    pub listen: SocketAddr,
    /// The test page's folder, served at `/`.
    pub testpage_dir: PathBuf,
}

/// The local target's settings for `definition`, placed at `placement`.
pub fn settings(definition: &StackDefinition, placement: Placement) -> LocalSettings {
    let names = Names::new(&definition.stack_name);
    let consumer = |kind: FunctionKind, mapping: &MappingSettings| ConsumerSettings {
        function_name: names.function(kind),
        failure_queue_name: names.failure_queue(kind),
        role_arn: format!("arn:aws:iam::{LOCAL_ACCOUNT}:role/{}", names.role(kind)),
        batch_size: mapping.batch_size as usize,
        batching_window: Duration::from_secs(mapping.maximum_batching_window_in_seconds.into()),
        maximum_retry_attempts: mapping.maximum_retry_attempts,
        maximum_record_age: Duration::from_secs(mapping.maximum_record_age_in_seconds.into()),
        bisect_batch_on_function_error: true,
        parallelization_factor: definition.parallelization_factor.get().into(),
        retry_pause: Duration::from_millis(100),
    };
    LocalSettings {
        region: LOCAL_REGION.to_owned(),
        account_id: LOCAL_ACCOUNT.to_owned(),
        stream_name: names.stream(),
        stream_shape: StreamShape {
            shard_count: definition.capacity.initial_shards(),
            retention_hours: RETENTION_HOURS,
        },
        shard_limits: ShardLimits::Aws,
        query_function_name: names.function(FunctionKind::QueryApi),
        table_name: names.table(),
        bucket_name: names.archive_bucket(LOCAL_ACCOUNT),
        archiver: consumer(FunctionKind::Archiver, &mapping::ARCHIVER),
        writer: consumer(FunctionKind::Writer, &mapping::WRITER),
        metrics_namespace: crate::METRICS_NAMESPACE.to_owned(),
        sensor_metrics: definition.sensor_metrics,
        alarms: alarms(&names),
        state_dir: placement.state_dir,
        listen: placement.listen,
        testpage_dir: placement.testpage_dir,
    }
}

/// The stack's alarms, as the template has them, for the local target to evaluate.
pub fn alarms(names: &Names<'_>) -> Vec<LocalAlarm> {
    monitoring::alarms(names, &SUBJECTS)
        .into_iter()
        .map(|alarm| LocalAlarm {
            name: alarm.name,
            description: alarm.description,
            watch: match alarm.signal {
                Signal::Metric { metric, statistic } => Watch::Metric {
                    metric: metric_id(&metric),
                    statistic: match statistic {
                        cfn_model::resources::cloudwatch::Statistic::Sum => Statistic::Sum,
                        cfn_model::resources::cloudwatch::Statistic::Maximum => Statistic::Maximum,
                        cfn_model::resources::cloudwatch::Statistic::Average => Statistic::Average,
                    },
                },
                Signal::Percent { part, rest, .. } => Watch::Percent {
                    part: metric_id(&part),
                    rest: metric_id(&rest),
                },
            },
            threshold: alarm.threshold,
            comparison: match alarm.comparison {
                cfn_model::resources::cloudwatch::ComparisonOperator::GreaterThanOrEqualToThreshold => {
                    Comparison::GreaterThanOrEqualToThreshold
                }
                cfn_model::resources::cloudwatch::ComparisonOperator::GreaterThanThreshold => {
                    Comparison::GreaterThanThreshold
                }
            },
            periods: alarm.periods,
            period: Duration::from_secs(alarm.period.into()),
        })
        .collect()
}

fn metric_id(metric: &MetricName) -> MetricId {
    MetricId::new(
        &metric.namespace,
        &metric.name,
        metric
            .dimensions
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use local_target::signals::PUBLISHED;

    /// What the local target cannot produce, and why: it has no concurrency limit to
    /// throttle invocations at, and its consumers read the stream without Kinesis' read
    /// limits (only writes are limited, as devices meet them).
    const NEVER_LOCALLY: [&str; 2] = ["Throttles", "ReadProvisionedThroughputExceeded"];

    #[test]
    fn every_local_alarm_watches_a_metric_the_local_target_publishes() {
        let stack: crate::stack_name::StackName = "demo".parse().unwrap_or_else(|_| unreachable!());
        let names = Names::new(&stack);
        let alarms = alarms(&names);
        assert_eq!(alarms.len(), monitoring::alarms(&names, &SUBJECTS).len());
        let writer_counters = [
            telemetry::metrics::READINGS_ACCEPTED,
            telemetry::metrics::READINGS_REJECTED,
        ];
        let mut watched = 0;
        for alarm in &alarms {
            let metrics = match &alarm.watch {
                Watch::Metric { metric, .. } => vec![metric],
                Watch::Percent { part, rest } => vec![part, rest],
            };
            for metric in metrics {
                let published = PUBLISHED
                    .contains(&(metric.namespace.as_str(), metric.name.as_str()))
                    || (metric.namespace == crate::METRICS_NAMESPACE
                        && writer_counters.contains(&metric.name.as_str())
                        && metric.dimensions.is_empty());
                assert!(
                    published || NEVER_LOCALLY.contains(&metric.name.as_str()),
                    "{} watches {metric:?}, which the local target does not publish",
                    alarm.name
                );
                watched += usize::from(published);
            }
        }
        // Both iterator ages, both queues, three functions' errors, write throttling, two
        // counters.
        assert_eq!(watched, 10);
    }
}
