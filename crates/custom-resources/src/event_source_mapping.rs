//! `Custom::KinesisEventSourceMapping`: a Lambda event-source mapping from a Kinesis stream to
//! a consumer function. The properties are named as the Lambda API names them
//! (CreateEventSourceMapping, AWS Lambda API Reference).

use crate::field::Field;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The resource type, as a template names it.
pub const RESOURCE_TYPE: &str = "Custom::KinesisEventSourceMapping";

/// Where a new mapping starts reading the stream. `AT_TIMESTAMP` needs a start time, which
/// this resource does not take, so it is not one of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
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

/// The only allowed item of `FunctionResponseTypes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FunctionResponseType {
    /// The function reports the records it could not process; a retry resends only those and
    /// the ones after them.
    ReportBatchItemFailures,
}

/// The resource's properties. `Text` is how a reference is written: a template expression in
/// the stack definition, the resolved string in the provider. Every field is optional here;
/// the provider decides what is required, and reports what is missing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "PascalCase",
    bound(deserialize = "Text: serde::de::DeserializeOwned")
)]
pub struct Properties<Text> {
    /// The consumer: a function name, partial ARN or ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_name: Option<Field<Text>>,
    /// The Kinesis stream ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<Field<Text>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_position: Option<Field<StartingPosition>>,
    /// Records per invocation at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<Field<i64>>,
    /// How long Lambda gathers records before invoking with fewer than `batch_size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_batching_window_in_seconds: Option<Field<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_response_types: Option<Field<Vec<FunctionResponseType>>>,
    /// Split a failing batch in two and retry the halves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bisect_batch_on_function_error: Option<Field<bool>>,
    /// Retries of a failing batch before it goes to the on-failure destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_retry_attempts: Option<Field<i64>>,
    /// Records older than this go to the on-failure destination instead of the function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_record_age_in_seconds: Option<Field<i64>>,
    /// SQS queue, SNS topic or S3 bucket ARN receiving what Lambda gives up on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure_destination_arn: Option<Field<Text>>,
    /// Batches of one shard processed at once (1 to 10), each partition key's records in
    /// order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelization_factor: Option<Field<i64>>,
    /// Whatever else a request held: not a property of this resource.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown: BTreeMap<String, Value>,
}

impl<Text> Default for Properties<Text> {
    fn default() -> Self {
        Self {
            function_name: None,
            stream_arn: None,
            starting_position: None,
            batch_size: None,
            maximum_batching_window_in_seconds: None,
            function_response_types: None,
            bisect_batch_on_function_error: None,
            maximum_retry_attempts: None,
            maximum_record_age_in_seconds: None,
            on_failure_destination_arn: None,
            parallelization_factor: None,
            unknown: BTreeMap::new(),
        }
    }
}

/// A property, for messages that name one. [`Property::ALL`] is checked against the fields of
/// [`Properties`] by a test, so the two cannot drift apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Property {
    FunctionName,
    StreamArn,
    StartingPosition,
    BatchSize,
    MaximumBatchingWindowInSeconds,
    FunctionResponseTypes,
    BisectBatchOnFunctionError,
    MaximumRetryAttempts,
    MaximumRecordAgeInSeconds,
    OnFailureDestinationArn,
    ParallelizationFactor,
}

impl Property {
    /// Every property of the resource (CloudFormation's own aside), in field order.
    pub const ALL: [Self; 11] = [
        Self::FunctionName,
        Self::StreamArn,
        Self::StartingPosition,
        Self::BatchSize,
        Self::MaximumBatchingWindowInSeconds,
        Self::FunctionResponseTypes,
        Self::BisectBatchOnFunctionError,
        Self::MaximumRetryAttempts,
        Self::MaximumRecordAgeInSeconds,
        Self::OnFailureDestinationArn,
        Self::ParallelizationFactor,
    ];

    /// The name a template gives it.
    pub fn name(self) -> &'static str {
        match self {
            Self::FunctionName => "FunctionName",
            Self::StreamArn => "StreamArn",
            Self::StartingPosition => "StartingPosition",
            Self::BatchSize => "BatchSize",
            Self::MaximumBatchingWindowInSeconds => "MaximumBatchingWindowInSeconds",
            Self::FunctionResponseTypes => "FunctionResponseTypes",
            Self::BisectBatchOnFunctionError => "BisectBatchOnFunctionError",
            Self::MaximumRetryAttempts => "MaximumRetryAttempts",
            Self::MaximumRecordAgeInSeconds => "MaximumRecordAgeInSeconds",
            Self::OnFailureDestinationArn => "OnFailureDestinationArn",
            Self::ParallelizationFactor => "ParallelizationFactor",
        }
    }
}

impl std::fmt::Display for Property {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl<Text: PartialEq> Properties<Text> {
    /// The first property, in this order, whose change needs a new mapping, if one changed:
    /// Lambda cannot move a mapping to another function or stream, nor restart it from another
    /// position. Compared as the template gave them: a function named by name before and by
    /// ARN after counts as a change, which costs a replacement but is never wrong.
    pub fn replacement_cause(&self, new: &Self) -> Option<Property> {
        [
            (
                Property::FunctionName,
                self.function_name != new.function_name,
            ),
            (Property::StreamArn, self.stream_arn != new.stream_arn),
            (
                Property::StartingPosition,
                self.starting_position != new.starting_position,
            ),
        ]
        .into_iter()
        .find_map(|(property, changed)| changed.then_some(property))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;
    use std::collections::BTreeSet;

    fn complete() -> Properties<String> {
        Properties {
            function_name: Some("consumer".to_owned().into()),
            stream_arn: Some(
                "arn:aws:kinesis:us-east-1:123456789012:stream/s"
                    .to_owned()
                    .into(),
            ),
            starting_position: Some(StartingPosition::TrimHorizon.into()),
            batch_size: Some(500.into()),
            maximum_batching_window_in_seconds: Some(1.into()),
            function_response_types: Some(
                vec![FunctionResponseType::ReportBatchItemFailures].into(),
            ),
            bisect_batch_on_function_error: Some(true.into()),
            maximum_retry_attempts: Some(3.into()),
            maximum_record_age_in_seconds: Some(21_600.into()),
            on_failure_destination_arn: Some(
                "arn:aws:sqs:us-east-1:123456789012:q".to_owned().into(),
            ),
            parallelization_factor: Some(2.into()),
            unknown: BTreeMap::new(),
        }
    }

    #[test]
    fn the_property_names_are_the_serialized_fields() {
        let serialized = serde_json::to_value(complete()).unwrap();
        // Compared as sets: serde_json keeps the fields' order only when another crate turns
        // on its preserve_order feature.
        let keys: BTreeSet<&str> = serialized
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let names: BTreeSet<&str> = Property::ALL.iter().map(|p| p.name()).collect();
        assert_eq!(keys, names);
        assert_eq!(names.len(), Property::ALL.len());
    }

    #[test]
    fn a_request_as_cloudformation_sends_it_reads_back_to_the_same_properties() {
        let request = json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
            "FunctionName": "consumer",
            "StreamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/s",
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": "500",
            "MaximumBatchingWindowInSeconds": "1",
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BisectBatchOnFunctionError": "true",
            "MaximumRetryAttempts": "3",
            "MaximumRecordAgeInSeconds": "21600",
            "OnFailureDestinationArn": "arn:aws:sqs:us-east-1:123456789012:q",
            "ParallelizationFactor": "2",
            "ServiceTimeout": "300",
            "Batchsize": "7"
        });
        let mut read: Properties<String> =
            serde_json::from_value(crate::resource_properties(&request)).unwrap();
        assert_eq!(read.unknown.keys().collect::<Vec<_>>(), ["Batchsize"]);
        read.unknown.clear();
        assert_eq!(read, complete());
    }

    #[test]
    fn only_function_stream_and_starting_position_need_a_replacement() {
        let old = complete();
        let mut new = complete();
        new.batch_size = Some(7.into());
        assert_eq!(old.replacement_cause(&new), None);
        new.starting_position = Some(StartingPosition::Latest.into());
        assert_eq!(
            old.replacement_cause(&new),
            Some(Property::StartingPosition)
        );
        new.stream_arn = Some(
            "arn:aws:kinesis:us-east-1:123456789012:stream/t"
                .to_owned()
                .into(),
        );
        assert_eq!(old.replacement_cause(&new), Some(Property::StreamArn));
    }
}
