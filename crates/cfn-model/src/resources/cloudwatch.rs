//! `AWS::CloudWatch::Alarm` and `AWS::CloudWatch::Dashboard`.

use serde::Serialize;

use crate::expr::Expr;
use crate::resources::fixed_type;

/// A metric alarm: one metric's statistic, or a metric-math expression over several.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alarm {
    /// `AlarmName`.
    pub alarm_name: Expr,
    /// `AlarmDescription`: what crossing the threshold means and what to look at.
    pub alarm_description: String,
    /// What the alarm watches.
    #[serde(flatten)]
    pub watches: Watched,
    /// `EvaluationPeriods`: how many periods are looked at.
    pub evaluation_periods: u32,
    /// `DatapointsToAlarm`: how many of them must breach (all when `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datapoints_to_alarm: Option<u32>,
    /// `Threshold`.
    pub threshold: f64,
    /// `ComparisonOperator`.
    pub comparison_operator: ComparisonOperator,
    /// `TreatMissingData`.
    pub treat_missing_data: TreatMissingData,
    /// `AlarmActions`: what is notified on entering ALARM.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alarm_actions: Vec<Expr>,
    /// `OKActions`: what is notified on returning to OK.
    #[serde(rename = "OKActions", skip_serializing_if = "Vec::is_empty")]
    pub ok_actions: Vec<Expr>,
}

fixed_type!(Alarm, "AWS::CloudWatch::Alarm");

/// The two shapes of an alarm's subject.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Watched {
    /// `Namespace`, `MetricName`, `Dimensions`, `Statistic`, `Period`.
    #[serde(rename_all = "PascalCase")]
    Metric {
        /// `Namespace`.
        namespace: String,
        /// `MetricName`.
        metric_name: String,
        /// `Dimensions`.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        dimensions: Vec<Dimension>,
        /// `Statistic`.
        statistic: Statistic,
        /// `Period` in seconds.
        period: u32,
    },
    /// `Metrics`: metric-math queries, exactly one of which returns data.
    #[serde(rename_all = "PascalCase")]
    Expression {
        /// `Metrics`.
        metrics: Vec<MetricDataQuery>,
    },
}

/// A metric's dimension.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    /// `Name`.
    pub name: String,
    /// `Value`.
    pub value: Expr,
}

/// A statistic of a metric over a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Statistic {
    /// The total.
    Sum,
    /// The largest value.
    Maximum,
    /// The mean.
    Average,
}

/// How the statistic is compared to the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ComparisonOperator {
    /// `>=`.
    GreaterThanOrEqualToThreshold,
    /// `>`.
    GreaterThanThreshold,
}

/// What a period without data counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TreatMissingData {
    /// As within the threshold: for metrics that are only published when something happens.
    NotBreaching,
    /// As breaching.
    Breaching,
}

/// One query of a metric-math alarm.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDataQuery {
    /// `Id`: lower case first, referenced by expressions.
    pub id: String,
    /// `Expression`, for a computed series.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// `MetricStat`, for a metric's series.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_stat: Option<MetricStat>,
    /// `Label`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `ReturnData`: true for the one series the alarm compares.
    pub return_data: bool,
}

/// `MetricStat`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricStat {
    /// `Metric`.
    pub metric: Metric,
    /// `Period` in seconds.
    pub period: u32,
    /// `Stat`.
    pub stat: Statistic,
}

/// `Metric`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Metric {
    /// `Namespace`.
    pub namespace: String,
    /// `MetricName`.
    pub metric_name: String,
    /// `Dimensions`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<Dimension>,
}

/// A dashboard; its body is CloudWatch's dashboard JSON, as one string.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dashboard {
    /// `DashboardName`.
    pub dashboard_name: Expr,
    /// `DashboardBody`.
    pub dashboard_body: Expr,
}

fixed_type!(Dashboard, "AWS::CloudWatch::Dashboard");
