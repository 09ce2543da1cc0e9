#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The mapping's property reading on generated `ResourceProperties`, at the scale of the
//! ordinary test run (fuzz/fuzz_targets/provider_properties.rs checks the same at a far larger
//! one): every document is a mapping request inside each of Lambda's limits the provider
//! checks, or an error that lists problems, each naming its property.

use mapping_provider::resources::event_source_mapping::properties::{
    MappingProperties, PropertiesError,
};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value, json};

const NAMES: [&str; 11] = [
    "FunctionName",
    "StreamArn",
    "StartingPosition",
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "FunctionResponseTypes",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "OnFailureDestinationArn",
    "Unknown",
];

/// Values near each property's rules, in both forms CloudFormation may send (a JSON scalar or
/// its text), and of other shapes.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-2i64..605_000).prop_map(|n| json!(n)),
        (-2i64..605_000).prop_map(|n| json!(n.to_string())),
        prop::sample::select(vec![
            -1i64,
            0,
            1,
            59,
            60,
            300,
            301,
            10_000,
            10_001,
            604_800,
            604_801,
            i64::MAX
        ])
        .prop_map(|n| json!(n.to_string())),
        Just(json!("TRIM_HORIZON")),
        Just(json!("LATEST")),
        Just(json!("AT_TIMESTAMP")),
        Just(json!(["ReportBatchItemFailures"])),
        Just(json!([])),
        Just(json!("true")),
        Just(json!(false)),
        Just(json!(
            "arn:aws:kinesis:us-east-1:123456789012:stream/demo-IoTEventStream"
        )),
        Just(json!("arn:aws:sqs:us-east-1:123456789012:failures")),
        Just(json!("demo-IoTDDBEventProcessor")),
        "\\PC{0,150}".prop_map(|s| json!(s)),
        Just(json!(null)),
        Just(json!({"Ref": "x"})),
        Just(json!(1.5)),
    ]
}

fn properties() -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(NAMES.to_vec()), value()), 0..12).prop_map(
        |pairs| {
            let mut map = Map::new();
            // Most documents get the three required properties right, so the others' checks are
            // what decides.
            map.insert("FunctionName".into(), json!("demo-IoTDDBEventProcessor"));
            map.insert(
                "StreamArn".into(),
                json!("arn:aws:kinesis:us-east-1:123456789012:stream/demo-IoTEventStream"),
            );
            map.insert("StartingPosition".into(), json!("LATEST"));
            for (name, value) in pairs {
                map.insert(name.into(), value);
            }
            Value::Object(map)
        },
    )
}

proptest! {
    #![proptest_config(Config { cases: 1024, failure_persistence: None, ..Config::default() })]

    #[test]
    fn every_document_is_a_valid_request_or_a_clear_error(document in prop_oneof![
        4 => properties(),
        1 => value(),
    ]) {
        match MappingProperties::parse(&document) {
            Ok(m) => {
                prop_assert!(document.is_object());
                let chars = m.function_name.chars().count();
                prop_assert!((1..=140).contains(&chars));
                prop_assert!(m.stream_arn.starts_with("arn:") && m.stream_arn.contains(":kinesis:"));
                prop_assert!((1..=10_000).contains(&m.batch_size));
                prop_assert!((0..=300).contains(&m.maximum_batching_window_in_seconds));
                prop_assert!((-1..=10_000).contains(&m.maximum_retry_attempts));
                prop_assert!(m.maximum_record_age_in_seconds == -1
                    || (60..=604_800).contains(&m.maximum_record_age_in_seconds));
                prop_assert!((1..=10).contains(&m.parallelization_factor));
                prop_assert!(document.get("Unknown").is_none());
            }
            Err(PropertiesError::NotAnObject(_)) => prop_assert!(!document.is_object()),
            Err(error @ PropertiesError::Invalid(_)) => {
                let message = error.to_string();
                let PropertiesError::Invalid(problems) = error else { unreachable!() };
                prop_assert!(!problems.is_empty());
                for problem in &problems {
                    let named = NAMES.contains(&problem.property.as_str())
                        || document.get(&problem.property).is_some();
                    prop_assert!(named, "{}", problem.property);
                    prop_assert!(message.contains(&problem.to_string()));
                }
                if document.get("Unknown").is_some() {
                    prop_assert!(problems.iter().any(|p| p.property == "Unknown"));
                }
            }
        }
    }
}
