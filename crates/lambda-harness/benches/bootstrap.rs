//! End-to-end figures for the Lambda binaries, each started as a process under the loopback
//! Runtime API as Lambda starts it:
//! - time from process start to its first `GET /next` (20 starts each, median and max);
//! - peak resident memory (VmHWM) after handling one 1,000-record batch against moto (the
//!   custom-resource provider: one CloudFormation Delete, answered to a loopback ResponseURL);
//! - with `PACKAGES` naming `target/lambda-assets/x86_64`, the same for each binary as
//!   shipped (cargo-lambda's build, unzipped from its package) beside the test build;
//! - side by side, in the same run, a Node.js function loading the AWS SDK for JavaScript v2, as
//!   the 2015 functions did (if `NODE_BASELINE` names a folder holding `node_modules/aws-sdk`).
//!
//! Run by `scripts/bench`, which builds the release binaries, starts moto and installs the
//! baseline; by hand: `MOTO_ENDPOINT=... cargo bench -p lambda-harness --bench bootstrap`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeZone, Utc};
use lambda_harness::{FunctionProcess, Outcome, moto};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use telemetry::events::RecordSource;

const STARTS: usize = 20;

fn release_binary(name: &str) -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let path = target.join("release").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --release --bins` first",
        path.display()
    );
    path
}

/// The `bootstrap` of package `<packages>/<name>/bootstrap.zip`, unzipped into `into`.
fn packaged_binary(packages: &Path, name: &str, into: &Path) -> PathBuf {
    let zip = packages.join(name).join("bootstrap.zip");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    let mut entry = archive.by_name("bootstrap").unwrap();
    std::fs::create_dir_all(into.join(name)).unwrap();
    let binary = into.join(name).join("bootstrap");
    std::io::copy(&mut entry, &mut std::fs::File::create(&binary).unwrap()).unwrap();
    let mut permissions = std::fs::metadata(&binary).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&binary, permissions).unwrap();
    binary
}

/// A loopback stand-in for CloudFormation's pre-signed ResponseURL: every PUT gets 200.
async fn response_sink() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/{*key}", axum::routing::put(|| async { "" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/answer")
}

/// A CloudFormation Delete the provider answers without a Lambda API call (the id is not a
/// mapping's, as after a Create that failed).
fn provider_delete(response_url: &str) -> Value {
    serde_json::json!({
        "RequestType": "Delete",
        "RequestId": "6a8c3bde-95d4-4a4c-9c53-0b1f6a0e2f11",
        "ResponseURL": response_url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/bench/0b7c1a30-1f2e-11f0-9d4a-0a1b2c3d4e5f",
        "ResourceType": "Custom::KinesisEventSourceMapping",
        "LogicalResourceId": "WriterMapping",
        "PhysicalResourceId": "not-created-bench",
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:bench-provider",
        "ResourceProperties": {}
    })
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn batch(records: usize) -> Value {
    let source = RecordSource::demo();
    let arrival = Utc::now();
    let start = Utc
        .with_ymd_and_hms(2026, 11, 27, 0, 0, 0)
        .single()
        .unwrap();
    let event = RecordSource::event(
        (0..records)
            .map(|i| {
                let ts = (start + chrono::Duration::milliseconds(i as i64)).to_rfc3339();
                let data = serde_json::json!({"sensorid": format!("sensor-{}", i % 20), "value": format!("{}.5", i % 40), "timestamp": ts});
                source.record(&(i + 1).to_string(), "k", serde_json::to_vec(&data).unwrap(), arrival)
            })
            .collect(),
    );
    serde_json::to_value(event).unwrap()
}

struct Row {
    name: String,
    median_ms: f64,
    max_ms: f64,
    peak_rss_mib: f64,
}

async fn measure(
    name: &str,
    program: &Path,
    args: &[&str],
    env: &[(&str, String)],
    event: &Value,
) -> Row {
    let mut starts = Vec::with_capacity(STARTS);
    for _ in 0..STARTS {
        let function = FunctionProcess::start_with_args(program, args, env)
            .await
            .unwrap();
        let took = function.time_to_first_poll(Duration::from_secs(10)).await;
        starts.push(
            took.unwrap_or_else(|| panic!("{name} never polled: {:?}", function.log_lines())),
        );
    }
    starts.sort();
    let mut function = FunctionProcess::start_with_args(program, args, env)
        .await
        .unwrap();
    let outcome = function
        .invoke(event, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        matches!(outcome, Outcome::Response(_)),
        "{name}: {outcome:?}"
    );
    let pid = function.pid().unwrap();
    Row {
        name: name.to_owned(),
        median_ms: starts[STARTS / 2].as_secs_f64() * 1e3,
        max_ms: starts[STARTS - 1].as_secs_f64() * 1e3,
        peak_rss_mib: peak_rss_kib(pid) as f64 / 1024.0,
    }
}

#[tokio::main]
async fn main() {
    let endpoint = moto::endpoint().unwrap_or_else(|e| panic!("{e}"));
    let config = moto::sdk_config(&endpoint).await;
    let table = moto::unique_name("bench-SensorData");
    moto::create_sensor_table(&config, &table).await.unwrap();
    let bucket = moto::unique_name("bench-archive");
    aws_sdk_s3::Client::new(&config)
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();

    let mut env = moto::function_env(&endpoint);
    env.extend([
        ("TABLE_NAME", table.clone()),
        ("ARCHIVE_BUCKET", bucket.clone()),
        ("METRICS_NAMESPACE", "Bench".to_owned()),
    ]);
    let records = batch(1000);
    let query = serde_json::json!({"operation": "query", "sensorid": "sensor-1"});

    let delete = provider_delete(&response_sink().await);
    let packages = std::env::var_os("PACKAGES").map(PathBuf::from);
    let unzipped = std::env::temp_dir().join(format!("bootstrap-bench-{}", std::process::id()));

    let mut rows = Vec::new();
    for (name, event) in [
        ("archiver", &records),
        ("writer", &records),
        ("query-api", &query),
        ("mapping-provider", &delete),
    ] {
        rows.push(measure(name, &release_binary(name), &[], &env, event).await);
        if let Some(packages) = &packages {
            let shipped = packaged_binary(packages, name, &unzipped);
            let label = format!("{name} (package)");
            rows.push(measure(&label, &shipped, &[], &env, event).await);
        }
    }
    if let Ok(baseline) = std::env::var("NODE_BASELINE") {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/node_bootstrap.js");
        let mut node_env = env.clone();
        node_env.push(("NODE_PATH", format!("{baseline}/node_modules")));
        let script = script.to_string_lossy().into_owned();
        rows.push(
            measure(
                "Node.js 20 + aws-sdk v2 (2015 style)",
                Path::new("/usr/bin/node"),
                &[&script],
                &node_env,
                &records,
            )
            .await,
        );
    }

    println!(
        "| function | start to first /next, median | max of {STARTS} | peak RSS after its request |"
    );
    println!("| --- | --- | --- | --- |");
    for row in rows {
        println!(
            "| {} | {:.1} ms | {:.1} ms | {:.1} MiB |",
            row.name, row.median_ms, row.max_ms, row.peak_rss_mib
        );
    }
    let _ = std::fs::remove_dir_all(&unzipped);
}
