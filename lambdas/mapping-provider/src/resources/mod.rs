//! The dispatcher: each request goes to the module of its `ResourceType`, one module per
//! custom resource the stack declares. A new resource type is a new module and one arm here.

pub mod event_source_mapping;

use crate::answer::{Answer, failed_create_id};
use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest as Request;
use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;

/// The resource types this provider answers.
pub const RESOURCE_TYPES: [&str; 1] = [event_source_mapping::RESOURCE_TYPE];

/// Handles one request (the invocation payload) with the resource modules' ports.
/// `work_until` and `on_created` as in [`event_source_mapping::handle`].
pub async fn handle<M: event_source_mapping::Mappings>(
    mappings: &M,
    request: &Value,
    work_until: Instant,
    on_created: &(dyn Fn(&str) + Sync),
) -> Answer {
    let request = match Request::<Value, Value>::deserialize(request) {
        Ok(request) => request,
        Err(err) => {
            return Answer::failed(
                None,
                format!("not a CloudFormation custom-resource request: {err}"),
            );
        }
    };
    let (resource_type, physical_id) = match &request {
        Request::Create(create) => (&create.resource_type, failed_create_id(&create.request_id)),
        Request::Update(update) => (&update.resource_type, update.physical_resource_id.clone()),
        Request::Delete(delete) => (&delete.resource_type, delete.physical_resource_id.clone()),
        _ => return Answer::failed(None, "unknown RequestType"),
    };
    match resource_type.as_str() {
        event_source_mapping::RESOURCE_TYPE => {
            event_source_mapping::handle(mappings, &request, work_until, on_created).await
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
