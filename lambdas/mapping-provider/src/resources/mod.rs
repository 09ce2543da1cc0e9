//! The dispatcher: each request goes to the module of its `ResourceType`, one module per
//! custom resource the stack declares. A new resource type is a new module and one arm here.
//! CloudFormation's own properties (`ServiceToken`, `ServiceTimeout`) are taken out here, so
//! that each module reads only what its type defines.

pub mod access_key_remover;
pub mod bucket_emptier;
pub mod event_source_mapping;
mod named;

use crate::answer::{Answer, failed_create_id};
use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest as Request;
use custom_resources::resource_properties;
use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;

/// The resource types this provider answers.
pub const RESOURCE_TYPES: [&str; 3] = [
    event_source_mapping::RESOURCE_TYPE,
    bucket_emptier::RESOURCE_TYPE,
    access_key_remover::RESOURCE_TYPE,
];

/// What the resource modules act on: the mappings' port (lent by the caller), and the S3 and
/// IAM clients of the emptier and the key remover.
#[derive(Debug)]
pub struct Ports<'a, M> {
    pub mappings: &'a M,
    pub s3: aws_sdk_s3::Client,
    pub iam: aws_sdk_iam::Client,
}

/// Handles one request (the invocation payload). `work_until` is the instant by which the
/// answer must be ready; `on_created` as in [`event_source_mapping::handle`].
pub async fn handle<M: event_source_mapping::Mappings>(
    ports: &Ports<'_, M>,
    request: &Value,
    work_until: Instant,
    on_created: &(dyn Fn(&str) + Sync),
) -> Answer {
    let mut request = match Request::<Value, Value>::deserialize(request) {
        Ok(request) => request,
        Err(err) => {
            return Answer::failed(
                None,
                format!("not a CloudFormation custom-resource request: {err}"),
            );
        }
    };
    let (resource_type, physical_id) = match &mut request {
        Request::Create(create) => {
            create.resource_properties = resource_properties(&create.resource_properties);
            (
                create.resource_type.clone(),
                failed_create_id(&create.request_id),
            )
        }
        Request::Update(update) => {
            update.resource_properties = resource_properties(&update.resource_properties);
            update.old_resource_properties = resource_properties(&update.old_resource_properties);
            (
                update.resource_type.clone(),
                update.physical_resource_id.clone(),
            )
        }
        Request::Delete(delete) => {
            delete.resource_properties = resource_properties(&delete.resource_properties);
            (
                delete.resource_type.clone(),
                delete.physical_resource_id.clone(),
            )
        }
        _ => return Answer::failed(None, "unknown RequestType"),
    };
    match resource_type.as_str() {
        event_source_mapping::RESOURCE_TYPE => {
            event_source_mapping::handle(ports.mappings, &request, work_until, on_created).await
        }
        bucket_emptier::RESOURCE_TYPE => {
            bucket_emptier::handle(&ports.s3, &request, work_until).await
        }
        access_key_remover::RESOURCE_TYPE => {
            access_key_remover::handle(&ports.iam, &request, work_until).await
        }
        other => Answer::failed(
            Some(physical_id),
            format!(
                "this provider handles {}, not {other}",
                RESOURCE_TYPES.join(", ")
            ),
        ),
    }
}
