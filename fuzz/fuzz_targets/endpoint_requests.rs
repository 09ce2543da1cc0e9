//! Requests through the local endpoint's real router (routes, CORS, request ids, the SigV4
//! middleware, the Kinesis, Lambda and page handlers), in memory, with local-target's
//! in-memory `DeviceApi` behind it. A request is written in the text form of
//! `iot_fuzz::request`; `x-fuzz-sign: kinesis|lambda` has it signed with the device key.
//!
//! - Never a 5xx (the port behind never fails here) and never a panic.
//! - A 4xx from an API route is in that API's error shape: Kinesis' JSON 1.1
//!   `{"__type", "message"}`, Lambda's `x-amzn-ErrorType` header and `{"Type", "message"}`.
//! - Every answer carries a request id.
//! - A refusal changes nothing (no record stored, no function run), and neither does a request
//!   that was not signed with the key.
//! - The device secret is in no answer but `config.js` to a page of this machine.
#![no_main]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Method, Request, StatusCode};
use iot_fuzz::signing::{Signable, sign_headers};
use iot_fuzz::{ACCOUNT, FUNCTION, KEY_ID, REGION, SECRET, STREAM, STREAM_ARN, request};
use libfuzzer_sys::fuzz_target;
use local_target::device_api::{DeviceKey, StreamDescription};
use local_target::endpoint::{EndpointSettings, may_read_secret_config, router};
use local_target::test_util::InMemoryDeviceApi;
use serde_json::Value;
use tower::ServiceExt;

const PORT: u16 = 4567;

/// The test page folder: an index and the `config.js` holding the secret, as the target
/// writes it.
fn page_dir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<h1>test page</h1>").unwrap();
        std::fs::create_dir(dir.path().join("css")).unwrap();
        std::fs::write(dir.path().join("css/page.css"), "h1 {}").unwrap();
        std::fs::write(
            dir.path().join("config.js"),
            format!("window.IOT_CONFIG = {{\"secretAccessKey\": \"{SECRET}\"}};\n"),
        )
        .unwrap();
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(text) = request::parse(data) else {
        return;
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for (name, value) in &text.headers {
        let signing_sets = matches!(name.as_str(), "authorization" | "x-amz-date");
        if text.sign_for.is_some() && signing_sets {
            continue;
        }
        match value.to_str() {
            Ok(value) => headers.push((name.as_str().to_owned(), value.to_owned())),
            // Only a header aws-sigv4 can read can be signed; unsigned, any value is sent.
            Err(_) if text.sign_for.is_none() => {}
            Err(_) => return,
        }
    }
    let path_and_query = text
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    if let Some(service) = &text.sign_for {
        if !headers.iter().any(|(name, _)| name == "host") {
            headers.push(("host".into(), format!("127.0.0.1:{PORT}")));
        }
        let signable = Signable {
            method: text.method.as_str(),
            path_and_query: &path_and_query,
            headers: &headers,
            body: &text.body,
        };
        let Some(added) =
            sign_headers(signable, KEY_ID, SECRET, REGION, service, SystemTime::now())
        else {
            return;
        };
        headers.extend(added);
    }

    let mut builder = Request::builder()
        .method(text.method.clone())
        .uri(&path_and_query);
    if text.sign_for.is_some() {
        for (name, value) in &headers {
            builder = builder.header(name, value);
        }
    } else {
        for (name, value) in &text.headers {
            builder = builder.header(name, value);
        }
    }
    let peer: SocketAddr = if text.remote_peer {
        "203.0.113.7:50000".parse().unwrap()
    } else {
        "127.0.0.1:50000".parse().unwrap()
    };
    // A service name the signature cannot carry (`x-fuzz-sign` with control characters)
    // makes a header no client could send.
    let Ok(mut request) = builder.body(axum::body::Body::from(text.body.clone())) else {
        return;
    };
    request.extensions_mut().insert(ConnectInfo(peer));
    let secret_allowed = {
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
        may_read_secret_config(peer.ip(), header("host"), header("sec-fetch-site"), PORT)
    };

    let api = Arc::new(InMemoryDeviceApi::new(
        StreamDescription {
            name: STREAM.into(),
            arn: STREAM_ARN.into(),
            shard_count: 2,
            retention_hours: 24,
            created: 1_764_000_000.5,
        },
        FUNCTION,
    ));
    let settings = EndpointSettings {
        region: REGION.into(),
        operator_key: None,
        owner: None,
        account_id: ACCOUNT.into(),
        key: DeviceKey::new(KEY_ID, SECRET, None, None, "fuzz"),
        testpage_dir: page_dir().path().to_path_buf(),
    };
    let local: SocketAddr = format!("127.0.0.1:{PORT}").parse().unwrap();
    let app = router(settings, api.clone(), local);

    let (status, response_headers, body) = iot_fuzz::runtime().block_on(async {
        let Ok(response) = app.oneshot(request).await;
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (parts.status, parts.headers, body)
    });

    assert!(
        !status.is_server_error(),
        "{status}: {}",
        String::from_utf8_lossy(&body)
    );
    assert!(
        response_headers.contains_key("x-amzn-requestid"),
        "no request id"
    );
    let api_route = api_route(&text.method, text.uri.path());
    if status.is_client_error() {
        match api_route {
            Some(Api::Kinesis) => {
                assert_eq!(
                    response_headers.get("content-type"),
                    Some(&HeaderValue::from_static("application/x-amz-json-1.1"))
                );
                error_body(&body, "__type");
            }
            Some(Api::Lambda) => {
                assert!(
                    response_headers.contains_key("x-amzn-errortype"),
                    "no error type"
                );
                assert_eq!(error_body(&body, "Type"), "User");
            }
            None => {}
        }
    }
    let changed = api.record_count() + api.invocation_count() > 0;
    if changed {
        assert!(
            status.is_success(),
            "a refusal ({status}) changed the stream or ran the function"
        );
        assert!(
            text.sign_for.is_some(),
            "an unsigned request changed the state"
        );
    }
    if status == StatusCode::OK && text.sign_for.is_none() {
        assert!(
            api_route.is_none() || text.method == Method::OPTIONS,
            "an unsigned API call succeeded"
        );
    }
    // An answer may quote the request (a refusal names the path), so a secret the request
    // itself carried is no leak.
    let holds_secret = |bytes: &[u8]| bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
    let leaked = holds_secret(&body) && !holds_secret(data);
    assert!(
        !leaked || secret_allowed,
        "the secret went to a page not of this machine"
    );
});

#[derive(Clone, Copy, Debug, PartialEq)]
enum Api {
    Kinesis,
    Lambda,
}

/// Which API a request is for, by the endpoint's documented rule: `POST /` is Kinesis, a path
/// whose first segment is a date (an API version) followed by more is Lambda.
fn api_route(method: &Method, path: &str) -> Option<Api> {
    if path == "/" {
        return (method == Method::POST).then_some(Api::Kinesis);
    }
    let (first, rest) = path.strip_prefix('/')?.split_once('/')?;
    let dated = first.len() == 10 && chrono::NaiveDate::parse_from_str(first, "%Y-%m-%d").is_ok();
    (dated && !rest.is_empty()).then_some(Api::Lambda)
}

/// The error body's `field` (the error type or fault), after checking the shape.
fn error_body(body: &[u8], field: &str) -> String {
    let value: Value = serde_json::from_slice(body)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(body)));
    assert!(value["message"].is_string(), "no message: {value}");
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field}: {value}"))
        .to_owned()
}
