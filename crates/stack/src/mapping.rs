//! The event-source mappings from the stream to the two consumers, made by a custom resource
//! (the provider function), each with an encrypted SQS on-failure destination.

use cfn_model::resources::lambda::Function;
use cfn_model::resources::sqs::Queue;
use cfn_model::{Expr, Handle, ResourceOptions, Statement, TemplateBuilder};
use custom_resources::event_source_mapping::{
    FunctionResponseType, Properties, RESOURCE_TYPE, StartingPosition,
};

use crate::checkov::{self, Skip};
use crate::names::{FunctionKind, Names};
use crate::provider::Provider;
use crate::stream::EventStream;

/// How one consumer reads the stream.
#[derive(Debug, Clone, Copy)]
pub struct MappingSettings {
    /// Records per invocation at most.
    pub batch_size: u32,
    /// How long Lambda gathers records before invoking with fewer than `batch_size`.
    pub maximum_batching_window_in_seconds: u32,
    /// Retries of a failing batch (after bisecting) before it goes to the failure queue.
    pub maximum_retry_attempts: u32,
    /// Records older than this go to the failure queue instead of being retried.
    pub maximum_record_age_in_seconds: u32,
}

/// Retries common to both consumers: transient errors are already retried with backoff inside
/// an invocation, so a batch that fails three whole invocations (after bisecting down to the
/// failing records) is not going to succeed by retrying more; it goes to the failure queue
/// and the shard moves on.
const MAXIMUM_RETRY_ATTEMPTS: u32 = 3;

/// Six hours: a record stuck that long is sent to the failure queue while it is still well
/// inside the stream's 24-hour retention, leaving 18 hours to re-read it from the pointers in
/// the failure message.
const MAXIMUM_RECORD_AGE_IN_SECONDS: u32 = 6 * 60 * 60;

/// The archiver writes one object per batch, so larger batches mean fewer, larger objects and
/// fewer PutObject calls. 1,000 small readings (a few hundred bytes each in the event) stay
/// far below the 6 MB invocation payload limit and fit in 128 MB; a 10-second window bounds
/// how late the archive is.
pub const ARCHIVER: MappingSettings = MappingSettings {
    batch_size: 1000,
    maximum_batching_window_in_seconds: 10,
    maximum_retry_attempts: MAXIMUM_RETRY_ATTEMPTS,
    maximum_record_age_in_seconds: MAXIMUM_RECORD_AGE_IN_SECONDS,
};

/// The writer splits a batch into BatchWriteItem calls of 25; 500 records (20 calls, the
/// size its handler is tested at) fit a 128 MB function and its timeout with retries. A
/// 1-second window keeps readings queryable soon after they are put.
pub const WRITER: MappingSettings = MappingSettings {
    batch_size: 500,
    maximum_batching_window_in_seconds: 1,
    maximum_retry_attempts: MAXIMUM_RETRY_ATTEMPTS,
    maximum_record_age_in_seconds: MAXIMUM_RECORD_AGE_IN_SECONDS,
};

/// Batches of one shard a consumer processes at once, 1 to 10 (Lambda's range,
/// CreateEventSourceMapping, AWS Lambda API Reference). Lambda keeps each partition key's
/// records in order across them ("Polling and stream starting positions", "Configuring
/// parallelization factor", Lambda Developer Guide), and so does the local target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParallelizationFactor(u8);

impl ParallelizationFactor {
    /// One batch per shard at a time: Lambda's default.
    pub const ONE: Self = Self(1);

    /// `factor`, if Lambda allows it.
    pub fn new(factor: u8) -> Option<Self> {
        (1..=10).contains(&factor).then_some(Self(factor))
    }

    /// The factor.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// A consumer's on-failure destination.
#[derive(Debug)]
pub struct FailureQueue {
    /// The queue.
    pub queue: Handle<Queue>,
}

/// The longest SQS keeps a message: 14 days to look at a failure.
const FAILURE_RETENTION_SECONDS: u32 = 14 * 24 * 60 * 60;

const QUEUE_SKIPS: &[Skip] = &[Skip {
    id: "CKV_AWS_27",
    comment: "Encrypted at rest with SQS managed keys (SqsManagedSseEnabled: true, SSE-SQS); \
              this check only recognises a KMS key. The messages are batch pointers (shard, \
              sequence numbers), not readings, and SSE-SQS needs no key policy or KMS rights.",
}];

impl FailureQueue {
    /// Declares `<function>-failures`, encrypted with SQS managed keys. Lambda sends it the
    /// shard and sequence-number range of each batch it gave up on (not the records).
    pub fn declare(
        template: &mut TemplateBuilder,
        names: &Names<'_>,
        consumer: FunctionKind,
    ) -> Self {
        let queue = template.resource_with(
            &format!("{}FailureQueue", consumer.suffix()),
            Queue {
                queue_name: Some(names.failure_queue(consumer).into()),
                sqs_managed_sse_enabled: Some(true),
                message_retention_period: Some(FAILURE_RETENTION_SECONDS),
            },
            checkov::with_skips(ResourceOptions::default(), QUEUE_SKIPS),
        );
        Self { queue }
    }

    /// What the consumer's role needs for Lambda to send failures here.
    pub fn send(&self) -> Statement {
        Statement::allow(["sqs:SendMessage"], [self.queue.arn()]).sid("SendFailures")
    }
}

/// Declares the mapping `logical_id` from the stream to `consumer`, made only after `after`
/// (and so deleted before it).
#[allow(clippy::too_many_arguments)]
pub fn declare<R>(
    template: &mut TemplateBuilder,
    logical_id: &str,
    provider: &Provider,
    consumer: &Handle<Function>,
    stream: &EventStream,
    failures: &FailureQueue,
    settings: MappingSettings,
    parallelization_factor: ParallelizationFactor,
    after: &Handle<R>,
) {
    provider.custom_resource(
        template,
        logical_id,
        RESOURCE_TYPE,
        Properties::<Expr> {
            // An ARN rather than a name, so that the provider's `lambda:FunctionArn`
            // conditions compare like with like.
            function_name: Some(consumer.arn().into()),
            stream_arn: Some(stream.stream.arn().into()),
            // From the oldest record kept: nothing put before the mapping existed is lost.
            starting_position: Some(StartingPosition::TrimHorizon.into()),
            batch_size: Some(i64::from(settings.batch_size).into()),
            maximum_batching_window_in_seconds: Some(
                i64::from(settings.maximum_batching_window_in_seconds).into(),
            ),
            // The handlers report the records they could not process, so a retry resends
            // only those and the records after them, not the whole batch.
            function_response_types: Some(
                vec![FunctionResponseType::ReportBatchItemFailures].into(),
            ),
            bisect_batch_on_function_error: Some(true.into()),
            maximum_retry_attempts: Some(i64::from(settings.maximum_retry_attempts).into()),
            maximum_record_age_in_seconds: Some(
                i64::from(settings.maximum_record_age_in_seconds).into(),
            ),
            on_failure_destination_arn: Some(failures.queue.arn().into()),
            parallelization_factor: Some(i64::from(parallelization_factor.get()).into()),
            ..Properties::default()
        },
        ResourceOptions::default().depends_on(after),
    );
}

/// The provider's rights: managing event-source mappings of this account and region whose
/// function is one of `consumers`, nothing else.
///
/// `CreateEventSourceMapping` has no mapping ARN to name yet (the UUID is made by the call),
/// so its resource is `*`, narrowed by the `lambda:FunctionArn` condition. Update and Delete
/// take both the mapping ARN pattern and the condition. `GetEventSourceMapping` supports no
/// `lambda:FunctionArn` condition (it would never match), so it is scoped by ARN only; it
/// reveals configuration, changes nothing.
///
/// `ListEventSourceMappings` finds the mapping of a Create's function and stream when Lambda
/// answers that one exists already (a redelivered Create, a mapping left by an earlier stack),
/// so that the provider can adopt it. The Service Authorization Reference ("Actions, resources,
/// and condition keys for AWS Lambda") gives that action no resource type and no condition key,
/// so `*` without a condition is as narrow as it can be written; like Get, it reveals
/// configuration and changes nothing.
pub fn provider_rights(consumers: &[&Handle<Function>]) -> Vec<Statement> {
    let consumer_arns = || consumers.iter().map(|consumer| consumer.arn());
    let mappings_here = || {
        Expr::sub(
            "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:event-source-mapping:*",
        )
    };
    vec![
        Statement::allow(["lambda:CreateEventSourceMapping"], [Expr::from("*")])
            .sid("CreateMappingsOfTheConsumers")
            .condition("StringEquals", "lambda:FunctionArn", consumer_arns()),
        Statement::allow(
            [
                "lambda:DeleteEventSourceMapping",
                "lambda:UpdateEventSourceMapping",
            ],
            [mappings_here()],
        )
        .sid("ChangeMappingsOfTheConsumers")
        .condition("StringEquals", "lambda:FunctionArn", consumer_arns()),
        Statement::allow(["lambda:GetEventSourceMapping"], [mappings_here()]).sid("ReadMappings"),
        Statement::allow(["lambda:ListEventSourceMappings"], [Expr::from("*")])
            .sid("FindTheMappingOfAFunctionAndStream"),
    ]
}
