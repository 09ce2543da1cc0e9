//! The custom-resource provider: one function answers every custom resource of the stack (the
//! two event-source mappings, the archive's emptier, the device keys' remover), and every
//! custom resource is declared through [`Provider::custom_resource`], so that each gets the same
//! `ServiceTimeout`.

use std::collections::BTreeMap;

use cfn_model::resources::custom::CustomResource;
use cfn_model::resources::lambda::{Architecture, Function};
use cfn_model::{Handle, ResourceOptions, Statement, TemplateBuilder};
use serde::Serialize;

use crate::assets::Assets;
use crate::functions::{self, FunctionSpec, LambdaFunction};
use crate::names::{FunctionKind, Names};

/// How long CloudFormation waits for an answer before it fails the operation. Its default
/// is an hour, and a provider that never answers (a crash at start-up, say) would then hold a
/// Create for an hour and the rollback's Delete for another, ending in ROLLBACK_FAILED. Five
/// minutes is the first invocation ([`TIMEOUT_SECONDS`]) plus Lambda's first retry of an
/// asynchronous invocation that failed, a minute later ("Error handling and automatic retries
/// in Lambda", Lambda Developer Guide), with a minute to spare.
pub const SERVICE_TIMEOUT_SECONDS: u32 = 300;

/// The provider function's timeout. A mapping takes a few Lambda API calls; emptying the
/// archive takes one listing and one delete per 1,000 object versions, and this leaves time
/// for several hundred thousand. A bucket that still holds versions when the time is up is
/// a FAILED Delete that says so; deleting the stack again carries on where it stopped.
pub const TIMEOUT_SECONDS: u32 = 120;

const _: () = assert!(TIMEOUT_SECONDS < SERVICE_TIMEOUT_SECONDS);

/// The provider function.
#[derive(Debug)]
pub struct Provider {
    /// The function CloudFormation invokes for every custom resource.
    pub function: Handle<Function>,
}

impl Provider {
    /// Declares the provider with `rights`: what the custom resources it serves need.
    pub fn declare(
        template: &mut TemplateBuilder,
        names: &Names<'_>,
        assets: &Assets,
        architecture: Architecture,
        rights: Vec<Statement>,
    ) -> Self {
        let provider = LambdaFunction::declare(
            template,
            names,
            assets,
            architecture,
            FunctionSpec {
                kind: FunctionKind::MappingProvider,
                description: "CloudFormation custom resource provider: the stream's \
                              event-source mappings, and on stack deletion the archive's \
                              emptying and the device keys' removal",
                memory_mb: crate::MEMORY_MB,
                timeout_seconds: TIMEOUT_SECONDS,
                environment: BTreeMap::new(),
                rights,
                // Runs only while the stack is deployed or deleted: nothing a trace would explain.
                tracing: false,
                skips: &[functions::CUSTOM_RESOURCE_DLQ_SKIP],
            },
        );
        Self {
            function: provider.function,
        }
    }

    /// Declares the custom resource `logical_id` of type `resource_type` (written with its
    /// `Custom::` prefix, as the shared property types name it), answered by this provider.
    pub fn custom_resource<P: Serialize>(
        &self,
        template: &mut TemplateBuilder,
        logical_id: &str,
        resource_type: &str,
        properties: P,
        options: ResourceOptions,
    ) -> Handle<CustomResource<P>> {
        let name = resource_type
            .strip_prefix("Custom::")
            .unwrap_or(resource_type);
        template.resource_with(
            logical_id,
            CustomResource::new(name, self.function.arn(), properties)
                .service_timeout(SERVICE_TIMEOUT_SECONDS),
            options,
        )
    }
}
