//! A template author's `ResourceProperties` through the custom-resource provider's reading.
//!
//! - For `Custom::KinesisEventSourceMapping`, every document is a valid mapping request, inside
//!   every one of Lambda's limits the provider checks, or a clear error: a non-object is named
//!   as such, and an object's error lists problems, each naming a property and saying what is
//!   wrong, all of them in the message. A valid request, written back as properties (numbers
//!   as CloudFormation's strings), reads as itself.
//! - For all three resource types, reading the shared property types never fails on an
//!   object (the provider names every bad property in one answer because of that).
#![no_main]

use custom_resources::event_source_mapping::{FunctionResponseType, Properties};
use custom_resources::{Field, access_key_remover, bucket_emptier};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde_json::{Value, json};

/// The provider's own file. The provider's crate links three AWS SDKs and AWS-LC, whose
/// instrumented build would take longer than a fuzz run; this file needs only
/// custom-resources, serde, serde_json and thiserror, so the target compiles it as it is.
#[path = "../../lambdas/mapping-provider/src/resources/event_source_mapping/properties.rs"]
#[allow(dead_code)]
mod properties;

use properties::{MappingProperties, PropertiesError};

fuzz_target!(|data: &[u8]| {
    let Ok(document) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    // A whole request (a seed is one) is read as its properties, as the dispatcher does.
    let properties = match document.get("ResourceProperties") {
        Some(inner) => custom_resources::resource_properties(inner),
        None => document,
    };

    if properties.is_object() {
        Properties::<String>::deserialize(&properties).expect("mapping properties read");
        bucket_emptier::Properties::<String>::deserialize(&properties).expect("emptier read");
        access_key_remover::Properties::<String>::deserialize(&properties).expect("remover read");
    }

    match MappingProperties::parse(&properties) {
        Ok(mapping) => {
            assert!(properties.is_object());
            within_limits(&mapping);
            let again = MappingProperties::parse(&written_back(&mapping)).unwrap();
            assert_eq!(
                again, mapping,
                "written back, the request reads differently"
            );
        }
        Err(PropertiesError::NotAnObject(got)) => {
            assert!(
                !properties.is_object(),
                "an object refused as not one: {got}"
            );
        }
        Err(error @ PropertiesError::Invalid(_)) => {
            assert!(properties.is_object());
            let PropertiesError::Invalid(problems) = &error else {
                unreachable!()
            };
            assert!(!problems.is_empty(), "refused without a reason");
            let message = error.to_string();
            for problem in problems {
                assert!(!problem.property.is_empty() && !problem.problem.is_empty());
                assert!(message.contains(&problem.to_string()), "{message}");
            }
        }
    }
});

fn within_limits(m: &MappingProperties) {
    let name = m.function_name.chars().count();
    assert!((1..=140).contains(&name) && !m.function_name.contains(char::is_whitespace));
    let arn: Vec<&str> = m.stream_arn.splitn(6, ':').collect();
    assert!(
        matches!(arn.as_slice(), ["arn", _, "kinesis", region, account, resource]
        if !region.is_empty() && account.len() == 12 && resource.starts_with("stream/")
            && resource.len() > 7)
    );
    assert!((1..=10_000).contains(&m.batch_size));
    assert!((0..=300).contains(&m.maximum_batching_window_in_seconds));
    assert!((-1..=10_000).contains(&m.maximum_retry_attempts));
    assert!(
        m.maximum_record_age_in_seconds == -1
            || (60..=604_800).contains(&m.maximum_record_age_in_seconds)
    );
    assert!((1..=10).contains(&m.parallelization_factor));
    if let Some(destination) = &m.on_failure_destination_arn {
        let arn: Vec<&str> = destination.splitn(6, ':').collect();
        assert!(
            matches!(arn.as_slice(), ["arn", _, "sqs" | "sns" | "s3", _, _, r] if !r.is_empty())
        );
    }
}

/// The request as a template would hold it, every scalar a string as CloudFormation sends it.
fn written_back(m: &MappingProperties) -> Value {
    let properties = Properties::<String> {
        function_name: Some(Field::Valid(m.function_name.clone())),
        stream_arn: Some(Field::Valid(m.stream_arn.clone())),
        starting_position: Some(Field::Valid(m.starting_position)),
        batch_size: Some(Field::Valid(m.batch_size.into())),
        maximum_batching_window_in_seconds: Some(Field::Valid(
            m.maximum_batching_window_in_seconds.into(),
        )),
        function_response_types: m
            .report_batch_item_failures
            .then(|| Field::Valid(vec![FunctionResponseType::ReportBatchItemFailures])),
        bisect_batch_on_function_error: Some(Field::Valid(m.bisect_batch_on_function_error)),
        maximum_retry_attempts: Some(Field::Valid(m.maximum_retry_attempts.into())),
        maximum_record_age_in_seconds: Some(Field::Valid(m.maximum_record_age_in_seconds.into())),
        on_failure_destination_arn: m.on_failure_destination_arn.clone().map(Field::Valid),
        parallelization_factor: Some(Field::Valid(m.parallelization_factor.into())),
        unknown: Default::default(),
    };
    let mut value = serde_json::to_value(properties).unwrap();
    for (_, field) in value.as_object_mut().unwrap().iter_mut() {
        if field.is_number() || field.is_boolean() {
            *field = json!(field.to_string());
        }
    }
    value
}
