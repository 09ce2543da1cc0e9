//! The owner's read APIs on the running target: the Rust SDK where it speaks them (DynamoDB's
//! JSON 1.0, CloudWatch's query protocol), and raw signed requests where the request itself is
//! the point. Each read API, signed with the operator key, answers; signed with the device key,
//! unsigned, tampered, stale or signed with a wrong secret, it is refused in that service's
//! shape, and the refusal changes nothing (a refused `ReceiveMessage` hides no message).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, Statistic};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_kinesis::primitives::Blob;
use local_target::consumers::ConsumerSettings;
use local_target::device_api::DeviceKey;
use local_target::shard_limits::ShardLimits;
use local_target::storage::stream::StreamShape;
use local_target::{LocalSettings, RunningTarget};
use serde_json::{Value, json};
use support::Raw;
use telemetry::timestamp::Timestamp;

const STREAM: &str = "own-IoTEventStream";
const TABLE: &str = "own-SensorData";
const BUCKET: &str = "own-eventarchive-000000000000";
const ARCHIVER: &str = "own-IoTS3EventProcessor";
const QUEUE_URL_PATH: &str = "/000000000000/own-IoTS3EventProcessor-failures";
/// The SHA-256 of an empty body, which S3 requests name in `x-amz-content-sha256`.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn consumer(name: &str) -> ConsumerSettings {
    ConsumerSettings {
        function_name: name.to_owned(),
        failure_queue_name: format!("{name}-failures"),
        role_arn: format!("arn:aws:iam::000000000000:role/{name}-role"),
        batch_size: 100,
        batching_window: Duration::from_millis(100),
        maximum_retry_attempts: 2,
        maximum_record_age: Duration::from_secs(6 * 3600),
        bisect_batch_on_function_error: true,
        parallelization_factor: 1,
        retry_pause: Duration::from_millis(10),
    }
}

async fn start(dir: &Path) -> RunningTarget {
    local_target::start(LocalSettings {
        region: "us-east-1".to_owned(),
        account_id: "000000000000".to_owned(),
        stream_name: STREAM.to_owned(),
        stream_shape: StreamShape {
            shard_count: 1,
            retention_hours: 24,
        },
        shard_limits: ShardLimits::Aws,
        query_function_name: "own-IoTAPI".to_owned(),
        table_name: TABLE.to_owned(),
        bucket_name: BUCKET.to_owned(),
        archiver: consumer(ARCHIVER),
        writer: consumer("own-IoTDDBEventProcessor"),
        metrics_namespace: "Sensors".to_owned(),
        sensor_metrics: telemetry::metrics::SensorMetrics::PerSensor,
        alarms: Vec::new(),
        state_dir: dir.join("state"),
        listen: "127.0.0.1:0".parse().unwrap(),
        testpage_dir: dir.to_owned(),
    })
    .await
    .unwrap()
}

async fn sdk_config(target: &RunningTarget, key: &DeviceKey) -> aws_config::SdkConfig {
    let credentials = aws_sdk_kinesis::config::Credentials::new(
        key.access_key_id(),
        key.secret_access_key(),
        None,
        None,
        "owner-apis-test",
    );
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(format!("http://{}", target.address))
        .credentials_provider(credentials)
        .load()
        .await
}

/// One read of each owner API, as a raw request to the endpoint on `port`: (the service it
/// is signed for, the request unsigned).
fn reads(port: u16) -> Vec<(&'static str, Raw)> {
    let form = |body: &str| Raw {
        method: "POST",
        path: "/".into(),
        headers: vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: body.as_bytes().to_vec(),
    };
    vec![
        (
            "dynamodb",
            Raw::json_1_0("DynamoDB_20120810.Scan", json!({"TableName": TABLE})),
        ),
        (
            "sqs",
            Raw::json_1_0(
                "AmazonSQS.ReceiveMessage",
                // Received and visible again at once: the refusals below must leave it so.
                json!({
                    "QueueUrl": format!("http://127.0.0.1{QUEUE_URL_PATH}"),
                    "MaxNumberOfMessages": 10,
                    "VisibilityTimeout": 0,
                }),
            ),
        ),
        (
            "monitoring",
            Raw::json_1_0(
                "GraniteServiceVersion20100801.ListMetrics",
                json!({"Namespace": "Sensors"}),
            ),
        ),
        (
            "monitoring",
            form("Action=ListMetrics&Version=2010-08-01&Namespace=Sensors"),
        ),
        (
            "s3",
            Raw {
                method: "GET",
                path: format!("/{BUCKET}?list-type=2&max-keys=1"),
                headers: vec![("x-amz-content-sha256".into(), EMPTY_SHA256.into())],
                body: Vec::new(),
            },
        ),
        // Virtual-host style, the bucket in a loopback name.
        (
            "s3",
            Raw {
                method: "GET",
                path: "/?list-type=2&max-keys=1".into(),
                headers: vec![
                    ("host".into(), format!("{BUCKET}.localhost:{port}")),
                    ("x-amz-content-sha256".into(), EMPTY_SHA256.into()),
                ],
                body: Vec::new(),
            },
        ),
    ]
}

fn signed(raw: Raw, base: &str, key: &DeviceKey, service: &str, time: SystemTime) -> Raw {
    raw.signed_as(
        base,
        key.access_key_id(),
        key.secret_access_key(),
        service,
        time,
    )
}

/// The failure queue's (visible, hidden) messages, read with the operator key.
async fn queue_depth(base: &str, operator: &DeviceKey) -> (String, String) {
    let raw = Raw::json_1_0(
        "AmazonSQS.GetQueueAttributes",
        json!({"QueueUrl": format!("http://127.0.0.1{QUEUE_URL_PATH}"), "AttributeNames": ["All"]}),
    );
    let response = signed(raw, base, operator, "sqs", SystemTime::now())
        .send(base)
        .await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    let count = |name: &str| answer["Attributes"][name].as_str().unwrap().to_owned();
    (
        count("ApproximateNumberOfMessages"),
        count("ApproximateNumberOfMessagesNotVisible"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_reads_every_api_and_nothing_else_gets_in_or_changes_anything() {
    let dir = tempfile::tempdir().unwrap();
    let target = start(dir.path()).await;
    let base = format!("http://{}", target.address);
    let (device, operator) = (target.key.clone(), target.operator_key.clone());

    // The archive cannot be written (today's folder is a file, tomorrow's too should the
    // batch arrive after midnight), so the archiver gives the batch up: a dead letter.
    let now = Timestamp::from_millis(chrono::Utc::now().timestamp_millis()).unwrap();
    for day in [now, now.offset_millis(86_400_000).unwrap()] {
        std::fs::write(dir.path().join("state/archive").join(day.date()), b"").unwrap();
    }
    let minute = now.minute_start();
    let kinesis = aws_sdk_kinesis::Client::new(&sdk_config(&target, &device).await);
    let reading = json!({"sensorid": "o-1", "value": 5, "timestamp": minute.to_string()});
    let put = kinesis
        .put_record()
        .stream_name(STREAM)
        .partition_key("o-1")
        .data(Blob::new(reading.to_string()))
        .send()
        .await
        .unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    while queue_depth(&base, &operator).await.0 != "1" {
        assert!(Instant::now() < until, "no dead letter within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The Rust SDK, unchanged: DynamoDB over JSON 1.0, CloudWatch over the query protocol.
    let config = sdk_config(&target, &operator).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let items = dynamodb
        .query()
        .table_name(TABLE)
        .key_condition_expression("SensorId = :s")
        .expression_attribute_values(":s", AttributeValue::S("o-1".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(items.count(), 1);
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
    let sensor = Dimension::builder().name("SensorId").value("o-1").build();
    let listed = cloudwatch
        .list_metrics()
        .namespace("Sensors")
        .metric_name("SensorData")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.metrics().len(), 1, "{listed:?}");
    assert_eq!(
        listed.metrics()[0].dimensions(),
        std::slice::from_ref(&sensor)
    );
    let from = aws_smithy_types::DateTime::from_millis(minute.millis() - 60_000);
    let to = aws_smithy_types::DateTime::from_millis(minute.millis() + 120_000);
    let statistics = cloudwatch
        .get_metric_statistics()
        .namespace("Sensors")
        .metric_name("SensorData")
        .dimensions(sensor.clone())
        .start_time(from)
        .end_time(to)
        .period(60)
        .statistics(Statistic::Sum)
        .statistics(Statistic::SampleCount)
        .send()
        .await
        .unwrap();
    let points = statistics.datapoints();
    assert_eq!(points.len(), 1, "{statistics:?}");
    assert_eq!(
        (points[0].sum(), points[0].sample_count()),
        (Some(5.0), Some(1.0))
    );
    assert_eq!(
        points[0].timestamp(),
        Some(&aws_smithy_types::DateTime::from_millis(minute.millis()))
    );
    let data = cloudwatch
        .get_metric_data()
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("m1")
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("Sensors")
                                .metric_name("SensorData")
                                .dimensions(sensor.clone())
                                .build(),
                        )
                        .period(60)
                        .stat("Maximum")
                        .build(),
                )
                .build(),
        )
        .start_time(from)
        .end_time(to)
        .send()
        .await
        .unwrap();
    assert_eq!(data.metric_data_results()[0].values(), [5.0]);
    let refused = cloudwatch
        .get_metric_statistics()
        .namespace("Sensors")
        .metric_name("SensorData")
        .start_time(from)
        .end_time(to)
        .period(30)
        .statistics(Statistic::Sum)
        .send()
        .await
        .unwrap_err();
    let refused = refused.into_service_error();
    assert_eq!(
        aws_sdk_cloudwatch::error::ProvideErrorMetadata::code(&refused),
        Some("InvalidParameterValue")
    );
    assert!(
        aws_sdk_cloudwatch::error::ProvideErrorMetadata::message(&refused)
            .unwrap()
            .contains("multiple of 60"),
        "{refused:?}"
    );

    // Every read, raw: the operator's answers; every other request is refused.
    let now = SystemTime::now;
    let port = target.address.port();
    for (service, raw) in reads(port) {
        let response = signed(raw.clone(), &base, &operator, service, now())
            .send(&base)
            .await;
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, 200, "{service} {body}");
        if service == "s3" {
            assert!(body.contains(&format!("<Name>{BUCKET}</Name>")), "{body}");
        }
    }
    let raw = Raw::json_1_0(
        "AmazonSQS.ReceiveMessage",
        json!({"QueueUrl": format!("http://127.0.0.1{QUEUE_URL_PATH}"), "VisibilityTimeout": 0}),
    );
    let response = signed(raw, &base, &operator, "sqs", now())
        .send(&base)
        .await;
    let answer: Value = response.json().await.unwrap();
    let message = &answer["Messages"][0];
    let record: Value = serde_json::from_str(message["Body"].as_str().unwrap()).unwrap();
    assert_eq!(
        record["KinesisBatchInfo"]["startSequenceNumber"],
        put.sequence_number()
    );
    assert_eq!(
        record["requestContext"]["functionArn"],
        format!("arn:aws:lambda:us-east-1:000000000000:function:{ARCHIVER}")
    );
    assert_eq!(
        queue_depth(&base, &operator).await,
        ("1".into(), "0".into())
    );

    let sixteen_minutes_ago = now() - Duration::from_secs(16 * 60);
    let wrong = DeviceKey::new(
        operator.access_key_id(),
        "not/the/secret/of/this/key/00000000000",
        None,
        None,
        "wrong",
    );
    for (service, raw) in reads(port) {
        let tampered = {
            let mut signed = signed(raw.clone(), &base, &operator, service, now());
            if signed.body.is_empty() {
                signed.path = signed.path.replace("max-keys=1", "max-keys=2");
            } else {
                signed.body.extend_from_slice(b" ");
            }
            signed
        };
        let attempts = [
            (
                "device",
                signed(raw.clone(), &base, &device, service, now()),
            ),
            ("unsigned", raw.clone()),
            ("tampered", tampered),
            (
                "stale",
                signed(raw.clone(), &base, &operator, service, sixteen_minutes_ago),
            ),
            (
                "wrong secret",
                signed(raw.clone(), &base, &wrong, service, now()),
            ),
        ];
        for (what, attempt) in attempts {
            let response = attempt.send(&base).await;
            let status = response.status().as_u16();
            let query_error = response
                .headers()
                .get("x-amzn-query-error")
                .map(|value| value.to_str().unwrap().to_owned());
            let body = response.text().await.unwrap();
            // DynamoDB answers AccessDeniedException with 400 ("Error handling with
            // DynamoDB", DynamoDB Developer Guide); a failed signature is 403 everywhere.
            let wanted = if what == "device" && service == "dynamodb" {
                400
            } else {
                403
            };
            assert_eq!(status, wanted, "{what} {service}: {body}");
            if what == "device" {
                assert!(body.contains("AccessDenied"), "{what} {service}: {body}");
            }
            if service == "sqs" || (service == "monitoring" && body.starts_with('{')) {
                assert!(
                    query_error.is_some_and(|e| e.ends_with(";Sender")),
                    "{what} {service}"
                );
            }
        }
    }
    assert_eq!(
        queue_depth(&base, &operator).await,
        ("1".into(), "0".into()),
        "no refused request received the message"
    );
    target.stop().await.unwrap();
}
