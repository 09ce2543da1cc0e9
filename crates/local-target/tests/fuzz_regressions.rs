#![allow(clippy::unwrap_used, clippy::expect_used)]
//! What the fuzz targets found, each kept as the input that showed it (fuzz/, scripts/fuzz).

mod support;

use std::time::{Duration, SystemTime};

use axum::http::Request;
use axum::http::request::Parts;
use local_target::device_api::DeviceKey;
use local_target::endpoint::auth::Verifier;
use support::{KEY_ID, REGION, Raw, SECRET};

fn signed_at() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_780_800)
}

/// A request as sent: the headers of `raw`, then `extra` appended.
fn parts(raw: &Raw, extra: &[(&str, &str)]) -> Parts {
    let mut builder = Request::builder().method(raw.method).uri(&raw.path);
    for (name, value) in &raw.headers {
        builder = builder.header(name, value);
    }
    for (name, value) in extra {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap().into_parts().0
}

fn check(parts: &Parts, body: &[u8]) -> Result<(), &'static str> {
    Verifier::new(
        DeviceKey::new(KEY_ID, SECRET, None, None, "test"),
        REGION.into(),
    )
    .check(parts, body, "kinesis", signed_at())
}

/// sigv4: a signed request with a second `x-amz-date` value appended was accepted, because
/// aws-sigv4 re-signs with its own single date header and the endpoint read the first value.
#[test]
fn a_second_x_amz_date_header_is_refused() {
    let raw = Raw {
        method: "POST",
        path: "/".into(),
        headers: vec![("host".into(), "localhost".into())],
        body: Vec::new(),
    }
    .signed("http://localhost", SECRET, "kinesis", signed_at());
    assert_eq!(check(&parts(&raw, &[]), &raw.body), Ok(()));
    assert_eq!(
        check(&parts(&raw, &[("x-amz-date", "again")]), &raw.body),
        Err("InvalidSignatureException")
    );
}

/// The same for the body hash header, which aws-sigv4 also writes itself when it is signed.
#[test]
fn a_second_x_amz_content_sha256_header_is_refused() {
    let body = b"{}".to_vec();
    let hash = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    let raw = Raw {
        method: "POST",
        path: "/".into(),
        headers: vec![
            ("host".into(), "localhost".into()),
            ("x-amz-content-sha256".into(), hash.into()),
        ],
        body,
    }
    .signed("http://localhost", SECRET, "kinesis", signed_at());
    assert_eq!(check(&parts(&raw, &[]), &raw.body), Ok(()));
    assert_eq!(
        check(
            &parts(&raw, &[("x-amz-content-sha256", "again")]),
            &raw.body
        ),
        Err("InvalidSignatureException")
    );
}
