//! The Kinesis event types the cores consume and answer, re-exported so that every caller (the
//! Lambda binaries, the local target's pollers, tests) uses exactly the types Lambda delivers;
//! and [`RecordSource`], which builds a record with its fields filled as Lambda fills them.

pub use aws_lambda_events::event::kinesis::{
    KinesisEncryptionType, KinesisEvent, KinesisEventRecord, KinesisRecord,
};
pub use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use chrono::{DateTime, Utc};

/// The stream and shard records come from.
#[derive(Clone, Debug)]
pub struct RecordSource {
    pub stream_arn: String,
    pub region: String,
    pub shard_id: String,
    /// The consumer function's role, as `invokeIdentityArn`.
    pub invoke_identity_arn: String,
}

impl RecordSource {
    /// Shard 0 of the `demo` stack's stream in us-east-1 (account 123456789012), read by its
    /// writer, as in the recorded events under `crates/telemetry/tests/fixtures`: the source for
    /// tests and benchmarks that build events.
    pub fn demo() -> Self {
        Self {
            stream_arn: "arn:aws:kinesis:us-east-1:123456789012:stream/demo-IoTEventStream"
                .to_owned(),
            region: "us-east-1".to_owned(),
            shard_id: "shardId-000000000000".to_owned(),
            invoke_identity_arn: "arn:aws:iam::123456789012:role/demo-IoTDDBEventProcessor"
                .to_owned(),
        }
    }

    /// One record as Lambda delivers it from this shard.
    pub fn record(
        &self,
        sequence_number: &str,
        partition_key: &str,
        data: Vec<u8>,
        arrival: DateTime<Utc>,
    ) -> KinesisEventRecord {
        let mut kinesis = KinesisRecord::default();
        // Both wrappers are non-exhaustive: set through Deref rather than construct.
        *kinesis.approximate_arrival_timestamp = arrival;
        *kinesis.data = data;
        kinesis.encryption_type = KinesisEncryptionType::None;
        kinesis.partition_key = partition_key.to_owned();
        kinesis.sequence_number = sequence_number.to_owned();
        kinesis.kinesis_schema_version = Some("1.0".to_owned());

        let mut record = KinesisEventRecord::default();
        record.aws_region = Some(self.region.clone());
        record.event_id = Some(format!("{}:{}", self.shard_id, sequence_number));
        record.event_name = Some("aws:kinesis:record".to_owned());
        record.event_source = Some("aws:kinesis".to_owned());
        record.event_source_arn = Some(self.stream_arn.clone());
        record.event_version = Some("1.0".to_owned());
        record.invoke_identity_arn = Some(self.invoke_identity_arn.clone());
        record.kinesis = kinesis;
        record
    }

    /// An event holding `records`.
    pub fn event(records: Vec<KinesisEventRecord>) -> KinesisEvent {
        let mut event = KinesisEvent::default();
        event.records = records;
        event
    }
}
