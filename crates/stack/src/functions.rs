//! A Lambda function with its own log group and its own least-privilege role: the construct
//! every function of the stack is made of.

use std::collections::BTreeMap;

use cfn_model::resources::iam::{InlinePolicy, Role};
use cfn_model::resources::lambda::{
    Architecture, Environment, Function, LoggingConfig, Runtime, TracingConfig, TracingMode,
};
use cfn_model::resources::logs::{LogGroup, Retention};
use cfn_model::{Expr, Handle, PolicyDocument, ResourceOptions, Statement, TemplateBuilder};

use crate::assets::Assets;
use crate::checkov::{self, Skip};
use crate::names::{FunctionKind, Names};

/// What differs between the functions.
#[derive(Debug)]
pub struct FunctionSpec {
    /// Which function.
    pub kind: FunctionKind,
    /// What it does, for the console.
    pub description: &'static str,
    /// Memory in MB (CPU scales with it).
    pub memory_mb: u32,
    /// Timeout in seconds.
    pub timeout_seconds: u32,
    /// Environment variables: the function's whole configuration.
    pub environment: BTreeMap<&'static str, Expr>,
    /// Every right it needs besides writing its own logs.
    pub rights: Vec<Statement>,
    /// X-Ray active tracing, with the rights to send the traces.
    pub tracing: bool,
    /// checkov findings that do not apply to this function, beyond those of every function.
    pub skips: &'static [Skip],
}

/// A declared function.
#[derive(Debug)]
pub struct LambdaFunction {
    /// The function.
    pub function: Handle<Function>,
    /// Its execution role.
    pub role: Handle<Role>,
    /// Its log group.
    pub log_group: Handle<LogGroup>,
}

/// How long function logs are kept: a year, long enough to investigate a rejected reading
/// reported late; the logs are small (one line per batch and per rejected record).
const LOG_RETENTION: Retention = Retention::OneYear;

/// Findings that do not apply to any function of this stack.
const FUNCTION_SKIPS: &[Skip] = &[
    Skip {
        id: "CKV_AWS_117",
        comment: "The functions call only AWS public endpoints (Kinesis, S3, DynamoDB, \
                  CloudWatch, Lambda) and reach nothing private; a VPC would add NAT or \
                  interface endpoints and cold-start cost for no isolation gain.",
    },
    Skip {
        id: "CKV_AWS_115",
        comment: "Reserved concurrency is not set: new accounts have a concurrency quota of \
                  10, and reserving any would make the stack fail to deploy there. The stream \
                  consumers are bounded by the shard count, the query API can be invoked only \
                  by the device user, the provider only by CloudFormation.",
    },
];

/// Only for functions that have an environment (checkov passes the others).
const ENVIRONMENT_SKIP: Skip = Skip {
    id: "CKV_AWS_173",
    comment: "The environment holds resource names only (table, bucket, metric namespace), no \
              secrets; Lambda encrypts it at rest with its service key already.",
};

/// Log group findings that do not apply.
const LOG_GROUP_SKIPS: &[Skip] = &[Skip {
    id: "CKV_AWS_158",
    comment: "CloudWatch Logs encrypts log data at rest by default. The logs hold no secrets \
              (sensor ids, sequence numbers, rejection reasons); a customer managed key would \
              add a key policy for the logs service principal and a key cost for no gain.",
}];

impl LambdaFunction {
    /// Declares the log group `/aws/lambda/<name>`, the role `<name>-role` (writing to that
    /// log group plus `spec.rights`, nothing else), and the function itself.
    pub fn declare(
        template: &mut TemplateBuilder,
        names: &Names<'_>,
        assets: &Assets,
        architecture: Architecture,
        spec: FunctionSpec,
    ) -> Self {
        let logical_id = spec.kind.suffix();
        let log_group = template.resource_with(
            &format!("{logical_id}LogGroup"),
            LogGroup {
                log_group_name: names.log_group(spec.kind).into(),
                retention_in_days: LOG_RETENTION,
            },
            checkov::with_skips(ResourceOptions::default(), LOG_GROUP_SKIPS),
        );

        // No logs:CreateLogGroup: the group exists before the function. Create-stream and
        // put-events on this group's ARN (`...:log-group:<name>:*`, its streams) only.
        let write_logs = Statement::allow(
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [log_group.arn()],
        )
        .sid("WriteOwnLogs");
        let role = template.resource(
            &format!("{logical_id}Role"),
            Role {
                role_name: Some(names.role(spec.kind).into()),
                description: Some(format!("Execution role of {}", names.function(spec.kind))),
                assume_role_policy_document: PolicyDocument::new([
                    Statement::assume_role_by_service("lambda.amazonaws.com"),
                ]),
                policies: vec![InlinePolicy {
                    policy_name: "least-privilege".to_owned(),
                    policy_document: PolicyDocument::new(
                        std::iter::once(write_logs)
                            .chain(spec.tracing.then(send_traces))
                            .chain(spec.rights),
                    ),
                }],
            },
        );

        let environment_skip = (!spec.environment.is_empty()).then_some(&ENVIRONMENT_SKIP);
        let skips: Vec<Skip> = FUNCTION_SKIPS
            .iter()
            .chain(environment_skip)
            .chain(spec.skips)
            .copied()
            .collect();
        let function = template.resource_with(
            logical_id,
            Function {
                function_name: Some(names.function(spec.kind).into()),
                description: Some(spec.description.to_owned()),
                runtime: Runtime::ProvidedAl2023,
                // The OS-only runtimes run the executable `bootstrap`; the name is a convention.
                handler: "bootstrap".to_owned(),
                architectures: [architecture],
                code: assets.code(spec.kind),
                role: role.arn(),
                memory_size: spec.memory_mb,
                timeout: spec.timeout_seconds,
                environment: (!spec.environment.is_empty()).then(|| Environment {
                    variables: spec
                        .environment
                        .into_iter()
                        .map(|(name, value)| (name.to_owned(), value))
                        .collect(),
                }),
                logging_config: Some(LoggingConfig {
                    log_group: log_group.name(),
                }),
                tracing_config: spec.tracing.then_some(TracingConfig {
                    mode: TracingMode::Active,
                }),
            },
            checkov::with_skips(ResourceOptions::default(), &skips),
        );
        Self {
            function,
            role,
            log_group,
        }
    }
}

/// What Lambda needs to send an actively traced function's segments: the two actions of the
/// AWS managed policy `AWSXRayDaemonWriteAccess` that Lambda uses ("Visualize Lambda function
/// invocations using AWS X-Ray", Lambda Developer Guide). X-Ray defines no resource type for
/// them ("Actions, resources, and condition keys for AWS X-Ray", Service Authorization
/// Reference), so `*` is as narrow as they can be written.
fn send_traces() -> Statement {
    Statement::allow(
        ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
        [Expr::from("*")],
    )
    .sid("SendTraces")
}

/// A dead-letter queue catches failed asynchronous invocations; a stream consumer is invoked
/// synchronously by its event-source mapping, whose own on-failure destination takes that job.
pub const STREAM_CONSUMER_DLQ_SKIP: Skip = Skip {
    id: "CKV_AWS_116",
    comment: "Invoked synchronously by a Kinesis event-source mapping, never asynchronously, so \
              a function DLQ would never receive anything; failed batches go to the mapping's \
              SQS on-failure destination instead.",
};

/// The query API is only invoked synchronously: the caller gets the error.
pub const SYNCHRONOUS_DLQ_SKIP: Skip = Skip {
    id: "CKV_AWS_116",
    comment: "Invoked synchronously by devices and the test page (RequestResponse); the caller \
              receives every error, and a DLQ only applies to asynchronous invocations.",
};

/// CloudFormation invokes the provider asynchronously, but waits for its answer and reports a
/// failure itself; a DLQ would hold requests nobody can answer any more.
pub const CUSTOM_RESOURCE_DLQ_SKIP: Skip = Skip {
    id: "CKV_AWS_116",
    comment: "Invoked only by CloudFormation for custom-resource requests; the provider always \
              answers CloudFormation (success or failure with the reason), and an undelivered \
              request times out as a stack failure that CloudFormation reports, so a DLQ would \
              add nothing actionable.",
};
