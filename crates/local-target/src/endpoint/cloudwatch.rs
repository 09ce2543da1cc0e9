//! CloudWatch over JSON 1.0 (`X-Amz-Target: GraniteServiceVersion20100801.<Op>`), the protocol
//! the AWS CLI and boto3 choose for it (their service model lists `smithy-rpc-v2-cbor`,
//! `json` and `query`, and botocore prefers `json`; "FAQs on CloudWatch supported protocols",
//! CloudWatch User Guide), and over the query protocol, which the pinned Rust SDK speaks
//! ([`query_protocol`] turns its forms into the same JSON input). `ListMetrics`, `GetMetricStatistics` and `GetMetricData` over the
//! metrics store, in CloudWatch's shapes (CloudWatch API Reference, each operation's page).
//!
//! The store keeps a statistic set per metric and minute, as CloudWatch keeps metrics
//! published with `StatisticValues` at standard resolution: the sample count, sum, minimum,
//! maximum and average of any whole-minute period can be answered, percentiles cannot (a
//! statistic set has no distribution), and neither can metric math. Asking for those is an
//! `InvalidParameterValue` that names them, never an answer without them.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use telemetry::metrics::Statistics;

use super::auth::Caller;
use super::errors::{ApiError, JSON_1_0_CONTENT_TYPE, json_response};
use super::json_rpc::{Refusals, admit, blocking, parse, unknown_parameter};
use super::query_protocol;
use crate::owner_api::{MetricId, OwnerApi, StoredPoint};

pub(crate) const TARGET_PREFIX: &str = "GraniteServiceVersion20100801.";

const REFUSALS: Refusals = Refusals {
    service: "cloudwatch",
    reads: "the metrics",
    denied: StatusCode::FORBIDDEN,
    unknown: "UnknownOperationException",
};

/// Metrics per `ListMetrics` page ("ListMetrics": "Up to 500 results are returned for any one
/// call").
const METRICS_PAGE: usize = 500;
/// "The maximum number of data points returned from a single call is 1,440"
/// (`GetMetricStatistics`).
const MAX_STATISTICS_POINTS: i64 = 1440;
/// `GetMetricData`'s default and largest `MaxDatapoints`.
const MAX_DATA_POINTS: i64 = 100_800;
/// Every stored point covers a minute, so a period is whole minutes.
const MINUTE_S: i64 = 60;

/// Runs the operation `name` (JSON 1.0, its `X-Amz-Target` past the prefix), for a request
/// already authenticated.
pub(crate) async fn handle(
    owner: Option<Arc<dyn OwnerApi>>,
    caller: Caller<'_>,
    name: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    let owner = admit(owner, caller, REFUSALS, name, None)?;
    let request = parse(body)?;
    let answer = operate(owner, name, &request).await?;
    Ok(json_response(
        StatusCode::OK,
        JSON_1_0_CONTENT_TYPE,
        &answer,
    ))
}

/// Runs the operation a query-protocol form names (`Action=...`), for a request already
/// authenticated: the same operations, as the Rust SDK calls them.
pub(crate) async fn handle_query(
    owner: Option<Arc<dyn OwnerApi>>,
    caller: Caller<'_>,
    body: &[u8],
) -> Result<Response, ApiError> {
    let (action, request) = query_protocol::form_input(body)?;
    let owner = admit(owner, caller, REFUSALS, &action, None)?;
    let answer = operate(owner, &action, &request).await?;
    let xml = query_protocol::xml_answer(&action, QUERY_NAMESPACE, &answer);
    let mut response = (StatusCode::OK, xml).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    Ok(response)
}

/// The XML namespace of CloudWatch's query answers.
pub(crate) const QUERY_NAMESPACE: &str = "http://monitoring.amazonaws.com/doc/2010-08-01/";

/// One operation on its JSON input, whichever protocol carried it.
async fn operate(
    owner: Arc<dyn OwnerApi>,
    name: &str,
    request: &Map<String, Value>,
) -> Result<Value, ApiError> {
    match name {
        "ListMetrics" => {
            allow(
                request,
                name,
                &["Namespace", "MetricName", "Dimensions", "NextToken"],
            )?;
            list_metrics(owner, request).await
        }
        "GetMetricStatistics" => {
            allow(
                request,
                name,
                &[
                    "Namespace",
                    "MetricName",
                    "Dimensions",
                    "StartTime",
                    "EndTime",
                    "Period",
                    "Statistics",
                    "Unit",
                ],
            )?;
            get_metric_statistics(owner, request).await
        }
        "GetMetricData" => {
            allow(
                request,
                name,
                &[
                    "MetricDataQueries",
                    "StartTime",
                    "EndTime",
                    "ScanBy",
                    "MaxDatapoints",
                ],
            )?;
            get_metric_data(owner, request).await
        }
        _ => Err(ApiError::bad_request(
            "UnknownOperationException",
            format!(
                "The local target does not implement cloudwatch:{name}: its metrics serve \
                 ListMetrics, GetMetricStatistics and GetMetricData to the operator key."
            ),
        )),
    }
}

async fn list_metrics(
    owner: Arc<dyn OwnerApi>,
    request: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let namespace = optional_string(request, "Namespace")?.map(str::to_owned);
    let metric_name = optional_string(request, "MetricName")?.map(str::to_owned);
    let filters = dimension_filters(request.get("Dimensions"))?;
    let start = match request.get("NextToken") {
        None => 0,
        Some(token) => token
            .as_str()
            .and_then(|token| URL_SAFE_NO_PAD.decode(token).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|offset| offset.parse::<usize>().ok())
            .ok_or_else(|| {
                ApiError::bad_request("InvalidNextToken", "The NextToken is not one this gave.")
            })?,
    };
    let metrics = blocking(move || owner.list_metrics()).await?;
    let matching: Vec<&MetricId> = metrics
        .iter()
        .filter(|metric| namespace.as_ref().is_none_or(|n| *n == metric.namespace))
        .filter(|metric| metric_name.as_ref().is_none_or(|n| *n == metric.name))
        .filter(|metric| {
            filters.iter().all(|(name, value)| {
                metric
                    .dimensions
                    .iter()
                    .any(|(n, v)| n == name && value.as_ref().is_none_or(|value| value == v))
            })
        })
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(METRICS_PAGE)
        .map(|metric| {
            json!({
                "Namespace": metric.namespace,
                "MetricName": metric.name,
                "Dimensions": dimensions_json(&metric.dimensions),
            })
        })
        .collect();
    let mut answer = json!({"Metrics": page});
    if start + METRICS_PAGE < matching.len() {
        answer["NextToken"] = json!(URL_SAFE_NO_PAD.encode((start + METRICS_PAGE).to_string()));
    }
    Ok(answer)
}

/// The statistics CloudWatch computes from statistic sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Statistic {
    SampleCount,
    Average,
    Sum,
    Minimum,
    Maximum,
}

impl Statistic {
    const ALL: [(&'static str, Self); 5] = [
        ("SampleCount", Self::SampleCount),
        ("Average", Self::Average),
        ("Sum", Self::Sum),
        ("Minimum", Self::Minimum),
        ("Maximum", Self::Maximum),
    ];

    fn parse(name: &str) -> Result<Self, ApiError> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, statistic)| *statistic)
            .ok_or_else(|| {
                invalid(format!(
                    "The local target does not implement the statistic {name}: its metrics \
                     are statistic sets, which answer SampleCount, Average, Sum, Minimum and \
                     Maximum (no percentiles)."
                ))
            })
    }

    fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("", |(name, _)| name)
    }

    fn of(self, statistics: &Statistics) -> f64 {
        match self {
            Self::SampleCount => statistics.count,
            Self::Average if statistics.count > 0.0 => statistics.sum / statistics.count,
            Self::Average => 0.0,
            Self::Sum => statistics.sum,
            Self::Minimum => statistics.min,
            Self::Maximum => statistics.max,
        }
    }
}

/// A window cut into periods: what the datapoints are of.
#[derive(Clone, Copy, Debug)]
struct Window {
    /// The first period's start, ms since the epoch: `StartTime` rounded down to the minute.
    start_ms: i64,
    end_ms: i64,
    period_ms: i64,
}

impl Window {
    fn parse(request: &Map<String, Value>, period: i64) -> Result<Self, ApiError> {
        let start_s = time(request, "StartTime")?;
        let end_s = time(request, "EndTime")?;
        if end_s <= start_s {
            return Err(invalid(
                "The parameter StartTime must be less than the parameter EndTime.",
            ));
        }
        // "Start time less than 15 days ago: Round down to the nearest whole minute"
        // (GetMetricStatistics, StartTime); older windows round further on AWS, a local
        // store's minutes need not.
        let start_ms = (start_s * 1000.0) as i64;
        Ok(Self {
            start_ms: start_ms.div_euclid(60_000) * 60_000,
            end_ms: (end_s * 1000.0).ceil() as i64,
            period_ms: period * 1000,
        })
    }

    fn periods(&self) -> i64 {
        (self.end_ms - self.start_ms + self.period_ms - 1) / self.period_ms
    }

    /// The points summed per period: (period start, statistics), oldest first.
    fn bucket(&self, points: &[StoredPoint], unit: Option<&str>) -> Vec<(i64, Statistics, String)> {
        let mut buckets: Vec<(i64, Statistics, String)> = Vec::new();
        for point in points
            .iter()
            .filter(|p| unit.is_none_or(|unit| p.unit == unit))
        {
            let start = self.start_ms
                + (point.minute_ms - self.start_ms).div_euclid(self.period_ms) * self.period_ms;
            match buckets.last_mut() {
                Some((last, statistics, _)) if *last == start => {
                    statistics.merge(&point.statistics)
                }
                _ => buckets.push((start, point.statistics, point.unit.clone())),
            }
        }
        buckets
    }
}

async fn get_metric_statistics(
    owner: Arc<dyn OwnerApi>,
    request: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let metric = MetricId::new(
        required_string(request, "Namespace")?,
        required_string(request, "MetricName")?,
        dimensions(request.get("Dimensions"), "Dimensions")?
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
    );
    let period = period(request.get("Period"), "Period")?;
    let window = Window::parse(request, period)?;
    if window.periods() > MAX_STATISTICS_POINTS {
        return Err(ApiError::bad_request(
            "InvalidParameterCombinationException",
            format!(
                "You have requested up to {} datapoints, which exceeds the limit of \
                 {MAX_STATISTICS_POINTS}. You may reduce the datapoints requested by \
                 increasing Period, or decreasing the time range.",
                window.periods()
            ),
        ));
    }
    let statistics: Vec<Statistic> = match request.get("Statistics") {
        Some(Value::Array(names)) if !names.is_empty() => names
            .iter()
            .map(|name| Statistic::parse(name.as_str().unwrap_or_default()))
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(ApiError::bad_request(
                "MissingRequiredParameterException",
                "Must specify either the Statistics or the ExtendedStatistics parameter \
                 (the local target answers Statistics only).",
            ));
        }
    };
    let unit = optional_string(request, "Unit")?.map(str::to_owned);
    let label = metric.name.clone();
    let points = {
        let (start, end) = (window.start_ms, window.end_ms);
        blocking(move || owner.metric_points(&metric, start, end)).await?
    };
    let datapoints: Vec<Value> = window
        .bucket(&points, unit.as_deref())
        .iter()
        .map(|(start, set, unit)| {
            let mut point = json!({"Timestamp": *start as f64 / 1000.0, "Unit": unit});
            for statistic in &statistics {
                point[statistic.name()] = json!(statistic.of(set));
            }
            point
        })
        .collect();
    Ok(json!({"Label": label, "Datapoints": datapoints}))
}

async fn get_metric_data(
    owner: Arc<dyn OwnerApi>,
    request: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let queries = match request.get("MetricDataQueries") {
        Some(Value::Array(queries)) if !queries.is_empty() => queries,
        _ => {
            return Err(ApiError::bad_request(
                "MissingRequiredParameterException",
                "The parameter MetricDataQueries is required and must not be empty.",
            ));
        }
    };
    let descending = match optional_string(request, "ScanBy")? {
        None | Some("TimestampDescending") => true,
        Some("TimestampAscending") => false,
        Some(other) => {
            return Err(invalid(format!(
                "ScanBy must be TimestampDescending or TimestampAscending, not {other}."
            )));
        }
    };
    let max_points = match request.get("MaxDatapoints") {
        None => MAX_DATA_POINTS,
        Some(value) => value
            .as_i64()
            .filter(|n| (1..=MAX_DATA_POINTS).contains(n))
            .ok_or_else(|| {
                invalid(format!(
                    "MaxDatapoints {value} is not 1 to {MAX_DATA_POINTS}."
                ))
            })?,
    };
    let mut results = Vec::new();
    let mut total = 0;
    for query in queries {
        let query = query
            .as_object()
            .ok_or_else(|| invalid("Each of MetricDataQueries must be an object."))?;
        allow(
            query,
            "MetricDataQuery",
            &["Id", "MetricStat", "Label", "ReturnData"],
        )?;
        let id = required_string(query, "Id")?.to_owned();
        let stat = query
            .get("MetricStat")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "MissingRequiredParameterException",
                    format!("The query {id} needs a MetricStat (the local target does not implement Expression)."),
                )
            })?;
        allow(stat, "MetricStat", &["Metric", "Period", "Stat", "Unit"])?;
        let metric = stat
            .get("Metric")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "MissingRequiredParameterException",
                    format!("The MetricStat of {id} needs a Metric."),
                )
            })?;
        allow(metric, "Metric", &["Namespace", "MetricName", "Dimensions"])?;
        let metric = MetricId::new(
            required_string(metric, "Namespace")?,
            required_string(metric, "MetricName")?,
            dimensions(metric.get("Dimensions"), "Dimensions")?
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
        );
        let statistic = Statistic::parse(required_string(stat, "Stat")?)?;
        let period = period(stat.get("Period"), "Period")?;
        let unit = optional_string(stat, "Unit")?.map(str::to_owned);
        let window = Window::parse(request, period)?;
        let label =
            optional_string(query, "Label")?.map_or_else(|| metric.name.clone(), str::to_owned);
        let returned = !matches!(query.get("ReturnData"), Some(Value::Bool(false)));
        let points = {
            let (owner, start, end) = (owner.clone(), window.start_ms, window.end_ms);
            blocking(move || owner.metric_points(&metric, start, end)).await?
        };
        if !returned {
            continue;
        }
        let mut buckets = window.bucket(&points, unit.as_deref());
        if descending {
            buckets.reverse();
        }
        total += buckets.len() as i64;
        if total > max_points {
            return Err(invalid(format!(
                "The queries would return more than MaxDatapoints ({max_points}) datapoints; \
                 the local target does not page GetMetricData: narrow the window or raise \
                 MaxDatapoints."
            )));
        }
        results.push(json!({
            "Id": id,
            "Label": label,
            "Timestamps": buckets.iter().map(|(start, _, _)| *start as f64 / 1000.0).collect::<Vec<_>>(),
            "Values": buckets.iter().map(|(_, set, _)| statistic.of(set)).collect::<Vec<_>>(),
            "StatusCode": "Complete",
        }));
    }
    Ok(json!({"MetricDataResults": results, "Messages": []}))
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("InvalidParameterValueException", message)
}

fn allow(request: &Map<String, Value>, operation: &str, known: &[&str]) -> Result<(), ApiError> {
    match unknown_parameter(request, operation, known) {
        None => Ok(()),
        Some(message) => Err(invalid(message)),
    }
}

fn required_string<'a>(request: &'a Map<String, Value>, name: &str) -> Result<&'a str, ApiError> {
    optional_string(request, name)?.ok_or_else(|| {
        ApiError::bad_request(
            "MissingRequiredParameterException",
            format!("The parameter {name} is required."),
        )
    })
}

fn optional_string<'a>(
    request: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    match request.get(name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(invalid(format!(
            "The parameter {name} must be a string, not {other}."
        ))),
    }
}

/// A time in JSON 1.0's form: seconds since the epoch.
fn time(request: &Map<String, Value>, name: &str) -> Result<f64, ApiError> {
    match request.get(name) {
        None => Err(ApiError::bad_request(
            "MissingRequiredParameterException",
            format!("The parameter {name} is required."),
        )),
        Some(value) => value.as_f64().ok_or_else(|| {
            invalid(format!(
                "The parameter {name} must be seconds since the epoch (JSON 1.0's timestamps), \
                 not {value}."
            ))
        }),
    }
}

/// A period: whole minutes, as the store keeps them.
fn period(value: Option<&Value>, name: &str) -> Result<i64, ApiError> {
    let value = value.ok_or_else(|| {
        ApiError::bad_request(
            "MissingRequiredParameterException",
            format!("The parameter {name} is required."),
        )
    })?;
    match value.as_i64() {
        Some(period) if period >= MINUTE_S && period % MINUTE_S == 0 => Ok(period),
        _ => Err(invalid(format!(
            "The parameter {name} must be a multiple of 60 seconds, not {value}: the local \
             target keeps metrics at standard resolution (one statistic set a minute)."
        ))),
    }
}

/// `[{"Name", "Value"}]`, both required.
fn dimensions(value: Option<&Value>, name: &str) -> Result<Vec<(String, String)>, ApiError> {
    dimension_list(value, name, false)?
        .into_iter()
        .map(|(n, v)| Ok((n, v.unwrap_or_default())))
        .collect()
}

/// `[{"Name", "Value"?}]`: a filter may leave the value out, matching any.
fn dimension_filters(value: Option<&Value>) -> Result<Vec<(String, Option<String>)>, ApiError> {
    dimension_list(value, "Dimensions", true)
}

fn dimension_list(
    value: Option<&Value>,
    name: &str,
    value_optional: bool,
) -> Result<Vec<(String, Option<String>)>, ApiError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let wrong = || {
        invalid(format!(
            "The parameter {name} must be a list of {{\"Name\", \"Value\"}} objects, not {value}."
        ))
    };
    let items = value.as_array().ok_or_else(wrong)?;
    items
        .iter()
        .map(|item| {
            let item = item.as_object().ok_or_else(wrong)?;
            let dimension_name = item.get("Name").and_then(Value::as_str).ok_or_else(wrong)?;
            let dimension_value = item.get("Value").and_then(Value::as_str);
            if dimension_value.is_none() && !value_optional {
                return Err(wrong());
            }
            Ok((
                dimension_name.to_owned(),
                dimension_value.map(str::to_owned),
            ))
        })
        .collect()
}

fn dimensions_json(dimensions: &[(String, String)]) -> Vec<Value> {
    dimensions
        .iter()
        .map(|(name, value)| json!({"Name": name, "Value": value}))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn point(minute_ms: i64, value: f64) -> StoredPoint {
        StoredPoint {
            minute_ms,
            unit: "Count".into(),
            statistics: Statistics::of(value),
        }
    }

    #[test]
    fn periods_sum_the_minutes_they_hold_from_the_rounded_start() {
        let request: Map<String, Value> =
            serde_json::from_value(json!({"StartTime": 90.5, "EndTime": 420})).unwrap();
        let window = Window::parse(&request, 120).unwrap();
        assert_eq!(
            (window.start_ms, window.end_ms, window.periods()),
            (60_000, 420_000, 3)
        );
        let points = [
            point(60_000, 1.0),
            point(120_000, 2.0),
            point(180_000, 4.0),
            point(300_000, 8.0),
        ];
        let buckets = window.bucket(&points, None);
        let sums: Vec<(i64, f64, f64)> = buckets
            .iter()
            .map(|(start, set, _)| (*start, set.sum, set.count))
            .collect();
        assert_eq!(
            sums,
            [(60_000, 3.0, 2.0), (180_000, 4.0, 1.0), (300_000, 8.0, 1.0)]
        );
        assert!(window.bucket(&points, Some("Milliseconds")).is_empty());
        assert_eq!(Statistic::Average.of(&buckets[0].1), 1.5);
    }

    #[test]
    fn what_a_statistic_set_cannot_answer_is_refused_by_name() {
        assert!(Statistic::parse("p99").unwrap_err().message.contains("p99"));
        assert_eq!(Statistic::parse("Sum").unwrap(), Statistic::Sum);
        for bad in [json!(30), json!(90), json!("60")] {
            let error = period(Some(&bad), "Period").unwrap_err();
            assert_eq!(error.code, "InvalidParameterValueException", "{bad}");
        }
        assert_eq!(period(Some(&json!(300)), "Period").unwrap(), 300);
        let request: Map<String, Value> =
            serde_json::from_value(json!({"StartTime": "2026-12-02T10:00:00Z", "EndTime": 1}))
                .unwrap();
        assert!(
            Window::parse(&request, 60)
                .unwrap_err()
                .message
                .contains("StartTime")
        );
    }
}
