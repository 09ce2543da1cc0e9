//! Answering CloudFormation: the response document, cut to CloudFormation's 4,096-byte limit,
//! and its PUT to the pre-signed ResponseURL, retried with backoff until the invocation's time
//! runs out.
//!
//! The ResponseURL is a pre-signed S3 URL: anyone holding it can answer for the stack, so it
//! is never logged (only its host is).

use crate::answer::{Answer, failed_create_id};
use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponse;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use telemetry::backoff::Backoff;
use tokio::time::Instant;

/// CloudFormation rejects a response body larger than this.
pub const MAX_RESPONSE_BYTES: usize = 4096;
/// Appended to a reason that was cut to fit.
const CUT_MARK: &str = " [cut to fit CloudFormation's 4096-byte response limit]";
/// The longest one PUT may take (S3 answers in milliseconds).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Backoff between PUTs: short, since the whole invocation has seconds, not minutes.
const PUT_BACKOFF: Backoff = Backoff::retries(Duration::from_millis(200), Duration::from_secs(2));
/// How much of a refusal's body (S3's XML error) is kept for the log.
const ERROR_BODY_MAX: usize = 1024;

/// The fields of a request that the answer needs, read leniently so that even a request the
/// provider cannot otherwise understand is answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub request_type: String,
    pub request_id: String,
    pub response_url: String,
    pub stack_id: String,
    pub logical_resource_id: String,
    pub physical_resource_id: Option<String>,
}

/// A payload with no ResponseURL cannot be answered.
#[derive(Debug, thiserror::Error)]
#[error(
    "the event has no ResponseURL, so it cannot be answered; is it a CloudFormation custom-resource request?"
)]
pub struct NoResponseUrl;

impl Envelope {
    pub fn from_payload(payload: &Value) -> Result<Self, NoResponseUrl> {
        let text = |key: &str| payload.get(key).and_then(Value::as_str).map(str::to_owned);
        let response_url = text("ResponseURL")
            .filter(|url| !url.is_empty())
            .ok_or(NoResponseUrl)?;
        Ok(Self {
            request_type: text("RequestType").unwrap_or_default(),
            request_id: text("RequestId").unwrap_or_default(),
            response_url,
            stack_id: text("StackId").unwrap_or_default(),
            logical_resource_id: text("LogicalResourceId").unwrap_or_default(),
            physical_resource_id: text("PhysicalResourceId"),
        })
    }

    /// The physical id to answer with when the handler did not give one: the request's own
    /// (Update, Delete), else one that marks a Create that made nothing.
    pub fn fallback_physical_id(&self) -> String {
        self.physical_resource_id
            .clone()
            .unwrap_or_else(|| failed_create_id(&self.request_id))
    }

    /// The ResponseURL's host, the only part of it fit for a log.
    pub fn response_host(&self) -> String {
        self.response_url
            .parse::<Uri>()
            .ok()
            .and_then(|uri| uri.host().map(str::to_owned))
            .unwrap_or_else(|| "(unparsable URL)".into())
    }
}

/// The response document for `answer`, at most [`MAX_RESPONSE_BYTES`] long: the reason is cut
/// (at a character boundary, marked) when the whole does not fit.
pub fn response_body(envelope: &Envelope, answer: &Answer) -> String {
    let mut response = CloudFormationCustomResourceResponse::default();
    response.status = answer.status.clone();
    response.physical_resource_id = answer
        .physical_resource_id
        .clone()
        .unwrap_or_else(|| envelope.fallback_physical_id());
    response.stack_id = envelope.stack_id.clone();
    response.request_id = envelope.request_id.clone();
    response.logical_resource_id = envelope.logical_resource_id.clone();
    response.no_echo = false;
    response.data = answer.data.clone().into_iter().collect();

    let reason = answer.reason.clone().unwrap_or_default();
    let whole = with_reason(&mut response, &reason, reason.len());
    if whole.len() <= MAX_RESPONSE_BYTES {
        return whole;
    }
    // The longest prefix of the reason that fits. Escaping makes the JSON length of a prefix
    // hard to predict (a quote or newline takes two bytes), so search: about 15 rounds for
    // the longest reasons a Lambda error has.
    let (mut fits, mut too_long) = (0, reason.len());
    while too_long - fits > 1 {
        let middle = fits + (too_long - fits) / 2;
        if with_reason(&mut response, &reason, middle).len() <= MAX_RESPONSE_BYTES {
            fits = middle;
        } else {
            too_long = middle;
        }
    }
    with_reason(&mut response, &reason, fits)
}

/// The response document with the first `keep` bytes of `reason`.
fn with_reason(
    response: &mut CloudFormationCustomResourceResponse,
    reason: &str,
    keep: usize,
) -> String {
    response.reason = Some(cut(reason, keep));
    // Serializing strings, a bool and a map of strings cannot fail.
    serde_json::to_string(response).unwrap_or_default()
}

/// `text` cut to its first `keep` bytes (less, to a character boundary), marked if cut.
fn cut(text: &str, keep: usize) -> String {
    if keep >= text.len() {
        return text.to_owned();
    }
    let mut end = keep;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{CUT_MARK}", &text[..end])
}

/// The response could not be delivered.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the ResponseURL is not a valid URL: {0}")]
    BadUrl(String),
    #[error(
        "the ResponseURL refused the response with HTTP {status} after {attempts} attempt(s): {body}"
    )]
    Refused {
        status: u16,
        attempts: u32,
        body: String,
    },
    #[error(
        "gave up after {attempts} attempt(s) as the invocation's time ran out; last failure: {last}"
    )]
    OutOfTime { attempts: u32, last: String },
}

/// The TLS set-up failed.
#[derive(Debug, thiserror::Error)]
#[error("setting up TLS for the response PUT: {0}")]
pub struct TlsSetupError(rustls::Error);

/// Puts responses to ResponseURLs: HTTPS with rustls on aws-lc-rs and the system's roots (as
/// the AWS SDK does), plain HTTP for a loopback test server.
#[derive(Clone, Debug)]
pub struct Responder {
    client: Client<HttpsConnector<HttpConnector>, String>,
}

impl Responder {
    pub fn new() -> Result<Self, TlsSetupError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = match HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider.clone())
        {
            Ok(builder) => builder,
            Err(err) => {
                // Without roots no HTTPS server can be trusted, but plain HTTP still works and
                // the failure shows up, with this warning, on the first HTTPS answer.
                tracing::warn!(error = %err, "no system root certificates; HTTPS answers will fail");
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(TlsSetupError)?
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth();
                HttpsConnectorBuilder::new().with_tls_config(config)
            }
        };
        let connector = builder.https_or_http().enable_http1().build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self { client })
    }

    /// PUTs `body` to `url` until it is accepted (2xx), refused for good (4xx other than 408 and
    /// 429: a pre-signed URL that is rejected once is rejected every time), or `until` passes.
    /// Returns the number of attempts made.
    pub async fn deliver(
        &self,
        url: &str,
        body: String,
        until: Instant,
    ) -> Result<u32, DeliveryError> {
        let uri: Uri = url
            .parse()
            .map_err(|err: http::uri::InvalidUri| DeliveryError::BadUrl(err.to_string()))?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let last = match self.attempt(&uri, &body, until).await {
                Ok(()) => return Ok(attempts),
                Err(Attempt::Refused { status, body }) => {
                    return Err(DeliveryError::Refused {
                        status,
                        attempts,
                        body,
                    });
                }
                Err(Attempt::Retryable(why)) => why,
            };
            tracing::warn!(attempt = attempts, failure = %last, "response PUT failed; retrying");
            let Some(delay) = PUT_BACKOFF.wait_before(attempts - 1, until.into_std()) else {
                return Err(DeliveryError::OutOfTime { attempts, last });
            };
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(&self, uri: &Uri, body: &str, until: Instant) -> Result<(), Attempt> {
        let request = Request::builder()
            .method(Method::PUT)
            .uri(uri.clone())
            // The URL is signed for an empty Content-Type, as CloudFormation's own cfn-response
            // module sends it; any other value breaks the signature.
            .header(CONTENT_TYPE, HeaderValue::from_static(""))
            .body(body.to_owned())
            .map_err(|err| Attempt::Retryable(err.to_string()))?;
        let limit = until.min(Instant::now() + ATTEMPT_TIMEOUT);
        let response = match tokio::time::timeout_at(limit, self.client.request(request)).await {
            Ok(Ok(response)) => response,
            Ok(Err(err)) => return Err(Attempt::Retryable(error_chain(&err))),
            Err(_) => return Err(Attempt::Retryable("no response in time".into())),
        };
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = match tokio::time::timeout_at(
            limit,
            Limited::new(response.into_body(), ERROR_BODY_MAX).collect(),
        )
        .await
        {
            Ok(Ok(collected)) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
            _ => String::new(),
        };
        if status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
        {
            Err(Attempt::Retryable(format!("HTTP {status}: {body}")))
        } else {
            Err(Attempt::Refused {
                status: status.as_u16(),
                body,
            })
        }
    }
}

enum Attempt {
    Retryable(String),
    Refused { status: u16, body: String },
}

/// An error and its sources, one line ("connection refused" hides two levels down).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponseStatus as Status;
    use serde_json::json;

    fn envelope() -> Envelope {
        Envelope::from_payload(&json!({
            "RequestType": "Create",
            "RequestId": "49347ca5-c603-44e5-a34b-10cf1854a887",
            "ResponseURL": "https://cr-response-bucket.s3.us-east-1.amazonaws.com/key?X-Amz-Signature=secret",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/16580499",
            "LogicalResourceId": "WriterMapping"
        }))
        .unwrap()
    }

    #[test]
    fn a_response_has_every_field_cloudformation_requires() {
        let answer = Answer::failed(None, "BatchSize must be a whole number from 1 to 10000");
        let body: Value = serde_json::from_str(&response_body(&envelope(), &answer)).unwrap();
        assert_eq!(
            body,
            json!({
                "Status": "FAILED",
                "Reason": "BatchSize must be a whole number from 1 to 10000",
                "PhysicalResourceId": "not-created-49347ca5-c603-44e5-a34b-10cf1854a887",
                "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/16580499",
                "RequestId": "49347ca5-c603-44e5-a34b-10cf1854a887",
                "LogicalResourceId": "WriterMapping",
                "NoEcho": false,
                "Data": {}
            })
        );
        assert_eq!(
            envelope().response_host(),
            "cr-response-bucket.s3.us-east-1.amazonaws.com"
        );
    }

    #[test]
    fn a_long_reason_is_cut_to_fit_at_a_character_boundary() {
        // Quotes and control characters grow when escaped; "é" is two bytes.
        let reason = "é\"\n".repeat(3000);
        let mut answer = Answer::failed(Some("id".into()), reason.clone());
        answer.status = Status::Failed;
        let body = response_body(&envelope(), &answer);
        assert!(body.len() <= MAX_RESPONSE_BYTES, "{}", body.len());
        assert!(
            body.len() > MAX_RESPONSE_BYTES - 64,
            "cut far more than needed: {}",
            body.len()
        );
        let parsed: Value = serde_json::from_str(&body).unwrap();
        let kept = parsed["Reason"].as_str().unwrap();
        assert!(kept.ends_with(CUT_MARK), "{kept}");
        assert!(reason.starts_with(kept.trim_end_matches(CUT_MARK)));
    }

    #[test]
    fn a_short_reason_is_kept_whole() {
        let answer = Answer::failed(Some("id".into()), "x".repeat(3000));
        let body: Value = serde_json::from_str(&response_body(&envelope(), &answer)).unwrap();
        assert_eq!(body["Reason"].as_str().unwrap().len(), 3000);
    }

    #[test]
    fn a_request_without_response_url_cannot_be_answered() {
        assert!(Envelope::from_payload(&json!({"RequestType": "Create"})).is_err());
        assert!(Envelope::from_payload(&json!("text")).is_err());
    }
}
