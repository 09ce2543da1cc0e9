#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The SigV4 verifier's invariant on generated requests, at the scale of the ordinary test run
//! (fuzz/fuzz_targets/sigv4.rs checks it at a far larger one): a request signed by aws-sigv4
//! with the device key is accepted within the 15 minutes, and one signed with another secret,
//! or changed after signing in any part the signature covers, is refused.

mod support;

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, Request};
use local_target::device_api::DeviceKey;
use local_target::endpoint::auth::Verifier;
use proptest::prelude::*;
use proptest::test_runner::Config;
use support::{KEY_ID, REGION, SECRET};

/// 2026-11-27T12:00:00Z.
fn signed_at() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_780_800)
}

#[derive(Clone, Debug)]
struct Generated {
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    service: &'static str,
}

fn generated() -> impl Strategy<Value = Generated> {
    (
        prop::sample::select(vec![Method::POST, Method::GET, Method::PUT]),
        "(/[a-zA-Z0-9._~%-]{0,8}){1,3}(\\?[a-z]{1,4}=[a-zA-Z0-9%]{0,6}(&[a-z]{1,3}=[0-9]{0,3})?)?",
        prop::collection::vec(("[a-z][a-z0-9-]{0,10}", "[ -~]{0,16}"), 0..4),
        prop::collection::vec(any::<u8>(), 0..64),
        prop::sample::select(vec!["kinesis", "lambda"]),
    )
        .prop_map(|(method, path, headers, body, service)| Generated {
            method,
            path,
            // SigV4 sets these itself; host is what the endpoint reads the signed authority from.
            headers: headers
                .into_iter()
                .filter(|(n, _)| !n.starts_with("x-amz-") && n != "authorization" && n != "host")
                .chain([("host".to_owned(), "127.0.0.1:4567".to_owned())])
                .collect(),
            body,
            service,
        })
}

/// The request signed by aws-sigv4 with `secret`, as parts and body.
fn signed(request: &Generated, secret: &str) -> Option<(Parts, Vec<u8>)> {
    let signable = SignableRequest::new(
        request.method.as_str(),
        format!("http://localhost{}", request.path),
        request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Bytes(&request.body),
    )
    .ok()?;
    let identity = DeviceKey::new(KEY_ID, secret, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name(request.service)
        .time(signed_at())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let (instructions, _) = sign(signable, &params).ok()?.into_parts();
    let mut builder = Request::builder()
        .method(request.method.clone())
        .uri(&request.path);
    for (name, value) in request
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .chain(instructions.headers())
    {
        builder = builder.header(name, value);
    }
    Some((builder.body(()).ok()?.into_parts().0, request.body.clone()))
}

/// A change to a part the signature covers.
#[derive(Clone, Debug)]
enum Change {
    Body(u8),
    Method,
    Path,
    Query,
    SignedHeader(usize),
    Signature(usize),
    Region,
    Date(i64),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        any::<u8>().prop_map(Change::Body),
        Just(Change::Method),
        Just(Change::Path),
        Just(Change::Query),
        any::<usize>().prop_map(Change::SignedHeader),
        (0usize..64).prop_map(Change::Signature),
        Just(Change::Region),
        prop_oneof![-600i64..0, 1i64..600].prop_map(Change::Date),
    ]
}

fn apply(change: &Change, parts: &mut Parts, body: &mut Vec<u8>) {
    let auth = parts.headers["authorization"].to_str().unwrap().to_owned();
    let set_auth = |parts: &mut Parts, value: String| {
        parts
            .headers
            .insert("authorization", HeaderValue::from_str(&value).unwrap());
    };
    match change {
        Change::Body(byte) => body.push(*byte),
        Change::Method => {
            parts.method = if parts.method == Method::DELETE {
                Method::PATCH
            } else {
                Method::DELETE
            };
        }
        Change::Path => parts.uri = format!("{}x", parts.uri.path()).parse().unwrap(),
        Change::Query => {
            let query = parts
                .uri
                .query()
                .map_or("z=1".to_owned(), |q| format!("{q}&z=1"));
            parts.uri = format!("{}?{query}", parts.uri.path()).parse().unwrap();
        }
        Change::SignedHeader(which) => {
            let list = auth
                .split("SignedHeaders=")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap();
            let names: Vec<&str> = list.split(';').collect();
            let name = names[which % names.len()];
            let mut value = parts.headers[name].as_bytes().to_vec();
            value.push(b'!');
            parts.headers.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(&value).unwrap(),
            );
        }
        Change::Signature(at) => {
            let start = auth.find("Signature=").unwrap() + "Signature=".len() + at;
            let mut bytes = auth.into_bytes();
            bytes[start] = if bytes[start] == b'0' { b'1' } else { b'0' };
            set_auth(parts, String::from_utf8(bytes).unwrap());
        }
        Change::Region => set_auth(parts, auth.replace("/us-east-1/", "/us-east-2/")),
        Change::Date(seconds) => {
            let date = parts.headers["x-amz-date"].to_str().unwrap();
            let date = chrono::NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ").unwrap()
                + chrono::Duration::seconds(*seconds);
            let text = date.format("%Y%m%dT%H%M%SZ").to_string();
            parts
                .headers
                .insert("x-amz-date", HeaderValue::from_str(&text).unwrap());
        }
    }
}

fn verifier() -> Verifier {
    Verifier::new(
        DeviceKey::new(KEY_ID, SECRET, None, None, "test"),
        REGION.into(),
    )
}

fn at(skew: i64) -> SystemTime {
    if skew >= 0 {
        signed_at() + Duration::from_secs(skew.unsigned_abs())
    } else {
        signed_at() - Duration::from_secs(skew.unsigned_abs())
    }
}

proptest! {
    #![proptest_config(Config { cases: 256, failure_persistence: None, ..Config::default() })]

    #[test]
    fn signed_with_the_key_in_time_is_accepted(request in generated(), skew in -900i64..=900) {
        let Some((parts, body)) = signed(&request, SECRET) else { return Ok(()) };
        prop_assert_eq!(verifier().check(&parts, &body, request.service, at(skew)), Ok(()));
    }

    #[test]
    fn late_early_or_another_secret_is_refused(
        request in generated(),
        late in prop_oneof![-1500i64..-900, 901i64..1500],
        skew in -900i64..=900,
    ) {
        let Some((parts, body)) = signed(&request, SECRET) else { return Ok(()) };
        prop_assert!(verifier().check(&parts, &body, request.service, at(late)).is_err());
        let (parts, body) = signed(&request, "another/secret").unwrap();
        prop_assert_eq!(
            verifier().check(&parts, &body, request.service, at(skew)),
            Err("InvalidSignatureException")
        );
    }

    #[test]
    fn any_change_after_signing_is_refused(request in generated(), change in change()) {
        let Some((mut parts, mut body)) = signed(&request, SECRET) else { return Ok(()) };
        apply(&change, &mut parts, &mut body);
        let outcome = verifier().check(&parts, &body, request.service, signed_at());
        prop_assert!(outcome.is_err(), "{:?} accepted", change);
    }
}
