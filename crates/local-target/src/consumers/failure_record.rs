//! The message a consumer's failure queue gets for a batch given up on: the invocation record
//! Lambda's on-failure destination sends for a Kinesis event source ("Retain discarded batch
//! records for a Kinesis Data Streams event source in Lambda", Lambda Developer Guide, its
//! example invocation record). It names the batch (shard, first and last sequence numbers,
//! arrival times, size), not its data: the records stay readable in the stream until it
//! expires them.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use crate::storage::stream::{StoredRecord, shard_id};

/// Why the batch was given up on, as the record's `condition` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// It still failed after the mapping's retries.
    RetryAttemptsExhausted,
    /// It got older than the mapping's maximum record age.
    RecordAgeExceeded,
}

impl Condition {
    fn as_str(self) -> &'static str {
        match self {
            Self::RetryAttemptsExhausted => "RetryAttemptsExhausted",
            Self::RecordAgeExceeded => "RecordAgeExceeded",
        }
    }
}

/// Where the batch came from and went.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    pub function_arn: &'a str,
    pub stream_arn: &'a str,
}

/// The record for `records` (one shard's, in order, at least one), given up on at `now_ms`
/// after `invocations` deliveries.
pub fn failure_record(
    source: Source<'_>,
    records: &[StoredRecord],
    condition: Condition,
    invocations: u32,
    now_ms: i64,
) -> String {
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return String::new();
    };
    let mut record = json!({
        "requestContext": {
            "requestId": crate::ids::random_uuid(),
            "functionArn": source.function_arn,
            "condition": condition.as_str(),
            "approximateInvokeCount": invocations,
        },
        "version": "1.0",
        "timestamp": iso_millis(now_ms),
        "KinesisBatchInfo": {
            "shardId": shard_id(first.shard),
            "startSequenceNumber": first.sequence_number(),
            "endSequenceNumber": last.sequence_number(),
            "approximateArrivalOfFirstRecord": iso_millis(first.arrival_ms),
            "approximateArrivalOfLastRecord": iso_millis(last.arrival_ms),
            "batchSize": records.len(),
            "streamArn": source.stream_arn,
        },
    });
    // A batch never delivered has no response to report. A delivered one failed by naming
    // its records in a partial batch response, which is a successful invocation (200, no
    // `functionError`): the handler cores report failures that way and never error.
    if invocations > 0 {
        record["responseContext"] = json!({"statusCode": 200, "executedVersion": "$LATEST"});
    }
    record.to_string()
}

/// A time as the record writes it: UTC, milliseconds, `Z`.
fn iso_millis(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The ARN of function `name` in the stream's region and account.
pub fn function_arn(stream_arn: &str, name: &str) -> String {
    let mut parts = stream_arn.split(':');
    let (partition, region, account) = (parts.nth(1), parts.nth(1), parts.next());
    format!(
        "arn:{}:lambda:{}:{}:function:{name}",
        partition.unwrap_or("aws"),
        region.unwrap_or_default(),
        account.unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn stored(position: u64, arrival_ms: i64) -> StoredRecord {
        StoredRecord {
            shard: 1,
            position,
            partition_key: "k".into(),
            data: b"{}".to_vec(),
            arrival_ms,
        }
    }

    #[test]
    fn the_record_names_the_batch_as_lambdas_destination_does() {
        let stream = "arn:aws:kinesis:eu-west-1:123456789012:stream/demo-stream";
        let arn = function_arn(stream, "demo-writer");
        assert_eq!(
            arn,
            "arn:aws:lambda:eu-west-1:123456789012:function:demo-writer"
        );
        let records = [stored(7, 1_000), stored(9, 2_500)];
        let source = Source {
            function_arn: &arn,
            stream_arn: stream,
        };
        let record: serde_json::Value = serde_json::from_str(&failure_record(
            source,
            &records,
            Condition::RetryAttemptsExhausted,
            3,
            3_000,
        ))
        .unwrap();
        assert_eq!(record["requestContext"]["functionArn"], arn.as_str());
        assert_eq!(
            record["requestContext"]["condition"],
            "RetryAttemptsExhausted"
        );
        assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
        assert_eq!(record["responseContext"]["statusCode"], 200);
        assert_eq!(record["timestamp"], "1970-01-01T00:00:03.000Z");
        let batch = &record["KinesisBatchInfo"];
        assert_eq!(batch["shardId"], "shardId-000000000001");
        assert_eq!(
            batch["startSequenceNumber"],
            records[0].sequence_number().as_str()
        );
        assert_eq!(
            batch["endSequenceNumber"],
            records[1].sequence_number().as_str()
        );
        assert_eq!(
            batch["approximateArrivalOfLastRecord"],
            "1970-01-01T00:00:02.500Z"
        );
        assert_eq!(
            (batch["batchSize"].as_u64(), batch["streamArn"].as_str()),
            (Some(2), Some(stream))
        );

        let never_delivered: serde_json::Value = serde_json::from_str(&failure_record(
            source,
            &records[..1],
            Condition::RecordAgeExceeded,
            0,
            3_000,
        ))
        .unwrap();
        assert_eq!(
            never_delivered["requestContext"]["condition"],
            "RecordAgeExceeded"
        );
        assert!(never_delivered.get("responseContext").is_none());
    }
}
