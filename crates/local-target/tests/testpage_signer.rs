//! The test page's SigV4 signer (`testpage/sigv4.js`, run under `node`) signs every request the
//! page makes exactly as the aws-sigv4 crate does: Kinesis PutRecord and Lambda Invoke, for AWS
//! and for the local target, with non-ASCII UTF-8 bodies and sensor ids, header values with
//! runs of spaces, a function qualifier that needs percent-encoding in the path, and secrets
//! with `+`, `/` and `=`. Both sign at the same fixed instant; the Authorization headers must
//! be identical byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::SystemTime;

use aws_sdk_kinesis::config::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use serde_json::{Value, json};

struct Case {
    name: &'static str,
    url: String,
    service: &'static str,
    region: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    body: String,
    access_key_id: &'static str,
    secret_access_key: &'static str,
    date: &'static str,
}

const KINESIS_HEADERS: [(&str, &str); 2] = [
    ("Content-Type", "application/x-amz-json-1.1"),
    ("X-Amz-Target", "Kinesis_20131202.PutRecord"),
];
const LAMBDA_HEADERS: [(&str, &str); 1] = [("Content-Type", "application/json")];

/// A PutRecord body as the page builds it: the reading as JSON, base64 in `Data`.
fn put_record_body(stream: &str, sensor_id: &str, value: f64) -> String {
    use base64::Engine;
    let reading =
        json!({"sensorid": sensor_id, "value": value, "timestamp": "2026-11-02T08:15:30.123Z"});
    let data = base64::engine::general_purpose::STANDARD.encode(reading.to_string());
    json!({"StreamName": stream, "PartitionKey": sensor_id, "Data": data}).to_string()
}

fn cases() -> Vec<Case> {
    let odd_id = "Küche \"Ofen\" \\ 温度 🌡";
    let invoke_path = "/2015-03-31/functions/demo-IoTAPI/invocations";
    vec![
        Case {
            name: "kinesis on AWS, ASCII",
            url: "https://kinesis.eu-west-1.amazonaws.com/".into(),
            service: "kinesis",
            region: "eu-west-1",
            headers: KINESIS_HEADERS.to_vec(),
            body: put_record_body("demo-IoTEventStream", "sensor-1", 21.5),
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            date: "2026-11-02T08:15:30.123Z",
        },
        Case {
            name: "kinesis on AWS, quotes, backslash and non-ASCII sensor id",
            url: "https://kinesis.ap-northeast-1.amazonaws.com/".into(),
            service: "kinesis",
            region: "ap-northeast-1",
            headers: KINESIS_HEADERS.to_vec(),
            body: put_record_body("demo-IoTEventStream", odd_id, -3.25e-2),
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret_access_key: "a+b/c=d+e/f=g+h/i=j+k/l=m+n/o=p+q/r=s+t",
            date: "2026-12-31T23:59:59.999Z",
        },
        Case {
            name: "kinesis on the local target, header values with runs of spaces",
            url: "http://127.0.0.1:45678/".into(),
            service: "kinesis",
            region: "us-east-1",
            headers: vec![
                ("Content-Type", "  application/x-amz-json-1.1 "),
                ("X-Amz-Target", "Kinesis_20131202.PutRecord"),
                ("X-Page-Note", "two  spaces   and three"),
            ],
            body: put_record_body("local-IoTEventStream", "ünïcödé", 1e100),
            access_key_id: "AKIALOCALDEVICE",
            secret_access_key: "local/secret+with=signs",
            date: "2027-01-01T00:00:00.000Z",
        },
        Case {
            name: "lambda on AWS, non-ASCII query with a range, limit and token",
            url: format!("https://lambda.ap-southeast-2.amazonaws.com{invoke_path}"),
            service: "lambda",
            region: "ap-southeast-2",
            headers: LAMBDA_HEADERS.to_vec(),
            body: json!({
                "operation": "query",
                "sensorid": odd_id,
                "from": "2026-11-01T00:00:00.000Z",
                "to": "2026-11-02T00:00:00.000Z",
                "limit": 15,
                "next": "eyJzIjoiS8O8Y2hlIn0"
            })
            .to_string(),
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            date: "2026-11-02T08:15:30.000Z",
        },
        Case {
            name: "lambda on the local target, qualified function name (encoded path)",
            url: "http://127.0.0.1:45678/2015-03-31/functions/demo-IoTAPI%3Alive/invocations"
                .into(),
            service: "lambda",
            region: "us-east-1",
            headers: LAMBDA_HEADERS.to_vec(),
            body: json!({"operation": "query", "sensorid": "Ωmega-😀"}).to_string(),
            access_key_id: "AKIALOCALDEVICE",
            secret_access_key: "local/secret+with=signs",
            date: "2026-02-28T12:00:00.500Z",
        },
    ]
}

fn sign_with_aws_sigv4(case: &Case) -> String {
    let identity = Credentials::new(
        case.access_key_id,
        case.secret_access_key,
        None,
        None,
        "testpage-signer-test",
    )
    .into();
    let time: SystemTime = chrono::DateTime::parse_from_rfc3339(case.date)
        .unwrap()
        .to_utc()
        .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(case.region)
        .name(case.service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let request = SignableRequest::new(
        "POST",
        &case.url,
        case.headers.iter().copied(),
        SignableBody::Bytes(case.body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    let (headers, _) = instructions.into_parts();
    headers
        .iter()
        .find(|header| header.name().eq_ignore_ascii_case("authorization"))
        .map(|header| header.value().to_owned())
        .expect("aws-sigv4 sets Authorization")
}

fn sign_with_page(cases: &[Case]) -> Vec<String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testpage/test/sign_cli.mjs");
    let input: Vec<Value> = cases
        .iter()
        .map(|case| {
            json!({
                "method": "POST",
                "url": case.url,
                "headers": case.headers.iter().map(|(n, v)| (n.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
                "body": case.body,
                "region": case.region,
                "service": case.service,
                "accessKeyId": case.access_key_id,
                "secretAccessKey": case.secret_access_key,
                "date": case.date,
            })
        })
        .collect();
    let mut child = Command::new("node")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("`node` (version 20 or later) must be on PATH to run the test page's signer");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&input).unwrap().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "node {} failed: {}",
        script.display(),
        output.status
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_page_signs_like_aws_sigv4() {
    let cases = cases();
    let from_page = sign_with_page(&cases);
    assert_eq!(from_page.len(), cases.len());
    for (case, page) in cases.iter().zip(&from_page) {
        let expected = sign_with_aws_sigv4(case);
        assert_eq!(page, &expected, "case: {}", case.name);
    }
}

#[test]
fn the_comparison_can_fail() {
    // Guards against a comparison that passes on anything: one changed body byte after
    // signing must give another signature.
    let mut cases = cases();
    cases.truncate(1);
    let from_page = sign_with_page(&cases);
    cases[0].body.push(' ');
    assert_ne!(from_page[0], sign_with_aws_sigv4(&cases[0]));
}
