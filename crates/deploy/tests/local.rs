//! `deploy --local` as a process: it starts, writes the page's config, survives kill -9 without
//! losing an acknowledged reading, stops cleanly on a signal, and `destroy --local` removes it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use telemetry::timestamp::Timestamp;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use deploy::testpage_config::{Target, TestpageConfig};
use support::local::{LocalProcess, deploy_in_repository, local_args, run_bounded, start_local};

fn start(stack: &str, state: &Path, page: &Path) -> LocalProcess {
    start_local(&local_args(stack, state, page))
}

fn config(page: &Path) -> TestpageConfig {
    TestpageConfig::read(&page.join("config.js")).expect("config.js written")
}

async fn kinesis(config: &TestpageConfig) -> aws_sdk_kinesis::Client {
    let credentials = aws_sdk_kinesis::config::Credentials::new(
        config.key.access_key_id(),
        config.key.secret_access_key(),
        None,
        None,
        "config.js",
    );
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(config.stack.region.clone()))
        .endpoint_url(&config.stack.kinesis_endpoint)
        .credentials_provider(credentials)
        .load()
        .await;
    aws_sdk_kinesis::Client::from_conf(
        aws_sdk_kinesis::config::Builder::from(&sdk)
            // One attempt: a put that fails is not acknowledged, which is what this test counts.
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build(),
    )
}

/// The stored readings, (sensor, timestamp) -> value, read from the table file.
fn stored(state: &Path) -> HashMap<(String, String), f64> {
    let connection = rusqlite::Connection::open_with_flags(
        state.join("table.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut statement = connection
        .prepare("SELECT sensor_id, timestamp, value FROM readings")
        .unwrap();
    statement
        .query_map([], |row| Ok(((row.get(0)?, row.get(1)?), row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn timestamp(n: u64) -> String {
    Timestamp::parse("2026-11-27T00:00:00.000Z")
        .unwrap()
        .offset_millis(n as i64)
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_ingest_loses_no_acknowledged_reading() {
    let dir = tempfile::tempdir().unwrap();
    let (state, page) = (dir.path().join("state"), dir.path().join("page"));
    std::fs::create_dir(&page).unwrap();
    // 100,000 readings as fast as the target takes them: its durability is under test, not
    // Kinesis' limits (1,000 records a second a shard).
    let mut args = local_args("crash", &state, &page);
    args.extend(["--shard-limits", "off"].map(str::to_owned));
    let process = start_local(&args);
    let config = config(&page);
    assert_eq!(config.target, Target::Local);
    assert_eq!(
        config.stack.kinesis_endpoint,
        format!("http://{}", process.address)
    );
    let client = kinesis(&config).await;

    // 100,000 readings in calls of 500, four at a time; the process is killed halfway.
    let acknowledged: Arc<Mutex<Vec<(String, String, f64)>>> = Arc::default();
    let calls: Vec<u64> = (0..200).collect();
    let next = Arc::new(Mutex::new(calls.into_iter()));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (client, next, acknowledged, stream) = (
            client.clone(),
            next.clone(),
            acknowledged.clone(),
            config.stack.stream_name.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let Some(call) = next.lock().unwrap().next() else { return };
                let readings: Vec<(String, String, f64)> = (0..500)
                    .map(|i| {
                        let n = call * 500 + i;
                        (format!("crash-{}", n % 100), timestamp(n / 100), n as f64)
                    })
                    .collect();
                let entries = readings
                    .iter()
                    .map(|(sensor, ts, value)| {
                        let body = serde_json::json!({"sensorid": sensor, "value": value, "timestamp": ts});
                        PutRecordsRequestEntry::builder()
                            .partition_key(sensor)
                            .data(Blob::new(serde_json::to_vec(&body).unwrap()))
                            .build()
                            .unwrap()
                    })
                    .collect::<Vec<_>>();
                match client.put_records().stream_name(&stream).set_records(Some(entries)).send().await {
                    Ok(output) if output.failed_record_count() == Some(0) => {
                        acknowledged.lock().unwrap().extend(readings);
                    }
                    // After the kill every call fails; those readings were never acknowledged.
                    _ => return,
                }
            }
        }));
    }
    let until = Instant::now() + Duration::from_secs(120);
    while acknowledged.lock().unwrap().len() < 50_000 {
        assert!(
            Instant::now() < until,
            "ingest too slow to reach the kill point"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    process.signal("-KILL");
    for worker in workers {
        worker.await.unwrap();
    }
    drop(process);
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() < 100_000,
        "the kill came before the end of the ingest"
    );

    // Started again on the same state, the consumers resume and catch up.
    // 100,000 readings as fast as the target takes them: its durability is under test, not
    // Kinesis' limits (1,000 records a second a shard).
    let mut args = local_args("crash", &state, &page);
    args.extend(["--shard-limits", "off"].map(str::to_owned));
    let process = start_local(&args);
    let until = Instant::now() + Duration::from_secs(120);
    loop {
        let table = stored(&state);
        let missing = acknowledged
            .iter()
            .filter(|(sensor, ts, value)| table.get(&(sensor.clone(), ts.clone())) != Some(value))
            .count();
        if missing == 0 {
            break;
        }
        assert!(
            Instant::now() < until,
            "{missing} acknowledged readings missing after restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Ctrl-C stops it cleanly.
    let (status, stderr) = process.interrupt();
    assert!(status.success(), "{status}: {stderr}");
}

#[test]
fn destroy_local_removes_the_state_and_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let (state, page) = (dir.path().join("state"), dir.path().join("page"));
    std::fs::create_dir(&page).unwrap();
    let process = start("gone", &state, &page);
    drop(process);
    assert!(state.join("stream.db").exists());
    assert!(page.join("config.js").exists());
    let output = Command::new(env!("CARGO_BIN_EXE_deploy"))
        .args(["--stack-name", "gone", "--local", "--state-dir"])
        .arg(&state)
        .arg("--testpage-dir")
        .arg(&page)
        .args(["destroy", "--yes"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!state.exists());
    assert!(!page.join("config.js").exists());
}

#[test]
fn a_ten_second_simulation_reports_its_figures_and_every_reading_it_sent_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (state, page) = (dir.path().join("state"), dir.path().join("page"));
    std::fs::create_dir(&page).unwrap();
    let _process = start("sim", &state, &page);
    let output = Command::new(env!("CARGO_BIN_EXE_deploy"))
        .args(["--stack-name", "sim", "--testpage-dir"])
        .arg(&page)
        .args([
            "simulate",
            "--sensors",
            "20",
            "--rate",
            "500",
            "--duration",
            "10",
        ])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let field = |name: &str| -> String {
        report
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .unwrap_or_else(|| panic!("no `{name}` in the report:\n{report}"))
            .trim()
            .to_owned()
    };
    let sent: u64 = field("readings sent")
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(field("readings failed"), "0");
    assert!(sent >= 4_000, "10 s at 500/s: {sent}");
    assert!(field("throughput").ends_with("readings/s"));
    assert!(field("PutRecords calls").contains("p99"));
    assert!(!report.contains(config(&page).key.secret_access_key()));

    every_acknowledged_reading_is_stored(&state, sent);
}

/// Issue 15's point 5: 3,000 readings/s at one shard for 5 s, with the shard limits on by
/// default. The shard refuses what is over 1,000 records/s, the simulator resends with
/// backoff and reports the refusals, and the table holds exactly what was acknowledged.
#[test]
fn a_simulation_over_the_shard_limit_is_throttled_and_only_what_was_acknowledged_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (state, page) = (dir.path().join("state"), dir.path().join("page"));
    std::fs::create_dir(&page).unwrap();
    let _process = start("hot", &state, &page);
    let simulate = [
        "--stack-name",
        "hot",
        "--testpage-dir",
        page.to_str().unwrap(),
        "simulate",
        "--sensors",
        "20",
        "--rate",
        "3000",
        "--duration",
        "5",
        "--batch-size",
        "500",
    ]
    .map(str::to_owned);
    let ended = run_bounded(
        &mut deploy_in_repository(&simulate),
        Duration::from_secs(120),
    );
    let report = &ended.stdout;
    let number = |name: &str| -> u64 {
        report
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no `{name}` in the report:\n{report}\n{}", ended.stderr))
    };
    let (sent, failed, throttled) = (
        number("readings sent"),
        number("readings failed"),
        number("throttled"),
    );
    let seconds: f64 = report
        .lines()
        .find_map(|line| line.strip_prefix("elapsed"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(throttled > 0, "{report}");
    // A second's burst, then 1,000 a second (the last resends end after the plan's 5 s).
    assert!(
        (sent as f64) <= 1000.0 * seconds + 1000.0,
        "{sent} in {seconds} s:\n{report}"
    );
    assert!(sent >= 4_000, "{report}");
    // Readings given up after their last attempt fail the run and are named.
    assert_eq!(
        ended.status.success(),
        failed == 0,
        "{report}\n{}",
        ended.stderr
    );
    if failed > 0 {
        assert!(
            report.contains("ProvisionedThroughputExceededException: Rate exceeded for shard"),
            "{report}"
        );
    }

    every_acknowledged_reading_is_stored(&state, sent);
}

/// The line the start prints for the AWS CLI, run as printed: the real `aws` binary, with
/// nothing of the test's own AWS settings, gets the operator key, the region and the
/// endpoint from the profile the line names.
#[test]
fn the_printed_profile_line_gives_the_aws_cli_the_operator_key_and_the_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (state, page) = (dir.path().join("state"), dir.path().join("page"));
    std::fs::create_dir(&page).unwrap();
    let process = start("cli", &state, &page);
    let variables = profile_variables(&process);
    let names: Vec<&str> = variables.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_PROFILE"
        ]
    );
    assert_eq!(variables[2].1, "cli-local");
    let credentials = std::fs::read_to_string(&variables[1].1).unwrap();
    let secret = credentials
        .lines()
        .find_map(|line| line.strip_prefix("aws_secret_access_key = "))
        .unwrap();
    assert_ne!(secret, config(&page).key.secret_access_key());

    let device = device_variables(&page);
    let aws = |args: &[&str], as_device: bool| {
        aws_cli(
            dir.path(),
            if as_device { &device } else { &variables },
            args,
        )
    };
    let (ok, out, err) = aws(
        &[
            "kinesis",
            "describe-stream-summary",
            "--stream-name",
            "cli-IoTEventStream",
        ],
        false,
    );
    assert!(ok, "{out}{err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        summary["StreamDescriptionSummary"]["StreamName"],
        "cli-IoTEventStream"
    );
    let (ok, out, err) = aws(
        &[
            "kinesis",
            "put-record",
            "--stream-name",
            "cli-IoTEventStream",
            "--partition-key",
            "op-1",
            "--data",
            r#"{"sensorid": "op-1", "value": 7}"#,
        ],
        false,
    );
    assert!(ok, "{out}{err}");
    let (ok, out, err) = aws(
        &[
            "lambda",
            "invoke",
            "--function-name",
            "cli-IoTAPI",
            "--payload",
            r#"{"operation": "query", "sensorid": "op-1"}"#,
            "answer.json",
        ],
        false,
    );
    assert!(ok, "{out}{err}");
    // What the local target does not implement, it says so to the owner...
    let (ok, out, err) = aws(
        &[
            "kinesis",
            "list-shards",
            "--stream-name",
            "cli-IoTEventStream",
        ],
        false,
    );
    assert!(!ok, "{out}");
    assert!(
        err.contains("UnknownOperationException")
            && err.contains("does not implement kinesis:ListShards"),
        "{err}"
    );
    // ... and the device key may not, as on AWS.
    let (ok, out, err) = aws(
        &[
            "kinesis",
            "list-shards",
            "--stream-name",
            "cli-IoTEventStream",
        ],
        true,
    );
    assert!(!ok, "{out}");
    assert!(err.contains("AccessDeniedException"), "{err}");

    let printed = process.stdout() + &process.stderr();
    assert!(
        !printed.contains(secret),
        "the start printed the operator secret"
    );
}

/// Waits (60 s at most) until the table holds exactly the `sent` readings the simulator's
/// sensors had acknowledged, never more.
fn every_acknowledged_reading_is_stored(state: &Path, sent: u64) {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let stored = stored(state)
            .keys()
            .filter(|(sensor, _)| sensor.starts_with("sim-"))
            .count() as u64;
        assert!(
            stored <= sent,
            "more stored ({stored}) than acknowledged ({sent})"
        );
        if stored == sent {
            return;
        }
        assert!(
            Instant::now() < until,
            "{stored} of {sent} acknowledged readings stored after 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A Ctrl-C sent the moment "ready" is printed stops the target cleanly: the handlers are in
/// place before the line, so the signal never meets SIGINT's default action.
#[test]
fn ctrl_c_at_once_after_ready_is_a_clean_stop() {
    let root = tempfile::tempdir().unwrap();
    let page = root.path().join("page");
    std::fs::create_dir(&page).unwrap();
    for attempt in 0..10 {
        let (status, stderr) = start("ctrlc", &root.path().join("state"), &page).interrupt();
        assert!(status.success(), "attempt {attempt}: {status}\n{stderr}");
        assert!(
            stderr.contains("stopped; everything acknowledged is kept"),
            "{stderr}"
        );
    }
}

/// `deploy --local status`, run as a user runs it: (exit code, standard output, standard error).
fn status(stack: &str, state: &Path, page: &Path) -> (Option<i32>, String, String) {
    let mut args = local_args(stack, state, page);
    args.push("status".to_owned());
    let ended = run_bounded(&mut deploy_in_repository(&args), Duration::from_secs(60));
    (ended.status.code(), ended.stdout, ended.stderr)
}

/// A forced dead letter: the archive cannot be written (today's folder is a file), so the
/// archiver's batch fails its retries and goes to the failure queue. The local alarm on that
/// queue turns to ALARM on the console, and `status` reports it with exit code 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_turns_its_alarm_on_and_status_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let (state, page) = (dir.path().join("state"), dir.path().join("page"));
    std::fs::create_dir(&page).unwrap();
    let (code, _, stderr) = status("alarm", &state, &page);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("no local target of stack `alarm` has run in")
            && stderr.contains("--stack-name alarm --local"),
        "{stderr}"
    );

    let stack: iot_stack::stack_name::StackName = "alarm".parse().unwrap();
    let names = iot_stack::names::Names::new(&stack);
    let count = iot_stack::monitoring::alarms(&names, &iot_stack::monitoring::SUBJECTS).len();
    let process = start("alarm", &state, &page);
    let (code, stdout, stderr) = status("alarm", &state, &page);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("stack `alarm` (local, evaluated ")
            && stdout.contains(&format!("healthy, none of its {count} alarms in ALARM")),
        "{stdout}"
    );
    let alarm = format!(
        "{}-visible",
        names.failure_queue(iot_stack::names::FunctionKind::Archiver)
    );
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Tomorrow's too, should the batch arrive after midnight.
    for ms in [now_ms, now_ms + 86_400_000] {
        let day = Timestamp::from_millis(ms).unwrap().date();
        std::fs::write(state.join("archive").join(day), b"").unwrap();
    }
    // Three readings of this minute, in one call: the writer stores them and publishes their
    // statistic set; the archiver's batch fails, is bisected, and each record's part goes to
    // the failure queue on its own.
    let minute = Timestamp::from_millis(now_ms).unwrap().minute_start();
    let config = config(&page);
    let entries = [1, 2, 4]
        .iter()
        .enumerate()
        .map(|(n, value)| {
            let at = minute.offset_millis(n as i64).unwrap();
            let body = serde_json::json!({"sensorid": "alarm-1", "value": value, "timestamp": at.to_string()});
            PutRecordsRequestEntry::builder()
                .partition_key("alarm-1")
                .data(Blob::new(serde_json::to_vec(&body).unwrap()))
                .build()
                .unwrap()
        })
        .collect();
    let put = kinesis(&config)
        .await
        .put_records()
        .stream_name(&config.stack.stream_name)
        .set_records(Some(entries))
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_record_count(), Some(0));
    let sequence_numbers: std::collections::BTreeSet<String> = put
        .records()
        .iter()
        .map(|entry| entry.sequence_number().unwrap().to_owned())
        .collect();

    let until = Instant::now() + Duration::from_secs(60);
    let line = loop {
        let stderr = process.stderr();
        if let Some(line) = stderr
            .lines()
            .find(|line| line.starts_with(&format!("ALARM {alarm}: ")))
        {
            break line.to_owned();
        }
        assert!(
            Instant::now() < until,
            "no ALARM line for {alarm} within 60 s:\n{stderr}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(line.contains(">= 1 in the last 5 min"), "{line}");
    assert!(
        line.contains("holds a batch"),
        "the alarm's description: {line}"
    );

    let (code, stdout, stderr) = status("alarm", &state, &page);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("1 of {count} alarms need a look")),
        "{stdout}"
    );
    let row = stdout.lines().nth(1).unwrap();
    assert!(
        row.trim_start().starts_with("ALARM") && row.contains(&alarm),
        "{stdout}"
    );
    // The writer stored the readings: its side is healthy.
    assert!(stdout.contains("OK"), "{stdout}");
    assert_eq!(stored(&state).len(), 3);

    let operator = profile_variables(&process);
    the_aws_cli_reads_the_dead_letters(dir.path(), &operator, &page, &names, &sequence_numbers);
    the_aws_cli_reads_the_metrics(dir.path(), &operator, &page, minute);

    let (exit, stderr) = process.interrupt();
    assert!(exit.success(), "{exit}: {stderr}");
    assert!(
        stderr
            .lines()
            .any(|line| line.contains(&format!("ALARM: {alarm}"))),
        "the console line names the alarm:\n{stderr}"
    );
}

/// The endpoint `variables` point the AWS CLI at: `AWS_ENDPOINT_URL`, or the profile's.
fn endpoint_of(variables: &[(String, String)]) -> String {
    let variable = |name: &str| {
        variables
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.clone())
    };
    if let Some(endpoint) = variable("AWS_ENDPOINT_URL") {
        return endpoint;
    }
    let config = std::fs::read_to_string(variable("AWS_CONFIG_FILE").unwrap()).unwrap();
    config
        .lines()
        .find_map(|line| line.strip_prefix("endpoint_url = "))
        .unwrap()
        .to_owned()
}

/// The AWS CLI's JSON output; an empty answer (`receive-message` of nothing) is `null`.
fn aws_json(dir: &Path, variables: &[(String, String)], args: &[&str]) -> serde_json::Value {
    let (ok, out, err) = aws_cli(dir, variables, args);
    assert!(ok, "aws {args:?}: {out}{err}");
    if out.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&out).unwrap()
    }
}

/// The dead letters where an AWS user looks for them: the archiver's failure queue, one message
/// a record, each Lambda's invocation record of the batch. Refused requests (the device key,
/// unsigned, a wrong secret) neither see nor hide a message; a received one is hidden for its
/// visibility timeout, and deleted by its receipt handle.
fn the_aws_cli_reads_the_dead_letters(
    dir: &Path,
    operator: &[(String, String)],
    page: &Path,
    names: &iot_stack::names::Names<'_>,
    sequence_numbers: &std::collections::BTreeSet<String>,
) {
    use iot_stack::names::FunctionKind;
    let queue = names.failure_queue(FunctionKind::Archiver);
    let url = aws_json(
        dir,
        operator,
        &["sqs", "get-queue-url", "--queue-name", &queue],
    )["QueueUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.ends_with(&format!("/000000000000/{queue}")), "{url}");
    let listed = aws_json(dir, operator, &["sqs", "list-queues"]);
    let writer_queue = names.failure_queue(FunctionKind::Writer);
    let urls: Vec<&str> = listed["QueueUrls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|url| url.as_str().unwrap())
        .collect();
    assert_eq!(urls.len(), 2, "{listed}");
    assert!(urls.contains(&url.as_str()) && urls.iter().any(|u| u.ends_with(&writer_queue)));
    let depth = || {
        let attributes = aws_json(
            dir,
            operator,
            &[
                "sqs",
                "get-queue-attributes",
                "--queue-url",
                &url,
                "--attribute-names",
                "All",
            ],
        );
        let count = |name: &str| attributes["Attributes"][name].as_str().unwrap().to_owned();
        (
            count("ApproximateNumberOfMessages"),
            count("ApproximateNumberOfMessagesNotVisible"),
        )
    };
    // Bisected to single records, each of which then used up its retries.
    let until = Instant::now() + Duration::from_secs(60);
    while depth().0 != "3" {
        assert!(Instant::now() < until, "failure queue at {:?}", depth());
        std::thread::sleep(Duration::from_millis(200));
    }

    let receive = [
        "sqs",
        "receive-message",
        "--queue-url",
        &url,
        "--max-number-of-messages",
        "10",
    ];
    let mut wrong_secret = device_variables(page);
    wrong_secret.retain(|(name, _)| name != "AWS_SECRET_ACCESS_KEY");
    wrong_secret.push((
        "AWS_SECRET_ACCESS_KEY".into(),
        "not/the/secret/of/this/key/0000000000000".into(),
    ));
    let unsigned: Vec<&str> = receive
        .iter()
        .copied()
        .chain(["--no-sign-request"])
        .collect();
    for (variables, args, wanted) in [
        (device_variables(page), &receive[..], "AccessDenied"),
        (wrong_secret, &receive[..], "InvalidSignatureException"),
        (
            operator.to_vec(),
            &unsigned[..],
            "MissingAuthenticationToken",
        ),
    ] {
        let (ok, out, err) = aws_cli(dir, &variables, args);
        assert!(!ok && err.contains(wanted), "aws {args:?}: {out}{err}");
    }
    assert_eq!(
        depth(),
        ("3".into(), "0".into()),
        "the refusals hid nothing"
    );

    let mut args = receive.to_vec();
    args.extend(["--attribute-names", "All"]);
    let received = aws_json(dir, operator, &args);
    let messages = received["Messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "{received}");
    let mut named = std::collections::BTreeSet::new();
    for message in messages {
        assert_eq!(message["Attributes"]["ApproximateReceiveCount"], "1");
        let record: serde_json::Value =
            serde_json::from_str(message["Body"].as_str().unwrap()).unwrap();
        assert_eq!(
            record["requestContext"]["condition"], "RetryAttemptsExhausted",
            "{record}"
        );
        assert!(
            record["requestContext"]["functionArn"]
                .as_str()
                .unwrap()
                .ends_with(&format!(
                    ":function:{}",
                    names.function(FunctionKind::Archiver)
                )),
            "{record}"
        );
        let batch = &record["KinesisBatchInfo"];
        assert_eq!(batch["batchSize"], 1, "{record}");
        assert_eq!(batch["startSequenceNumber"], batch["endSequenceNumber"]);
        named.insert(batch["startSequenceNumber"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        &named, sequence_numbers,
        "each record given up on is named once"
    );
    assert_eq!(
        aws_json(dir, operator, &receive),
        serde_json::Value::Null,
        "hidden once received"
    );
    assert_eq!(depth(), ("0".into(), "3".into()));
    for message in messages {
        let handle = message["ReceiptHandle"].as_str().unwrap();
        aws_json(
            dir,
            operator,
            &[
                "sqs",
                "delete-message",
                "--queue-url",
                &url,
                "--receipt-handle",
                handle,
            ],
        );
    }
    assert_eq!(depth(), ("0".into(), "0".into()));
}

/// The writer's metrics through CloudWatch's API: this minute's statistic set of the sensor,
/// the stack's accepted-readings counter, and the failure queue's depth among the metrics.
fn the_aws_cli_reads_the_metrics(
    dir: &Path,
    operator: &[(String, String)],
    page: &Path,
    minute: Timestamp,
) {
    let from = minute.offset_millis(-60_000).unwrap().to_string();
    let to = minute.offset_millis(120_000).unwrap().to_string();
    let statistics = aws_json(
        dir,
        operator,
        &[
            "cloudwatch",
            "get-metric-statistics",
            "--namespace",
            "Sensors",
            "--metric-name",
            "SensorData",
            "--dimensions",
            "Name=SensorId,Value=alarm-1",
            "--start-time",
            &from,
            "--end-time",
            &to,
            "--period",
            "60",
            "--statistics",
            "SampleCount",
            "Sum",
            "Maximum",
        ],
    );
    let points = statistics["Datapoints"].as_array().unwrap();
    assert_eq!(points.len(), 1, "{statistics}");
    assert_eq!(points[0]["SampleCount"], 3.0);
    assert_eq!(points[0]["Sum"], 7.0);
    assert_eq!(points[0]["Maximum"], 4.0);

    let queries = serde_json::json!([{
        "Id": "accepted",
        "MetricStat": {
            "Metric": {"Namespace": "Sensors", "MetricName": "ReadingsAccepted"},
            "Period": 3600,
            "Stat": "Sum",
        },
    }])
    .to_string();
    let an_hour_ago = Timestamp::from_millis(minute.millis() - 3_600_000)
        .unwrap()
        .to_string();
    let in_an_hour = Timestamp::from_millis(minute.millis() + 3_600_000)
        .unwrap()
        .to_string();
    let data = aws_json(
        dir,
        operator,
        &[
            "cloudwatch",
            "get-metric-data",
            "--metric-data-queries",
            &queries,
            "--start-time",
            &an_hour_ago,
            "--end-time",
            &in_an_hour,
        ],
    );
    let values: f64 = data["MetricDataResults"][0]["Values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value.as_f64().unwrap())
        .sum();
    assert_eq!(values, 3.0, "{data}");

    let listed = aws_json(
        dir,
        operator,
        &["cloudwatch", "list-metrics", "--namespace", "AWS/SQS"],
    );
    assert!(
        listed["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|metric| metric["MetricName"] == "ApproximateNumberOfMessagesVisible"),
        "{listed}"
    );
    let (ok, out, err) = aws_cli(
        dir,
        operator,
        &[
            "cloudwatch",
            "get-metric-statistics",
            "--namespace",
            "Sensors",
            "--metric-name",
            "SensorData",
            "--start-time",
            &from,
            "--end-time",
            &to,
            "--period",
            "60",
            "--extended-statistics",
            "p99",
        ],
    );
    assert!(!ok && err.contains("ExtendedStatistics"), "{out}{err}");
    let (ok, out, err) = aws_cli(
        dir,
        &device_variables(page),
        &["cloudwatch", "list-metrics"],
    );
    assert!(!ok && err.contains("AccessDenied"), "{out}{err}");
}

/// `deploy --local verify`, as a user runs it after a start: every step passes, each with its
/// latency, and the probe's readings are in the table.
#[test]
fn verify_follows_its_readings_through_every_step_locally() {
    let dir = tempfile::tempdir().unwrap();
    let (state, page) = (dir.path().join("state"), dir.path().join("page"));
    std::fs::create_dir(&page).unwrap();
    let _process = start("probe", &state, &page);
    let mut args = local_args("probe", &state, &page);
    args.extend(["verify", "--readings", "4", "--wait", "60"].map(str::to_owned));
    // verify ends by itself within its --wait; the bound leaves room for its start.
    let ended = run_bounded(&mut deploy_in_repository(&args), Duration::from_secs(120));
    let stdout = ended.stdout;
    assert!(ended.status.success(), "{stdout}{}", ended.stderr);
    let steps: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("  ok "))
        .collect();
    assert_eq!(steps.len(), 5, "{stdout}");
    for (step, words) in steps.iter().zip([
        "put on stream probe-IoTEventStream",
        "queryable through probe-IoTAPI",
        "in table probe-SensorData",
        "archived in ",
        "counted in metric Sensors/SensorData",
    ]) {
        assert!(
            step.contains(words) && step.trim_end().ends_with(" ms"),
            "{stdout}"
        );
    }
    assert!(stdout.contains("verified: every step within"), "{stdout}");
    let sensor = stdout
        .split("(sensor ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap();
    let stored = stored(&state);
    assert_eq!(stored.keys().filter(|(s, _)| s == sensor).count(), 4);
    assert!(!stdout.contains(config(&page).key.secret_access_key()));
}

/// `--sensor-metrics stack`, given to the start and to verify: verify still passes its metric
/// step, and the writer's `SensorData` has no sensor dimension, only the stack's series.
#[test]
fn stack_wide_sensor_metrics_hold_one_series_and_verify_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let (state, page) = (dir.path().join("state"), dir.path().join("page"));
    std::fs::create_dir(&page).unwrap();
    let mut args = local_args("wide", &state, &page);
    args.extend(["--sensor-metrics", "stack"].map(str::to_owned));
    let _process = start_local(&args);
    args.extend(["verify", "--readings", "3", "--wait", "60"].map(str::to_owned));
    let ended = run_bounded(&mut deploy_in_repository(&args), Duration::from_secs(120));
    assert!(ended.status.success(), "{}{}", ended.stdout, ended.stderr);
    assert!(
        ended
            .stdout
            .contains("counted in metric Sensors/SensorData"),
        "{}",
        ended.stdout
    );
    let metrics = rusqlite::Connection::open(state.join("metrics.db")).unwrap();
    let dimensions: Vec<String> = metrics
        .prepare("SELECT DISTINCT dimensions FROM points WHERE name = 'SensorData'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(dimensions, ["[]"], "one series, no sensor dimension");
}

/// The variables of the `export` line the start prints for the AWS CLI.
fn profile_variables(process: &LocalProcess) -> Vec<(String, String)> {
    let until = Instant::now() + Duration::from_secs(10);
    let line = loop {
        if let Some(line) = process
            .stdout()
            .lines()
            .find_map(|line| line.trim().strip_prefix("export ").map(str::to_owned))
        {
            break line;
        }
        assert!(
            Instant::now() < until,
            "no export line:\n{}",
            process.stdout()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    line.split_whitespace()
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap();
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// The device key of `config.js`, as the AWS CLI's variables, with its endpoint.
fn device_variables(page: &Path) -> Vec<(String, String)> {
    let config = config(page);
    vec![
        (
            "AWS_ACCESS_KEY_ID".into(),
            config.key.access_key_id().into(),
        ),
        (
            "AWS_SECRET_ACCESS_KEY".into(),
            config.key.secret_access_key().into(),
        ),
        ("AWS_DEFAULT_REGION".into(), config.stack.region.clone()),
        (
            "AWS_ENDPOINT_URL".into(),
            config.stack.kinesis_endpoint.clone(),
        ),
    ]
}

/// The real `aws` binary in `dir` with only `variables` of AWS's settings (none of the
/// test's own): (success, standard output, standard error).
fn aws_cli(dir: &Path, variables: &[(String, String)], args: &[&str]) -> (bool, String, String) {
    let mut command = Command::new("aws");
    // The AWS CLI v1 replaces a profile's (or AWS_ENDPOINT_URL's) endpoint for SQS with its
    // own (awscli/customizations/overridesslcommonname.py); only `--endpoint-url` beats it, so
    // a user names it, as the README does.
    if args.first() == Some(&"sqs") {
        command.args(["--endpoint-url", &endpoint_of(variables)]);
    }
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("AWS_")) {
        command.env_remove(name);
    }
    command
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .envs(variables.iter().cloned())
        .args(args)
        .current_dir(dir);
    let ended = run_bounded(&mut command, Duration::from_secs(60));
    (ended.status.success(), ended.stdout, ended.stderr)
}

/// Puts `readings` (partition key, body) on `stream` with the device key, in calls of 500,
/// and waits until the writer has stored them all.
fn put_until_stored(page: &Path, state: &Path, stream: &str, readings: &[(String, String)]) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = kinesis(&config(page)).await;
        for chunk in readings.chunks(500) {
            let entries = chunk
                .iter()
                .map(|(key, body)| {
                    PutRecordsRequestEntry::builder()
                        .partition_key(key)
                        .data(Blob::new(body.as_bytes()))
                        .build()
                        .unwrap()
                })
                .collect();
            let output = client
                .put_records()
                .stream_name(stream)
                .set_records(Some(entries))
                .send()
                .await
                .unwrap();
            assert_eq!(output.failed_record_count(), Some(0));
        }
    });
    let until = Instant::now() + Duration::from_secs(60);
    while stored(state).len() < readings.len() {
        let count = stored(state).len();
        assert!(
            Instant::now() < until,
            "{count} of {} stored",
            readings.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A local target of `stack` and the operator's profile variables. 2,500 readings at once
/// are more than a shard takes in a second, which is not what these tests are about, so
/// without shard limits.
fn start_for_2500_readings(
    stack: &str,
    state: &Path,
    page: &Path,
) -> (LocalProcess, Vec<(String, String)>) {
    std::fs::create_dir(page).unwrap();
    let mut args = local_args(stack, state, page);
    args.extend(["--shard-limits", "off"].map(str::to_owned));
    let process = start_local(&args);
    let operator = profile_variables(&process);
    (process, operator)
}

/// boto3's own paginators (`list_objects_v2`, `query`, `scan`), in pages of 100 through the
/// printed profile, walk 2,500 archive objects and 2,500 items of one sensor, and see each
/// exactly once. boto3 is the one moto's venv holds, installed by the test command.
#[test]
fn boto3_paginators_see_every_object_and_item_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (state, page) = (dir.path().join("state"), dir.path().join("page"));
    let (_process, operator) = start_for_2500_readings("pages", &state, &page);
    let count = 2_500;
    // The archive's objects are its files: three days of them, beside what the archiver
    // writes of the readings below.
    let archive = state.join("archive");
    let mut keys = std::collections::BTreeSet::new();
    for n in 0..count {
        let day = format!("2026-11-{:02}", 27 + n % 3);
        std::fs::create_dir_all(archive.join(&day)).unwrap();
        let key = format!("{day}/fixture-{n:05}.json");
        std::fs::write(archive.join(&key), br#"{"Records": []}"#).unwrap();
        keys.insert(key);
    }
    let all: Vec<(String, String)> = (0..count)
        .map(|n| {
            let body = serde_json::json!({"sensorid": "p-1", "value": n, "timestamp": timestamp(n * 1000)});
            ("p-1".to_owned(), body.to_string())
        })
        .collect();
    put_until_stored(&page, &state, "pages-IoTEventStream", &all);

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/boto3_paginators.py");
    let mut command = Command::new(support::repository().join(".venv/bin/python"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("AWS_")) {
        command.env_remove(name);
    }
    command
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(operator.iter().cloned())
        .arg(&script)
        .args([
            "pages-eventarchive-000000000000",
            "pages-SensorData",
            "p-1",
            "100",
        ]);
    let ended = run_bounded(&mut command, Duration::from_secs(120));
    assert!(ended.status.success(), "{}{}", ended.stdout, ended.stderr);
    let walked: serde_json::Value = serde_json::from_str(&ended.stdout).unwrap();
    let listed = |walk: &str| -> Vec<String> {
        walked[walk]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key.to_string())
            .collect()
    };
    let objects: Vec<String> = walked["objects"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key.as_str().unwrap().to_owned())
        .collect();
    let fixtures: Vec<&String> = objects
        .iter()
        .filter(|key| key.contains("/fixture-"))
        .collect();
    assert_eq!(fixtures.len(), count as usize, "each object once");
    assert_eq!(
        fixtures
            .into_iter()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        keys
    );
    assert!(
        walked["objects"]["pages"].as_u64().unwrap() >= 25,
        "{}",
        walked["objects"]["pages"]
    );
    for walk in ["query", "scan"] {
        let items = listed(walk);
        let distinct: std::collections::BTreeSet<&String> = items.iter().collect();
        assert_eq!(
            (items.len(), distinct.len()),
            (count as usize, count as usize),
            "{walk}"
        );
        // A full last page has a LastEvaluatedKey too, as DynamoDB's: one empty page ends it.
        let pages = walked[walk]["pages"].as_u64().unwrap();
        assert!((25..=26).contains(&pages), "{walk}: {pages} pages of 100");
    }
    // Newest first, as asked.
    assert_eq!(walked["query"]["keys"][0][1], timestamp((count - 1) * 1000));
}

/// Issue 15's steps 4 and 5 as a user of AWS walks them, with the operator's profile:
/// `aws dynamodb` explores the table (describe it, scan it in pages, query one sensor by key
/// condition, get one item), and `aws s3` the archive bucket (list it, list a day, copy an
/// object, read a range). The AWS CLI's paginators (botocore's, as boto3's) see every item
/// and key exactly once. The device key is refused, and what is not implemented is named.
#[test]
fn the_aws_cli_explores_the_table_and_the_archive_with_the_operator_key() {
    let dir = tempfile::tempdir().unwrap();
    let (state, page) = (dir.path().join("state"), dir.path().join("page"));
    let (process, operator) = start_for_2500_readings("table", &state, &page);
    let device = device_variables(&page);

    let sensors = 5;
    let readings = 2_500;
    let all: Vec<(String, String)> = (0..readings)
        .map(|n| {
            let sensor = format!("t-{}", n % sensors);
            let second = n / sensors;
            let body = format!(
                r#"{{"sensorid": "{sensor}", "value": {n}, "timestamp": "2026-12-02T{:02}:{:02}:{:02}.000Z"}}"#,
                second / 3600,
                second / 60 % 60,
                second % 60
            );
            (sensor, body)
        })
        .collect();
    put_until_stored(&page, &state, "table-IoTEventStream", &all);

    let aws = |variables: &[(String, String)], args: &[&str]| -> serde_json::Value {
        let (ok, out, err) = aws_cli(dir.path(), variables, args);
        assert!(ok, "aws {args:?}: {out}{err}");
        serde_json::from_str(&out).unwrap()
    };
    let table = "table-SensorData";
    let described = aws(
        &operator,
        &["dynamodb", "describe-table", "--table-name", table],
    );
    assert_eq!(described["Table"]["ItemCount"], readings);
    assert_eq!(
        described["Table"]["KeySchema"][1]["AttributeName"],
        "Timestamp"
    );

    // Pages of 300: nine calls, each item once.
    let scanned = aws(
        &operator,
        &[
            "dynamodb",
            "scan",
            "--table-name",
            table,
            "--page-size",
            "300",
        ],
    );
    let keys: std::collections::BTreeSet<(String, String)> = scanned["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["SensorId"]["S"].as_str().unwrap().to_owned(),
                item["Timestamp"]["S"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(scanned["Count"], readings);
    assert_eq!(keys.len(), readings);
    assert_eq!(keys, stored(&state).into_keys().collect());

    // One sensor, a range, newest first, in pages of 7: seconds 100 to 199 of t-2.
    let range = aws(
        &operator,
        &[
            "dynamodb",
            "query",
            "--table-name",
            table,
            "--key-condition-expression",
            "SensorId = :s AND #t BETWEEN :from AND :to",
            "--expression-attribute-names",
            r##"{"#t": "Timestamp"}"##,
            "--expression-attribute-values",
            r#"{":s": {"S": "t-2"}, ":from": {"S": "2026-12-02T00:01:40.000Z"}, ":to": {"S": "2026-12-02T00:03:19.000Z"}}"#,
            "--no-scan-index-forward",
            "--page-size",
            "7",
        ],
    );
    let items = range["Items"].as_array().unwrap();
    assert_eq!(items.len(), 100);
    assert_eq!(items[0]["Timestamp"]["S"], "2026-12-02T00:03:19.000Z");
    assert_eq!(items[0]["Value"]["N"], (199 * sensors + 2).to_string());
    assert_eq!(items[99]["Timestamp"]["S"], "2026-12-02T00:01:40.000Z");
    let prefix = aws(
        &operator,
        &[
            "dynamodb",
            "query",
            "--table-name",
            table,
            "--key-condition-expression",
            "SensorId = :s AND begins_with(#t, :minute)",
            "--expression-attribute-names",
            r##"{"#t": "Timestamp"}"##,
            "--expression-attribute-values",
            r#"{":s": {"S": "t-0"}, ":minute": {"S": "2026-12-02T00:05"}}"#,
        ],
    );
    assert_eq!(prefix["Count"], 60);
    let got = aws(
        &operator,
        &[
            "dynamodb",
            "get-item",
            "--table-name",
            table,
            "--key",
            r#"{"SensorId": {"S": "t-4"}, "Timestamp": {"S": "2026-12-02T00:00:00.000Z"}}"#,
        ],
    );
    assert_eq!(got["Item"]["Value"]["N"], "4");

    let refused = |variables: &[(String, String)], args: &[&str], wanted: &[&str]| {
        let (ok, out, err) = aws_cli(dir.path(), variables, args);
        assert!(!ok, "aws {args:?} succeeded: {out}");
        for wanted in wanted {
            assert!(err.contains(wanted), "aws {args:?}: {err}");
        }
    };
    refused(
        &operator,
        &[
            "dynamodb",
            "scan",
            "--table-name",
            table,
            "--filter-expression",
            "#v > :v",
            "--expression-attribute-names",
            r##"{"#v": "Value"}"##,
            "--expression-attribute-values",
            r#"{":v": {"N": "1"}}"#,
        ],
        &[
            "ValidationException",
            "does not implement the parameter",
            "of Scan",
        ],
    );
    refused(
        &operator,
        &[
            "dynamodb",
            "put-item",
            "--table-name",
            table,
            "--item",
            r#"{"SensorId": {"S": "x"}, "Timestamp": {"S": "y"}}"#,
        ],
        &["does not implement dynamodb:PutItem"],
    );
    for args in [
        &["dynamodb", "scan", "--table-name", table][..],
        &["dynamodb", "describe-table", "--table-name", table][..],
    ] {
        refused(
            &device,
            args,
            &[
                "AccessDeniedException",
                "not authorized to perform: dynamodb:",
            ],
        );
    }
    let mut wrong_secret = device.clone();
    wrong_secret[1].1 = "not/the/secret/of/this/key/0000000000000".into();
    refused(
        &wrong_secret,
        &["dynamodb", "scan", "--table-name", table],
        &["InvalidSignatureException"],
    );
    assert_eq!(
        stored(&state).len(),
        readings,
        "nothing refused changed the table"
    );
    // The archive: every batch the archiver wrote, as S3 objects.
    let bucket = "table-eventarchive-000000000000";
    let archive = state.join("archive");
    let until = Instant::now() + Duration::from_secs(60);
    let files = loop {
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&archive)
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|day| {
                std::fs::read_dir(day.path())
                    .into_iter()
                    .flatten()
                    .flatten()
            })
            .map(|file| file.path())
            .filter(|path| !path.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        files.sort();
        let archived: usize = files
            .iter()
            .map(|path| {
                let bytes = std::fs::read(path).unwrap();
                let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                body["Records"].as_array().unwrap().len()
            })
            .sum();
        if archived == readings {
            break files;
        }
        assert!(Instant::now() < until, "{archived} of {readings} archived");
        std::thread::sleep(Duration::from_millis(200));
    };
    let key_of = |path: &Path| {
        path.strip_prefix(&archive)
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let day = key_of(&files[0]).split('/').next().unwrap().to_owned();
    let text = |variables: &[(String, String)], args: &[&str]| -> String {
        let (ok, out, err) = aws_cli(dir.path(), variables, args);
        assert!(ok, "aws {args:?}: {out}{err}");
        out
    };
    assert!(text(&operator, &["s3", "ls"]).contains(bucket));
    assert!(
        text(&operator, &["s3", "ls", &format!("s3://{bucket}/")]).contains(&format!("PRE {day}/"))
    );
    let listed = text(&operator, &["s3", "ls", &format!("s3://{bucket}/{day}/")]);
    for file in files.iter().filter(|file| key_of(file).starts_with(&day)) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let size = std::fs::metadata(file).unwrap().len();
        assert!(
            listed
                .lines()
                .any(|line| line.ends_with(&name) && line.contains(&format!(" {size} "))),
            "{name} ({size} bytes) not in:\n{listed}"
        );
    }
    let first = key_of(&files[0]);
    text(
        &operator,
        &["s3", "cp", &format!("s3://{bucket}/{first}"), "copy.json"],
    );
    assert_eq!(
        std::fs::read(dir.path().join("copy.json")).unwrap(),
        std::fs::read(&files[0]).unwrap(),
        "s3 cp copies the archive file byte for byte"
    );
    // One key a page: the paginator walks them all, each once.
    let listing = aws(
        &operator,
        &[
            "s3api",
            "list-objects-v2",
            "--bucket",
            bucket,
            "--page-size",
            "1",
        ],
    );
    let keys: Vec<&str> = listing["Contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|object| object["Key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        files.iter().map(|file| key_of(file)).collect::<Vec<_>>()
    );
    let part = aws(
        &operator,
        &[
            "s3api",
            "get-object",
            "--bucket",
            bucket,
            "--key",
            &first,
            "--range",
            "bytes=0-9",
            "part.bin",
        ],
    );
    assert_eq!(
        part["ContentRange"].as_str().unwrap().split('/').next(),
        Some("bytes 0-9")
    );
    assert_eq!(
        std::fs::read(dir.path().join("part.bin")).unwrap(),
        std::fs::read(&files[0]).unwrap()[..10]
    );
    let head = aws(
        &operator,
        &["s3api", "head-object", "--bucket", bucket, "--key", &first],
    );
    assert_eq!(
        head["ContentLength"],
        std::fs::metadata(&files[0]).unwrap().len()
    );
    refused(
        &operator,
        &[
            "s3api",
            "head-object",
            "--bucket",
            bucket,
            "--key",
            "no/such.json",
        ],
        &["404"],
    );
    refused(&device, &["s3", "ls"], &["AccessDenied"]);
    refused(
        &device,
        &["s3", "cp", &format!("s3://{bucket}/{first}"), "stolen.json"],
        &["403"],
    );
    assert!(!dir.path().join("stolen.json").exists());
    drop(process);
}
