//! What watches the stack: alarms whose thresholds follow from the stack's own settings, the
//! encrypted topic they notify when an address is given, and the pipeline's dashboard.
//!
//! Every alarm and every graph names its metric by namespace, name and dimensions, from the
//! same names the resources are given, so they follow a renamed stack. The metrics are those
//! AWS publishes for the stack's resources ("Types of metrics for Lambda functions", Lambda
//! Developer Guide; "Monitoring the Amazon Kinesis Data Streams service with Amazon
//! CloudWatch", Kinesis Data Streams Developer Guide; "Available CloudWatch metrics for Amazon
//! SQS", SQS Developer Guide) and the writer's own two counters (`telemetry::metrics`).

use cfn_model::resources::cloudwatch::{
    Alarm, ComparisonOperator, Dashboard, Dimension, Metric, MetricDataQuery, MetricStat,
    Statistic, TreatMissingData, Watched,
};
use cfn_model::resources::kms::Key;
use cfn_model::resources::sns::{Subscription, Topic};
use cfn_model::{Expr, PolicyDocument, Principal, Statement, TemplateBuilder};
use serde_json::{Value, json};

use crate::METRICS_NAMESPACE;
use crate::mapping::MappingSettings;
use crate::names::{FunctionKind, Names};

/// Namespaces AWS publishes the resources' metrics in.
pub const LAMBDA: &str = "AWS/Lambda";
/// Kinesis Data Streams' namespace.
pub const KINESIS: &str = "AWS/Kinesis";
/// SQS's namespace.
pub const SQS: &str = "AWS/SQS";

/// Five minutes: SQS publishes its queue metrics every five minutes, and the basic Lambda
/// and Kinesis metrics are per minute, so five is the finest period every alarm can share.
const PERIOD_SECONDS: u32 = 300;

/// The share of a batch's records the writer may refuse before it is worth a look, over
/// [`REJECTED_WINDOW_SECONDS`]. Devices that send a malformed reading now and then stay under
/// it; a device (or a firmware) whose every reading is refused does not.
pub const REJECTED_PERCENT: f64 = 5.0;
/// Fifteen minutes: long enough that one bad batch among few does not raise it.
pub const REJECTED_WINDOW_SECONDS: u32 = 900;

/// Throttled reads are retried by Lambda; only throttling that lasts (three periods in a row)
/// makes the consumers fall behind.
const READ_THROTTLE_PERIODS: u32 = 3;

/// What the alarms watch.
#[derive(Debug)]
pub struct Subjects {
    /// The stream consumers, each with its mapping's settings.
    pub consumers: [(FunctionKind, MappingSettings); 2],
    /// Every function invoked while the stack runs (not the provider, which runs only while it
    /// is deployed, and whose failures CloudFormation reports).
    pub functions: [FunctionKind; 3],
}

/// The stack's consumers and functions.
pub const SUBJECTS: Subjects = Subjects {
    consumers: [
        (FunctionKind::Archiver, crate::mapping::ARCHIVER),
        (FunctionKind::Writer, crate::mapping::WRITER),
    ],
    functions: [
        FunctionKind::Archiver,
        FunctionKind::Writer,
        FunctionKind::QueryApi,
    ],
};

/// A metric, by CloudWatch's identity.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricName {
    pub namespace: String,
    pub name: String,
    /// (name, value) pairs.
    pub dimensions: Vec<(String, String)>,
}

impl MetricName {
    fn new(namespace: &str, name: &str, dimensions: &[(&str, &str)]) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            dimensions: dimensions
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        }
    }

    fn metric(&self) -> Metric {
        Metric {
            namespace: self.namespace.clone(),
            metric_name: self.name.clone(),
            dimensions: self
                .dimensions
                .iter()
                .map(|(name, value)| Dimension {
                    name: name.clone(),
                    value: value.as_str().into(),
                })
                .collect(),
        }
    }
}

/// What an alarm watches: one description, rendered into the template's `Watched` here and
/// evaluated by the local target (`crate::local`).
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// One metric's statistic per period.
    Metric {
        metric: MetricName,
        statistic: Statistic,
    },
    /// `100 × part / (part + rest)` of the two metrics' sums per period, by metric math; a
    /// period with neither has no value.
    Percent {
        part: MetricName,
        rest: MetricName,
        label: &'static str,
    },
}

impl Signal {
    fn metric(
        namespace: &str,
        name: &str,
        dimensions: &[(&str, &str)],
        statistic: Statistic,
    ) -> Self {
        Self::Metric {
            metric: MetricName::new(namespace, name, dimensions),
            statistic,
        }
    }

    /// The alarm's metric, or metric math, as the template says it.
    pub fn watched(&self, period: u32) -> Watched {
        match self {
            Self::Metric { metric, statistic } => {
                let Metric {
                    namespace,
                    metric_name,
                    dimensions,
                } = metric.metric();
                Watched::Metric {
                    namespace,
                    metric_name,
                    dimensions,
                    statistic: *statistic,
                    period,
                }
            }
            Self::Percent { part, rest, label } => {
                let input = |id: &str, metric: &MetricName| MetricDataQuery {
                    id: id.to_owned(),
                    expression: None,
                    metric_stat: Some(MetricStat {
                        metric: metric.metric(),
                        period,
                        stat: Statistic::Sum,
                    }),
                    label: None,
                    return_data: false,
                };
                Watched::Expression {
                    metrics: vec![
                        input("part", part),
                        input("rest", rest),
                        MetricDataQuery {
                            id: "percent".to_owned(),
                            // No data in the window is no value, not a breach.
                            expression: Some(
                                "100 * FILL(part, 0) / (FILL(part, 0) + FILL(rest, 0))".to_owned(),
                            ),
                            metric_stat: None,
                            label: Some((*label).to_owned()),
                            return_data: true,
                        },
                    ],
                }
            }
        }
    }
}

/// One alarm, before it is placed in the template.
#[derive(Debug, Clone)]
pub struct AlarmSpec {
    /// Logical id.
    pub logical_id: String,
    /// The alarm's name: `<stack>-<what>`.
    pub name: String,
    /// What it means and what to look at.
    pub description: String,
    /// What it watches.
    pub signal: Signal,
    /// The length of each period looked at, in seconds.
    pub period: u32,
    /// The threshold.
    pub threshold: f64,
    /// How the value is compared to it.
    pub comparison: ComparisonOperator,
    /// Periods looked at, each of which must breach.
    pub periods: u32,
}

/// The iterator age at which a consumer's alarm goes off: a quarter of its maximum record age.
/// A record that old is sent to the failure queue instead of being processed, so at a quarter
/// the consumer is far behind while three quarters of the time remain before anything is
/// dead-lettered. The maximum record age is well inside the stream's retention (`mapping`),
/// so no record ages out of the stream first.
pub fn iterator_age_threshold_ms(settings: &MappingSettings) -> f64 {
    f64::from(settings.maximum_record_age_in_seconds) * 1000.0 / 4.0
}

/// Every alarm of the stack.
pub fn alarms(names: &Names<'_>, subjects: &Subjects) -> Vec<AlarmSpec> {
    let stack = names.stack();
    let mut alarms = Vec::new();
    for (kind, settings) in &subjects.consumers {
        let function = names.function(*kind);
        let threshold = iterator_age_threshold_ms(settings);
        alarms.push(AlarmSpec {
            logical_id: format!("{}IteratorAgeAlarm", kind.suffix()),
            name: format!("{function}-iterator-age"),
            description: format!(
                "{function} is {} minutes or more behind the stream. Records older than {} \
                 hours go to its failure queue unprocessed: look at its errors and duration.",
                threshold / 60_000.0,
                settings.maximum_record_age_in_seconds / 3600,
            ),
            signal: Signal::metric(
                LAMBDA,
                "IteratorAge",
                &[("FunctionName", &function)],
                Statistic::Maximum,
            ),
            period: PERIOD_SECONDS,
            threshold,
            comparison: ComparisonOperator::GreaterThanOrEqualToThreshold,
            periods: 1,
        });
        let queue = names.failure_queue(*kind);
        alarms.push(AlarmSpec {
            logical_id: format!("{}DeadLetterAlarm", kind.suffix()),
            name: format!("{queue}-visible"),
            description: format!(
                "{queue} holds a batch {function} gave up on (its shard and sequence numbers): \
                 the records are still in the stream for the rest of its retention."
            ),
            signal: Signal::metric(
                SQS,
                "ApproximateNumberOfMessagesVisible",
                &[("QueueName", &queue)],
                Statistic::Maximum,
            ),
            period: PERIOD_SECONDS,
            threshold: 1.0,
            comparison: ComparisonOperator::GreaterThanOrEqualToThreshold,
            periods: 1,
        });
    }
    for kind in subjects.functions {
        let function = names.function(kind);
        let failed = if subjects
            .consumers
            .iter()
            .any(|(consumer, _)| *consumer == kind)
        {
            "failed invocations (a failing batch is retried, then bisected)"
        } else {
            "failed invocations (each one a caller's error)"
        };
        for (what, metric_name, meaning) in [
            ("errors", "Errors", failed),
            (
                "throttles",
                "Throttles",
                "throttled invocations (the account's concurrency is used up)",
            ),
        ] {
            alarms.push(AlarmSpec {
                logical_id: format!("{}{metric_name}Alarm", kind.suffix()),
                name: format!("{function}-{what}"),
                description: format!("{function} had {meaning}: see its log group."),
                signal: Signal::metric(
                    LAMBDA,
                    metric_name,
                    &[("FunctionName", &function)],
                    Statistic::Sum,
                ),
                period: PERIOD_SECONDS,
                threshold: 1.0,
                comparison: ComparisonOperator::GreaterThanOrEqualToThreshold,
                periods: 1,
            });
        }
    }
    let stream = names.stream();
    alarms.push(AlarmSpec {
        logical_id: "StreamReadThrottledAlarm".to_owned(),
        name: format!("{stream}-read-throttled"),
        description: format!(
            "Reads of {stream} were throttled for {} minutes in a row: the consumers fall \
             behind. More shards, or on-demand mode, give them more read throughput.",
            READ_THROTTLE_PERIODS * PERIOD_SECONDS / 60
        ),
        signal: Signal::metric(
            KINESIS,
            "ReadProvisionedThroughputExceeded",
            &[("StreamName", &stream)],
            Statistic::Sum,
        ),
        period: PERIOD_SECONDS,
        threshold: 0.0,
        comparison: ComparisonOperator::GreaterThanThreshold,
        periods: READ_THROTTLE_PERIODS,
    });
    alarms.push(AlarmSpec {
        logical_id: "StreamWriteThrottledAlarm".to_owned(),
        name: format!("{stream}-write-throttled"),
        description: format!(
            "Devices' puts to {stream} were refused for throughput: they must retry, and a \
             device that does not loses readings. More shards, or on-demand mode, take more."
        ),
        signal: Signal::metric(
            KINESIS,
            "WriteProvisionedThroughputExceeded",
            &[("StreamName", &stream)],
            Statistic::Sum,
        ),
        period: PERIOD_SECONDS,
        threshold: 0.0,
        comparison: ComparisonOperator::GreaterThanThreshold,
        periods: 1,
    });
    alarms.push(AlarmSpec {
        logical_id: "WriterRejectedReadingsAlarm".to_owned(),
        name: format!("{stack}-rejected-readings"),
        description: format!(
            "More than {REJECTED_PERCENT} % of the readings in {} minutes were refused by the \
             writer: its log group names each one and why.",
            REJECTED_WINDOW_SECONDS / 60
        ),
        signal: Signal::Percent {
            part: MetricName::new(
                METRICS_NAMESPACE,
                telemetry::metrics::READINGS_REJECTED,
                &[],
            ),
            rest: MetricName::new(
                METRICS_NAMESPACE,
                telemetry::metrics::READINGS_ACCEPTED,
                &[],
            ),
            label: "rejected readings (%)",
        },
        period: REJECTED_WINDOW_SECONDS,
        threshold: REJECTED_PERCENT,
        comparison: ComparisonOperator::GreaterThanThreshold,
        periods: 1,
    });
    alarms
}

/// Declares the alarms and the dashboard; with `email`, also a topic the alarms notify (on
/// entering ALARM and on returning to OK) with that address subscribed.
pub fn declare(
    template: &mut TemplateBuilder,
    names: &Names<'_>,
    subjects: &Subjects,
    email: Option<&str>,
) {
    let actions: Vec<Expr> = email
        .map(|email| vec![declare_topic(template, names, email)])
        .unwrap_or_default();
    let alarms = alarms(names, subjects);
    for alarm in &alarms {
        template.resource(
            &alarm.logical_id,
            Alarm {
                alarm_name: alarm.name.as_str().into(),
                alarm_description: alarm.description.clone(),
                watches: alarm.signal.watched(alarm.period),
                evaluation_periods: alarm.periods,
                datapoints_to_alarm: None,
                threshold: alarm.threshold,
                comparison_operator: alarm.comparison,
                // Each watched metric is published only when something happens (an
                // invocation, a throttle, a batch); a quiet stack is a healthy one.
                treat_missing_data: TreatMissingData::NotBreaching,
                alarm_actions: actions.clone(),
                ok_actions: actions.clone(),
            },
        );
    }
    template.resource(
        "PipelineDashboard",
        Dashboard {
            dashboard_name: names.stack().into(),
            dashboard_body: Expr::sub(dashboard_text(names, subjects, &alarms)),
        },
    );
}

/// The alarms' topic, encrypted with a key of the stack's own. Alarms cannot publish to a
/// topic encrypted with the AWS managed key `aws/sns`, whose policy cannot grant CloudWatch
/// the key; a customer managed key whose policy does is needed ("Encryption at rest",
/// "Enable compatibility between event sources from AWS services and encrypted topics", SNS
/// Developer Guide). The account's administrators keep the key, as with every new key.
fn declare_topic(template: &mut TemplateBuilder, names: &Names<'_>, email: &str) -> Expr {
    let key = template.resource(
        "AlarmTopicKey",
        Key {
            description: format!(
                "Encrypts the alarm notifications of stack {}",
                names.stack()
            ),
            enable_key_rotation: true,
            key_policy: PolicyDocument::new([
                Statement::allow(["kms:*"], [Expr::from("*")])
                    .sid("AccountAdministersTheKey")
                    .principal(Principal::Aws(vec![Expr::sub(
                        "arn:${AWS::Partition}:iam::${AWS::AccountId}:root",
                    )])),
                Statement::allow(["kms:Decrypt", "kms:GenerateDataKey*"], [Expr::from("*")])
                    .sid("AlarmsOfThisAccountPublish")
                    .principal(Principal::Service(vec![
                        "cloudwatch.amazonaws.com".to_owned(),
                    ]))
                    .condition(
                        "StringEquals",
                        "aws:SourceAccount",
                        [Expr::sub("${AWS::AccountId}")],
                    ),
            ]),
        },
    );
    let topic = template.resource(
        "AlarmTopic",
        Topic {
            topic_name: names.alarm_topic().into(),
            kms_master_key_id: key.arn(),
            subscription: vec![Subscription {
                endpoint: email.to_owned(),
                protocol: "email".to_owned(),
            }],
        },
    );
    topic.arn()
}

/// [`dashboard_body`] as the text the template holds, its keys sorted: with serde_json's
/// `preserve_order` feature (which any crate in a build can switch on) they would keep
/// insertion order, and one definition would render two templates.
fn dashboard_text(names: &Names<'_>, subjects: &Subjects, alarms: &[AlarmSpec]) -> String {
    let mut body = dashboard_body(names, subjects, alarms);
    body.sort_all_objects();
    body.to_string()
}

/// The dashboard: readings in, stored and refused, batches archived, dead letters, each
/// consumer's iterator age, the functions' durations and errors, the query latency, and the
/// alarms. `${AWS::Region}` and `${AWS::AccountId}` are left for `Fn::Sub`.
pub fn dashboard_body(names: &Names<'_>, subjects: &Subjects, alarms: &[AlarmSpec]) -> Value {
    let stream = names.stream();
    let function = |kind: FunctionKind| names.function(kind);
    let per_function = |metric_name: &str, stat: &str| -> Vec<Value> {
        subjects
            .functions
            .iter()
            .map(|kind| json!([LAMBDA, metric_name, "FunctionName", function(*kind), {"stat": stat}]))
            .collect()
    };
    let consumers = subjects.consumers.map(|(kind, _)| kind);
    let graphs = [
        (
            "Readings in (records put on the stream)",
            vec![json!([KINESIS, "IncomingRecords", "StreamName", stream, {"stat": "Sum"}])],
        ),
        (
            "Readings stored and refused by the writer",
            vec![
                json!([METRICS_NAMESPACE, telemetry::metrics::READINGS_ACCEPTED, {"stat": "Sum"}]),
                json!([METRICS_NAMESPACE, telemetry::metrics::READINGS_REJECTED, {"stat": "Sum"}]),
            ],
        ),
        (
            "Batches archived (archiver invocations and errors)",
            vec![
                json!([LAMBDA, "Invocations", "FunctionName", function(FunctionKind::Archiver), {"stat": "Sum"}]),
                json!([LAMBDA, "Errors", "FunctionName", function(FunctionKind::Archiver), {"stat": "Sum"}]),
            ],
        ),
        (
            "Dead letters (batches in the failure queues)",
            consumers
                .iter()
                .map(|kind| {
                    json!([SQS, "ApproximateNumberOfMessagesVisible", "QueueName", names.failure_queue(*kind), {"stat": "Maximum"}])
                })
                .collect(),
        ),
        (
            "Iterator age of each consumer (ms)",
            consumers
                .iter()
                .map(|kind| json!([LAMBDA, "IteratorAge", "FunctionName", function(*kind), {"stat": "Maximum"}]))
                .collect(),
        ),
        ("Function duration, p99 (ms)", per_function("Duration", "p99")),
        ("Function errors", per_function("Errors", "Sum")),
        (
            "Query latency (ms)",
            ["p50", "p99"]
                .iter()
                .map(|stat| {
                    json!([LAMBDA, "Duration", "FunctionName", function(FunctionKind::QueryApi), {"stat": stat}])
                })
                .collect(),
        ),
    ];
    let mut widgets: Vec<Value> = graphs
        .into_iter()
        .enumerate()
        .map(|(index, (title, metrics))| {
            json!({
                "type": "metric",
                "x": (index % 2) * 12,
                "y": (index / 2) * 6,
                "width": 12,
                "height": 6,
                "properties": {
                    "title": title,
                    "view": "timeSeries",
                    "region": "${AWS::Region}",
                    "period": 60,
                    "metrics": metrics,
                },
            })
        })
        .collect();
    let rows = widgets.len().div_ceil(2);
    widgets.push(json!({
        "type": "alarm",
        "x": 0,
        "y": rows * 6,
        "width": 24,
        "height": 4,
        "properties": {
            "title": "Alarms",
            "alarms": alarms
                .iter()
                .map(|alarm| format!(
                    "arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:{}",
                    alarm.name
                ))
                .collect::<Vec<_>>(),
        },
    }));
    json!({ "widgets": widgets })
}
