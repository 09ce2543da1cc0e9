//! Kinesis over JSON 1.1 (`X-Amz-Target: Kinesis_20131202.<Op>`): `PutRecord`, `PutRecords`
//! and `DescribeStreamSummary`, with Kinesis' limits and errors.

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::auth::{Caller, Principal};
use super::errors::{ApiError, KINESIS_CONTENT_TYPE, json_response, validation_errors};
use crate::device_api::{DeviceApi, NewRecord, PutResult, StreamDescription, Throttled};

pub(crate) const TARGET_PREFIX: &str = "Kinesis_20131202.";

/// A record's data, after base64 decoding.
pub const MAX_RECORD_DATA: usize = 1024 * 1024;
pub const MAX_RECORDS_PER_CALL: usize = 500;
/// A `PutRecords` call's data plus partition keys.
pub const MAX_CALL_SIZE: usize = 5 * 1024 * 1024;
const MAX_PARTITION_KEY_CHARS: usize = 256;

/// Every Kinesis operation, so that one the device may not use is denied and a made-up one is
/// unknown, as on AWS.
const OPERATIONS: &[&str] = &[
    "AddTagsToStream",
    "CreateStream",
    "DecreaseStreamRetentionPeriod",
    "DeleteResourcePolicy",
    "DeleteStream",
    "DeregisterStreamConsumer",
    "DescribeAccountSettings",
    "DescribeLimits",
    "DescribeStream",
    "DescribeStreamConsumer",
    "DescribeStreamSummary",
    "DisableEnhancedMonitoring",
    "EnableEnhancedMonitoring",
    "GetRecords",
    "GetResourcePolicy",
    "GetShardIterator",
    "IncreaseStreamRetentionPeriod",
    "ListShards",
    "ListStreamConsumers",
    "ListStreams",
    "ListTagsForResource",
    "ListTagsForStream",
    "MergeShards",
    "PutRecord",
    "PutRecords",
    "PutResourcePolicy",
    "RegisterStreamConsumer",
    "RemoveTagsFromStream",
    "SplitShard",
    "StartStreamEncryption",
    "StopStreamEncryption",
    "SubscribeToShard",
    "TagResource",
    "UntagResource",
    "UpdateAccountSettings",
    "UpdateMaxRecordSize",
    "UpdateShardCount",
    "UpdateStreamMode",
    "UpdateStreamWarmThroughput",
];

/// What the device key may do, as the device user's IAM policy allows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    PutRecord,
    PutRecords,
    DescribeStreamSummary,
}

/// The operation named by `X-Amz-Target`, if the device may call it.
pub(crate) fn operation(
    target: Option<&str>,
    caller: Caller<'_>,
    stream: &StreamDescription,
) -> Result<Operation, ApiError> {
    let Some(target) = target else {
        return Err(ApiError::bad_request(
            "UnknownOperationException",
            "Missing X-Amz-Target header: name the operation as Kinesis_20131202.<Operation>.",
        ));
    };
    let name = target
        .strip_prefix(TARGET_PREFIX)
        .filter(|name| OPERATIONS.contains(name))
        .ok_or_else(|| {
            ApiError::bad_request(
                "UnknownOperationException",
                format!("Unknown operation '{target}'."),
            )
        })?;
    match name {
        "PutRecord" => Ok(Operation::PutRecord),
        "PutRecords" => Ok(Operation::PutRecords),
        "DescribeStreamSummary" => Ok(Operation::DescribeStreamSummary),
        // The owner may call every operation on AWS; here only these are implemented, and
        // that is what the answer says, not that the key may not.
        _ if caller.principal == Principal::Operator => Err(ApiError::bad_request(
            "UnknownOperationException",
            format!(
                "The local target does not implement kinesis:{name}: its stream serves \
                 PutRecord, PutRecords and DescribeStreamSummary."
            ),
        )),
        _ => Err(ApiError::bad_request(
            "AccessDeniedException",
            format!(
                "User: {} is not authorized to perform: kinesis:{name} on resource: {} because \
                 the device key may only call PutRecord, PutRecords and DescribeStreamSummary \
                 (account {}).",
                caller.access_key_id, stream.arn, caller.account_id
            ),
        )),
    }
}

/// Runs `operation` on a request body already authenticated.
pub(crate) async fn handle<A: DeviceApi>(
    api: &A,
    operation: Operation,
    caller: Caller<'_>,
    body: &[u8],
) -> Result<Response, ApiError> {
    let stream = api.stream();
    match operation {
        Operation::PutRecord => {
            let request: PutRecordRequest = parse(body)?;
            let record = request.validate(&stream, caller)?;
            let result = put(api, vec![record]).await?;
            match result.into_iter().next() {
                None => Err(internal("the stream acknowledged no record")),
                // PutRecord's one record refused is the call refused.
                Some(Err(throttled)) => Err(ApiError::bad_request(
                    "ProvisionedThroughputExceededException",
                    throttled_message(&throttled, &stream, caller),
                )),
                Some(Ok(appended)) => Ok(ok(json!({
                    "ShardId": appended.shard_id,
                    "SequenceNumber": appended.sequence_number,
                    "EncryptionType": "KMS",
                }))),
            }
        }
        Operation::PutRecords => {
            let request: PutRecordsRequest = parse(body)?;
            let records = request.validate(&stream, caller)?;
            let count = records.len();
            let results = put(api, records).await?;
            if results.len() != count {
                return Err(internal(
                    "the stream acknowledged a different number of records",
                ));
            }
            let failed = results.iter().filter(|result| result.is_err()).count();
            // Each refused record is an entry with ErrorCode and ErrorMessage in its place
            // (Kinesis API Reference, PutRecordsResultEntry); the call itself succeeds.
            let records: Vec<_> = results
                .into_iter()
                .map(|result| match result {
                    Ok(a) => json!({"ShardId": a.shard_id, "SequenceNumber": a.sequence_number}),
                    Err(throttled) => json!({
                        "ErrorCode": "ProvisionedThroughputExceededException",
                        "ErrorMessage": throttled_message(&throttled, &stream, caller),
                    }),
                })
                .collect();
            Ok(ok(json!({
                "FailedRecordCount": failed,
                "Records": records,
                "EncryptionType": "KMS",
            })))
        }
        Operation::DescribeStreamSummary => {
            let request: StreamRequest = parse(body)?;
            let mut errors = Vec::new();
            request.validate_into(&mut errors);
            if let Some(error) = validation_errors(&errors) {
                return Err(error);
            }
            request.resolve(&stream, caller)?;
            Ok(ok(json!({
                "StreamDescriptionSummary": {
                    "StreamName": stream.name,
                    "StreamARN": stream.arn,
                    "StreamStatus": "ACTIVE",
                    "StreamModeDetails": {"StreamMode": "PROVISIONED"},
                    "RetentionPeriodHours": stream.retention_hours,
                    "StreamCreationTimestamp": stream.created,
                    "EnhancedMonitoring": [{"ShardLevelMetrics": []}],
                    "EncryptionType": "KMS",
                    "KeyId": "alias/aws/kinesis",
                    "OpenShardCount": stream.shard_count,
                    "ConsumerCount": 0,
                }
            })))
        }
    }
}

/// "An ErrorCode value of ProvisionedThroughputExceededException has an error message that
/// includes the account ID, stream name, and shard ID" (Kinesis API Reference,
/// PutRecordsResultEntry), worded as Kinesis words it.
fn throttled_message(
    throttled: &Throttled,
    stream: &StreamDescription,
    caller: Caller<'_>,
) -> String {
    format!(
        "Rate exceeded for shard {} in stream {} under account {}.",
        throttled.shard_id, stream.name, caller.account_id
    )
}

async fn put<A: DeviceApi>(api: &A, records: Vec<NewRecord>) -> Result<Vec<PutResult>, ApiError> {
    api.put_records(records).await.map_err(|err| {
        tracing::error!(error = %err, "the stream refused records");
        internal(err.to_string())
    })
}

fn internal(message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalFailure",
        message,
    )
}

fn ok(body: serde_json::Value) -> Response {
    json_response(StatusCode::OK, KINESIS_CONTENT_TYPE, &body)
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // AWS reads an empty body as an empty structure.
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|err| {
        ApiError::bad_request(
            "SerializationException",
            format!("The request body could not be read as the operation's JSON input: {err}"),
        )
    })
}

/// `StreamName` / `StreamARN`, common to every operation here.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StreamRequest {
    stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    stream_arn: Option<String>,
}

impl StreamRequest {
    fn validate_into(&self, errors: &mut Vec<String>) {
        if let Some(name) = &self.stream_name {
            let chars = name.chars().count();
            if chars == 0 || chars > 128 {
                errors.push(format!(
                    "Value '{name}' at 'streamName' failed to satisfy constraint: Member must \
                     have length between 1 and 128"
                ));
            } else if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            {
                errors.push(format!(
                    "Value '{name}' at 'streamName' failed to satisfy constraint: Member must \
                     satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
                ));
            }
        }
        if let Some(arn) = &self.stream_arn
            && parse_stream_arn(arn).is_none()
        {
            errors.push(format!(
                "Value '{arn}' at 'streamARN' failed to satisfy constraint: Member must satisfy \
                 regular expression pattern: arn:aws.*:kinesis:.*:\\d{{12}}:stream/\\S+"
            ));
        }
    }

    /// Checks that the request names the one stream.
    fn resolve(&self, stream: &StreamDescription, caller: Caller<'_>) -> Result<(), ApiError> {
        match (&self.stream_name, &self.stream_arn) {
            (None, None) => Err(ApiError::bad_request(
                "ValidationException",
                "Either StreamName or StreamARN must be provided.",
            )),
            (Some(name), _) if *name != stream.name => Err(ApiError::bad_request(
                "ResourceNotFoundException",
                format!(
                    "Stream {name} under account {} not found.",
                    caller.account_id
                ),
            )),
            (_, Some(arn)) if *arn != stream.arn => Err(ApiError::bad_request(
                "ResourceNotFoundException",
                format!("Stream {arn} not found."),
            )),
            _ => Ok(()),
        }
    }
}

/// `(region, account, name)` of `arn:aws:kinesis:<region>:<account>:stream/<name>`.
fn parse_stream_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (arn_literal, partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let name = resource.strip_prefix("stream/")?;
    let valid = arn_literal == "arn"
        && partition.starts_with("aws")
        && service == "kinesis"
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && !name.chars().any(char::is_whitespace);
    valid.then_some((region, account, name))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutRecordRequest {
    #[serde(flatten)]
    stream: StreamRequest,
    data: Option<String>,
    partition_key: Option<String>,
    explicit_hash_key: Option<String>,
    sequence_number_for_ordering: Option<String>,
}

impl PutRecordRequest {
    fn validate(
        self,
        stream: &StreamDescription,
        caller: Caller<'_>,
    ) -> Result<NewRecord, ApiError> {
        let mut errors = Vec::new();
        self.stream.validate_into(&mut errors);
        let data = decode_data(self.data.as_deref(), "data", &mut errors)?;
        check_partition_key(self.partition_key.as_deref(), "partitionKey", &mut errors);
        check_hash_key_pattern(
            self.explicit_hash_key.as_deref(),
            "explicitHashKey",
            &mut errors,
        );
        if let Some(ordering) = &self.sequence_number_for_ordering
            && !is_decimal(ordering, 129)
        {
            errors.push(format!(
                "Value '{ordering}' at 'sequenceNumberForOrdering' failed to satisfy \
                 constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{{0,128}})"
            ));
        }
        if let Some(error) = validation_errors(&errors) {
            return Err(error);
        }
        self.stream.resolve(stream, caller)?;
        Ok(NewRecord {
            partition_key: self.partition_key.unwrap_or_default(),
            data: data.unwrap_or_default(),
            explicit_hash_key: explicit_hash_key(self.explicit_hash_key.as_deref())?,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutRecordsRequest {
    #[serde(flatten)]
    stream: StreamRequest,
    records: Option<Vec<PutRecordsEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutRecordsEntry {
    data: Option<String>,
    partition_key: Option<String>,
    explicit_hash_key: Option<String>,
}

impl PutRecordsRequest {
    fn validate(
        self,
        stream: &StreamDescription,
        caller: Caller<'_>,
    ) -> Result<Vec<NewRecord>, ApiError> {
        let mut errors = Vec::new();
        self.stream.validate_into(&mut errors);
        let entries = self.records.unwrap_or_default();
        if entries.is_empty() {
            errors.push(
                "Value '[]' at 'records' failed to satisfy constraint: Member must have length \
                 greater than or equal to 1"
                    .to_owned(),
            );
        } else if entries.len() > MAX_RECORDS_PER_CALL {
            errors.push(format!(
                "Value of {} records at 'records' failed to satisfy constraint: Member must \
                 have length less than or equal to {MAX_RECORDS_PER_CALL}",
                entries.len()
            ));
        }
        let mut decoded = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            // AWS numbers the members from 1.
            let at = |field: &str| format!("records.{}.member.{field}", index + 1);
            let data = decode_data(entry.data.as_deref(), &at("data"), &mut errors)?;
            check_partition_key(
                entry.partition_key.as_deref(),
                &at("partitionKey"),
                &mut errors,
            );
            check_hash_key_pattern(
                entry.explicit_hash_key.as_deref(),
                &at("explicitHashKey"),
                &mut errors,
            );
            decoded.push(data);
        }
        if let Some(error) = validation_errors(&errors) {
            return Err(error);
        }
        self.stream.resolve(stream, caller)?;
        let size: usize = entries
            .iter()
            .zip(&decoded)
            .map(|(entry, data)| {
                entry.partition_key.as_deref().map_or(0, str::len)
                    + data.as_ref().map_or(0, Vec::len)
            })
            .sum();
        if size > MAX_CALL_SIZE {
            return Err(ApiError::bad_request(
                "InvalidArgumentException",
                format!(
                    "Records size exceeds 5 MB limit: the data and partition keys of this call \
                     are {size} bytes, at most {MAX_CALL_SIZE} are allowed."
                ),
            ));
        }
        entries
            .into_iter()
            .zip(decoded)
            .map(|(entry, data)| {
                Ok(NewRecord {
                    explicit_hash_key: explicit_hash_key(entry.explicit_hash_key.as_deref())?,
                    partition_key: entry.partition_key.unwrap_or_default(),
                    data: data.unwrap_or_default(),
                })
            })
            .collect()
    }
}

/// Base64-decodes a record's data; bad base64 is a serialization error, as on AWS.
fn decode_data(
    data: Option<&str>,
    at: &str,
    errors: &mut Vec<String>,
) -> Result<Option<Vec<u8>>, ApiError> {
    let Some(data) = data else {
        errors.push(format!(
            "Value null at '{at}' failed to satisfy constraint: Member must not be null"
        ));
        return Ok(None);
    };
    let bytes = STANDARD.decode(data).map_err(|err| {
        ApiError::bad_request(
            "SerializationException",
            format!("Value at '{at}' is not valid base64: {err}"),
        )
    })?;
    if bytes.len() > MAX_RECORD_DATA {
        errors.push(format!(
            "Value of {} bytes at '{at}' failed to satisfy constraint: Member must have length \
             less than or equal to {MAX_RECORD_DATA}",
            bytes.len()
        ));
    }
    Ok(Some(bytes))
}

fn check_partition_key(key: Option<&str>, at: &str, errors: &mut Vec<String>) {
    let Some(key) = key else {
        errors.push(format!(
            "Value null at '{at}' failed to satisfy constraint: Member must not be null"
        ));
        return;
    };
    let chars = key.chars().count();
    if chars < 1 {
        errors.push(format!(
            "Value '{key}' at '{at}' failed to satisfy constraint: Member must have length \
             greater than or equal to 1"
        ));
    } else if chars > MAX_PARTITION_KEY_CHARS {
        errors.push(format!(
            "Value '{key}' at '{at}' failed to satisfy constraint: Member must have length \
             less than or equal to {MAX_PARTITION_KEY_CHARS}"
        ));
    }
}

fn check_hash_key_pattern(key: Option<&str>, at: &str, errors: &mut Vec<String>) {
    if let Some(key) = key
        && !is_decimal(key, 39)
    {
        errors.push(format!(
            "Value '{key}' at '{at}' failed to satisfy constraint: Member must satisfy regular \
             expression pattern: 0|([1-9]\\d{{0,38}})"
        ));
    }
}

/// `0|([1-9]\d{0,max_digits-1})`.
fn is_decimal(text: &str, max_digits: usize) -> bool {
    text == "0"
        || (!text.is_empty()
            && text.len() <= max_digits
            && !text.starts_with('0')
            && text.bytes().all(|b| b.is_ascii_digit()))
}

/// The 128-bit hash key, once its pattern is known good.
fn explicit_hash_key(key: Option<&str>) -> Result<Option<u128>, ApiError> {
    key.map(|key| {
        key.parse::<u128>().map_err(|_| {
            ApiError::bad_request(
                "InvalidArgumentException",
                format!(
                    "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, \
                     2^128-1]. Specified value was {key}"
                ),
            )
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn stream_arns_are_read() {
        assert_eq!(
            parse_stream_arn("arn:aws:kinesis:eu-west-1:123456789012:stream/demo-IoTEventStream"),
            Some(("eu-west-1", "123456789012", "demo-IoTEventStream"))
        );
        for bad in [
            "arn:aws:kinesis:eu-west-1:12345678901:stream/s",
            "arn:aws:sqs:eu-west-1:123456789012:stream/s",
            "arn:aws:kinesis:eu-west-1:123456789012:table/s",
            "arn:aws:kinesis:eu-west-1:123456789012:stream/",
            "demo",
        ] {
            assert_eq!(parse_stream_arn(bad), None, "{bad}");
        }
    }

    #[test]
    fn hash_keys_follow_the_pattern_then_the_range() {
        assert!(is_decimal("0", 39));
        assert!(is_decimal(&u128::MAX.to_string(), 39));
        assert!(!is_decimal("01", 39));
        assert!(!is_decimal("-1", 39));
        assert!(!is_decimal("", 39));
        assert!(!is_decimal(&"9".repeat(40), 39));
        assert_eq!(
            explicit_hash_key(Some(&u128::MAX.to_string())).unwrap(),
            Some(u128::MAX)
        );
        // 2^128 matches the pattern but is out of range.
        let error = explicit_hash_key(Some("340282366920938463463374607431768211456")).unwrap_err();
        assert_eq!(error.code, "InvalidArgumentException");
    }

    #[test]
    fn partition_keys_are_counted_in_characters() {
        let mut errors = Vec::new();
        check_partition_key(Some(&"é".repeat(256)), "partitionKey", &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        check_partition_key(Some(&"é".repeat(257)), "partitionKey", &mut errors);
        check_partition_key(Some(""), "partitionKey", &mut errors);
        check_partition_key(None, "partitionKey", &mut errors);
        assert_eq!(errors.len(), 3, "{errors:?}");
    }
}
