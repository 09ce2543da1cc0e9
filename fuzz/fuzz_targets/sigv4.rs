//! The endpoint's SigV4 verifier against requests signed by aws-sigv4, as a client signs them,
//! then changed.
//!
//! A request made up by the fuzzer is signed with the device key or with another secret, at a
//! fixed instant, and checked by the verifier at an instant up to 20 minutes either side,
//! possibly after one change to a part the signature covers (the body, the method, the path,
//! the query, a signed header, the list of signed headers, the credential scope, the date, the
//! signature itself, or the whole `Authorization` header replaced by the fuzzer's text).
//! - Accepted exactly when it is unchanged, signed with the key and inside the 15 minutes.
//! - Every refusal is one of AWS' authentication error codes.
#![no_main]

use std::time::{Duration, SystemTime};

use arbitrary::{Arbitrary, Unstructured};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, Request};
use iot_fuzz::signing::{Signable, sign_headers};
use iot_fuzz::{KEY_ID, REGION, SECRET, request};
use libfuzzer_sys::fuzz_target;
use local_target::device_api::DeviceKey;
use local_target::endpoint::auth::{MAX_CLOCK_SKEW, Verifier};

/// 2026-11-27T12:00:00Z, when every request is signed.
const SIGNED_AT: u64 = 1_795_780_800;
const REFUSALS: [&str; 4] = [
    "IncompleteSignatureException",
    "InvalidSignatureException",
    "UnrecognizedClientException",
    "MissingAuthenticationTokenException",
];

#[derive(Arbitrary, Debug)]
struct Setup {
    with_another_secret: bool,
    for_lambda: bool,
    /// Seconds from signing to checking, -1200..=1200 after reduction.
    skew: i16,
    change: Option<Change>,
}

#[derive(Arbitrary, Debug)]
enum Change {
    BodyByte { at: u16, xor: u8 },
    Method(u8),
    PathAppend,
    QueryAppend,
    SignedHeaderAppend { which: u8, byte: u8 },
    SignedHeaderDropped(u8),
    SignedHeaderRepeated(u8),
    SignedHeadersListShort(u8),
    SignatureDigit { at: u8, digit: u8 },
    Scope { part: u8, text: String },
    Date(i16),
    SecurityToken,
    Authorization(String),
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(setup) = Setup::arbitrary(&mut u) else {
        return;
    };
    let Some(text) = request::parse(u.take_rest()) else {
        return;
    };
    let service = if setup.for_lambda {
        "lambda"
    } else {
        "kinesis"
    };
    let secret = if setup.with_another_secret {
        "another/secret/Key+that+is+not+the+device0"
    } else {
        SECRET
    };

    // What a client sends: its own headers (none that SigV4 itself sets), and a host.
    let mut headers: Vec<(String, String)> = Vec::new();
    for (name, value) in &text.headers {
        let name = name.as_str();
        if name == "authorization" || (name.starts_with("x-amz-") && name != "x-amz-target") {
            continue;
        }
        let Ok(value) = value.to_str() else { return };
        headers.push((name.to_owned(), value.to_owned()));
    }
    if !headers.iter().any(|(name, _)| name == "host") {
        headers.push(("host".into(), "localhost".into()));
    }
    let path_and_query = text
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let signed_at = SystemTime::UNIX_EPOCH + Duration::from_secs(SIGNED_AT);
    let signable = Signable {
        method: text.method.as_str(),
        path_and_query: &path_and_query,
        headers: &headers,
        body: &text.body,
    };
    let Some(added) = sign_headers(signable, KEY_ID, secret, REGION, service, signed_at) else {
        return;
    };
    headers.extend(added);

    let mut builder = Request::builder()
        .method(text.method.clone())
        .uri(&path_and_query);
    for (name, value) in &headers {
        builder = builder.header(name, value);
    }
    let (mut parts, ()) = builder.body(()).unwrap().into_parts();
    let mut body = text.body.clone();
    let changed = match &setup.change {
        None => false,
        Some(change) => apply(change, &mut parts, &mut body),
    };

    let skew = i64::from(setup.skew) % 1201;
    let now = if skew >= 0 {
        signed_at + Duration::from_secs(skew as u64)
    } else {
        signed_at - Duration::from_secs(skew.unsigned_abs())
    };
    let verifier = Verifier::new(
        DeviceKey::new(KEY_ID, SECRET, None, None, "fuzz"),
        REGION.into(),
    );
    let outcome = verifier.check(&parts, &body, service, now);
    let genuine =
        !setup.with_another_secret && !changed && skew.unsigned_abs() <= MAX_CLOCK_SKEW.as_secs();
    if genuine {
        assert_eq!(
            outcome,
            Ok(()),
            "a request signed with the key was refused: {parts:?}"
        );
    } else {
        let Err(code) = outcome else {
            panic!("accepted a request the key did not sign ({setup:?}): {parts:?}");
        };
        assert!(REFUSALS.contains(&code), "refused as {code}");
    }
});

/// Changes a part the signature covers; `false` if this change cannot apply to the request.
fn apply(change: &Change, parts: &mut Parts, body: &mut Vec<u8>) -> bool {
    let auth = parts
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let signed: Vec<String> = param(&auth, "SignedHeaders")
        .split(';')
        .map(str::to_owned)
        .collect();
    let pick = |which: u8| signed[usize::from(which) % signed.len()].clone();
    match change {
        Change::BodyByte { at, xor } => {
            if body.is_empty() {
                body.push(*xor);
            } else {
                let at = usize::from(*at) % body.len();
                body[at] ^= (*xor).max(1);
            }
        }
        Change::Method(n) => {
            let methods = [
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::DELETE,
                Method::PATCH,
            ];
            let others: Vec<&Method> = methods.iter().filter(|m| **m != parts.method).collect();
            parts.method = others[usize::from(*n) % others.len()].clone();
        }
        Change::PathAppend | Change::QueryAppend => {
            let path = parts.uri.path();
            let changed = match (change, parts.uri.query()) {
                (Change::PathAppend, Some(query)) => format!("{path}x?{query}"),
                (Change::PathAppend, None) => format!("{path}x"),
                (_, Some(query)) => format!("{path}?{query}&fuzz=1"),
                (_, None) => format!("{path}?fuzz=1"),
            };
            let Ok(uri) = changed.parse() else {
                return false;
            };
            parts.uri = uri;
        }
        Change::SignedHeaderAppend { which, byte } => {
            let name = pick(*which);
            // A visible character: SigV4 trims and folds spaces, so a space may change nothing.
            let byte = b'!' + byte % (b'~' - b'!' + 1);
            let Some(value) = parts.headers.get(&name) else {
                return false;
            };
            let mut value = value.as_bytes().to_vec();
            value.push(byte);
            parts
                .headers
                .insert(header_name(&name), HeaderValue::from_bytes(&value).unwrap());
        }
        Change::SignedHeaderDropped(which) => {
            parts.headers.remove(pick(*which));
        }
        Change::SignedHeaderRepeated(which) => {
            let name = pick(*which);
            parts
                .headers
                .append(header_name(&name), HeaderValue::from_static("again"));
        }
        Change::SignedHeadersListShort(which) => {
            let dropped = pick(*which);
            let list: Vec<&str> = signed
                .iter()
                .map(String::as_str)
                .filter(|n| *n != dropped)
                .collect();
            set_authorization(
                parts,
                auth.replace(param(&auth, "SignedHeaders"), &list.join(";")),
            );
        }
        Change::SignatureDigit { at, digit } => {
            let signature = param(&auth, "Signature");
            let at = usize::from(*at) % signature.len();
            let old = signature.as_bytes()[at];
            let hex = b"0123456789abcdef";
            let new = hex[usize::from(*digit) % 16];
            let new = if new == old {
                hex[(usize::from(*digit) + 1) % 16]
            } else {
                new
            };
            let mut changed = signature.as_bytes().to_vec();
            changed[at] = new;
            let changed = String::from_utf8(changed).unwrap();
            set_authorization(parts, auth.replace(signature, &changed));
        }
        Change::Scope { part, text } => {
            let credential = param(&auth, "Credential");
            let mut scope: Vec<&str> = credential.split('/').collect();
            let at = usize::from(*part) % scope.len();
            // The header's parser trims each parameter, as AWS does, so added spaces are no
            // change; a `/` or `,` would change the parameter's shape rather than its part.
            if scope[at] == text.as_str()
                || text.contains(['/', ','])
                || text.contains(char::is_whitespace)
            {
                return false;
            }
            scope[at] = text.as_str();
            let changed = format!("Credential={}", scope.join("/"));
            let value = auth.replace(&format!("Credential={credential}"), &changed);
            if HeaderValue::from_str(&value).is_err() {
                return false;
            }
            set_authorization(parts, value);
        }
        Change::Date(seconds) => {
            let seconds = i64::from(*seconds) % 600;
            if seconds == 0 {
                return false;
            }
            let date = parts.headers["x-amz-date"].to_str().unwrap();
            let date = chrono::NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ").unwrap()
                + chrono::Duration::seconds(seconds);
            let text = date.format("%Y%m%dT%H%M%SZ").to_string();
            parts
                .headers
                .insert("x-amz-date", HeaderValue::from_str(&text).unwrap());
        }
        Change::SecurityToken => {
            parts
                .headers
                .insert("x-amz-security-token", HeaderValue::from_static("token"));
        }
        Change::Authorization(text) => {
            let Ok(value) = HeaderValue::from_str(text) else {
                return false;
            };
            parts.headers.insert("authorization", value);
        }
    }
    true
}

/// A parameter's value in the `Authorization` header aws-sigv4 wrote.
fn param<'a>(auth: &'a str, name: &str) -> &'a str {
    let start = auth.find(&format!("{name}=")).unwrap() + name.len() + 1;
    let rest = &auth[start..];
    &rest[..rest.find(',').unwrap_or(rest.len())]
}

fn set_authorization(parts: &mut Parts, value: String) {
    parts
        .headers
        .insert("authorization", HeaderValue::from_str(&value).unwrap());
}

fn header_name(name: &str) -> HeaderName {
    HeaderName::from_bytes(name.as_bytes()).unwrap()
}
