//! End-to-end figures of the local target, with the stack definition's own settings (one
//! shard, the mappings' batch sizes and windows), over signed requests on loopback:
//!
//! 1. sustained ingest: the simulator puts signed PutRecords of 500 as fast as the target takes
//!    them; the clock stops when both consumers have caught up, so every reading is stored,
//!    archived and queryable;
//! 2. latency from an acknowledged put to queryable, at 5,000 readings per second;
//! 3. a query of the newest 20 readings of one sensor among 1,000,000, through a signed Invoke,
//!    through DynamoDB's `Query` (aws-sdk-dynamodb with the operator key) and through the
//!    handler core alone;
//! 4. put throughput alone, beside kinesalite (`KINESALITE` = its package folder), same
//!    simulator, same run.
//!
//! `cargo bench --workspace --bench local_target` (scripts/bench runs it with kinesalite).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use device_simulator::{Plan, Stop, Target};
use iot_stack::local::{Placement, settings};
use iot_stack::{StackDefinition, StackName};
use local_target::RunningTarget;
use local_target::shard_limits::ShardLimits;
use local_target::storage::stream::position_of;
use telemetry::reading::Reading;
use telemetry::timestamp::Timestamp;

fn percentile(samples: &mut [Duration], percent: usize) -> Duration {
    samples.sort_unstable();
    samples[(samples.len() * percent).div_ceil(100).max(1) - 1]
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

async fn start(dir: &Path) -> RunningTarget {
    let definition = StackDefinition::new("bench".parse::<StackName>().unwrap());
    let placement = Placement {
        state_dir: dir.join("state"),
        listen: "127.0.0.1:0".parse().unwrap(),
        testpage_dir: dir.to_owned(),
    };
    // The local target's own cost is measured, not Kinesis' limits (1,000 records/s a shard).
    let mut settings = settings(&definition, placement);
    settings.shard_limits = ShardLimits::Off;
    local_target::start(settings).await.unwrap()
}

fn simulator_target(target: &RunningTarget) -> Target {
    Target {
        endpoint_url: Some(format!("http://{}", target.address)),
        region: "us-east-1".to_owned(),
        stream_name: "bench-IoTEventStream".to_owned(),
        credentials: target.key.clone(),
    }
}

async fn sdk(target: &Target) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(target.region.clone()))
        .endpoint_url(target.endpoint_url.clone().unwrap())
        .credentials_provider(target.credentials.clone())
        .load()
        .await
}

async fn ingest() {
    let dir = tempfile::tempdir().unwrap();
    let target = start(dir.path()).await;
    let readings = 200_000;
    let plan = Plan::new(1_000, 1_000_000, Stop::Count(readings), 500).unwrap();
    let started = Instant::now();
    let report = device_simulator::run(&simulator_target(&target), &plan, |_| {}).await;
    let acknowledged = started.elapsed();
    assert_eq!(report.sent, readings, "{:?}", report.first_error);
    while !target.caught_up(Duration::from_secs(1)).await {
        let (archiver, writer) = target.lag();
        eprintln!(
            "  {:>5.1} s: lag archiver {archiver}, writer {writer}",
            started.elapsed().as_secs_f64()
        );
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "consumers did not catch up"
        );
    }
    let everything = started.elapsed();
    assert_eq!(target.table.count_blocking().unwrap(), readings);
    println!(
        "ingest, end to end: {readings} readings in PutRecords of 500 -> stored, archived, queryable in {:.2} s = {:.0} readings/s (puts acknowledged after {:.2} s = {:.0}/s; PutRecords p50 {}, p99 {})",
        everything.as_secs_f64(),
        readings as f64 / everything.as_secs_f64(),
        acknowledged.as_secs_f64(),
        readings as f64 / acknowledged.as_secs_f64(),
        ms(report.latency.p50),
        ms(report.latency.p99),
    );
    target.stop().await.unwrap();
}

async fn latency() {
    let dir = tempfile::tempdir().unwrap();
    let target = start(dir.path()).await;
    let client = aws_sdk_kinesis::Client::new(&sdk(&simulator_target(&target)).await);
    let stats = target.stats.clone();
    // 100 readings every 20 ms: 5,000 readings per second, for 20 seconds.
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    let mut waiting: Vec<(Instant, u64)> = Vec::new();
    let mut samples = Vec::new();
    let mut n = 0u64;
    let end = Instant::now() + Duration::from_secs(20);
    let watcher = {
        let stats = stats.clone();
        move |waiting: &mut Vec<(Instant, u64)>, samples: &mut Vec<Duration>| {
            let done = stats.writer_consumer.checkpoints[0].load(Ordering::Relaxed);
            waiting.retain(|(acked, position)| {
                if *position <= done {
                    samples.push(acked.elapsed());
                    false
                } else {
                    true
                }
            });
        }
    };
    let mut poll = tokio::time::interval(Duration::from_millis(1));
    while Instant::now() < end || !waiting.is_empty() {
        tokio::select! {
            _ = ticker.tick(), if Instant::now() < end => {
                let entries = (0..100).map(|i| {
                    n += 1;
                    let sensor = format!("lat-{}", i % 10);
                    let ts = Timestamp::from_millis(1_790_000_000_000 + n as i64).unwrap();
                    let body = serde_json::json!({"sensorid": sensor, "value": n, "timestamp": ts.to_string()});
                    PutRecordsRequestEntry::builder().partition_key(sensor).data(Blob::new(serde_json::to_vec(&body).unwrap())).build().unwrap()
                }).collect::<Vec<_>>();
                let output = client.put_records().stream_name("bench-IoTEventStream").set_records(Some(entries)).send().await.unwrap();
                let acked = Instant::now();
                let last = output.records().iter().filter_map(|r| position_of(r.sequence_number()?)).map(|(_, p)| p).max().unwrap();
                waiting.push((acked, last));
            }
            _ = poll.tick() => watcher(&mut waiting, &mut samples),
        }
    }
    let calls = samples.len();
    println!(
        "latency, put acknowledged -> queryable at 5,000 readings/s for 20 s ({calls} calls of 100): p50 {}, p90 {}, p99 {}, max {}",
        ms(percentile(&mut samples, 50)),
        ms(percentile(&mut samples, 90)),
        ms(percentile(&mut samples, 99)),
        ms(percentile(&mut samples, 100)),
    );
    target.stop().await.unwrap();
}

async fn query() {
    let dir = tempfile::tempdir().unwrap();
    let target = start(dir.path()).await;
    let (sensors, per_sensor) = (1_000, 1_000);
    for s in 0..sensors {
        let readings: Vec<Reading> = (0..per_sensor)
            .map(|i| Reading {
                sensor_id: format!("q-{s:04}"),
                timestamp: Timestamp::from_millis(1_790_000_000_000 + i * 1000).unwrap(),
                value: i as f64,
            })
            .collect();
        target.table.put_blocking(&readings).unwrap();
    }
    assert_eq!(target.table.count_blocking().unwrap(), 1_000_000);
    let lambda = aws_sdk_lambda::Client::new(&sdk(&simulator_target(&target)).await);
    let operator = Target {
        credentials: target.operator_key.clone(),
        ..simulator_target(&target)
    };
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk(&operator).await);
    let mut invoke = Vec::new();
    let mut table_api = Vec::new();
    let mut core = Vec::new();
    for i in 0..5_000 {
        let request = serde_json::json!({"operation": "query", "sensorid": format!("q-{:04}", (i * 7919) % sensors)});
        let started = Instant::now();
        let output = lambda
            .invoke()
            .function_name("bench-IoTAPI")
            .payload(aws_sdk_lambda::primitives::Blob::new(
                serde_json::to_vec(&request).unwrap(),
            ))
            .send()
            .await
            .unwrap();
        invoke.push(started.elapsed());
        assert!(output.function_error().is_none());
        let sensor = request["sensorid"].as_str().unwrap().to_owned();
        let started = Instant::now();
        let output = dynamodb
            .query()
            .table_name("bench-SensorData")
            .key_condition_expression("SensorId = :s")
            .expression_attribute_values(":s", aws_sdk_dynamodb::types::AttributeValue::S(sensor))
            .scan_index_forward(false)
            .limit(20)
            .send()
            .await
            .unwrap();
        table_api.push(started.elapsed());
        assert_eq!(output.count(), 20);
        let started = Instant::now();
        let answer = telemetry::handlers::answer_query(&target.table, &request)
            .await
            .unwrap();
        core.push(started.elapsed());
        assert_eq!(answer.count, 20);
    }
    println!(
        "query, newest 20 of one sensor among 1,000,000 readings (5,000 queries): signed Invoke p50 {}, p99 {}; signed DynamoDB Query p50 {}, p99 {}; handler core on the table p50 {}, p99 {}",
        ms(percentile(&mut invoke, 50)),
        ms(percentile(&mut invoke, 99)),
        ms(percentile(&mut table_api, 50)),
        ms(percentile(&mut table_api, 99)),
        ms(percentile(&mut core, 50)),
        ms(percentile(&mut core, 99)),
    );
    target.stop().await.unwrap();
}

/// kinesalite on a free port with its records on disk (LevelDB), killed on drop.
struct Kinesalite(Child);

impl Drop for Kinesalite {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn put_side_by_side() {
    let plan = Plan::new(1_000, 1_000_000, Stop::Count(100_000), 500).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = start(dir.path()).await;
    let local = device_simulator::run(&simulator_target(&target), &plan, |_| {}).await;
    target.stop().await.unwrap();
    println!(
        "put only, local target: {} readings acknowledged (durable) in {:.2} s = {:.0} readings/s; PutRecords p50 {}, p99 {}",
        local.sent,
        local.elapsed.as_secs_f64(),
        local.throughput(),
        ms(local.latency.p50),
        ms(local.latency.p99)
    );

    let Ok(package) = std::env::var("KINESALITE") else {
        println!(
            "put only, kinesalite: not run (set KINESALITE to its package folder; scripts/bench does)"
        );
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = tempfile::tempdir().unwrap();
    let _kinesalite = Kinesalite(
        // Its own command line listens on every interface; this listens on loopback only.
        Command::new("node")
            .args([
                "-e",
                "require(process.argv[1])({path: process.argv[3], createStreamMs: 0}).listen(+process.argv[2], '127.0.0.1')",
            ])
            .arg(&package)
            .arg(port.to_string())
            .arg(data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let target = Target {
        endpoint_url: Some(format!("http://127.0.0.1:{port}")),
        region: "us-east-1".to_owned(),
        stream_name: "bench-IoTEventStream".to_owned(),
        credentials: aws_sdk_kinesis::config::Credentials::new(
            "AKIAKINESALITE000000",
            "kinesalite-accepts-any-secret",
            None,
            None,
            "bench",
        ),
    };
    let client = aws_sdk_kinesis::Client::new(&sdk(&target).await);
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        if client
            .create_stream()
            .stream_name("bench-IoTEventStream")
            .shard_count(1)
            .send()
            .await
            .is_ok()
        {
            break;
        }
        assert!(Instant::now() < until, "kinesalite did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let other = device_simulator::run(&target, &plan, |_| {}).await;
    println!(
        "put only, kinesalite 3.3.3 (LevelDB on disk): {} readings acknowledged in {:.2} s = {:.0} readings/s; PutRecords p50 {}, p99 {}; failed {} {:?}",
        other.sent,
        other.elapsed.as_secs_f64(),
        other.throughput(),
        ms(other.latency.p50),
        ms(other.latency.p99),
        other.failed,
        other.first_error
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |name: &str| only.as_deref().is_none_or(|o| name.contains(o));
    runtime.block_on(async {
        if wanted("ingest") {
            ingest().await;
        }
        if wanted("latency") {
            latency().await;
        }
        if wanted("query") {
            query().await;
        }
        if wanted("put") {
            put_side_by_side().await;
        }
    });
}
