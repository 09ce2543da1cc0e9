#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The query core: the 2015 request and response, ranges, limits, paging and clear refusals.

mod support;

use serde_json::{Value, json};
use std::collections::HashSet;
use support::*;
use telemetry::Timestamp;
use telemetry::handlers::{QueryError, answer_query};

const SENSOR: &str = "kitchen \"north\" \\ 温度";

/// 45 readings of SENSOR one minute apart from 10:00, and a few of another sensor.
fn populated() -> MemoryStore {
    let store = MemoryStore::default();
    let start = Timestamp::parse("2026-11-27T10:00:00Z").unwrap();
    let mut items = store.items.lock().unwrap();
    for i in 0..45 {
        items.insert(
            (SENSOR.into(), start.offset_millis(i * 60_000).unwrap()),
            i as f64,
        );
    }
    for i in 0..3 {
        items.insert(("other".into(), start.offset_millis(i).unwrap()), -1.0);
    }
    drop(items);
    store
}

async fn ask(store: &MemoryStore, request: Value) -> Value {
    let response = answer_query(store, &request)
        .await
        .unwrap_or_else(|e| panic!("{request}: {e}"));
    serde_json::to_value(response).unwrap()
}

async fn refusal(store: &MemoryStore, request: Value) -> String {
    match answer_query(store, &request).await {
        Err(err @ QueryError::Invalid(_)) => {
            assert_eq!(err.error_type(), "InvalidRequest");
            err.to_string()
        }
        other => panic!("{request}: expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn the_2015_request_gets_the_20_newest_in_the_2015_shape() {
    let store = populated();
    let answer = ask(&store, json!({"operation": "query", "sensorid": SENSOR})).await;
    let object = answer.as_object().unwrap();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["Count", "Items", "NextToken", "ScannedCount"]);
    assert_eq!(answer["Count"], 20);
    let items = answer["Items"].as_array().unwrap();
    assert_eq!(items.len(), 20);
    assert_eq!(
        items[0],
        json!({"SensorId": SENSOR, "Timestamp": "2026-11-27T10:44:00.000Z", "Value": 44.0})
    );
    let stamps: Vec<&str> = items
        .iter()
        .map(|i| i["Timestamp"].as_str().unwrap())
        .collect();
    assert!(
        stamps.windows(2).all(|w| w[0] > w[1]),
        "newest first: {stamps:?}"
    );
}

#[tokio::test]
async fn paging_walks_every_reading_once_across_pages() {
    let store = populated();
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut request = json!({"sensorid": SENSOR, "limit": 7});
        if let Some(token) = &next {
            request["next"] = json!(token);
        }
        let answer = ask(&store, request).await;
        pages += 1;
        seen.extend(
            answer["Items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["Value"].as_f64().unwrap() as i64),
        );
        match answer.get("NextToken") {
            Some(Value::String(token)) => next = Some(token.clone()),
            _ => break,
        }
    }
    assert_eq!(pages, 7, "45 readings at 7 a page");
    assert_eq!(seen, (0..45).rev().collect::<Vec<_>>());
}

#[tokio::test]
async fn a_time_range_and_limit_select_a_window() {
    let store = populated();
    let answer = ask(
        &store,
        json!({"sensorid": SENSOR, "from": "2026-11-27T10:10:00Z", "to": "2026-11-27T12:19:00+02:00", "limit": 5}),
    )
    .await;
    let values: Vec<f64> = answer["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["Value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, [19.0, 18.0, 17.0, 16.0, 15.0]);
    // Both ends are inclusive; the range holds 10 readings, so two pages of 5 and no third.
    let second = ask(
        &store,
        json!({"sensorid": SENSOR, "from": "2026-11-27T10:10:00Z", "to": "2026-11-27T12:19:00+02:00", "limit": 5, "next": answer["NextToken"]}),
    )
    .await;
    assert_eq!(second["Count"], 5);
    assert!(second.get("NextToken").is_none(), "{second}");
}

#[tokio::test]
async fn an_unknown_sensor_gets_an_empty_answer() {
    let answer = ask(
        &populated(),
        json!({"operation": "query", "sensorid": "nobody"}),
    )
    .await;
    assert_eq!(answer, json!({"Items": [], "Count": 0, "ScannedCount": 0}));
}

#[tokio::test]
async fn bad_requests_get_clear_refusals() {
    let store = populated();
    let cases = [
        (json!("sensor-1"), "JSON object"),
        (json!({"operation": "query"}), "`sensorid` is missing"),
        (json!({"sensorid": 7}), "`sensorid` must be a string"),
        (json!({"sensorid": ""}), "sensor id is empty"),
        (
            json!({"sensorid": "s", "operation": "delete"}),
            "\"delete\" is not supported",
        ),
        (
            json!({"sensorid": "s", "limit": 0}),
            "`limit` must be a whole number from 1 to 1000, got 0",
        ),
        (json!({"sensorid": "s", "limit": 1_000_000}), "got 1000000"),
        (json!({"sensorid": "s", "limit": 2.5}), "got 2.5"),
        (
            json!({"sensorid": "s", "limit": "20"}),
            "`limit` must be a number",
        ),
        (
            json!({"sensorid": "s", "from": "yesterday"}),
            "`from` is not an RFC 3339 time",
        ),
        (
            json!({"sensorid": "s", "from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}),
            "is later than",
        ),
        (
            json!({"sensorid": "s", "next": "not a token!"}),
            "not a paging token",
        ),
        (json!({"sensorid": "s", "limt": 5}), "unknown field `limt`"),
    ];
    for (request, expected) in cases {
        let message = refusal(&store, request.clone()).await;
        assert!(
            message.contains(expected),
            "{request}: {message:?} lacks {expected:?}"
        );
    }
}

#[tokio::test]
async fn a_tampered_or_foreign_token_is_refused() {
    let store = populated();
    let answer = ask(&store, json!({"sensorid": SENSOR, "limit": 5})).await;
    let token = answer["NextToken"].as_str().unwrap().to_owned();

    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let message = refusal(&store, json!({"sensorid": SENSOR, "next": tampered})).await;
    assert!(message.contains("paging token"), "{message}");

    let message = refusal(&store, json!({"sensorid": "other", "next": token})).await;
    assert!(
        message.contains("another sensor or time range"),
        "{message}"
    );
}

#[tokio::test]
async fn readings_of_other_sensors_at_the_same_instants_never_leak_into_a_page() {
    let store = populated();
    let answer = ask(&store, json!({"sensorid": "other", "limit": 1000})).await;
    let ids: HashSet<&str> = answer["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["SensorId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, HashSet::from(["other"]));
    assert_eq!(answer["Count"], 3);
}
