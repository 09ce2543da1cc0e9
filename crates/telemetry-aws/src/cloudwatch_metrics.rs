//! The metrics port on CloudWatch PutMetricData.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::error::DisplayErrorContext;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum as CwDatum, StandardUnit, StatisticSet};
use telemetry::metrics::{MetricDatum, SENSOR_ID_DIMENSION, Unit};
use telemetry::ports::{Metrics, PortError};

/// Publishes datums to one namespace.
#[derive(Clone, Debug)]
pub struct CloudWatchMetrics {
    client: Client,
    namespace: String,
}

impl CloudWatchMetrics {
    pub fn new(client: Client, namespace: impl Into<String>) -> Self {
        Self {
            client,
            namespace: namespace.into(),
        }
    }
}

/// The SDK's form of a datum.
pub fn to_cloudwatch(datum: &MetricDatum) -> CwDatum {
    let stats = datum.statistics;
    CwDatum::builder()
        .metric_name(datum.name)
        .set_dimensions(datum.sensor_id.as_ref().map(|id| {
            vec![
                Dimension::builder()
                    .name(SENSOR_ID_DIMENSION)
                    .value(id)
                    .build(),
            ]
        }))
        .timestamp(DateTime::from_millis(datum.timestamp.millis()))
        .statistic_values(
            StatisticSet::builder()
                .sample_count(stats.count)
                .sum(stats.sum)
                .minimum(stats.min)
                .maximum(stats.max)
                .build(),
        )
        .unit(match datum.unit {
            Unit::None => StandardUnit::None,
            Unit::Count => StandardUnit::Count,
        })
        .build()
}

impl Metrics for CloudWatchMetrics {
    async fn publish(&self, datums: &[MetricDatum]) -> Result<(), PortError> {
        if datums.is_empty() {
            return Ok(());
        }
        self.client
            .put_metric_data()
            .namespace(&self.namespace)
            .set_metric_data(Some(datums.iter().map(to_cloudwatch).collect()))
            .send()
            .await
            .map_err(|err| {
                PortError::new(
                    "cloudwatch:PutMetricData",
                    DisplayErrorContext(err).to_string(),
                )
            })?;
        Ok(())
    }
}
