#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The binary cargo builds for the tests, run as a process under the Runtime API harness,
//! against moto.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_harness::{FunctionProcess, Outcome, moto};
use serde_json::json;
use std::path::Path;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_query-api");

#[tokio::test]
async fn the_binary_answers_the_2015_query_and_refuses_a_bad_one() {
    let endpoint = moto::endpoint().unwrap_or_else(|e| panic!("{e}"));
    let config = moto::sdk_config(&endpoint).await;
    let table = moto::unique_name("SensorData");
    moto::create_sensor_table(&config, &table).await.unwrap();
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    for minute in 0..25 {
        dynamodb
            .put_item()
            .table_name(&table)
            .item("SensorId", AttributeValue::S("sensor-1".into()))
            .item(
                "Timestamp",
                AttributeValue::S(format!("2015-09-20T10:{minute:02}:00.000Z")),
            )
            .item("Value", AttributeValue::N(format!("{minute}.5")))
            .send()
            .await
            .unwrap();
    }

    let mut env: Vec<(&str, String)> = moto::function_env(&endpoint);
    env.push(("TABLE_NAME", table.clone()));
    let mut function = FunctionProcess::start(Path::new(BINARY), &env)
        .await
        .unwrap();

    let request = json!({"operation": "query", "sensorid": "sensor-1"});
    let Outcome::Response(answer) = function
        .invoke(&request, Duration::from_secs(10))
        .await
        .unwrap()
    else {
        panic!("the query failed: {:?}", function.log_lines());
    };
    assert_eq!(answer["Count"], 20);
    assert_eq!(answer["ScannedCount"], 20);
    assert_eq!(
        answer["Items"][0],
        json!({"SensorId": "sensor-1", "Timestamp": "2015-09-20T10:24:00.000Z", "Value": 24.5})
    );
    assert_eq!(answer["Items"][19]["Timestamp"], "2015-09-20T10:05:00.000Z");
    assert!(answer["NextToken"].is_string());

    let outcome = function
        .invoke(
            &json!({"operation": "query", "limit": 0}),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let Outcome::Error { body, .. } = outcome else {
        panic!("expected a function error, got {outcome:?}")
    };
    assert_eq!(body["errorType"], "InvalidRequest");
    assert_eq!(
        body["errorMessage"],
        "invalid request: field `sensorid` is missing"
    );

    // The process survives a refusal and answers the next request.
    let next = json!({"sensorid": "sensor-1", "next": answer["NextToken"]});
    let Outcome::Response(rest) = function
        .invoke(&next, Duration::from_secs(10))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(rest["Count"], 5);
}
