//! An API error and its wire shape per API, as the AWS SDKs parse them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Which API a request belongs to; it decides the error shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Api {
    /// JSON 1.1: `{"__type": "...", "message": "..."}`.
    Kinesis,
    /// REST JSON: header `x-amzn-ErrorType`, body `{"Type": "User", "message": "..."}`.
    Lambda,
    /// JSON 1.0: `{"__type": "com.amazonaws.dynamodb.v20120810#...", "message": "..."}`
    /// ("Error handling with DynamoDB", DynamoDB Developer Guide).
    DynamoDb,
    /// REST-XML: `<Error><Code>...</Code><Message>...</Message></Error>` (Amazon S3 API
    /// Reference, "Error responses").
    S3,
    /// JSON 1.0, query-compatible: `{"__type": "com.amazonaws.sqs#...", "message": "..."}` and
    /// the query protocol's code in `x-amzn-query-error` ("Amazon SQS AWS JSON protocol
    /// FAQs", SQS Developer Guide), which the SDKs report as the error's code.
    Sqs,
    /// JSON 1.0, query-compatible, as [`Api::Sqs`] ("FAQs on CloudWatch supported
    /// protocols", CloudWatch User Guide).
    CloudWatch,
    /// The query protocol's XML: `<ErrorResponse><Error><Type>Sender</Type><Code>...`, the
    /// code as the query protocol names it (CloudWatch API Reference, "Common Errors").
    CloudWatchQuery,
}

/// An error answer: status, AWS error type, message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// Who is at fault, as the query protocol says it: the caller or the service.
    fn query_fault(&self) -> &'static str {
        if self.status.is_server_error() {
            "Receiver"
        } else {
            "Sender"
        }
    }

    /// The answer in `api`'s shape.
    pub fn render(&self, api: Api) -> Response {
        match api {
            Api::Kinesis => {
                let body = serde_json::json!({"__type": self.code, "message": self.message});
                json_response(self.status, KINESIS_CONTENT_TYPE, &body)
            }
            Api::S3 => {
                let body = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{}</Code>\
                     <Message>{}</Message></Error>",
                    self.code,
                    xml_escape(&self.message)
                );
                let mut response = (self.status, body).into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/xml"),
                );
                response
            }
            Api::DynamoDb => {
                let body = serde_json::json!({
                    "__type": format!("com.amazonaws.dynamodb.v20120810#{}", self.code),
                    "message": self.message,
                });
                json_response(self.status, DYNAMODB_CONTENT_TYPE, &body)
            }
            Api::Sqs | Api::CloudWatch => {
                let namespace = if api == Api::Sqs {
                    "com.amazonaws.sqs"
                } else {
                    "com.amazonaws.cloudwatch"
                };
                let body = serde_json::json!({
                    "__type": format!("{namespace}#{}", self.code),
                    "message": self.message,
                });
                let mut response = json_response(self.status, JSON_1_0_CONTENT_TYPE, &body);
                if let Ok(value) = HeaderValue::from_str(&format!(
                    "{};{}",
                    query_code(self.code),
                    self.query_fault()
                )) {
                    response.headers_mut().insert("x-amzn-query-error", value);
                }
                response
            }
            Api::CloudWatchQuery => {
                let fault = self.query_fault();
                let body = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ErrorResponse xmlns=\"{}\">\
                     <Error><Type>{fault}</Type><Code>{}</Code><Message>{}</Message></Error>\
                     <RequestId>{}</RequestId></ErrorResponse>",
                    super::cloudwatch::QUERY_NAMESPACE,
                    query_code(self.code),
                    xml_escape(&self.message),
                    crate::ids::random_uuid()
                );
                let mut response = (self.status, body).into_response();
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
                response
            }
            Api::Lambda => {
                // Lambda tells who is at fault: the caller (User) or the service.
                let fault = if self.status.is_server_error() {
                    "Service"
                } else {
                    "User"
                };
                let body = serde_json::json!({"Type": fault, "message": self.message});
                let mut response = json_response(self.status, "application/json", &body);
                response
                    .headers_mut()
                    .insert("x-amzn-ErrorType", HeaderValue::from_static(self.code));
                response
            }
        }
    }
}

/// The query protocol's name of a JSON error type, where the two differ (each service model's
/// error shapes: SQS' `QueueDoesNotExist` is `AWS.SimpleQueueService.NonExistentQueue`,
/// CloudWatch's `InvalidParameterValueException` is `InvalidParameterValue`).
fn query_code(code: &str) -> &str {
    match code {
        "QueueDoesNotExist" => "AWS.SimpleQueueService.NonExistentQueue",
        "InvalidParameterValueException" => "InvalidParameterValue",
        "InvalidParameterCombinationException" => "InvalidParameterCombination",
        "MissingRequiredParameterException" => "MissingParameter",
        "AccessDeniedException" => "AccessDenied",
        other => other,
    }
}

/// Text as XML character data or an attribute value.
pub(crate) fn xml_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c => escaped.push(c),
        }
    }
    escaped
}

pub(crate) const KINESIS_CONTENT_TYPE: &str = "application/x-amz-json-1.1";
pub(crate) const JSON_1_0_CONTENT_TYPE: &str = "application/x-amz-json-1.0";
pub(crate) const DYNAMODB_CONTENT_TYPE: &str = JSON_1_0_CONTENT_TYPE;

pub(crate) fn json_response(
    status: StatusCode,
    content_type: &'static str,
    body: &serde_json::Value,
) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// "1 validation error detected: a" / "2 validation errors detected: a; b", as AWS words it.
pub(crate) fn validation_errors(messages: &[String]) -> Option<ApiError> {
    if messages.is_empty() {
        return None;
    }
    let plural = if messages.len() == 1 { "" } else { "s" };
    Some(ApiError::bad_request(
        "ValidationException",
        format!(
            "{} validation error{plural} detected: {}",
            messages.len(),
            messages.join("; ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn validation_errors_are_counted_and_joined() {
        assert_eq!(validation_errors(&[]), None);
        let one = validation_errors(&["a".into()]).unwrap();
        assert_eq!(one.message, "1 validation error detected: a");
        let two = validation_errors(&["a".into(), "b".into()]).unwrap();
        assert_eq!(two.message, "2 validation errors detected: a; b");
        assert_eq!(two.code, "ValidationException");
    }

    #[test]
    fn query_compatible_errors_carry_the_query_code_in_a_header() {
        let response = ApiError::bad_request("QueueDoesNotExist", "gone").render(Api::Sqs);
        assert_eq!(
            response.headers()["x-amzn-query-error"],
            "AWS.SimpleQueueService.NonExistentQueue;Sender"
        );
        let response = ApiError::forbidden("AccessDeniedException", "no").render(Api::CloudWatch);
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            response.headers()["x-amzn-query-error"],
            "AccessDenied;Sender"
        );
    }

    #[test]
    fn lambda_errors_carry_the_type_in_a_header() {
        let response = ApiError::new(StatusCode::NOT_FOUND, "ResourceNotFoundException", "gone")
            .render(Api::Lambda);
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers()["x-amzn-errortype"],
            "ResourceNotFoundException"
        );
    }
}
