//! SigV4 verification: the request is re-signed with aws-sigv4, from the headers the client
//! says it signed, with the stored secret and the request's own `X-Amz-Date`, and the two
//! signatures are compared in constant time. The body's hash is part of what is signed, so a
//! changed body fails like a changed header.
//!
//! Messages follow AWS' wording. None contains the secret or the `Authorization` header.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use axum::http::request::Parts;
use chrono::{DateTime, NaiveDateTime, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::errors::ApiError;
use crate::device_api::DeviceKey;

/// How far a request's date may be from the endpoint's clock, as on AWS.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
const AMZ_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
/// Signature=...` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization<'a> {
    pub access_key_id: &'a str,
    /// `YYYYMMDD` of the credential scope.
    pub scope_date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub terminator: &'a str,
    /// Lower-case names, in the client's order.
    pub signed_headers: Vec<&'a str>,
    pub signature: &'a str,
}

/// Why an `Authorization` header could not be read; `Display` is AWS' message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MalformedAuthorization {
    #[error("Unsupported signature algorithm '{0}': only AWS4-HMAC-SHA256 is accepted.")]
    Algorithm(String),
    #[error("Authorization header requires '{0}' parameter.")]
    MissingParameter(&'static str),
    #[error(
        "Authorization header requires the Credential parameter in the form \
         'KEYID/YYYYMMDD/REGION/SERVICE/aws4_request'."
    )]
    Credential,
    #[error("Authorization header has a parameter without '=': '{0}'.")]
    Parameter(String),
}

/// Reads an `Authorization` header value.
pub fn parse_authorization(value: &str) -> Result<Authorization<'_>, MalformedAuthorization> {
    let value = value.trim();
    let (algorithm, rest) = value.split_once(' ').unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        return Err(MalformedAuthorization::Algorithm(algorithm.to_owned()));
    }
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for parameter in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = parameter
            .split_once('=')
            .ok_or_else(|| MalformedAuthorization::Parameter(parameter.to_owned()))?;
        match name.trim() {
            "Credential" => credential = Some(value.trim()),
            "SignedHeaders" => signed_headers = Some(value.trim()),
            "Signature" => signature = Some(value.trim()),
            // AWS ignores parameters it does not know.
            _ => {}
        }
    }
    let credential = credential.ok_or(MalformedAuthorization::MissingParameter("Credential"))?;
    let signed_headers =
        signed_headers.ok_or(MalformedAuthorization::MissingParameter("SignedHeaders"))?;
    let signature = signature.ok_or(MalformedAuthorization::MissingParameter("Signature"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, scope_date, region, service, terminator] = scope[..] else {
        return Err(MalformedAuthorization::Credential);
    };
    if [access_key_id, scope_date, region, service, terminator]
        .iter()
        .any(|part| part.is_empty())
    {
        return Err(MalformedAuthorization::Credential);
    }
    Ok(Authorization {
        access_key_id,
        scope_date,
        region,
        service,
        terminator,
        signed_headers: signed_headers.split(';').collect(),
        signature,
    })
}

/// Who signed a request: the key decides what it may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Principal {
    /// The device key: what the device user on AWS may do, and nothing more.
    Device,
    /// The operator key: what the stack's owner may do.
    Operator,
}

/// Who is asking: whose key signed, which key, in which account (for error messages).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Caller<'a> {
    pub principal: Principal,
    pub access_key_id: &'a str,
    pub account_id: &'a str,
}

/// Checks signatures against the device key (and the operator key, when there is one).
#[derive(Clone, Debug)]
pub struct Verifier {
    keys: Vec<(Principal, DeviceKey)>,
    region: String,
}

impl Verifier {
    pub fn new(key: DeviceKey, region: String) -> Self {
        Self {
            keys: vec![(Principal::Device, key)],
            region,
        }
    }

    /// Also accepts requests the operator key signs.
    pub fn with_operator(mut self, key: DeviceKey) -> Self {
        self.keys.push((Principal::Operator, key));
        self
    }

    /// Accepts the request only if it is signed by one of the keys, for this region and
    /// `service`, within [`MAX_CLOCK_SKEW`] of `now`, over exactly these headers and body;
    /// returns whose key it was.
    pub(crate) fn verify(
        &self,
        parts: &Parts,
        body: &[u8],
        service: &str,
        now: SystemTime,
    ) -> Result<Principal, ApiError> {
        let Some(header) = parts.headers.get("authorization") else {
            if parts
                .uri
                .query()
                .is_some_and(|q| q.contains("X-Amz-Signature"))
            {
                return Err(incomplete(
                    "Pre-signed URLs are not accepted here; sign the Authorization header.",
                ));
            }
            return Err(ApiError::forbidden(
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            ));
        };
        let header = header
            .to_str()
            .map_err(|_| incomplete("The Authorization header is not valid ASCII."))?;
        let auth = parse_authorization(header).map_err(|err| incomplete(err.to_string()))?;

        let Some((principal, key)) = self
            .keys
            .iter()
            .find(|(_, key)| key.access_key_id() == auth.access_key_id)
        else {
            return Err(ApiError::forbidden(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ));
        };
        if parts.headers.contains_key("x-amz-security-token") {
            // Both keys are long-term keys: a session token cannot belong to them.
            return Err(ApiError::forbidden(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ));
        }
        // aws-sigv4 writes its own one `X-Amz-Date` (and `X-Amz-Content-Sha256`) into what it
        // re-signs, so a second value would go unsigned and unseen: the request is refused, as
        // AWS refuses it (its canonical request joins the values). Found by fuzz/ (`sigv4`).
        for name in ["x-amz-date", "x-amz-content-sha256"] {
            if parts.headers.get_all(name).iter().nth(1).is_some() {
                return Err(invalid_signature(format!(
                    "The request has more than one '{name}' header; sign it with one."
                )));
            }
        }
        let amz_date = parts
            .headers
            .get("x-amz-date")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                incomplete(
                    "Authorization header requires existence of either a 'X-Amz-Date' or a \
                     'Date' header.",
                )
            })?;
        let signed_at = parse_amz_date(amz_date).ok_or_else(|| {
            incomplete(format!(
                "X-Amz-Date '{amz_date}' is not in the form YYYYMMDD'T'HHMMSS'Z'."
            ))
        })?;
        check_clock_skew(amz_date, signed_at, now)?;
        if !amz_date.starts_with(auth.scope_date) || auth.scope_date.len() != 8 {
            return Err(invalid_signature(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of \
                 date from HTTP: '{}' != '{}', from '{amz_date}'.",
                auth.scope_date,
                &amz_date[..amz_date.len().min(8)],
            )));
        }
        if auth.region != self.region {
            return Err(invalid_signature(format!(
                "Credential should be scoped to a valid region, not '{}'. This endpoint serves \
                 '{}'.",
                auth.region, self.region
            )));
        }
        if auth.service != service {
            return Err(invalid_signature(format!(
                "Credential should be scoped to correct service: '{service}'. "
            )));
        }
        if auth.terminator != "aws4_request" {
            return Err(invalid_signature(format!(
                "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'.",
                auth.terminator
            )));
        }
        if !auth.signed_headers.contains(&"host") {
            return Err(invalid_signature(
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
            ));
        }
        let body_hash = hex::encode(Sha256::digest(body));
        // S3 clients may leave the payload out of the signature, saying so ("Signature
        // Calculations for the Authorization Header", Amazon S3 API Reference); only S3
        // allows it, and only S3's reads come here, whose bodies are empty.
        let unsigned_payload = service == "s3"
            && body.is_empty()
            && parts
                .headers
                .get("x-amz-content-sha256")
                .is_some_and(|claimed| claimed == UNSIGNED_PAYLOAD);
        if let Some(claimed) = parts.headers.get("x-amz-content-sha256")
            && !unsigned_payload
            && claimed.as_bytes() != body_hash.as_bytes()
        {
            return Err(invalid_signature(
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            ));
        }

        let body = if unsigned_payload {
            SignableBody::UnsignedPayload
        } else {
            SignableBody::Bytes(body)
        };
        let expected = signature(key, parts, body, &auth, signed_at)?;
        if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
            Ok(*principal)
        } else {
            Err(signature_mismatch())
        }
    }

    /// [`Self::verify`] with only the AWS error code of a refusal. Public only for the fuzz
    /// target `sigv4` (fuzz/), which signs requests with aws-sigv4, mutates them and checks
    /// that no request the key did not sign is accepted; the endpoint calls `verify`.
    #[doc(hidden)]
    pub fn check(
        &self,
        parts: &Parts,
        body: &[u8],
        service: &str,
        now: SystemTime,
    ) -> Result<(), &'static str> {
        self.verify(parts, body, service, now)
            .map(drop)
            .map_err(|error| error.code)
    }
}

/// The signature `key` gives this request.
fn signature(
    key: &DeviceKey,
    parts: &Parts,
    body: SignableBody<'_>,
    auth: &Authorization<'_>,
    signed_at: SystemTime,
) -> Result<String, ApiError> {
    let mut headers = Vec::new();
    for name in &auth.signed_headers {
        let values = parts.headers.get_all(*name);
        if values.iter().next().is_none() {
            return Err(invalid_signature(format!(
                "The signed header '{name}' is not in the request."
            )));
        }
        for value in values {
            let value = value.to_str().map_err(|_| signature_mismatch())?;
            headers.push((*name, value));
        }
    }
    let mut settings = SigningSettings::default();
    // Only the headers the client signed are passed in, so none is to be left out.
    settings.excluded_headers = Some(Vec::new());
    if auth.signed_headers.contains(&"x-amz-content-sha256") {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    if auth.service == "s3" {
        // S3 signs the path as sent: encoded once, not normalised (the S3 API Reference's
        // canonical request; aws-sigv4's settings name S3 for both).
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    // The authority is a placeholder: the signed `host` header is what gets signed.
    let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let uri = format!("http://localhost{path_and_query}");
    let request = SignableRequest::new(parts.method.as_str(), uri, headers.into_iter(), body)
        .map_err(|_| signature_mismatch())?;
    let identity = key.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(auth.region)
        .name(auth.service)
        .time(signed_at)
        .settings(settings)
        .build()
        .map_err(|_| signature_mismatch())?
        .into();
    let output = sign(request, &params).map_err(|_| signature_mismatch())?;
    Ok(output.signature().to_owned())
}

fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let naive = NaiveDateTime::parse_from_str(text, AMZ_DATE_FORMAT).ok()?;
    Some(naive.and_utc().into())
}

fn check_clock_skew(
    amz_date: &str,
    signed_at: SystemTime,
    now: SystemTime,
) -> Result<(), ApiError> {
    let format = |time: SystemTime| DateTime::<Utc>::from(time).format(AMZ_DATE_FORMAT);
    if signed_at + MAX_CLOCK_SKEW < now {
        return Err(invalid_signature(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
            format(now - MAX_CLOCK_SKEW),
            format(now)
        )));
    }
    if signed_at > now + MAX_CLOCK_SKEW {
        return Err(invalid_signature(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
            format(now + MAX_CLOCK_SKEW),
            format(now)
        )));
    }
    Ok(())
}

fn incomplete(message: impl Into<String>) -> ApiError {
    ApiError::forbidden("IncompleteSignatureException", message)
}

fn invalid_signature(message: impl Into<String>) -> ApiError {
    ApiError::forbidden("InvalidSignatureException", message)
}

fn signature_mismatch() -> ApiError {
    invalid_signature(
        "The request signature we calculated does not match the signature you provided. Check \
         your AWS Secret Access Key and signing method. Consult the service documentation for \
         details.",
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const SDK_HEADER: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kinesis/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";

    #[test]
    fn an_sdk_header_is_read() {
        let auth = parse_authorization(SDK_HEADER).unwrap();
        assert_eq!(
            auth,
            Authorization {
                access_key_id: "AKIDEXAMPLE",
                scope_date: "20150830",
                region: "us-east-1",
                service: "kinesis",
                terminator: "aws4_request",
                signed_headers: vec!["content-type", "host", "x-amz-date"],
                signature: "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
            }
        );
    }

    #[test]
    fn parameters_may_come_in_any_order_and_without_spaces() {
        let header = "AWS4-HMAC-SHA256 Signature=ab,SignedHeaders=host,Credential=K/20150830/r/s/aws4_request";
        let auth = parse_authorization(header).unwrap();
        assert_eq!(auth.signature, "ab");
        assert_eq!(auth.signed_headers, vec!["host"]);
        assert_eq!(auth.access_key_id, "K");
    }

    #[test]
    fn another_algorithm_is_refused() {
        let error = parse_authorization("AWS AKID:signature").unwrap_err();
        assert_eq!(error, MalformedAuthorization::Algorithm("AWS".into()));
    }

    #[test]
    fn each_missing_parameter_is_named() {
        for (header, missing) in [
            (
                "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=ab",
                "Credential",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=K/20150830/r/s/aws4_request, Signature=ab",
                "SignedHeaders",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=K/20150830/r/s/aws4_request, SignedHeaders=host",
                "Signature",
            ),
        ] {
            let error = parse_authorization(header).unwrap_err();
            assert_eq!(error, MalformedAuthorization::MissingParameter(missing));
            assert!(error.to_string().contains(missing));
        }
    }

    #[test]
    fn a_short_or_empty_credential_scope_is_refused() {
        for credential in [
            "K/20150830/r/s",
            "K/20150830/r/s/aws4_request/x",
            "K//r/s/aws4_request",
        ] {
            let header = format!(
                "AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=ab"
            );
            assert_eq!(
                parse_authorization(&header).unwrap_err(),
                MalformedAuthorization::Credential,
                "{credential}"
            );
        }
    }

    #[test]
    fn a_parameter_without_a_value_is_refused() {
        let error = parse_authorization("AWS4-HMAC-SHA256 Credential").unwrap_err();
        assert_eq!(
            error,
            MalformedAuthorization::Parameter("Credential".into())
        );
    }

    #[test]
    fn clock_skew_allows_fifteen_minutes_either_way() {
        let now = parse_amz_date("20260101T120000Z").unwrap();
        let at = |text: &str| check_clock_skew(text, parse_amz_date(text).unwrap(), now);
        assert!(at("20260101T114500Z").is_ok());
        assert!(at("20260101T121500Z").is_ok());
        let expired = at("20260101T114459Z").unwrap_err();
        assert_eq!(
            expired.message,
            "Signature expired: 20260101T114459Z is now earlier than 20260101T114500Z \
             (20260101T120000Z - 15 min.)"
        );
        let early = at("20260101T121501Z").unwrap_err();
        assert!(
            early.message.starts_with("Signature not yet current"),
            "{}",
            early.message
        );
        assert_eq!(early.code, "InvalidSignatureException");
    }
}
