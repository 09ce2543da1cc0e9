//! The stack watches itself: each alarm and each dashboard graph names a metric the stack's
//! resources or its writer publish, each threshold follows from the stack's settings, the
//! alarm address gets an encrypted topic, and the stream mode and tracing flags reach the
//! template.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use iot_stack::{StackDefinition, StreamCapacity};
use serde_json::{Value, json};

fn template(definition: &StackDefinition) -> Value {
    serde_json::from_str(&iot_stack::synth::render(definition).unwrap()).unwrap()
}

fn demo() -> StackDefinition {
    StackDefinition::new("demo".parse().unwrap())
}

fn every_option() -> StackDefinition {
    StackDefinition {
        capacity: StreamCapacity::OnDemand,
        tracing: true,
        alarm_email: Some("ops@example.com".to_owned()),
        ..demo()
    }
}

fn resources_of<'a>(template: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, resource)| resource["Type"] == kind)
        .collect()
}

/// A metric: namespace, name, and its dimensions as (name, value) pairs.
type MetricId = (String, String, BTreeSet<(String, String)>);

fn metric_id(namespace: &str, name: &str, dimensions: &[(&str, &str)]) -> MetricId {
    (
        namespace.to_owned(),
        name.to_owned(),
        dimensions
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect(),
    )
}

/// Every metric the template's resources have AWS publish, by the documented names and
/// dimensions ("Types of metrics for Lambda functions", Lambda Developer Guide: Invocations,
/// Errors, Throttles and Duration for every function, IteratorAge for stream consumers only;
/// "Monitoring the Amazon Kinesis Data Streams service with Amazon CloudWatch": the
/// stream-level metrics by StreamName; "Available CloudWatch metrics for Amazon SQS": by
/// QueueName), and the writer's two counters in the namespace its environment names.
fn emitted_metrics(template: &Value) -> BTreeSet<MetricId> {
    let mut emitted = BTreeSet::new();
    let functions = resources_of(template, "AWS::Lambda::Function");
    let consumers: BTreeSet<&str> = resources_of(template, "Custom::KinesisEventSourceMapping")
        .iter()
        .map(|(_, mapping)| {
            mapping["Properties"]["FunctionName"]["Fn::GetAtt"][0]
                .as_str()
                .unwrap()
        })
        .collect();
    for (logical_id, function) in &functions {
        let name = function["Properties"]["FunctionName"].as_str().unwrap();
        let mut metrics = vec!["Invocations", "Errors", "Throttles", "Duration"];
        if consumers.contains(logical_id.as_str()) {
            metrics.push("IteratorAge");
        }
        for metric in metrics {
            emitted.insert(metric_id("AWS/Lambda", metric, &[("FunctionName", name)]));
        }
        if let Some(namespace) =
            function["Properties"]["Environment"]["Variables"]["METRICS_NAMESPACE"].as_str()
        {
            for counter in [
                telemetry::metrics::READINGS_ACCEPTED,
                telemetry::metrics::READINGS_REJECTED,
            ] {
                emitted.insert(metric_id(namespace, counter, &[]));
            }
        }
    }
    for (_, stream) in resources_of(template, "AWS::Kinesis::Stream") {
        let name = stream["Properties"]["Name"].as_str().unwrap();
        for metric in [
            "IncomingRecords",
            "ReadProvisionedThroughputExceeded",
            "WriteProvisionedThroughputExceeded",
        ] {
            emitted.insert(metric_id("AWS/Kinesis", metric, &[("StreamName", name)]));
        }
    }
    for (_, queue) in resources_of(template, "AWS::SQS::Queue") {
        let name = queue["Properties"]["QueueName"].as_str().unwrap();
        emitted.insert(metric_id(
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            &[("QueueName", name)],
        ));
    }
    emitted
}

fn alarm_metric(metric: &Value) -> MetricId {
    let dimensions: Vec<(&str, &str)> = metric["Dimensions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| (d["Name"].as_str().unwrap(), d["Value"].as_str().unwrap()))
        .collect();
    metric_id(
        metric["Namespace"].as_str().unwrap(),
        metric["MetricName"].as_str().unwrap(),
        &dimensions,
    )
}

/// The metrics each alarm watches (one, or each of its metric-math inputs).
fn watched_by(alarm: &Value) -> Vec<MetricId> {
    let properties = &alarm["Properties"];
    match properties["Metrics"].as_array() {
        Some(queries) => queries
            .iter()
            .filter(|query| query["MetricStat"].is_object())
            .map(|query| alarm_metric(&query["MetricStat"]["Metric"]))
            .collect(),
        None => vec![alarm_metric(properties)],
    }
}

/// The dashboard's body, with what `Fn::Sub` would put in.
fn dashboard(template: &Value) -> Value {
    let (_, dashboard) = resources_of(template, "AWS::CloudWatch::Dashboard")
        .pop()
        .expect("a dashboard");
    let body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .unwrap()
        .replace("${AWS::Region}", "us-east-1")
        .replace("${AWS::AccountId}", "123456789012")
        .replace("${AWS::Partition}", "aws");
    assert!(!body.contains("${"), "only pseudo parameters: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Each graph line: `[namespace, name, (dimension name, value)*, {options}]`.
fn graphed(dashboard: &Value) -> Vec<MetricId> {
    let mut metrics = Vec::new();
    for widget in dashboard["widgets"].as_array().unwrap() {
        for line in widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let parts: Vec<&str> = line
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let dimensions: Vec<(&str, &str)> = parts[2..]
                .chunks(2)
                .map(|pair| (pair[0], pair[1]))
                .collect();
            metrics.push(metric_id(parts[0], parts[1], &dimensions));
        }
    }
    metrics
}

#[test]
fn every_alarm_and_graph_watches_a_metric_the_stack_emits() {
    for definition in [demo(), every_option()] {
        let template = template(&definition);
        let emitted = emitted_metrics(&template);
        let alarms = resources_of(&template, "AWS::CloudWatch::Alarm");
        // Per consumer: iterator age, dead letters; per function (3): errors, throttles;
        // the stream: read and write throttling; the writer's rejected share.
        assert_eq!(alarms.len(), 2 * 2 + 3 * 2 + 2 + 1);
        let mut watched = BTreeSet::new();
        for (logical_id, alarm) in &alarms {
            for metric in watched_by(alarm) {
                assert!(
                    emitted.contains(&metric),
                    "{logical_id} watches {metric:?}, which nothing in the stack publishes"
                );
                watched.insert(metric);
            }
        }
        let graphs = graphed(&dashboard(&template));
        assert!(graphs.len() >= 15, "{graphs:?}");
        for metric in &graphs {
            assert!(
                emitted.contains(metric),
                "the dashboard graphs {metric:?}, never published"
            );
        }
        // What an alarm watches is on the dashboard too, but for the throttles.
        let graphed: BTreeSet<_> = graphs.into_iter().collect();
        let unseen: Vec<_> = watched
            .difference(&graphed)
            .filter(|(_, name, _)| !name.contains("Throttle") && !name.contains("Throughput"))
            .collect();
        assert!(unseen.is_empty(), "alarmed but not graphed: {unseen:?}");
    }
}

#[test]
fn the_check_of_emitted_metrics_catches_a_wrong_name_or_dimension() {
    let template = template(&demo());
    let emitted = emitted_metrics(&template);
    let (_, alarm) = resources_of(&template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .find(|(id, _)| id.as_str() == "IoTDDBEventProcessorErrorsAlarm")
        .unwrap();
    assert!(emitted.contains(&watched_by(alarm)[0]));
    let mut renamed = alarm.clone();
    renamed["Properties"]["MetricName"] = json!("Error");
    assert!(!emitted.contains(&watched_by(&renamed)[0]));
    let mut elsewhere = alarm.clone();
    elsewhere["Properties"]["Dimensions"][0]["Value"] = json!("other-IoTDDBEventProcessor");
    assert!(!emitted.contains(&watched_by(&elsewhere)[0]));
    // The archiver has no IteratorAge if nothing maps the stream to it.
    let mut unmapped = template.clone();
    unmapped["Resources"]
        .as_object_mut()
        .unwrap()
        .remove("IoTMapEventSourceS3EventProcessor");
    let archiver_age = metric_id(
        "AWS/Lambda",
        "IteratorAge",
        &[("FunctionName", "demo-IoTS3EventProcessor")],
    );
    assert!(emitted.contains(&archiver_age));
    assert!(!emitted_metrics(&unmapped).contains(&archiver_age));
}

#[test]
fn iterator_age_alarms_go_off_at_a_quarter_of_the_record_age_that_dead_letters() {
    let template = template(&demo());
    let retention_ms = template["Resources"]["IoTEventStream"]["Properties"]["RetentionPeriodHours"]
        .as_f64()
        .unwrap() * 3_600_000.0;
    let mut seen = 0;
    for (_, mapping) in resources_of(&template, "Custom::KinesisEventSourceMapping") {
        let consumer = mapping["Properties"]["FunctionName"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap();
        let max_age_ms = mapping["Properties"]["MaximumRecordAgeInSeconds"]
            .as_f64()
            .unwrap()
            * 1000.0;
        let alarm = &template["Resources"][format!("{consumer}IteratorAgeAlarm")]["Properties"];
        let threshold = alarm["Threshold"].as_f64().unwrap();
        assert_eq!(threshold * 4.0, max_age_ms, "{consumer}");
        assert!(max_age_ms < retention_ms);
        assert_eq!(alarm["Statistic"], "Maximum");
        assert_eq!(alarm["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
        seen += 1;
    }
    assert_eq!(seen, 2);
}

#[test]
fn every_alarm_explains_itself_and_a_quiet_stack_is_not_alarming() {
    let template = template(&demo());
    let mut names = BTreeSet::new();
    for (logical_id, alarm) in resources_of(&template, "AWS::CloudWatch::Alarm") {
        let properties = &alarm["Properties"];
        let name = properties["AlarmName"].as_str().unwrap();
        assert!(name.starts_with("demo-"), "{logical_id}: {name}");
        assert!(names.insert(name.to_owned()), "two alarms named {name}");
        let description = properties["AlarmDescription"].as_str().unwrap();
        assert!(
            description.split_whitespace().count() >= 10,
            "{logical_id}: {description}"
        );
        assert_eq!(
            properties["TreatMissingData"], "notBreaching",
            "{logical_id}"
        );
        assert!(
            properties.get("AlarmActions").is_none(),
            "{logical_id}: no topic without an address"
        );
    }
    let rejected = &template["Resources"]["WriterRejectedReadingsAlarm"]["Properties"];
    assert_eq!(
        rejected["Threshold"],
        json!(iot_stack::monitoring::REJECTED_PERCENT)
    );
    let returned: Vec<_> = rejected["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|query| query["ReturnData"] == true)
        .collect();
    assert_eq!(returned.len(), 1, "one series is compared");
}

#[test]
fn an_alarm_address_gets_a_topic_encrypted_with_a_key_cloudwatch_may_use() {
    assert!(resources_of(&template(&demo()), "AWS::SNS::Topic").is_empty());
    assert!(resources_of(&template(&demo()), "AWS::KMS::Key").is_empty());

    let template = template(&every_option());
    let topic = &template["Resources"]["AlarmTopic"]["Properties"];
    assert_eq!(
        topic["KmsMasterKeyId"],
        json!({"Fn::GetAtt": ["AlarmTopicKey", "Arn"]})
    );
    assert_eq!(
        topic["Subscription"],
        json!([{"Endpoint": "ops@example.com", "Protocol": "email"}])
    );
    let key = &template["Resources"]["AlarmTopicKey"]["Properties"];
    assert_eq!(key["EnableKeyRotation"], true);
    let cloudwatch = key["KeyPolicy"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Principal"] == json!({"Service": ["cloudwatch.amazonaws.com"]}))
        .expect("CloudWatch may use the key");
    assert_eq!(
        cloudwatch["Action"],
        json!(["kms:Decrypt", "kms:GenerateDataKey*"])
    );
    assert!(cloudwatch["Condition"]["StringEquals"]["aws:SourceAccount"].is_array());
    for (logical_id, alarm) in resources_of(&template, "AWS::CloudWatch::Alarm") {
        let notified = json!([{"Ref": "AlarmTopic"}]);
        assert_eq!(
            alarm["Properties"]["AlarmActions"], notified,
            "{logical_id}"
        );
        assert_eq!(alarm["Properties"]["OKActions"], notified, "{logical_id}");
    }
}

#[test]
fn the_stream_mode_is_always_written_and_on_demand_has_no_shard_count() {
    let provisioned = template(&demo());
    let on_demand = template(&every_option());
    let stream = |template: &Value| template["Resources"]["IoTEventStream"].clone();
    assert_eq!(
        stream(&provisioned)["Properties"]["StreamModeDetails"],
        json!({"StreamMode": "PROVISIONED"})
    );
    assert_eq!(stream(&provisioned)["Properties"]["ShardCount"], 1);
    assert_eq!(
        stream(&on_demand)["Properties"]["StreamModeDetails"],
        json!({"StreamMode": "ON_DEMAND"})
    );
    assert!(stream(&on_demand)["Properties"].get("ShardCount").is_none());
    // Same logical id and name: switching modes updates the stream, it does not replace it.
    assert_eq!(
        stream(&provisioned)["Properties"]["Name"],
        stream(&on_demand)["Properties"]["Name"]
    );
}

#[test]
fn tracing_is_active_on_the_three_functions_only_when_asked() {
    let traced = ["IoTS3EventProcessor", "IoTDDBEventProcessor", "IoTAPI"];
    let default = template(&demo());
    for (_, function) in resources_of(&default, "AWS::Lambda::Function") {
        assert!(function["Properties"].get("TracingConfig").is_none());
    }
    let template = template(&every_option());
    for (logical_id, function) in resources_of(&template, "AWS::Lambda::Function") {
        let expected = traced
            .contains(&logical_id.as_str())
            .then(|| json!({"Mode": "Active"}));
        assert_eq!(
            function["Properties"].get("TracingConfig").cloned(),
            expected,
            "{logical_id}"
        );
    }
}

#[test]
fn the_dashboard_follows_the_names_and_shows_every_alarm() {
    let definition = StackDefinition::new("plant-7".parse().unwrap());
    let template = template(&definition);
    let body = dashboard(&template);
    let text = body.to_string();
    assert!(!text.contains("demo-"), "{text}");
    assert!(text.contains("plant-7-IoTEventStream"));
    let shown: BTreeSet<String> = body["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|widget| widget["type"] == "alarm")
        .flat_map(|widget| widget["properties"]["alarms"].as_array().unwrap().clone())
        .map(|arn| arn.as_str().unwrap().to_owned())
        .collect();
    let alarms: BTreeSet<String> = resources_of(&template, "AWS::CloudWatch::Alarm")
        .iter()
        .map(|(_, alarm)| {
            format!(
                "arn:aws:cloudwatch:us-east-1:123456789012:alarm:{}",
                alarm["Properties"]["AlarmName"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(shown, alarms);
}

#[test]
fn the_parallelization_factor_reaches_both_mappings() {
    for (factor, expected) in [(None, 1), (Some(4), 4)] {
        let mut definition = demo();
        if let Some(factor) = factor {
            definition.parallelization_factor =
                iot_stack::mapping::ParallelizationFactor::new(factor).unwrap();
        }
        let template = template(&definition);
        let mappings = resources_of(&template, "Custom::KinesisEventSourceMapping");
        assert_eq!(mappings.len(), 2);
        for (logical_id, mapping) in mappings {
            assert_eq!(
                mapping["Properties"]["ParallelizationFactor"], expected,
                "{logical_id}"
            );
        }
    }
    assert!(iot_stack::mapping::ParallelizationFactor::new(0).is_none());
    assert!(iot_stack::mapping::ParallelizationFactor::new(11).is_none());
}
