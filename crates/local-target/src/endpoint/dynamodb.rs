//! DynamoDB over JSON 1.0 (`X-Amz-Target: DynamoDB_20120810.<Op>`): the owner's reads of the
//! table, `DescribeTable`, `GetItem`, `Query` and `Scan`, in DynamoDB's shapes (DynamoDB API
//! Reference, each operation's page). Items are `SensorId` (S), `Timestamp` (S), `Value` (N),
//! as the writer stores them on AWS.
//!
//! A parameter or expression this endpoint does not implement is a `ValidationException`
//! that names it, never an answer that ignores it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};
use telemetry::item::{SENSOR_ID, TIMESTAMP, VALUE, number_text};

use super::auth::Caller;
use super::errors::{ApiError, DYNAMODB_CONTENT_TYPE, json_response};
use super::json_rpc::{Refusals, admit, blocking, parse, unknown_parameter};
use crate::owner_api::{OwnerApi, SortCondition, TableItem, TableKey, TableQuery};

pub(crate) const TARGET_PREFIX: &str = "DynamoDB_20120810.";

const REFUSALS: Refusals = Refusals {
    service: "dynamodb",
    reads: "the table",
    denied: StatusCode::BAD_REQUEST,
    unknown: "UnknownOperationException",
};

/// What a page holds at most without `Limit`: "A single Query only returns a result set that
/// fits within the 1 MB size limit" (DynamoDB Developer Guide, "Paginating table query
/// results"; the same for Scan), counted as DynamoDB counts an item's size: attribute names
/// plus values.
const PAGE_BYTES: usize = 1024 * 1024;
/// Rows read for a page without `Limit`: more than 1 MB of the smallest possible items.
const PAGE_ROWS: usize = PAGE_BYTES / 30;

/// Runs the operation `name` (its `X-Amz-Target` past the prefix), for a request already
/// authenticated.
pub(crate) async fn handle(
    owner: Option<Arc<dyn OwnerApi>>,
    caller: Caller<'_>,
    name: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    let table_arn = owner.as_ref().map(|owner| owner.table_arn().to_owned());
    let owner = admit(owner, caller, REFUSALS, name, table_arn.as_deref())?;
    let request: Map<String, Value> = parse(body)?;
    let answer = match name {
        "DescribeTable" => {
            allow(&request, name, &["TableName"])?;
            table_name(&request, owner.as_ref())?;
            let owner = owner.clone();
            let description = blocking(move || owner.describe_table()).await?;
            json!({"Table": {
                "TableName": description.name,
                "TableArn": description.arn,
                "TableStatus": "ACTIVE",
                "CreationDateTime": description.created,
                "ItemCount": description.item_count,
                "KeySchema": [
                    {"AttributeName": SENSOR_ID, "KeyType": "HASH"},
                    {"AttributeName": TIMESTAMP, "KeyType": "RANGE"},
                ],
                "AttributeDefinitions": [
                    {"AttributeName": SENSOR_ID, "AttributeType": "S"},
                    {"AttributeName": TIMESTAMP, "AttributeType": "S"},
                ],
                "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
                "ProvisionedThroughput": {
                    "NumberOfDecreasesToday": 0,
                    "ReadCapacityUnits": 0,
                    "WriteCapacityUnits": 0,
                },
                "SSEDescription": {"Status": "ENABLED", "SSEType": "KMS"},
            }})
        }
        "GetItem" => {
            allow(
                &request,
                name,
                &[
                    "TableName",
                    "Key",
                    "ConsistentRead",
                    "ReturnConsumedCapacity",
                ],
            )?;
            table_name(&request, owner.as_ref())?;
            consumed_capacity_none(&request)?;
            let key = key(request.get("Key"), "Key")?;
            let query = TableQuery {
                sensor_id: key.sensor_id,
                sort: Some(SortCondition::Equal(key.timestamp)),
                forward: true,
                after: None,
                limit: 1,
            };
            let owner = owner.clone();
            let items = blocking(move || owner.query_table(&query)).await?;
            match items.first() {
                Some(item) => json!({"Item": item_json(item)}),
                None => json!({}),
            }
        }
        "Query" => {
            allow(
                &request,
                name,
                &[
                    "TableName",
                    "KeyConditionExpression",
                    "ExpressionAttributeNames",
                    "ExpressionAttributeValues",
                    "ScanIndexForward",
                    "Limit",
                    "ExclusiveStartKey",
                    "ConsistentRead",
                    "ReturnConsumedCapacity",
                    "Select",
                ],
            )?;
            table_name(&request, owner.as_ref())?;
            consumed_capacity_none(&request)?;
            let count_only = select_count(&request)?;
            let (sensor_id, sort) = key_condition(&request)?;
            let forward = match request.get("ScanIndexForward") {
                None => true,
                Some(Value::Bool(forward)) => *forward,
                Some(other) => {
                    return Err(invalid(format!(
                        "ScanIndexForward must be a boolean, not {other}"
                    )));
                }
            };
            let limit = limit(&request)?;
            let after = match request.get("ExclusiveStartKey") {
                None => None,
                Some(start) => {
                    let start = key(Some(start), "ExclusiveStartKey")?;
                    if start.sensor_id != sensor_id {
                        return Err(invalid(
                            "The provided starting key is invalid: its SensorId is not the one \
                             the key condition names",
                        ));
                    }
                    Some(start.timestamp)
                }
            };
            let query = TableQuery {
                sensor_id,
                sort,
                forward,
                after,
                limit: limit.unwrap_or(PAGE_ROWS),
            };
            let owner = owner.clone();
            let items = blocking(move || owner.query_table(&query)).await?;
            page(items, limit, count_only)
        }
        "Scan" => {
            allow(
                &request,
                name,
                &[
                    "TableName",
                    "Limit",
                    "ExclusiveStartKey",
                    "ConsistentRead",
                    "ReturnConsumedCapacity",
                    "Select",
                ],
            )?;
            table_name(&request, owner.as_ref())?;
            consumed_capacity_none(&request)?;
            let count_only = select_count(&request)?;
            let limit = limit(&request)?;
            let after = request
                .get("ExclusiveStartKey")
                .map(|start| key(Some(start), "ExclusiveStartKey"))
                .transpose()?;
            let rows = limit.unwrap_or(PAGE_ROWS);
            let owner = owner.clone();
            let items = blocking(move || owner.scan_table(after.as_ref(), rows)).await?;
            page(items, limit, count_only)
        }
        _ => {
            return Err(ApiError::bad_request(
                "UnknownOperationException",
                format!(
                    "The local target does not implement dynamodb:{name}: its table serves \
                     DescribeTable, GetItem, Query and Scan to the operator key."
                ),
            ));
        }
    };
    Ok(json_response(
        StatusCode::OK,
        DYNAMODB_CONTENT_TYPE,
        &answer,
    ))
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("ValidationException", message)
}

/// Refuses, by name, every parameter this endpoint does not implement.
fn allow(request: &Map<String, Value>, operation: &str, known: &[&str]) -> Result<(), ApiError> {
    match unknown_parameter(request, operation, known) {
        None => Ok(()),
        Some(message) => Err(invalid(message)),
    }
}

/// The request's `TableName` (or the table's ARN, which DynamoDB also takes) must be the table.
fn table_name(request: &Map<String, Value>, owner: &dyn OwnerApi) -> Result<(), ApiError> {
    match request.get("TableName").and_then(Value::as_str) {
        None => Err(invalid(
            "1 validation error detected: Value null at 'tableName' failed to satisfy \
             constraint: Member must not be null",
        )),
        Some(name) if name == owner.table_name() || name == owner.table_arn() => Ok(()),
        Some(name) => Err(ApiError::bad_request(
            "ResourceNotFoundException",
            format!("Requested resource not found: Table: {name} not found"),
        )),
    }
}

fn consumed_capacity_none(request: &Map<String, Value>) -> Result<(), ApiError> {
    match request
        .get("ReturnConsumedCapacity")
        .and_then(Value::as_str)
    {
        None | Some("NONE") => Ok(()),
        Some(other) => Err(invalid(format!(
            "The local target does not implement ReturnConsumedCapacity {other}: it measures \
             no capacity; leave it out or pass NONE."
        ))),
    }
}

/// Whether `Select` asks for the count only.
fn select_count(request: &Map<String, Value>) -> Result<bool, ApiError> {
    match request.get("Select").and_then(Value::as_str) {
        None | Some("ALL_ATTRIBUTES") => Ok(false),
        Some("COUNT") => Ok(true),
        Some(other) => Err(invalid(format!(
            "The local target does not implement Select {other}; it implements ALL_ATTRIBUTES \
             and COUNT."
        ))),
    }
}

fn limit(request: &Map<String, Value>) -> Result<Option<usize>, ApiError> {
    match request.get("Limit") {
        None => Ok(None),
        Some(limit) => match limit.as_u64() {
            Some(n) if n >= 1 => Ok(Some(
                usize::try_from(n).unwrap_or(usize::MAX).min(PAGE_ROWS),
            )),
            _ => Err(invalid(format!(
                "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy \
                 constraint: Member must have value greater than or equal to 1"
            ))),
        },
    }
}

/// A key: exactly `SensorId` and `Timestamp`, both strings.
fn key(value: Option<&Value>, field: &str) -> Result<TableKey, ApiError> {
    let mismatch = || {
        invalid(format!(
            "The provided key element does not match the schema ({field})"
        ))
    };
    let object = value.and_then(Value::as_object).ok_or_else(mismatch)?;
    if object.len() != 2 {
        return Err(mismatch());
    }
    let string = |name: &str| {
        object
            .get(name)
            .and_then(|v| v.get("S"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(mismatch)
    };
    Ok(TableKey {
        sensor_id: string(SENSOR_ID)?,
        timestamp: string(TIMESTAMP)?,
    })
}

fn item_json(item: &TableItem) -> Value {
    json!({
        SENSOR_ID: {"S": item.key.sensor_id},
        TIMESTAMP: {"S": item.key.timestamp},
        VALUE: {"N": number_text(item.value)},
    })
}

/// An item's size as DynamoDB counts it: names plus values (a number's digits, roughly).
fn size_of(item: &TableItem) -> usize {
    SENSOR_ID.len()
        + item.key.sensor_id.len()
        + TIMESTAMP.len()
        + item.key.timestamp.len()
        + VALUE.len()
        + number_text(item.value).len()
}

/// A page's answer: the items up to `Limit` or 1 MB, and `LastEvaluatedKey` when it stopped
/// at either, as DynamoDB sets it ("if LastEvaluatedKey is present in the response, there may
/// be more"; API Reference, Query).
fn page(mut items: Vec<TableItem>, limit: Option<usize>, count_only: bool) -> Value {
    let mut bytes = 0;
    let mut full = limit.is_some_and(|limit| items.len() >= limit);
    if let Some(cut) = items.iter().position(|item| {
        bytes += size_of(item);
        bytes > PAGE_BYTES
    }) {
        items.truncate(cut + 1);
        full = true;
    }
    if limit.is_none() && items.len() >= PAGE_ROWS {
        full = true;
    }
    let mut answer = json!({"Count": items.len(), "ScannedCount": items.len()});
    if !count_only {
        answer["Items"] = Value::Array(items.iter().map(item_json).collect());
    }
    if full && let Some(last) = items.last() {
        answer["LastEvaluatedKey"] = json!({
            SENSOR_ID: {"S": last.key.sensor_id},
            TIMESTAMP: {"S": last.key.timestamp},
        });
    }
    answer
}

/// A word of a key condition expression.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    /// An attribute name, as written (`#t` or `SensorId`).
    Name(String),
    /// `:v`.
    Value(String),
    Compare(&'static str),
    Between,
    And,
    BeginsWith,
    Open,
    Close,
    Comma,
}

fn tokens(expression: &str) -> Result<Vec<Token>, ApiError> {
    let mut tokens = Vec::new();
    let mut chars = expression.char_indices().peekable();
    let word_end = |start: usize| {
        expression[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(expression.len(), |n| start + n)
    };
    while let Some((at, c)) = chars.next() {
        let token = match c {
            c if c.is_whitespace() => continue,
            '(' => Token::Open,
            ')' => Token::Close,
            ',' => Token::Comma,
            '=' => Token::Compare("="),
            '<' | '>' => {
                let with_equal = chars.peek().is_some_and(|(_, next)| *next == '=');
                if with_equal {
                    chars.next();
                }
                Token::Compare(match (c, with_equal) {
                    ('<', false) => "<",
                    ('<', true) => "<=",
                    ('>', false) => ">",
                    _ => ">=",
                })
            }
            '#' | ':' | 'a'..='z' | 'A'..='Z' | '_' => {
                let start = if c == '#' || c == ':' { at + 1 } else { at };
                let end = word_end(start);
                if end == start {
                    return Err(syntax(expression, &c.to_string()));
                }
                while chars.peek().is_some_and(|(next, _)| *next < end) {
                    chars.next();
                }
                let word = &expression[at..end];
                match c {
                    ':' => Token::Value(word.to_owned()),
                    '#' => Token::Name(word.to_owned()),
                    _ if word.eq_ignore_ascii_case("AND") => Token::And,
                    _ if word.eq_ignore_ascii_case("BETWEEN") => Token::Between,
                    _ if word == "begins_with" => Token::BeginsWith,
                    _ => Token::Name(word.to_owned()),
                }
            }
            other => return Err(syntax(expression, &other.to_string())),
        };
        tokens.push(token);
    }
    Ok(tokens)
}

fn syntax(expression: &str, token: &str) -> ApiError {
    invalid(format!(
        "Invalid KeyConditionExpression: Syntax error; token: \"{token}\", in: \"{expression}\""
    ))
}

/// One condition before its names and values are looked up.
#[derive(Debug)]
struct Condition {
    name: String,
    operator: &'static str,
    values: Vec<String>,
}

fn conditions(expression: &str) -> Result<Vec<Condition>, ApiError> {
    let tokens = tokens(expression)?;
    let mut rest = tokens.as_slice();
    let mut found = Vec::new();
    let unsupported = |what: &str| {
        invalid(format!(
            "The local target does not implement {what} in a KeyConditionExpression; it \
             implements `key = :v`, `<`, `<=`, `>`, `>=`, `BETWEEN :a AND :b` and \
             `begins_with(key, :v)`, joined by one AND."
        ))
    };
    loop {
        let condition = match rest {
            [
                Token::BeginsWith,
                Token::Open,
                Token::Name(name),
                Token::Comma,
                Token::Value(v),
                Token::Close,
                tail @ ..,
            ] => {
                rest = tail;
                Condition {
                    name: name.clone(),
                    operator: "begins_with",
                    values: vec![v.clone()],
                }
            }
            [
                Token::Name(name),
                Token::Between,
                Token::Value(low),
                Token::And,
                Token::Value(high),
                tail @ ..,
            ] => {
                rest = tail;
                Condition {
                    name: name.clone(),
                    operator: "BETWEEN",
                    values: vec![low.clone(), high.clone()],
                }
            }
            [
                Token::Name(name),
                Token::Compare(operator),
                Token::Value(v),
                tail @ ..,
            ] => {
                rest = tail;
                Condition {
                    name: name.clone(),
                    operator,
                    values: vec![v.clone()],
                }
            }
            [Token::Open, ..] | [.., Token::Close] if !rest.contains(&Token::BeginsWith) => {
                return Err(unsupported("parentheses"));
            }
            [] => return Err(syntax(expression, "<end>")),
            [first, ..] => return Err(syntax(expression, &format!("{first:?}"))),
        };
        found.push(condition);
        match rest {
            [] => return Ok(found),
            [Token::And, tail @ ..] if !tail.is_empty() => rest = tail,
            [first, ..] => return Err(syntax(expression, &format!("{first:?}"))),
        }
    }
}

/// `KeyConditionExpression` with its names and values: the sensor, and the condition on the
/// timestamp if any.
fn key_condition(
    request: &Map<String, Value>,
) -> Result<(String, Option<SortCondition>), ApiError> {
    let Some(expression) = request
        .get("KeyConditionExpression")
        .and_then(Value::as_str)
    else {
        return Err(invalid(
            "Either the KeyConditions or KeyConditionExpression parameter must be specified in \
             the request.",
        ));
    };
    let names: BTreeMap<String, String> = match request.get("ExpressionAttributeNames") {
        None => BTreeMap::new(),
        Some(names) => serde_json::from_value(names.clone())
            .map_err(|_| invalid("ExpressionAttributeNames must map each #name to a string"))?,
    };
    let values: BTreeMap<String, Value> = match request.get("ExpressionAttributeValues") {
        None => BTreeMap::new(),
        Some(Value::Object(values)) => values.clone().into_iter().collect(),
        Some(_) => return Err(invalid("ExpressionAttributeValues must be a map")),
    };
    let (mut used_names, mut used_values) = (BTreeSet::new(), BTreeSet::new());
    let mut sensor = None;
    let mut sort = None;
    for condition in conditions(expression)? {
        let name = if condition.name.starts_with('#') {
            used_names.insert(condition.name.clone());
            names.get(&condition.name).cloned().ok_or_else(|| {
                invalid(format!(
                    "Invalid KeyConditionExpression: An expression attribute name used in the \
                     document path is not defined; attribute name: {}",
                    condition.name
                ))
            })?
        } else {
            condition.name.clone()
        };
        let mut strings = Vec::new();
        for placeholder in &condition.values {
            used_values.insert(placeholder.clone());
            let value = values.get(placeholder).ok_or_else(|| {
                invalid(format!(
                    "Invalid KeyConditionExpression: An expression attribute value used in \
                     expression is not defined; attribute value: {placeholder}"
                ))
            })?;
            let text = value.get("S").and_then(Value::as_str).ok_or_else(|| {
                invalid(
                    "One or more parameter values were invalid: Condition parameter type does \
                     not match schema type",
                )
            })?;
            strings.push(text.to_owned());
        }
        match name.as_str() {
            SENSOR_ID if condition.operator == "=" && sensor.is_none() => {
                sensor = strings.pop();
            }
            SENSOR_ID => {
                return Err(invalid(
                    "Query key condition not supported: SensorId takes one `=`",
                ));
            }
            TIMESTAMP if sort.is_none() => {
                let mut strings = strings.into_iter();
                let mut next = || strings.next().unwrap_or_default();
                sort = Some(match condition.operator {
                    "=" => SortCondition::Equal(next()),
                    "<" => SortCondition::Less(next()),
                    "<=" => SortCondition::LessOrEqual(next()),
                    ">" => SortCondition::Greater(next()),
                    ">=" => SortCondition::GreaterOrEqual(next()),
                    "BETWEEN" => {
                        let low = next();
                        SortCondition::Between(low, next())
                    }
                    _ => SortCondition::BeginsWith(next()),
                });
            }
            _ => {
                return Err(invalid(format!(
                    "Query key condition not supported: {name} is not a key attribute of \
                     this table, or is named twice"
                )));
            }
        }
    }
    if let Some(unused) = names.keys().find(|name| !used_names.contains(*name)) {
        return Err(invalid(format!(
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{unused}}}"
        )));
    }
    if let Some(unused) = values.keys().find(|value| !used_values.contains(*value)) {
        return Err(invalid(format!(
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{unused}}}"
        )));
    }
    let sensor =
        sensor.ok_or_else(|| invalid("Query condition missed key schema element: SensorId"))?;
    Ok((sensor, sort))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn request(expression: &str, names: Value, values: Value) -> Map<String, Value> {
        let mut request = Map::new();
        request.insert("KeyConditionExpression".into(), expression.into());
        if !names.is_null() {
            request.insert("ExpressionAttributeNames".into(), names);
        }
        request.insert("ExpressionAttributeValues".into(), values);
        request
    }

    #[test]
    fn key_conditions_are_read_with_their_names_and_values() {
        let values = json!({":s": {"S": "a"}, ":lo": {"S": "1"}, ":hi": {"S": "2"}});
        let (sensor, sort) = key_condition(&request(
            "SensorId = :s AND #t BETWEEN :lo AND :hi",
            json!({"#t": "Timestamp"}),
            values,
        ))
        .unwrap();
        assert_eq!(sensor, "a");
        assert_eq!(sort, Some(SortCondition::Between("1".into(), "2".into())));
        let (_, sort) = key_condition(&request(
            "begins_with(#t, :p) and #s = :s",
            json!({"#t": "Timestamp", "#s": "SensorId"}),
            json!({":s": {"S": "a"}, ":p": {"S": "2026-12"}}),
        ))
        .unwrap();
        assert_eq!(sort, Some(SortCondition::BeginsWith("2026-12".into())));
        for (operator, expected) in [
            ("<", SortCondition::Less("1".into())),
            ("<=", SortCondition::LessOrEqual("1".into())),
            (">", SortCondition::Greater("1".into())),
            (">=", SortCondition::GreaterOrEqual("1".into())),
            ("=", SortCondition::Equal("1".into())),
        ] {
            let (_, sort) = key_condition(&request(
                &format!("SensorId = :s AND Timestamp {operator} :v"),
                Value::Null,
                json!({":s": {"S": "a"}, ":v": {"S": "1"}}),
            ))
            .unwrap();
            assert_eq!(sort, Some(expected), "{operator}");
        }
    }

    #[test]
    fn what_is_not_implemented_or_not_right_is_a_validation_error_naming_it() {
        let s = json!({":s": {"S": "a"}});
        for (expression, names, values, named) in [
            ("(SensorId = :s)", Value::Null, s.clone(), "parentheses"),
            (
                "Timestamp = :s",
                Value::Null,
                s.clone(),
                "missed key schema element: SensorId",
            ),
            (
                "SensorId = :x",
                Value::Null,
                s.clone(),
                "attribute value: :x",
            ),
            ("#k = :s", Value::Null, s.clone(), "attribute name: #k"),
            (
                "SensorId = :s",
                json!({"#t": "Timestamp"}),
                s.clone(),
                "unused in expressions: keys: {#t}",
            ),
            (
                "SensorId = :s AND Value > :s",
                Value::Null,
                s.clone(),
                "Value is not a key attribute",
            ),
            (
                "SensorId > :s",
                Value::Null,
                s.clone(),
                "SensorId takes one `=`",
            ),
            ("SensorId = :s AND", Value::Null, s.clone(), "Syntax error"),
            (
                "SensorId = :s OR Timestamp = :s",
                Value::Null,
                s.clone(),
                "Syntax error",
            ),
            (
                "SensorId = :n",
                Value::Null,
                json!({":n": {"N": "1"}}),
                "type does not match",
            ),
            (
                "SensorId = :s; drop",
                Value::Null,
                s.clone(),
                "token: \";\"",
            ),
        ] {
            let error = key_condition(&request(expression, names, values)).unwrap_err();
            assert_eq!(error.code, "ValidationException", "{expression}");
            assert!(
                error.message.contains(named),
                "{expression}: {}",
                error.message
            );
        }
    }

    fn item(n: usize) -> TableItem {
        TableItem {
            key: TableKey {
                sensor_id: "s".into(),
                timestamp: format!("{n:04}"),
            },
            value: 1.5,
        }
    }

    #[test]
    fn a_page_says_where_it_stopped_only_when_it_stopped_at_a_limit() {
        let three: Vec<_> = (0..3).map(item).collect();
        let full = page(three.clone(), Some(3), false);
        assert_eq!(full["Count"], 3);
        assert_eq!(full["LastEvaluatedKey"]["Timestamp"]["S"], "0002");
        assert_eq!(full["Items"][0]["Value"]["N"], "1.5");
        let last = page(three.clone(), Some(4), false);
        assert!(last.get("LastEvaluatedKey").is_none());
        let counted = page(three, None, true);
        assert_eq!(
            (counted["Count"].clone(), counted.get("Items")),
            (json!(3), None)
        );
        // Past 1 MB, the page ends at the item that crossed it.
        let many: Vec<_> = (0..PAGE_BYTES / 20).map(item).collect();
        let cut = page(many.clone(), None, true);
        let count = cut["Count"].as_u64().unwrap() as usize;
        let bytes = |n: usize| many[..n].iter().map(size_of).sum::<usize>();
        assert!(
            bytes(count) > PAGE_BYTES && bytes(count - 1) <= PAGE_BYTES,
            "{count}"
        );
        assert!(cut.get("LastEvaluatedKey").is_some());
    }
}
