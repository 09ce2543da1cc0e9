//! The resource's properties, read with the shared type ([`custom_resources`]) and validated
//! into a typed [`MappingProperties`].
//!
//! CloudFormation passes every scalar property to a custom resource as a string (`"500"`,
//! `"true"`), so numbers and booleans are accepted as strings or as JSON values. The limits are
//! Lambda's documented limits for a Kinesis event source (CreateEventSourceMapping in the
//! Lambda API reference); checking them here means a bad template fails with a message naming
//! the property and its allowed range, before any API call.

use custom_resources::Field;
use custom_resources::event_source_mapping::{Properties, Property};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::fmt::Write as _;

pub use custom_resources::event_source_mapping::{RESOURCE_TYPE, StartingPosition};

/// Lambda's limit on `FunctionName` (a name, a partial ARN or a full ARN).
const FUNCTION_NAME_MAX: usize = 140;
/// Records per batch for a Kinesis stream: 1 to 10,000; Lambda's default is 100.
const BATCH_SIZE: (i64, i64, i32) = (1, 10_000, 100);
/// Seconds Lambda may gather records before invoking: 0 to 300; default 0.
const BATCHING_WINDOW: (i64, i64, i32) = (0, 300, 0);
/// Retries of a failing batch: -1 (until the record expires) or 0 to 10,000; default -1.
const RETRY_ATTEMPTS: (i64, i64, i32) = (-1, 10_000, -1);
/// Oldest record sent to the function: -1 (no limit) or 60 to 604,800 (7 days); default -1.
const RECORD_AGE: (i64, i64, i32) = (60, 604_800, -1);
/// Batches of one shard in flight at once: 1 to 10; default 1 (CreateEventSourceMapping,
/// AWS Lambda API Reference).
const PARALLELIZATION: (i64, i64, i32) = (1, 10, 1);
/// The longest a value is quoted in an error message.
const QUOTE_MAX: usize = 120;

/// A mapping's configuration, validated against Lambda's limits; optional properties hold
/// Lambda's defaults, so that an Update that drops a property restores the default instead of
/// keeping the old value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingProperties {
    /// The consumer: a function name, partial ARN or ARN.
    pub function_name: String,
    /// The Kinesis stream (or stream consumer) ARN.
    pub stream_arn: String,
    pub starting_position: StartingPosition,
    pub batch_size: i32,
    pub maximum_batching_window_in_seconds: i32,
    /// `FunctionResponseTypes` holds `ReportBatchItemFailures`, its only allowed value.
    pub report_batch_item_failures: bool,
    pub bisect_batch_on_function_error: bool,
    pub maximum_retry_attempts: i32,
    pub maximum_record_age_in_seconds: i32,
    /// SQS queue, SNS topic or S3 bucket ARN receiving what Lambda gives up on.
    pub on_failure_destination_arn: Option<String>,
    /// Batches of one shard processed at once.
    pub parallelization_factor: i32,
}

/// One property that is missing, unknown or out of range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{property} {problem}")]
pub struct PropertyError {
    /// The property's name, as in the template.
    pub property: String,
    /// What is wrong and what is allowed.
    pub problem: String,
}

/// Why the properties cannot make a mapping; every problem is listed, not only the first.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PropertiesError {
    #[error("ResourceProperties must be a JSON object, got {0}")]
    NotAnObject(String),
    #[error("invalid properties of {RESOURCE_TYPE}: {}", join(.0))]
    Invalid(Vec<PropertyError>),
}

fn join(errors: &[PropertyError]) -> String {
    let mut text = String::new();
    for (i, error) in errors.iter().enumerate() {
        if i > 0 {
            text.push_str("; ");
        }
        let _ = write!(text, "{error}");
    }
    text
}

/// A value as it appears in an error message: JSON, strings quoted, long ones shortened.
fn quote(value: &Value) -> String {
    let text = value.to_string();
    if text.len() <= QUOTE_MAX {
        return text;
    }
    let mut end = QUOTE_MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// Collects the problems while every property is read. Messages quote the value as it was
/// received (`"10001"`, not the number it was read as).
struct Reader<'a> {
    received: &'a Map<String, Value>,
    errors: Vec<PropertyError>,
}

impl<'a> Reader<'a> {
    fn fail(&mut self, property: impl Into<String>, problem: String) {
        self.errors.push(PropertyError {
            property: property.into(),
            problem,
        });
    }

    /// "`property` must be `what`, got <the value as received>".
    fn must_be(&mut self, property: Property, what: &str) {
        let got = quote(self.received.get(property.name()).unwrap_or(&Value::Null));
        self.fail(property.name(), format!("must be {what}, got {got}"));
    }

    /// A non-empty string, or `None` (with an error) if it is missing or not a string.
    fn required_text<'f>(
        &mut self,
        property: Property,
        field: &'f Option<Field<String>>,
        what: &str,
    ) -> Option<&'f str> {
        match field {
            Some(Field::Valid(text)) if !text.trim().is_empty() => Some(text),
            // A blank string is what a template gives for a value it did not have.
            None | Some(Field::Valid(_)) => {
                self.fail(property.name(), format!("is required: {what}"));
                None
            }
            Some(Field::Invalid(_)) => {
                self.must_be(property, what);
                None
            }
        }
    }

    /// An optional whole number in `min..=max`, or `default` when absent.
    fn ranged(
        &mut self,
        property: Property,
        field: &Option<Field<i64>>,
        (min, max, default): (i64, i64, i32),
        what: &str,
    ) -> i32 {
        let Some(field) = field else {
            return default;
        };
        match field.valid().and_then(|n| i32::try_from(*n).ok()) {
            Some(n) if (min..=max).contains(&i64::from(n)) => n,
            _ => {
                self.must_be(property, what);
                default
            }
        }
    }

    /// `MaximumRecordAgeInSeconds`: -1, or 60 to 604,800.
    fn record_age(&mut self, field: &Option<Field<i64>>) -> i32 {
        let (min, max, default) = RECORD_AGE;
        let Some(field) = field else {
            return default;
        };
        match field.valid().and_then(|n| i32::try_from(*n).ok()) {
            Some(-1) => -1,
            Some(n) if (min..=max).contains(&i64::from(n)) => n,
            _ => {
                self.must_be(
                    Property::MaximumRecordAgeInSeconds,
                    &format!(
                        "-1 (no limit) or a whole number of seconds from {min} to {max} (7 days)"
                    ),
                );
                default
            }
        }
    }

    fn boolean(&mut self, property: Property, field: &Option<Field<bool>>) -> bool {
        match field {
            None => false,
            Some(Field::Valid(value)) => *value,
            Some(Field::Invalid(_)) => {
                self.must_be(property, "true or false");
                false
            }
        }
    }

    fn starting_position(
        &mut self,
        field: &Option<Field<StartingPosition>>,
    ) -> Option<StartingPosition> {
        const WHAT: &str = "TRIM_HORIZON or LATEST";
        let property = Property::StartingPosition;
        match field {
            Some(Field::Valid(position)) => return Some(*position),
            Some(Field::Invalid(Value::String(text))) if text == "AT_TIMESTAMP" => self.fail(
                property.name(),
                "must be TRIM_HORIZON or LATEST, got \"AT_TIMESTAMP\" (it needs a start \
                 timestamp, which this resource does not take)"
                    .to_owned(),
            ),
            // A blank string is what a template gives for a value it did not have.
            Some(Field::Invalid(value)) if !value.as_str().is_some_and(|t| t.trim().is_empty()) => {
                self.must_be(property, WHAT);
            }
            _ => self.fail(property.name(), format!("is required: {WHAT}")),
        }
        None
    }

    fn response_types<T>(&mut self, field: &Option<Field<Vec<T>>>) -> bool {
        const ALLOWED: &str = "a list whose only allowed item is \"ReportBatchItemFailures\"";
        match field {
            None => false,
            Some(Field::Valid(items)) => !items.is_empty(),
            Some(Field::Invalid(_)) => {
                let property = Property::FunctionResponseTypes;
                self.must_be(property, ALLOWED);
                false
            }
        }
    }

    fn function_name(&mut self, field: &Option<Field<String>>) -> Option<String> {
        const WHAT: &str = "the consumer function's name or ARN, 1 to 140 characters";
        let property = Property::FunctionName;
        let name = self.required_text(property, field, WHAT)?;
        if name.chars().count() > FUNCTION_NAME_MAX || name.chars().any(char::is_whitespace) {
            self.must_be(property, WHAT);
            return None;
        }
        Some(name.to_owned())
    }

    fn stream_arn(&mut self, field: &Option<Field<String>>) -> Option<String> {
        const WHAT: &str =
            "a Kinesis stream ARN (arn:<partition>:kinesis:<region>:<account>:stream/<name>)";
        let property = Property::StreamArn;
        let arn = self.required_text(property, field, WHAT)?;
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, "kinesis", region, account, resource]
                if !region.is_empty()
                    && account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && resource.len() > "stream/".len()
                    && resource.starts_with("stream/") =>
            {
                Some(arn.to_owned())
            }
            _ => {
                self.must_be(property, WHAT);
                None
            }
        }
    }

    fn destination(&mut self, field: &Option<Field<String>>) -> Option<String> {
        const WHAT: &str = "the ARN of an SQS queue, SNS topic or S3 bucket \
                            (arn:<partition>:sqs|sns|s3:...)";
        let property = Property::OnFailureDestinationArn;
        let arn = match field {
            // An empty value (a template condition that yields "") means no destination.
            None => return None,
            Some(Field::Valid(arn)) if arn.is_empty() => return None,
            Some(Field::Valid(arn)) => arn,
            Some(Field::Invalid(_)) => {
                self.must_be(property, WHAT);
                return None;
            }
        };
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, "sqs" | "sns" | "s3", _, _, resource] if !resource.is_empty() => {
                Some(arn.clone())
            }
            _ => {
                self.must_be(property, WHAT);
                None
            }
        }
    }
}

/// Reads `properties` with the shared type; a value of the wrong shape stays in its field as
/// [`Field::Invalid`], so this fails only for a document that is not an object.
fn read(properties: &Value) -> Result<(&Map<String, Value>, Properties<String>), PropertiesError> {
    let Value::Object(map) = properties else {
        return Err(PropertiesError::NotAnObject(quote(properties)));
    };
    let read = Properties::deserialize(properties)
        .map_err(|err| PropertiesError::NotAnObject(format!("{} ({err})", quote(properties))))?;
    Ok((map, read))
}

impl MappingProperties {
    /// Parses and validates `ResourceProperties`, reporting every problem at once.
    pub fn parse(properties: &Value) -> Result<Self, PropertiesError> {
        let (received, read) = read(properties)?;
        let mut reader = Reader {
            received,
            errors: Vec::new(),
        };
        let known: Vec<&str> = Property::ALL.iter().map(|p| p.name()).collect();
        for key in read.unknown.keys() {
            reader.fail(
                custom_resources::property_name(key),
                format!(
                    "is not a property of {RESOURCE_TYPE} (known: {})",
                    known.join(", ")
                ),
            );
        }

        let function_name = reader.function_name(&read.function_name);
        let stream_arn = reader.stream_arn(&read.stream_arn);
        let starting_position = reader.starting_position(&read.starting_position);
        let batch_size = reader.ranged(
            Property::BatchSize,
            &read.batch_size,
            BATCH_SIZE,
            "a whole number from 1 to 10000 (Lambda's limit for a Kinesis stream)",
        );
        let maximum_batching_window_in_seconds = reader.ranged(
            Property::MaximumBatchingWindowInSeconds,
            &read.maximum_batching_window_in_seconds,
            BATCHING_WINDOW,
            "a whole number of seconds from 0 to 300",
        );
        let report_batch_item_failures = reader.response_types(&read.function_response_types);
        let bisect_batch_on_function_error = reader.boolean(
            Property::BisectBatchOnFunctionError,
            &read.bisect_batch_on_function_error,
        );
        let maximum_retry_attempts = reader.ranged(
            Property::MaximumRetryAttempts,
            &read.maximum_retry_attempts,
            RETRY_ATTEMPTS,
            "-1 (retry until the record expires) or a whole number from 0 to 10000",
        );
        let maximum_record_age_in_seconds = reader.record_age(&read.maximum_record_age_in_seconds);
        let on_failure_destination_arn = reader.destination(&read.on_failure_destination_arn);
        let parallelization_factor = reader.ranged(
            Property::ParallelizationFactor,
            &read.parallelization_factor,
            PARALLELIZATION,
            "a whole number from 1 to 10 (batches of one shard processed at once)",
        );

        match (function_name, stream_arn, starting_position) {
            (Some(function_name), Some(stream_arn), Some(starting_position))
                if reader.errors.is_empty() =>
            {
                Ok(Self {
                    function_name,
                    stream_arn,
                    starting_position,
                    batch_size,
                    maximum_batching_window_in_seconds,
                    report_batch_item_failures,
                    bisect_batch_on_function_error,
                    maximum_retry_attempts,
                    maximum_record_age_in_seconds,
                    on_failure_destination_arn,
                    parallelization_factor,
                })
            }
            _ => Err(PropertiesError::Invalid(reader.errors)),
        }
    }
}

/// The first property whose change needs a new mapping, between the old and the new
/// properties, if any (see [`Properties::replacement_cause`]).
pub fn replacement(old: &Value, new: &Value) -> Option<Property> {
    let lenient = |properties: &Value| read(properties).map(|(_, read)| read).unwrap_or_default();
    lenient(old).replacement_cause(&lenient(new))
}

/// [`replacement`], by the property's name.
pub fn replacement_cause(old: &Value, new: &Value) -> Option<&'static str> {
    replacement(old, new).map(Property::name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    /// As the dispatcher passes them: without CloudFormation's own properties.
    fn valid() -> Value {
        json!({
            "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:demo-IoTDDBEventProcessor",
            "StreamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/demo-IoTEventStream",
            "BatchSize": "500",
            "StartingPosition": "TRIM_HORIZON",
            "MaximumBatchingWindowInSeconds": "1",
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BisectBatchOnFunctionError": "true",
            "MaximumRetryAttempts": "3",
            "MaximumRecordAgeInSeconds": "21600",
            "OnFailureDestinationArn": "arn:aws:sqs:us-east-1:123456789012:demo-failures"
        })
    }

    fn problems(properties: &Value) -> Vec<PropertyError> {
        match MappingProperties::parse(properties) {
            Err(PropertiesError::Invalid(errors)) => errors,
            other => panic!("expected invalid properties, got {other:?}"),
        }
    }

    fn with(key: &str, value: Value) -> Value {
        let mut properties = valid();
        properties[key] = value;
        properties
    }

    #[test]
    fn strings_become_typed_values() {
        let parsed = MappingProperties::parse(&valid()).unwrap();
        assert_eq!(parsed.batch_size, 500);
        assert_eq!(parsed.starting_position, StartingPosition::TrimHorizon);
        assert_eq!(parsed.maximum_batching_window_in_seconds, 1);
        assert!(parsed.report_batch_item_failures);
        assert!(parsed.bisect_batch_on_function_error);
        assert_eq!(parsed.maximum_retry_attempts, 3);
        assert_eq!(parsed.maximum_record_age_in_seconds, 21_600);
        assert_eq!(
            parsed.on_failure_destination_arn.as_deref(),
            Some("arn:aws:sqs:us-east-1:123456789012:demo-failures")
        );
    }

    #[test]
    fn json_numbers_and_booleans_are_accepted_too() {
        let mut properties = valid();
        properties["BatchSize"] = json!(10_000);
        properties["BisectBatchOnFunctionError"] = json!(false);
        properties["MaximumRecordAgeInSeconds"] = json!(-1);
        let parsed = MappingProperties::parse(&properties).unwrap();
        assert_eq!(parsed.batch_size, 10_000);
        assert!(!parsed.bisect_batch_on_function_error);
        assert_eq!(parsed.maximum_record_age_in_seconds, -1);
    }

    #[test]
    fn absent_optional_properties_take_lambdas_defaults() {
        let properties = json!({
            "FunctionName": "consumer",
            "StreamArn": "arn:aws:kinesis:eu-west-1:123456789012:stream/s",
            "StartingPosition": "LATEST",
            "OnFailureDestinationArn": ""
        });
        let parsed = MappingProperties::parse(&properties).unwrap();
        assert_eq!(parsed.batch_size, 100);
        assert_eq!(parsed.maximum_batching_window_in_seconds, 0);
        assert!(!parsed.report_batch_item_failures);
        assert_eq!(parsed.maximum_retry_attempts, -1);
        assert_eq!(parsed.maximum_record_age_in_seconds, -1);
        assert_eq!(parsed.on_failure_destination_arn, None);
    }

    #[test]
    fn each_error_names_the_property_and_its_allowed_range() {
        let cases = [
            (
                "BatchSize",
                json!("0"),
                "BatchSize must be a whole number from 1 to 10000",
            ),
            ("BatchSize", json!("10001"), "got \"10001\""),
            (
                "BatchSize",
                json!("12.5"),
                "BatchSize must be a whole number",
            ),
            (
                "MaximumBatchingWindowInSeconds",
                json!("301"),
                "from 0 to 300",
            ),
            (
                "MaximumRetryAttempts",
                json!("-2"),
                "-1 (retry until the record expires) or",
            ),
            (
                "MaximumRecordAgeInSeconds",
                json!("59"),
                "-1 (no limit) or a whole number of seconds from 60 to 604800",
            ),
            (
                "MaximumRecordAgeInSeconds",
                json!("604801"),
                "got \"604801\"",
            ),
            (
                "BisectBatchOnFunctionError",
                json!("yes"),
                "must be true or false, got \"yes\"",
            ),
            (
                "StartingPosition",
                json!("AT_TIMESTAMP"),
                "needs a start timestamp",
            ),
            (
                "StartingPosition",
                json!("EARLIEST"),
                "must be TRIM_HORIZON or LATEST, got \"EARLIEST\"",
            ),
            (
                "FunctionResponseTypes",
                json!(["Everything"]),
                "only allowed item is \"ReportBatchItemFailures\"",
            ),
            (
                "FunctionResponseTypes",
                json!("ReportBatchItemFailures"),
                "must be a list",
            ),
            (
                "StreamArn",
                json!("arn:aws:sqs:us-east-1:123456789012:q"),
                "must be a Kinesis stream ARN",
            ),
            ("FunctionName", json!(""), "FunctionName is required"),
            (
                "FunctionName",
                json!("x".repeat(141)),
                "1 to 140 characters",
            ),
            (
                "OnFailureDestinationArn",
                json!("arn:aws:dynamodb:us-east-1:123456789012:table/t"),
                "SQS queue, SNS topic or S3 bucket",
            ),
        ];
        for (property, value, expected) in cases {
            let errors = problems(&with(property, value.clone()));
            assert_eq!(errors.len(), 1, "{property}={value}: {errors:?}");
            assert_eq!(errors[0].property, property);
            let message = errors[0].to_string();
            assert!(message.starts_with(property), "{message}");
            assert!(message.contains(expected), "{property}={value}: {message}");
        }
    }

    #[test]
    fn every_problem_is_reported_at_once_and_unknown_properties_are_refused() {
        let mut properties = with("BatchSize", json!("0"));
        properties["Batchsize"] = json!("10");
        properties
            .as_object_mut()
            .unwrap()
            .remove("StartingPosition");
        let err = MappingProperties::parse(&properties)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Batchsize is not a property of Custom::KinesisEventSourceMapping"),
            "{err}"
        );
        assert!(err.contains("StartingPosition is required"), "{err}");
        assert!(
            err.contains("BatchSize must be a whole number from 1 to 10000"),
            "{err}"
        );
        assert!(matches!(
            MappingProperties::parse(&json!(["not", "an", "object"])),
            Err(PropertiesError::NotAnObject(_))
        ));
    }

    #[test]
    fn a_long_value_is_quoted_shortened() {
        let err = problems(&with("BatchSize", json!("9".repeat(5000))))[0].to_string();
        assert!(err.len() < 300, "{err}");
        assert!(err.ends_with("..."), "{err}");
    }

    #[test]
    fn replacement_follows_stream_function_and_starting_position_only() {
        let old = valid();
        assert_eq!(
            replacement_cause(&old, &with("BatchSize", json!("7"))),
            None
        );
        assert_eq!(
            replacement_cause(
                &old,
                &with(
                    "StreamArn",
                    json!("arn:aws:kinesis:us-east-1:123456789012:stream/other")
                )
            ),
            Some("StreamArn")
        );
        assert_eq!(
            replacement_cause(&old, &with("FunctionName", json!("other"))),
            Some("FunctionName")
        );
        assert_eq!(
            replacement_cause(&old, &with("StartingPosition", json!("LATEST"))),
            Some("StartingPosition")
        );
    }
}
