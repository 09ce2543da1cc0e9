#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The binary cargo builds for the tests, run as a process under the Runtime API harness,
//! against moto.

use lambda_harness::{FunctionProcess, Outcome, moto};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_writer");

#[tokio::test]
async fn the_binary_writes_a_fixture_batch_into_moto_and_logs_each_rejection() {
    let endpoint = moto::endpoint().unwrap_or_else(|e| panic!("{e}"));
    let config = moto::sdk_config(&endpoint).await;
    let table = moto::unique_name("SensorData");
    moto::create_sensor_table(&config, &table).await.unwrap();

    let mut env: Vec<(&str, String)> = moto::function_env(&endpoint);
    env.push(("TABLE_NAME", table.clone()));
    env.push(("METRICS_NAMESPACE", moto::unique_name("Sensors")));
    let mut function = FunctionProcess::start(Path::new(BINARY), &env)
        .await
        .unwrap();

    let outcome = function
        .invoke(
            &lambda_harness::telemetry_fixture("kinesis-event-2015-testpage.json"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Response(json!({"batchItemFailures": []})));

    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let scan = dynamodb.scan().table_name(&table).send().await.unwrap();
    let mut keys: Vec<String> = scan
        .items()
        .iter()
        .map(|item| {
            format!(
                "{:?}",
                (
                    item.get("SensorId").unwrap(),
                    item.get("Timestamp").unwrap()
                )
            )
        })
        .collect();
    keys.sort();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys[0].contains("sensor-1") && keys[0].contains("2015-09-20T10:11:12.345Z"));

    // Each rejection is one JSON log line naming the record and the reason.
    let rejections: Vec<Value> = function
        .log_lines()
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"] == "record rejected")
        .collect();
    assert_eq!(rejections.len(), 2, "{:?}", function.log_lines());
    assert_eq!(
        rejections[0]["sequence_number"],
        "49565417405577233935463591291215931225984492512477724674"
    );
    assert_eq!(rejections[0]["code"], "not_json");
    assert_eq!(rejections[1]["code"], "not_utf8");
}
