//! `Custom::AccessKeyRemover`: Create and Update only name the user (its name is the physical
//! id). Delete deletes every access key of the user, so that CloudFormation's deletion of the
//! user, which comes after, succeeds. A failed Create's Delete, and a user already gone, have
//! nothing to remove.

use crate::answer::{Answer, failed_create_id};
use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest as Request;
use custom_resources::access_key_remover::Properties;
use serde_json::Value;
use tokio::time::Instant;

pub use custom_resources::access_key_remover::RESOURCE_TYPE;

const USER_NAME: &str = "UserName";

/// What Create and Update say they set up.
const PROMISE: fn(&str) -> String =
    |name| format!("the access keys of {name} will be deleted when this resource is deleted");

fn user_name(properties: &Value) -> Result<String, String> {
    let read: Properties<String> = super::named::read(properties)?;
    super::named::required_name(
        RESOURCE_TYPE,
        USER_NAME,
        read.user_name.as_ref(),
        &read.unknown,
    )
}

/// Handles one request for this resource type; `work_until` as in the dispatcher.
pub async fn handle(
    iam: &aws_sdk_iam::Client,
    request: &Request<Value, Value>,
    work_until: Instant,
) -> Answer {
    match request {
        Request::Create(create) => super::named::answer(
            user_name(&create.resource_properties),
            failed_create_id(&create.request_id),
            PROMISE,
        ),
        Request::Update(update) => super::named::answer(
            user_name(&update.resource_properties),
            update.physical_resource_id.clone(),
            PROMISE,
        ),
        Request::Delete(delete) => {
            let id = &delete.physical_resource_id;
            match user_name(&delete.resource_properties) {
                Ok(user) if user == *id => {
                    let removing = aws_cleanup::access_keys::delete_all_except(iam, &user, None);
                    match tokio::time::timeout_at(work_until, removing).await {
                        Ok(Ok(deleted)) => Answer::success(
                            id.clone(),
                            format!("deleted {deleted} access key(s) of {user}"),
                        ),
                        Ok(Err(err)) => {
                            tracing::warn!(error = %err, "removing the keys failed");
                            Answer::failed(Some(id.clone()), err.to_string())
                        }
                        Err(_elapsed) => Answer::failed(
                            Some(id.clone()),
                            format!(
                                "the access keys of {user} were not all deleted in the time there was"
                            ),
                        ),
                    }
                }
                _ => Answer::success(id.clone(), format!("{id} is not a user; nothing to remove")),
            }
        }
        _ => Answer::failed(None, "unknown RequestType"),
    }
}
