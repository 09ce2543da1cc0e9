//! The query API's contract.
//!
//! Request (the 2015 form is a subset): `{"operation": "query", "sensorid": "X"}`, plus
//! optional `from` and `to` (RFC 3339, inclusive), `limit` (1 to [`MAX_LIMIT`], default
//! [`DEFAULT_LIMIT`]) and `next` (the `NextToken` of the previous page).
//!
//! Response (the 2015 shape): `{"Items": [{"SensorId", "Timestamp", "Value"}], "Count": n,
//! "ScannedCount": n}`, newest first, plus `NextToken` when more readings match.
//!
//! The paging token carries the query it belongs to and the timestamp of the last reading
//! returned. Timestamps are whole milliseconds, so the next page is exactly the readings at
//! least one millisecond older: no key from the table leaks to the client, and a token cannot
//! be replayed against another sensor or range.

use crate::item::SensorItem;
use crate::reading::{self, Rejection};
use crate::timestamp::Timestamp;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Readings per page when the request names no limit (the 2015 figure).
pub const DEFAULT_LIMIT: usize = 20;
/// The most readings one page may ask for.
pub const MAX_LIMIT: usize = 1000;
const FIELDS: &[&str] = &["operation", "sensorid", "from", "to", "limit", "next"];

/// A validated query.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryRequest {
    pub sensor_id: String,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub limit: usize,
    /// The timestamp of the last reading of the previous page.
    pub after: Option<Timestamp>,
}

/// What the store is asked for: the newest `limit` readings of one sensor whose timestamps lie
/// in `oldest..=newest`, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreQuery {
    pub sensor_id: String,
    pub oldest: Timestamp,
    pub newest: Timestamp,
    pub limit: usize,
}

/// The answer, in the 2015 response shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueryResponse {
    #[serde(rename = "Items")]
    pub items: Vec<SensorItem>,
    #[serde(rename = "Count")]
    pub count: usize,
    #[serde(rename = "ScannedCount")]
    pub scanned_count: usize,
    #[serde(rename = "NextToken", skip_serializing_if = "Option::is_none", default)]
    pub next_token: Option<String>,
}

/// Why a request was refused. Each message names the field and what is allowed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum InvalidQuery {
    #[error(
        "request must be a JSON object such as {{\"operation\": \"query\", \"sensorid\": \"sensor-1\"}}"
    )]
    NotAnObject,
    #[error("unknown field `{0}`; allowed fields are operation, sensorid, from, to, limit, next")]
    UnknownField(String),
    #[error("operation {0:?} is not supported; the only operation is \"query\"")]
    UnsupportedOperation(String),
    #[error("field `sensorid` is missing")]
    MissingSensorId,
    #[error("field `{field}` must be {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("field `sensorid` is invalid: {0}")]
    SensorId(Rejection),
    #[error("field `{field}` is not an RFC 3339 time between the years 2000 and 9999: {reason}")]
    BadTime { field: &'static str, reason: String },
    #[error("`from` ({from}) is later than `to` ({to})")]
    EmptyRange { from: Timestamp, to: Timestamp },
    #[error("field `limit` must be a whole number from 1 to {MAX_LIMIT}, got {0}")]
    BadLimit(String),
    #[error("field `next` is not a paging token this API issued; start again without it")]
    BadToken,
    #[error("field `next` belongs to a query with another sensor or time range")]
    TokenMismatch,
}

/// The paging token's content.
#[derive(Serialize, Deserialize, PartialEq)]
struct PageToken {
    #[serde(rename = "s")]
    sensor_id: String,
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    from: Option<Timestamp>,
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    to: Option<Timestamp>,
    #[serde(rename = "a")]
    after: Timestamp,
}

impl QueryRequest {
    /// Validates a request as the Lambda function receives it.
    pub fn from_json(request: &Value) -> Result<Self, InvalidQuery> {
        let fields = request.as_object().ok_or(InvalidQuery::NotAnObject)?;
        if let Some(unknown) = fields.keys().find(|key| !FIELDS.contains(&key.as_str())) {
            return Err(InvalidQuery::UnknownField(unknown.clone()));
        }
        match fields.get("operation") {
            None | Some(Value::Null) => {}
            Some(Value::String(op)) if op == "query" => {}
            Some(Value::String(op)) => return Err(InvalidQuery::UnsupportedOperation(op.clone())),
            Some(_) => return Err(wrong_type("operation", "the string \"query\"")),
        }
        let sensor_id = match fields.get("sensorid") {
            None | Some(Value::Null) => return Err(InvalidQuery::MissingSensorId),
            Some(Value::String(id)) => id.clone(),
            Some(_) => return Err(wrong_type("sensorid", "a string")),
        };
        reading::validate_sensor_id(&sensor_id).map_err(InvalidQuery::SensorId)?;
        let from = time_field(fields, "from")?;
        let to = time_field(fields, "to")?;
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(InvalidQuery::EmptyRange { from, to });
        }
        let limit = match fields.get("limit") {
            None | Some(Value::Null) => DEFAULT_LIMIT,
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| InvalidQuery::BadLimit(n.to_string()))?,
            Some(_) => return Err(wrong_type("limit", "a number")),
        };
        let after = match fields.get("next") {
            None | Some(Value::Null) => None,
            Some(Value::String(token)) => {
                let token = decode_token(token)?;
                if token.sensor_id != sensor_id || token.from != from || token.to != to {
                    return Err(InvalidQuery::TokenMismatch);
                }
                Some(token.after)
            }
            Some(_) => return Err(wrong_type("next", "a string")),
        };
        Ok(Self {
            sensor_id,
            from,
            to,
            limit,
            after,
        })
    }

    /// What to ask the store for; one reading more than the page, to learn whether another
    /// page exists. `None` when the page is known to be empty.
    pub fn store_query(&self) -> Option<StoreQuery> {
        let mut newest = self.to.unwrap_or_else(Timestamp::max);
        if let Some(after) = self.after {
            newest = newest.min(after.offset_millis(-1)?);
        }
        let oldest = self.from.unwrap_or_else(Timestamp::min);
        (oldest <= newest).then(|| StoreQuery {
            sensor_id: self.sensor_id.clone(),
            oldest,
            newest,
            limit: self.limit + 1,
        })
    }

    /// The response for the readings the store returned for [`Self::store_query`].
    pub fn response(&self, mut items: Vec<SensorItem>) -> QueryResponse {
        let more = items.len() > self.limit;
        items.truncate(self.limit);
        let next_token = match items.last() {
            Some(last) if more => Some(encode_token(&PageToken {
                sensor_id: self.sensor_id.clone(),
                from: self.from,
                to: self.to,
                after: last.timestamp,
            })),
            _ => None,
        };
        QueryResponse {
            count: items.len(),
            scanned_count: items.len(),
            items,
            next_token,
        }
    }
}

fn wrong_type(field: &'static str, expected: &'static str) -> InvalidQuery {
    InvalidQuery::WrongType { field, expected }
}

fn time_field(
    fields: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<Timestamp>, InvalidQuery> {
    match fields.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => {
            Timestamp::parse(text)
                .map(Some)
                .map_err(|err| InvalidQuery::BadTime {
                    field,
                    reason: err.to_string(),
                })
        }
        Some(_) => Err(wrong_type(field, "an RFC 3339 string")),
    }
}

fn encode_token(token: &PageToken) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(token).unwrap_or_default())
}

fn decode_token(text: &str) -> Result<PageToken, InvalidQuery> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| InvalidQuery::BadToken)?;
    serde_json::from_slice(&bytes).map_err(|_| InvalidQuery::BadToken)
}
