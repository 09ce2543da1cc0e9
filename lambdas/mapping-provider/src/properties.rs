//! The resource's properties, parsed into a typed, validated [`MappingProperties`].
//!
//! CloudFormation passes every scalar property to a custom resource as a string (`"500"`,
//! `"true"`), so numbers and booleans are accepted as strings or as JSON values. The limits are
//! Lambda's documented limits for a Kinesis event source (CreateEventSourceMapping in the
//! Lambda API reference); checking them here means a bad template fails with a message naming
//! the property and its allowed range, before any API call.

use serde_json::{Map, Value};
use std::fmt::Write as _;

/// The custom resource type this provider answers.
pub const RESOURCE_TYPE: &str = "Custom::KinesisEventSourceMapping";

/// The properties whose change needs a new mapping: Lambda cannot move a mapping to another
/// stream or function, nor restart it from another position.
pub const REPLACEMENT_PROPERTIES: [&str; 3] = ["FunctionName", "StreamArn", "StartingPosition"];

/// Every property the resource takes (`ServiceToken` is CloudFormation's, and ignored).
const KNOWN: [&str; 11] = [
    "ServiceToken",
    "FunctionName",
    "StreamArn",
    "BatchSize",
    "StartingPosition",
    "MaximumBatchingWindowInSeconds",
    "FunctionResponseTypes",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "OnFailureDestinationArn",
];

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
/// The longest a value is quoted in an error message.
const QUOTE_MAX: usize = 120;

/// Where a new mapping starts reading the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartingPosition {
    /// The oldest record the stream still holds.
    TrimHorizon,
    /// Only records put after the mapping exists.
    Latest,
}

impl StartingPosition {
    /// The name the Lambda API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TrimHorizon => "TRIM_HORIZON",
            Self::Latest => "LATEST",
        }
    }
}

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

/// Collects the problems while every property is read.
struct Reader<'a> {
    properties: &'a Map<String, Value>,
    errors: Vec<PropertyError>,
}

impl<'a> Reader<'a> {
    fn fail(&mut self, property: &str, problem: String) {
        self.errors.push(PropertyError {
            property: property.to_owned(),
            problem,
        });
    }

    /// A non-empty string, or `None` (with an error) if it is missing or not a string.
    fn required_text(&mut self, property: &str, what: &str) -> Option<&'a str> {
        match self.properties.get(property) {
            Some(Value::String(text)) if !text.trim().is_empty() => Some(text),
            // A blank string is what a template gives for a value it did not have.
            None | Some(Value::Null) | Some(Value::String(_)) => {
                self.fail(property, format!("is required: {what}"));
                None
            }
            Some(other) => {
                self.fail(property, format!("must be {what}, got {}", quote(other)));
                None
            }
        }
    }

    /// A whole number, from a JSON number or a string of digits.
    fn integer(value: &Value) -> Option<i64> {
        match value {
            Value::Number(number) => number.as_i64(),
            Value::String(text) => text.parse().ok(),
            _ => None,
        }
    }

    /// An optional whole number in `min..=max`, or `default` when absent.
    fn ranged(&mut self, property: &str, (min, max, default): (i64, i64, i32), what: &str) -> i32 {
        let Some(value) = self.properties.get(property).filter(|v| !v.is_null()) else {
            return default;
        };
        match Self::integer(value).and_then(|n| i32::try_from(n).ok()) {
            Some(n) if (min..=max).contains(&i64::from(n)) => n,
            _ => {
                self.fail(property, format!("must be {what}, got {}", quote(value)));
                default
            }
        }
    }

    /// `MaximumRecordAgeInSeconds`: -1, or 60 to 604,800.
    fn record_age(&mut self) -> i32 {
        const PROPERTY: &str = "MaximumRecordAgeInSeconds";
        let (min, max, default) = RECORD_AGE;
        let Some(value) = self.properties.get(PROPERTY).filter(|v| !v.is_null()) else {
            return default;
        };
        match Self::integer(value).and_then(|n| i32::try_from(n).ok()) {
            Some(-1) => -1,
            Some(n) if (min..=max).contains(&i64::from(n)) => n,
            _ => {
                self.fail(
                    PROPERTY,
                    format!(
                        "must be -1 (no limit) or a whole number of seconds from {min} to {max} \
                         (7 days), got {}",
                        quote(value)
                    ),
                );
                default
            }
        }
    }

    fn boolean(&mut self, property: &str) -> bool {
        match self.properties.get(property) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(text)) if text == "true" => true,
            Some(Value::String(text)) if text == "false" => false,
            Some(other) => {
                self.fail(
                    property,
                    format!("must be true or false, got {}", quote(other)),
                );
                false
            }
        }
    }

    fn starting_position(&mut self) -> Option<StartingPosition> {
        const PROPERTY: &str = "StartingPosition";
        let text = self.required_text(PROPERTY, "TRIM_HORIZON or LATEST")?;
        match text {
            "TRIM_HORIZON" => Some(StartingPosition::TrimHorizon),
            "LATEST" => Some(StartingPosition::Latest),
            "AT_TIMESTAMP" => {
                self.fail(
                    PROPERTY,
                    "must be TRIM_HORIZON or LATEST, got \"AT_TIMESTAMP\" (it needs a start \
                     timestamp, which this resource does not take)"
                        .to_owned(),
                );
                None
            }
            other => {
                self.fail(
                    PROPERTY,
                    format!(
                        "must be TRIM_HORIZON or LATEST, got {}",
                        quote(&other.into())
                    ),
                );
                None
            }
        }
    }

    fn response_types(&mut self) -> bool {
        const PROPERTY: &str = "FunctionResponseTypes";
        const ALLOWED: &str = "a list whose only allowed item is \"ReportBatchItemFailures\"";
        match self.properties.get(PROPERTY) {
            None | Some(Value::Null) => false,
            Some(Value::Array(items)) if items.iter().all(|i| i == "ReportBatchItemFailures") => {
                !items.is_empty()
            }
            Some(other) => {
                self.fail(PROPERTY, format!("must be {ALLOWED}, got {}", quote(other)));
                false
            }
        }
    }

    fn function_name(&mut self) -> Option<String> {
        const PROPERTY: &str = "FunctionName";
        const WHAT: &str = "the consumer function's name or ARN, 1 to 140 characters";
        let name = self.required_text(PROPERTY, WHAT)?;
        if name.chars().count() > FUNCTION_NAME_MAX || name.chars().any(char::is_whitespace) {
            self.fail(
                PROPERTY,
                format!("must be {WHAT}, got {}", quote(&name.into())),
            );
            return None;
        }
        Some(name.to_owned())
    }

    fn stream_arn(&mut self) -> Option<String> {
        const PROPERTY: &str = "StreamArn";
        const WHAT: &str =
            "a Kinesis stream ARN (arn:<partition>:kinesis:<region>:<account>:stream/<name>)";
        let arn = self.required_text(PROPERTY, WHAT)?;
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
                self.fail(
                    PROPERTY,
                    format!("must be {WHAT}, got {}", quote(&arn.into())),
                );
                None
            }
        }
    }

    fn destination(&mut self) -> Option<String> {
        const PROPERTY: &str = "OnFailureDestinationArn";
        const WHAT: &str = "the ARN of an SQS queue, SNS topic or S3 bucket \
                            (arn:<partition>:sqs|sns|s3:...)";
        match self.properties.get(PROPERTY) {
            // An empty value (a template condition that yields "") means no destination.
            None | Some(Value::Null) => None,
            Some(Value::String(text)) if text.is_empty() => None,
            Some(Value::String(arn)) => {
                let parts: Vec<&str> = arn.splitn(6, ':').collect();
                match parts.as_slice() {
                    ["arn", _, "sqs" | "sns" | "s3", _, _, resource] if !resource.is_empty() => {
                        Some(arn.clone())
                    }
                    _ => {
                        self.fail(
                            PROPERTY,
                            format!("must be {WHAT}, got {}", quote(&arn.as_str().into())),
                        );
                        None
                    }
                }
            }
            Some(other) => {
                self.fail(PROPERTY, format!("must be {WHAT}, got {}", quote(other)));
                None
            }
        }
    }
}

impl MappingProperties {
    /// Parses and validates `ResourceProperties`, reporting every problem at once.
    pub fn parse(properties: &Value) -> Result<Self, PropertiesError> {
        let Value::Object(map) = properties else {
            return Err(PropertiesError::NotAnObject(quote(properties)));
        };
        let mut reader = Reader {
            properties: map,
            errors: Vec::new(),
        };
        let mut unknown: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|key| !KNOWN.contains(key))
            .collect();
        unknown.sort_unstable();
        for key in unknown {
            reader.fail(
                key,
                format!(
                    "is not a property of {RESOURCE_TYPE} (known: {})",
                    KNOWN[1..].join(", ")
                ),
            );
        }

        let function_name = reader.function_name();
        let stream_arn = reader.stream_arn();
        let starting_position = reader.starting_position();
        let batch_size = reader.ranged(
            "BatchSize",
            BATCH_SIZE,
            "a whole number from 1 to 10000 (Lambda's limit for a Kinesis stream)",
        );
        let maximum_batching_window_in_seconds = reader.ranged(
            "MaximumBatchingWindowInSeconds",
            BATCHING_WINDOW,
            "a whole number of seconds from 0 to 300",
        );
        let report_batch_item_failures = reader.response_types();
        let bisect_batch_on_function_error = reader.boolean("BisectBatchOnFunctionError");
        let maximum_retry_attempts = reader.ranged(
            "MaximumRetryAttempts",
            RETRY_ATTEMPTS,
            "-1 (retry until the record expires) or a whole number from 0 to 10000",
        );
        let maximum_record_age_in_seconds = reader.record_age();
        let on_failure_destination_arn = reader.destination();

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
                })
            }
            _ => Err(PropertiesError::Invalid(reader.errors)),
        }
    }
}

/// The first of [`REPLACEMENT_PROPERTIES`] whose value differs between the old and the new
/// properties, if any. Compared as the template gave them: a function named by name before and
/// by ARN after counts as a change, which costs a replacement but is never wrong.
pub fn replacement_cause(old: &Value, new: &Value) -> Option<&'static str> {
    REPLACEMENT_PROPERTIES
        .into_iter()
        .find(|property| old.get(property) != new.get(property))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
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
