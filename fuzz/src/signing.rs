//! SigV4 headers from aws-sigv4, computed as a client computes them: the endpoint's verifier
//! re-signs with the same crate, so a request signed here with the device key is one the
//! endpoint must accept, and one signed with any other secret is one it must refuse.

use std::time::SystemTime;

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

/// What is signed: the request line, the headers (`host` among them), the body.
#[derive(Clone, Copy, Debug)]
pub struct Signable<'a> {
    pub method: &'a str,
    pub path_and_query: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// The headers aws-sigv4 adds (`x-amz-date`, `authorization`), or `None` when it cannot sign
/// the request at all (aws-sigv4 refuses some URIs and header values).
pub fn sign_headers(
    request: Signable<'_>,
    key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Option<Vec<(String, String)>> {
    // The endpoint re-signs with this placeholder authority; the `host` header is what counts.
    let url = format!("http://localhost{}", request.path_and_query);
    let signable = SignableRequest::new(
        request.method,
        url,
        request
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
        SignableBody::Bytes(request.body),
    )
    .ok()?;
    let identity =
        aws_credential_types::Credentials::new(key_id, secret, None, None, "fuzz").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .ok()?
        .into();
    let (instructions, _) = sign(signable, &params).ok()?.into_parts();
    Some(
        instructions
            .headers()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect(),
    )
}
