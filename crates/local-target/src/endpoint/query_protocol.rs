//! The AWS query protocol, as CloudWatch speaks it to the Rust SDK (aws-sdk-cloudwatch, which
//! the project pins, sends `Action=...&Version=2010-08-01` forms and reads XML): a form is
//! turned into the JSON 1.0 input of the same operation, and its JSON answer into the query
//! protocol's XML, so that one implementation of each operation serves both protocols.
//!
//! The mapping is the protocol's own (Smithy's "AWS query protocol" specification): a list is
//! `Name.member.N` (from 1), a structure's members are `.Member`, timestamps are ISO 8601 in
//! both directions; the answer is `<ActionResponse><ActionResult>...` with each list's items
//! as `<member>`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use super::errors::{ApiError, xml_escape};

/// The members whose text is a timestamp, a number or a boolean in CloudWatch's read
/// operations (its service model's shapes); every other member is a string.
const TIMESTAMPS: &[&str] = &["StartTime", "EndTime", "Timestamp", "Timestamps"];
const NUMBERS: &[&str] = &["Period", "MaxDatapoints"];
const BOOLEANS: &[&str] = &["ReturnData"];

/// A form's action, and its parameters as the operation's JSON input.
pub(crate) fn form_input(body: &[u8]) -> Result<(String, Map<String, Value>), ApiError> {
    let mut action = None;
    let mut input = Value::Object(Map::new());
    for (name, value) in form_urlencoded::parse(body) {
        match name.as_ref() {
            "Action" => action = Some(value.into_owned()),
            "Version" => {}
            _ => {
                let path: Vec<&str> = name.split('.').collect();
                insert(&mut input, &path, typed(path_leaf(&path), &value)?)
                    .map_err(|problem| invalid(format!("The parameter {name} {problem}.")))?;
            }
        }
    }
    let action = action.ok_or_else(|| {
        ApiError::bad_request(
            "MissingAction",
            "The request must contain the parameter Action.",
        )
    })?;
    match input {
        Value::Object(input) => Ok((action, input)),
        _ => Err(invalid("The request's parameters are not a structure.")),
    }
}

/// The member a parameter's path ends in, past list indices.
fn path_leaf<'a>(path: &[&'a str]) -> &'a str {
    path.iter()
        .rev()
        .find(|part| **part != "member" && part.parse::<usize>().is_err())
        .copied()
        .unwrap_or_default()
}

fn typed(member: &str, text: &str) -> Result<Value, ApiError> {
    if TIMESTAMPS.contains(&member) {
        let time = DateTime::parse_from_rfc3339(text).map_err(|err| {
            invalid(format!(
                "The parameter {member} must be an ISO 8601 time, not {text}: {err}"
            ))
        })?;
        return Ok(Value::from(time.timestamp_millis() as f64 / 1000.0));
    }
    if NUMBERS.contains(&member) {
        return text.parse::<i64>().map(Value::from).map_err(|_| {
            invalid(format!(
                "The parameter {member} must be an integer, not {text}."
            ))
        });
    }
    if BOOLEANS.contains(&member) {
        return match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(invalid(format!(
                "The parameter {member} must be true or false, not {text}."
            ))),
        };
    }
    Ok(Value::String(text.to_owned()))
}

/// Places `value` at `path` in `into`: `member.N` is the list item N (from 1).
fn insert(into: &mut Value, path: &[&str], value: Value) -> Result<(), &'static str> {
    match path {
        [] => {
            *into = value;
            Ok(())
        }
        ["member", index, rest @ ..] => {
            let index: usize = index
                .parse()
                .map_err(|_| "has a list index that is not a number")?;
            if index == 0 || index > 1000 {
                return Err("has a list index out of 1 to 1000");
            }
            if into.is_null() {
                *into = Value::Array(Vec::new());
            }
            let list = into
                .as_array_mut()
                .ok_or("mixes a list with other members")?;
            if list.len() < index {
                list.resize(index, Value::Null);
            }
            insert(&mut list[index - 1], rest, value)
        }
        [name, rest @ ..] => {
            if into.is_null() {
                *into = Value::Object(Map::new());
            }
            let object = into
                .as_object_mut()
                .ok_or("mixes a structure with a list")?;
            insert(object.entry(*name).or_insert(Value::Null), rest, value)
        }
    }
}

/// The operation's answer as the query protocol's XML.
pub(crate) fn xml_answer(action: &str, namespace: &str, answer: &Value) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><{action}Response xmlns=\"{namespace}\"><{action}Result>"
    );
    if let Value::Object(members) = answer {
        for (name, value) in members {
            element(&mut xml, name, name, value);
        }
    }
    xml.push_str(&format!(
        "</{action}Result><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        crate::ids::random_uuid()
    ));
    xml
}

/// `value` as the element `tag`; `member` names the shape, for the timestamps.
fn element(xml: &mut String, tag: &str, member: &str, value: &Value) {
    match value {
        Value::Null => return,
        Value::Array(items) if items.is_empty() => {
            xml.push_str(&format!("<{tag}/>"));
            return;
        }
        _ => {}
    }
    xml.push_str(&format!("<{tag}>"));
    match value {
        Value::Object(members) => {
            for (name, value) in members {
                element(xml, name, name, value);
            }
        }
        Value::Array(items) => {
            for item in items {
                element(xml, "member", member, item);
            }
        }
        Value::Number(number) if TIMESTAMPS.contains(&member) => {
            let ms = (number.as_f64().unwrap_or_default() * 1000.0) as i64;
            let time = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
            xml.push_str(&time.to_rfc3339_opts(SecondsFormat::Millis, true));
        }
        Value::Number(number) => xml.push_str(&number.to_string()),
        Value::Bool(flag) => xml.push_str(if *flag { "true" } else { "false" }),
        Value::String(text) => xml.push_str(&xml_escape(text)),
        Value::Null => {}
    }
    xml.push_str(&format!("</{tag}>"));
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("InvalidParameterValueException", message)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn a_form_becomes_the_operations_json_input() {
        let form = "Action=GetMetricData&Version=2010-08-01\
            &MetricDataQueries.member.1.Id=m1\
            &MetricDataQueries.member.1.MetricStat.Metric.Namespace=Sensors\
            &MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name=SensorId\
            &MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value=s-1\
            &MetricDataQueries.member.1.MetricStat.Period=60\
            &MetricDataQueries.member.1.ReturnData=false\
            &MetricDataQueries.member.2.Id=m2\
            &StartTime=2026-12-02T10%3A00%3A00Z&EndTime=2026-12-02T10%3A05%3A00.500Z";
        let (action, input) = form_input(form.as_bytes()).unwrap();
        assert_eq!(action, "GetMetricData");
        assert_eq!(
            Value::Object(input),
            json!({
                "MetricDataQueries": [
                    {
                        "Id": "m1",
                        "MetricStat": {
                            "Metric": {
                                "Namespace": "Sensors",
                                "Dimensions": [{"Name": "SensorId", "Value": "s-1"}],
                            },
                            "Period": 60,
                        },
                        "ReturnData": false,
                    },
                    {"Id": "m2"},
                ],
                "StartTime": 1_796_205_600.0,
                "EndTime": 1_796_205_900.5,
            })
        );
        for bad in [
            "Action=ListMetrics&Period=sixty",
            "Action=X&A.member.0=1",
            "Period=60",
        ] {
            assert!(form_input(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_answer_becomes_the_query_protocols_xml() {
        let answer = json!({
            "Label": "a<b",
            "Datapoints": [{"Timestamp": 1_796_205_600.0, "Sum": 7.0}],
            "Messages": [],
        });
        let xml = xml_answer("GetMetricStatistics", "urn:test", &answer);
        assert!(xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><GetMetricStatisticsResponse \
             xmlns=\"urn:test\"><GetMetricStatisticsResult>"
        ));
        // Members in any order: the SDKs read them by name.
        for part in [
            "<Datapoints><member>",
            "<Sum>7.0</Sum>",
            "<Timestamp>2026-12-02T10:00:00.000Z</Timestamp>",
            "</member></Datapoints>",
            "<Label>a&lt;b</Label>",
            "<Messages/>",
        ] {
            assert!(xml.contains(part), "{part} in {xml}");
        }
    }
}
