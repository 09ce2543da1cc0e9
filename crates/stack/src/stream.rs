//! The Kinesis stream devices put readings on.

use cfn_model::resources::kinesis::{Stream, StreamEncryption, StreamMode, StreamModeDetails};
use cfn_model::{Handle, Statement, TemplateBuilder};

use crate::StreamCapacity;
use crate::names::Names;

/// The event stream and the rights its users need.
#[derive(Debug)]
pub struct EventStream {
    /// The stream.
    pub stream: Handle<Stream>,
}

/// Logical id of the stream (the 2015 original's).
pub const LOGICAL_ID: &str = "IoTEventStream";

/// How long records stay readable. The default 24 hours: the consumers' maximum record age
/// (see `mapping`) is well inside it, so a batch sent to a failure queue can still be re-read
/// from the stream for a day; longer retention costs extra per shard-hour.
pub const RETENTION_HOURS: u32 = 24;

impl EventStream {
    /// Declares a stream of `capacity`, encrypted at rest with the AWS managed key
    /// `aws/kinesis` (no key policy to manage; its key policy lets this account's principals
    /// use it through Kinesis, so no role needs KMS rights).
    ///
    /// The mode is always written, so that a change between the two is a change of
    /// `StreamModeDetails`, which CloudFormation updates with no interruption, like
    /// `ShardCount` (AWS::Kinesis::Stream, AWS CloudFormation User Guide): the stream, its
    /// records and its mappings stay.
    pub fn declare(
        template: &mut TemplateBuilder,
        names: &Names<'_>,
        capacity: StreamCapacity,
    ) -> Self {
        let (shard_count, stream_mode) = match capacity {
            StreamCapacity::Provisioned { shards } => (Some(shards), StreamMode::Provisioned),
            StreamCapacity::OnDemand => (None, StreamMode::OnDemand),
        };
        let stream = template.resource(
            LOGICAL_ID,
            Stream {
                name: Some(names.stream().into()),
                shard_count,
                stream_mode_details: Some(StreamModeDetails { stream_mode }),
                retention_period_hours: Some(RETENTION_HOURS),
                stream_encryption: Some(StreamEncryption::kms("alias/aws/kinesis")),
            },
        );
        Self { stream }
    }

    /// What a Lambda event-source mapping needs to read the stream on a consumer's behalf
    /// (the function's role is the one used).
    pub fn consume(&self) -> Statement {
        Statement::allow(
            [
                "kinesis:DescribeStream",
                "kinesis:DescribeStreamSummary",
                "kinesis:GetRecords",
                "kinesis:GetShardIterator",
                "kinesis:ListShards",
            ],
            [self.stream.arn()],
        )
        .sid("ReadEventStream")
    }

    /// What a device needs to put readings: the two put calls, and the stream summary a
    /// client reads to check the stream is active before it puts (the local target serves it
    /// to the device key too, and may grant only what AWS grants).
    pub fn put(&self) -> Statement {
        Statement::allow(
            [
                "kinesis:DescribeStreamSummary",
                "kinesis:PutRecord",
                "kinesis:PutRecords",
            ],
            [self.stream.arn()],
        )
        .sid("PutReadings")
    }
}
