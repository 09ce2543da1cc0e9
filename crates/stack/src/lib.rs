//! The IoT back-end stack, defined with `cfn-model` as small constructs that compose, the way
//! a CDK app is: each module declares its resources and offers the IAM statements its users
//! need, and [`template`] wires them together. Nothing here calls AWS: the deployer
//! (`crates/deploy`) renders the definition with [`synth`] and applies it with `cfn-apply`,
//! and runs it on this machine from [`local`].
//!
//! # Layout
//! - [`stack_name`]: [`StackName`], the rules a stack name must follow, and why.
//! - [`StackDefinition`] and [`template`] (here): what a stack depends on, and its template.
//! - [`names`]: every physical name, derived from the stack name in one place.
//! - [`assets`]: the code parameters (asset bucket, one key per function).
//! - [`stream`], [`archive`], [`table`]: the Kinesis stream, the S3 archive bucket, the DynamoDB
//!   table, each with the IAM statements its users need.
//! - [`functions`]: a Lambda function with its own log group and least-privilege role.
//! - [`provider`]: the custom-resource provider function, through which every custom
//!   resource is declared (one `ServiceTimeout` for all).
//! - [`mapping`]: the event-source-mapping custom resources and their failure queues.
//! - [`archive`] also declares the bucket's emptier, [`device`] the key remover: each cleans up
//!   what CloudFormation cannot delete by itself, when the stack is deleted.
//! - [`device`]: the device IAM user and its policy.
//! - [`monitoring`]: the alarms (thresholds derived from the settings above), their encrypted
//!   topic, and the pipeline's dashboard.
//! - [`checkov`]: the `Metadata` skip list for checks that do not apply, with reasons.
//! - [`synth`]: the rendered template.
//! - [`local`]: the local target's settings, derived from the same definition.

pub mod archive;
pub mod assets;
pub mod checkov;
pub mod device;
pub mod functions;
pub mod local;
pub mod mapping;
pub mod monitoring;
pub mod names;
pub mod provider;
pub mod stack_name;
pub mod stream;
pub mod synth;
pub mod table;

use std::collections::BTreeMap;
use telemetry::metrics::SensorMetrics;

use cfn_model::resources::lambda::Architecture;
use cfn_model::{Expr, Output, PseudoParameter, Statement, Template, TemplateBuilder};

use archive::Archive;
use assets::Assets;
use device::Device;
use functions::{FunctionSpec, LambdaFunction};
use mapping::FailureQueue;
use names::{FunctionKind, Names};
use provider::Provider;
pub use stack_name::StackName;
use stream::EventStream;
use table::SensorTable;

/// Everything a stack's template depends on.
#[derive(Debug, Clone)]
pub struct StackDefinition {
    /// The stack's name; every physical name derives from it.
    pub stack_name: StackName,
    /// How the Kinesis stream's capacity is set.
    pub capacity: StreamCapacity,
    /// The functions' instruction set (their packages must be built for it).
    pub architecture: Architecture,
    /// Batches of one shard each consumer processes at once.
    pub parallelization_factor: mapping::ParallelizationFactor,
    /// X-Ray active tracing of the functions.
    pub tracing: bool,
    /// An address the alarms' topic sends its notifications to (AWS asks it to confirm).
    pub alarm_email: Option<String>,
    /// `SensorData` per sensor (one custom metric each, as in 2015) or one for the stack.
    pub sensor_metrics: SensorMetrics,
}

/// The stream's capacity mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamCapacity {
    /// A fixed number of shards, each taking up to 1 MB/s or 1,000 records/s of writes.
    Provisioned {
        /// Shards of the stream.
        shards: u32,
    },
    /// Kinesis adds and removes shards with the traffic; paid per GB instead of per shard-hour.
    OnDemand,
}

impl StreamCapacity {
    /// Shards of an on-demand stream on the local target. AWS gives a new on-demand stream a
    /// write capacity of 4 MB/s and 4,000 records/s, four shards' worth ("Choose the data
    /// stream capacity mode", Amazon Kinesis Data Streams Developer Guide), and grows it from
    /// there; the local target keeps the four.
    pub const LOCAL_ON_DEMAND_SHARDS: u32 = 4;

    /// The shard count the stack starts with.
    pub fn initial_shards(self) -> u32 {
        match self {
            Self::Provisioned { shards } => shards,
            Self::OnDemand => Self::LOCAL_ON_DEMAND_SHARDS,
        }
    }
}

impl StackDefinition {
    /// The defaults: one provisioned shard, x86_64, one batch per shard at a time, no tracing,
    /// no alarm address, per-sensor metrics.
    pub fn new(stack_name: StackName) -> Self {
        Self {
            stack_name,
            capacity: StreamCapacity::Provisioned { shards: 1 },
            architecture: Architecture::X86_64,
            parallelization_factor: mapping::ParallelizationFactor::ONE,
            tracing: false,
            alarm_email: None,
            sensor_metrics: SensorMetrics::PerSensor,
        }
    }
}

/// The CloudWatch namespace the writer publishes to (the design's contract).
pub const METRICS_NAMESPACE: &str = "Sensors";

/// Memory of every function: Rust handlers of small batches need far less than 128 MB, the
/// smallest size; more would buy CPU they do not wait on.
pub(crate) const MEMORY_MB: u32 = 128;

/// Output ids (the 2015 original's, where it had them).
pub mod outputs {
    /// The stream's name.
    pub const STREAM: &str = "KinesisStream";
    /// The query API function's name.
    pub const API_FUNCTION: &str = "LambdaAPIFunction";
    /// The region.
    pub const REGION: &str = "Region";
    /// The archive bucket's name.
    pub const BUCKET: &str = "ArchiveBucket";
    /// The table's name.
    pub const TABLE: &str = "SensorDataTable";
    /// The device user's name.
    pub const DEVICE_USER: &str = "DeviceUser";
}

/// The stack's template.
pub fn template(definition: &StackDefinition) -> Result<Template, cfn_model::Error> {
    let names = Names::new(&definition.stack_name);
    let mut template = TemplateBuilder::new(format!(
        "IoT back end `{}`: devices put readings on a Kinesis stream; Lambda consumers archive \
         them to S3 and write them to DynamoDB and CloudWatch; a Lambda API answers queries.",
        definition.stack_name
    ));
    let t = &mut template;
    let assets = Assets::declare(t);
    let stream = EventStream::declare(t, &names, definition.capacity);
    let archive = Archive::declare(t, &names);
    let table = SensorTable::declare(t, &names);
    let declare_function = |t: &mut TemplateBuilder, spec| {
        LambdaFunction::declare(t, &names, &assets, definition.architecture, spec)
    };

    let archiver_failures = FailureQueue::declare(t, &names, FunctionKind::Archiver);
    let archiver = declare_function(
        t,
        FunctionSpec {
            kind: FunctionKind::Archiver,
            description: "Archives every batch of the event stream to S3, one object per batch",
            memory_mb: MEMORY_MB,
            // One PutObject per batch, retried with backoff inside the invocation.
            timeout_seconds: 30,
            environment: BTreeMap::from([("ARCHIVE_BUCKET", archive.bucket.name())]),
            rights: vec![
                stream.consume(),
                archiver_failures.send(),
                archive.write_objects(),
            ],
            tracing: definition.tracing,
            skips: &[functions::STREAM_CONSUMER_DLQ_SKIP],
        },
    );

    let writer_failures = FailureQueue::declare(t, &names, FunctionKind::Writer);
    let writer = declare_function(
        t,
        FunctionSpec {
            kind: FunctionKind::Writer,
            description: "Writes valid readings of the event stream to DynamoDB and publishes \
                          them as CloudWatch metrics",
            memory_mb: MEMORY_MB,
            // 20 BatchWriteItem calls for a 500-record batch plus metric calls, each retried
            // with backoff on throttling: a minute leaves room for bad moments.
            timeout_seconds: 60,
            environment: BTreeMap::from_iter(
                [
                    Some(("TABLE_NAME", table.table.name())),
                    Some(("METRICS_NAMESPACE", Expr::from(METRICS_NAMESPACE))),
                    // The writer's default is per sensor; only the other way is written.
                    (definition.sensor_metrics != SensorMetrics::PerSensor).then(|| {
                        (
                            SensorMetrics::VARIABLE,
                            Expr::from(definition.sensor_metrics.as_str()),
                        )
                    }),
                ]
                .into_iter()
                .flatten(),
            ),
            rights: vec![
                stream.consume(),
                writer_failures.send(),
                table.batch_write(),
                publish_metrics(),
            ],
            tracing: definition.tracing,
            skips: &[functions::STREAM_CONSUMER_DLQ_SKIP],
        },
    );

    let query_api = declare_function(
        t,
        FunctionSpec {
            kind: FunctionKind::QueryApi,
            description: "Answers queries for a sensor's readings",
            memory_mb: MEMORY_MB,
            // A caller is waiting: one or two Query calls, fail fast rather than hang.
            timeout_seconds: 10,
            environment: BTreeMap::from([("TABLE_NAME", table.table.name())]),
            rights: vec![table.query()],
            tracing: definition.tracing,
            skips: &[functions::SYNCHRONOUS_DLQ_SKIP],
        },
    );

    let device = Device::declare(t, &names, &stream, &query_api.function);
    let mut provider_rights = mapping::provider_rights(&[&archiver.function, &writer.function]);
    provider_rights.extend(archive.empty_on_delete());
    provider_rights.push(device.remove_keys());
    let provider = Provider::declare(t, &names, &assets, definition.architecture, provider_rights);
    // The mappings are the only writers of the archive (through the archiver): made after
    // the emptier, they are deleted before it runs.
    let emptier = archive.declare_emptier(t, &provider);
    device.declare_key_remover(t, &provider);

    mapping::declare(
        t,
        "IoTMapEventSourceS3EventProcessor",
        &provider,
        &archiver.function,
        &stream,
        &archiver_failures,
        mapping::ARCHIVER,
        definition.parallelization_factor,
        &emptier,
    );
    mapping::declare(
        t,
        "IoTMapEventSourceDDBEventProcessor",
        &provider,
        &writer.function,
        &stream,
        &writer_failures,
        mapping::WRITER,
        definition.parallelization_factor,
        &emptier,
    );

    monitoring::declare(
        t,
        &names,
        &monitoring::SUBJECTS,
        definition.alarm_email.as_deref(),
    );

    let outputs = [
        (
            outputs::STREAM,
            "Kinesis stream devices put readings on",
            stream.stream.name(),
        ),
        (
            outputs::API_FUNCTION,
            "Lambda function that answers queries",
            query_api.function.name(),
        ),
        (
            outputs::REGION,
            "Region of the stack",
            Expr::pseudo(PseudoParameter::Region),
        ),
        (
            outputs::BUCKET,
            "S3 bucket of archived batches",
            archive.bucket.name(),
        ),
        (
            outputs::TABLE,
            "DynamoDB table of readings",
            table.table.name(),
        ),
        (
            outputs::DEVICE_USER,
            "IAM user devices sign their calls as (its access key is created by the \
             deployer, never shown here)",
            device.user.name(),
        ),
    ];
    for (id, description, value) in outputs {
        t.output(id, Output::new(description, value));
    }
    template.build()
}

/// `cloudwatch:PutMetricData` supports no resource ARN, so its resource must be `*`; the
/// `cloudwatch:namespace` condition limits it to the stack's namespace.
fn publish_metrics() -> Statement {
    Statement::allow(["cloudwatch:PutMetricData"], [Expr::from("*")])
        .sid("PublishSensorMetrics")
        .condition(
            "StringEquals",
            "cloudwatch:namespace",
            [Expr::from(METRICS_NAMESPACE)],
        )
}
