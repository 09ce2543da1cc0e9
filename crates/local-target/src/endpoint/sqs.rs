//! SQS over JSON 1.0 (`X-Amz-Target: AmazonSQS.<Op>`): the consumers' failure queues, where
//! an AWS user looks for what Lambda's on-failure destination sent. `ListQueues`,
//! `GetQueueUrl`, `GetQueueAttributes`, `ReceiveMessage` and `DeleteMessage`, in SQS' shapes
//! (Amazon SQS API Reference, each operation's page). Each message is the invocation record of
//! one batch given up on.
//!
//! A queue URL is `http://<the endpoint>/<account>/<queue>`, as SQS' are
//! `https://sqs.<region>.amazonaws.com/<account>/<queue>`; requests go to the endpoint and
//! name the queue by its URL, as they do on AWS.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::Response;
use md5::{Digest, Md5};
use serde_json::{Map, Value, json};

use super::auth::Caller;
use super::errors::{ApiError, JSON_1_0_CONTENT_TYPE, json_response};
use super::json_rpc::{Refusals, admit, blocking, parse, unknown_parameter};
use crate::owner_api::{Deleted, OwnerApi, ReceivedMessage};

pub(crate) const TARGET_PREFIX: &str = "AmazonSQS.";

const REFUSALS: Refusals = Refusals {
    service: "sqs",
    reads: "the failure queues",
    denied: StatusCode::FORBIDDEN,
    unknown: "UnsupportedOperation",
};

/// A queue's defaults, as the stack declares its failure queues (SQS' own defaults but for the
/// retention, `stack::mapping`).
const VISIBILITY_TIMEOUT_S: i64 = 30;
const RETENTION_S: i64 = crate::storage::failure_queue::RETENTION_MS / 1000;
const MAXIMUM_MESSAGE_SIZE: u32 = 262_144;
/// SQS' longest long poll ("ReceiveMessage": `WaitTimeSeconds`, 0 to 20).
const MAX_WAIT_S: i64 = 20;
/// How often a long poll looks again.
const POLL_EVERY: Duration = Duration::from_millis(200);

/// Where a request is answered: the endpoint's host (for queue URLs) and region (for ARNs).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Place<'a> {
    pub host: &'a str,
    pub region: &'a str,
}

/// Runs the operation `name` (its `X-Amz-Target` past the prefix), for a request already
/// authenticated.
pub(crate) async fn handle(
    owner: Option<Arc<dyn OwnerApi>>,
    caller: Caller<'_>,
    place: Place<'_>,
    name: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    let owner = admit(owner, caller, REFUSALS, name, None)?;
    let request = parse(body)?;
    let queues = Queues {
        owner: owner.as_ref(),
        caller,
        place,
    };
    let answer = match name {
        "ListQueues" => {
            allow(
                &request,
                name,
                &["QueueNamePrefix", "MaxResults", "NextToken"],
            )?;
            queues.list(&request)?
        }
        "GetQueueUrl" => {
            allow(&request, name, &["QueueName", "QueueOwnerAWSAccountId"])?;
            let queue = string(&request, "QueueName")?;
            if let Some(account) = request
                .get("QueueOwnerAWSAccountId")
                .and_then(Value::as_str)
                && account != caller.account_id
            {
                return Err(no_queue());
            }
            json!({"QueueUrl": queues.url(queues.named(queue)?)})
        }
        "GetQueueAttributes" => {
            allow(&request, name, &["QueueUrl", "AttributeNames"])?;
            let queue = queues.by_url(&request)?.to_owned();
            let wanted = names(&request, "AttributeNames")?;
            let depth = {
                let (owner, queue) = (owner.clone(), queue.clone());
                blocking(move || owner.failure_queue_depth(&queue)).await?
            };
            let created = format!("{}", owner.queues_created() as i64);
            let all: Vec<(&str, String)> = vec![
                ("QueueArn", queues.arn(&queue)),
                ("ApproximateNumberOfMessages", depth.visible.to_string()),
                (
                    "ApproximateNumberOfMessagesNotVisible",
                    depth.in_flight.to_string(),
                ),
                ("ApproximateNumberOfMessagesDelayed", "0".into()),
                ("CreatedTimestamp", created.clone()),
                ("LastModifiedTimestamp", created),
                ("VisibilityTimeout", VISIBILITY_TIMEOUT_S.to_string()),
                ("MaximumMessageSize", MAXIMUM_MESSAGE_SIZE.to_string()),
                ("MessageRetentionPeriod", RETENTION_S.to_string()),
                ("DelaySeconds", "0".into()),
                ("ReceiveMessageWaitTimeSeconds", "0".into()),
                ("SqsManagedSseEnabled", "true".into()),
            ];
            let attributes = select(&all, &wanted)?;
            if attributes.is_empty() {
                json!({})
            } else {
                json!({"Attributes": attributes})
            }
        }
        "ReceiveMessage" => {
            allow(
                &request,
                name,
                &[
                    "QueueUrl",
                    "MaxNumberOfMessages",
                    "VisibilityTimeout",
                    "WaitTimeSeconds",
                    "AttributeNames",
                    "MessageSystemAttributeNames",
                    "MessageAttributeNames",
                ],
            )?;
            let queue = queues.by_url(&request)?.to_owned();
            let max = integer(&request, "MaxNumberOfMessages", 1, 1, 10)?;
            let visibility_s = integer(
                &request,
                "VisibilityTimeout",
                VISIBILITY_TIMEOUT_S,
                0,
                43_200,
            )?;
            let wait_s = integer(&request, "WaitTimeSeconds", 0, 0, MAX_WAIT_S)?;
            let mut wanted = names(&request, "AttributeNames")?;
            wanted.extend(names(&request, "MessageSystemAttributeNames")?);
            let messages = receive(
                owner.clone(),
                &queue,
                max as usize,
                visibility_s * 1000,
                Duration::from_secs(wait_s as u64),
            )
            .await?;
            if messages.is_empty() {
                json!({})
            } else {
                let messages: Vec<Value> = messages
                    .iter()
                    .map(|message| message_json(message, &wanted, caller))
                    .collect::<Result<_, _>>()?;
                json!({"Messages": messages})
            }
        }
        "DeleteMessage" => {
            allow(&request, name, &["QueueUrl", "ReceiptHandle"])?;
            let queue = queues.by_url(&request)?.to_owned();
            let handle = string(&request, "ReceiptHandle")?.to_owned();
            let deleted = blocking(move || owner.delete_failure(&queue, &handle)).await?;
            if deleted == Deleted::Invalid {
                return Err(ApiError::bad_request(
                    "ReceiptHandleIsInvalid",
                    "The input receipt handle is invalid: it is none this queue gave.",
                ));
            }
            json!({})
        }
        _ => {
            return Err(ApiError::bad_request(
                "UnsupportedOperation",
                format!(
                    "The local target does not implement sqs:{name}: its failure queues serve \
                     ListQueues, GetQueueUrl, GetQueueAttributes, ReceiveMessage and \
                     DeleteMessage to the operator key."
                ),
            ));
        }
    };
    Ok(json_response(
        StatusCode::OK,
        JSON_1_0_CONTENT_TYPE,
        &answer,
    ))
}

/// The owner's queues, as this request names them.
struct Queues<'a> {
    owner: &'a dyn OwnerApi,
    caller: Caller<'a>,
    place: Place<'a>,
}

impl Queues<'_> {
    fn url(&self, queue: &str) -> String {
        format!(
            "http://{}/{}/{queue}",
            self.place.host, self.caller.account_id
        )
    }

    fn arn(&self, queue: &str) -> String {
        format!(
            "arn:aws:sqs:{}:{}:{queue}",
            self.place.region, self.caller.account_id
        )
    }

    fn named(&self, name: &str) -> Result<&str, ApiError> {
        self.owner
            .failure_queues()
            .iter()
            .find(|queue| *queue == name)
            .map(String::as_str)
            .ok_or_else(no_queue)
    }

    /// The queue `QueueUrl` names: its path is `/<account>/<queue>`, whatever its host (an
    /// AWS-shaped URL names the same queue).
    fn by_url(&self, request: &Map<String, Value>) -> Result<&str, ApiError> {
        let url = string(request, "QueueUrl")?;
        let path = url.split_once("://").map_or(url, |(_, rest)| {
            rest.split_once('/').map_or("", |(_, path)| path)
        });
        match path.split('/').collect::<Vec<_>>()[..] {
            [account, queue] if account == self.caller.account_id => self.named(queue),
            _ => Err(no_queue()),
        }
    }

    fn list(&self, request: &Map<String, Value>) -> Result<Value, ApiError> {
        let prefix = request
            .get("QueueNamePrefix")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let max = integer(request, "MaxResults", 1000, 1, 1000)? as usize;
        let after = request.get("NextToken").and_then(Value::as_str);
        let mut names: Vec<&str> = self
            .owner
            .failure_queues()
            .iter()
            .map(String::as_str)
            .filter(|name| name.starts_with(prefix))
            .filter(|name| after.is_none_or(|after| *name > after))
            .collect();
        names.sort_unstable();
        let more = names.len() > max;
        names.truncate(max);
        let mut answer = Map::new();
        if !names.is_empty() {
            let urls: Vec<String> = names.iter().map(|name| self.url(name)).collect();
            answer.insert("QueueUrls".into(), json!(urls));
        }
        // The token is the last name listed: the next page starts after it.
        if more && let Some(last) = names.last() {
            answer.insert("NextToken".into(), json!(last));
        }
        Ok(Value::Object(answer))
    }
}

/// Receives, waiting up to `wait` for a first message as a long poll does.
async fn receive(
    owner: Arc<dyn OwnerApi>,
    queue: &str,
    max: usize,
    visibility_ms: i64,
    wait: Duration,
) -> Result<Vec<ReceivedMessage>, ApiError> {
    let until = Instant::now() + wait;
    loop {
        let (owner, queue) = (owner.clone(), queue.to_owned());
        let messages = blocking(move || owner.receive_failures(&queue, max, visibility_ms)).await?;
        if !messages.is_empty() || Instant::now() >= until {
            return Ok(messages);
        }
        tokio::time::sleep(POLL_EVERY.min(until - Instant::now())).await;
    }
}

/// One message, with the system attributes asked for.
fn message_json(
    message: &ReceivedMessage,
    wanted: &[String],
    caller: Caller<'_>,
) -> Result<Value, ApiError> {
    let all = [
        ("SenderId", caller.account_id.to_owned()),
        ("SentTimestamp", message.sent_ms.to_string()),
        ("ApproximateReceiveCount", message.receive_count.to_string()),
        (
            "ApproximateFirstReceiveTimestamp",
            message.first_receive_ms.to_string(),
        ),
    ];
    let attributes = select(&all, wanted)?;
    let mut json = json!({
        "MessageId": message.message_id,
        "ReceiptHandle": message.receipt_handle,
        // The SDKs check it against the body.
        "MD5OfBody": hex::encode(Md5::digest(message.body.as_bytes())),
        "Body": message.body,
    });
    if !attributes.is_empty() {
        json["Attributes"] = Value::Object(attributes);
    }
    Ok(json)
}

/// The attributes `wanted` names (`All`: every one) of `all`; a name not in `all` is an
/// `InvalidAttributeName` that lists those there are.
fn select(all: &[(&str, String)], wanted: &[String]) -> Result<Map<String, Value>, ApiError> {
    let mut attributes = Map::new();
    for wanted in wanted {
        let chosen: Vec<&(&str, String)> = if wanted == "All" {
            all.iter().collect()
        } else {
            all.iter().filter(|(name, _)| name == wanted).collect()
        };
        if chosen.is_empty() {
            return Err(ApiError::bad_request(
                "InvalidAttributeName",
                format!(
                    "Unknown Attribute {wanted}: the local target implements All, {}.",
                    all.iter()
                        .map(|(name, _)| *name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        for (name, value) in chosen {
            attributes.insert((*name).to_owned(), json!(value));
        }
    }
    Ok(attributes)
}

fn no_queue() -> ApiError {
    ApiError::bad_request("QueueDoesNotExist", "The specified queue does not exist.")
}

fn allow(request: &Map<String, Value>, operation: &str, known: &[&str]) -> Result<(), ApiError> {
    match unknown_parameter(request, operation, known) {
        None => Ok(()),
        Some(message) => Err(ApiError::bad_request("InvalidParameterValue", message)),
    }
}

fn string<'a>(request: &'a Map<String, Value>, name: &str) -> Result<&'a str, ApiError> {
    request.get(name).and_then(Value::as_str).ok_or_else(|| {
        ApiError::bad_request(
            "MissingParameter",
            format!("The request must contain the parameter {name}."),
        )
    })
}

/// A list of names, empty when absent.
fn names(request: &Map<String, Value>, name: &str) -> Result<Vec<String>, ApiError> {
    match request.get(name) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str().map(str::to_owned).ok_or_else(|| {
                    ApiError::bad_request(
                        "InvalidParameterValue",
                        format!("{name} must be a list of strings, not {item}"),
                    )
                })
            })
            .collect(),
        Some(other) => Err(ApiError::bad_request(
            "InvalidParameterValue",
            format!("{name} must be a list of strings, not {other}"),
        )),
    }
}

/// An integer parameter in `[low, high]`, `default` when absent.
fn integer(
    request: &Map<String, Value>,
    name: &str,
    default: i64,
    low: i64,
    high: i64,
) -> Result<i64, ApiError> {
    match request.get(name) {
        None => Ok(default),
        Some(value) => match value.as_i64() {
            Some(n) if (low..=high).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(
                "InvalidParameterValue",
                format!(
                    "Value {value} for parameter {name} is invalid. Reason: Must be between \
                     {low} and {high}, if provided."
                ),
            )),
        },
    }
}
