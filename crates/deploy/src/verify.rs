//! `deploy verify`: an end-to-end probe of a deployed stack, on AWS or locally. It puts a few
//! signed readings as the device (the key and endpoints of `testpage/config.js`), then confirms
//! each step of their way with the stack owner's view:
//! - each reading is queryable through the API function (as the device asks);
//! - it is in the table;
//! - the batch that holds it is in the archive;
//! - the per-sensor metric counts it.
//!
//! Each step reports its latency from the put's acknowledgement. The four are followed at
//! once, each until one shared deadline, so the probe ends within `--wait` seconds whatever
//! fails, and a step that fails does not hide how the others went. The exit status is 1 when any step failed, and the
//! first one is named.

use std::collections::HashSet;
use std::future::Future;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_kinesis::primitives::Blob;
use aws_smithy_types::error::display::DisplayErrorContext;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use iot_stack::METRICS_NAMESPACE;
use telemetry::archive::ArchiveBody;
use telemetry::metrics::{SENSOR_DATA, SENSOR_ID_DIMENSION, SensorMetrics};
use telemetry::query::QueryResponse;
use telemetry::timestamp::Timestamp;

use crate::testpage_config::{Target, TestpageConfig};

/// Flags of `verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Readings to put, from one new sensor (`verify-<time>`).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub readings: u32,

    /// How long the readings may take to reach every step, in seconds. On AWS the metric can
    /// take a minute or two to show.
    #[arg(long, value_name = "SECONDS", default_value_t = 180, value_parser = clap::value_parser!(u64).range(1..=1800))]
    pub wait: u64,
}

/// The test page's config at `config_js`, which must name stack `stack` on `target`: the
/// device's key and endpoints come from it.
pub fn device_config(
    config_js: &Path,
    stack: &str,
    target: Target,
) -> anyhow::Result<TestpageConfig> {
    let config =
        TestpageConfig::read(config_js).ok_or_else(|| crate::simulate::NoStackConfigured {
            path: config_js.to_owned(),
        })?;
    let place = |target: Target| match target {
        Target::Local => "the local target",
        Target::Aws => "AWS",
    };
    anyhow::ensure!(
        config.stack.stack_name == stack && config.target == target,
        "{} names stack `{}` on {}, not `{stack}` on {}; deploy it (or start the local target), \
         which rewrites the file, or pass the --testpage-dir of that stack",
        config_js.display(),
        config.stack.stack_name,
        place(config.target),
        place(target)
    );
    Ok(config)
}

/// The readings put, and where they went.
#[derive(Debug, Clone)]
pub struct Probe {
    pub sensor_id: String,
    /// Their timestamps, oldest first.
    pub timestamps: Vec<Timestamp>,
    /// The sequence numbers the stream gave them.
    pub sequence_numbers: Vec<String>,
    /// When the put was acknowledged, ms since the epoch.
    pub put_ms: i64,
}

/// What the stack's owner can see: the table, the archive and the metrics.
pub trait OwnerView {
    /// Where each step looks, for its line: (table, archive, metric).
    fn places(&self) -> [String; 3];
    /// How many of the probe's readings the table holds.
    fn stored(&self, probe: &Probe) -> impl Future<Output = anyhow::Result<usize>> + Send;
    /// The archive's keys under `prefix` (`YYYY-MM-DD/`), in any order.
    fn archive_keys(
        &self,
        prefix: &str,
    ) -> impl Future<Output = anyhow::Result<Vec<String>>> + Send;
    /// The archive object `key`.
    fn archive_object(&self, key: &str) -> impl Future<Output = anyhow::Result<Vec<u8>>> + Send;
    /// `SensorData`'s sample count since `from_ms`: the probe's sensor's, or with stack-wide
    /// metrics the stack's (the probe's readings among every sensor's).
    fn counted(
        &self,
        probe: &Probe,
        from_ms: i64,
    ) -> impl Future<Output = anyhow::Result<f64>> + Send;
}

/// One step's outcome.
#[derive(Debug)]
struct Step {
    name: String,
    outcome: Result<Duration, String>,
}

/// Who to ask when readings are put but not stored or counted.
const WRITER: &str = "the writer function stores and counts them: its log group and `deploy status` say why it did not";

/// How often a step looks again.
const POLL: Duration = Duration::from_millis(500);

/// Runs the probe against the stack `config` names, with `owner`'s view; prints each step and
/// returns whether all passed.
pub async fn run(
    config: &TestpageConfig,
    owner: &impl OwnerView,
    args: &VerifyArgs,
) -> anyhow::Result<bool> {
    let device = device_clients(config).await;
    let [table, archive, metric] = owner.places();
    println!(
        "verify: stack `{}` ({}), {} reading(s) put as the device",
        config.stack.stack_name,
        match config.target {
            Target::Local => format!("local, {}", config.stack.kinesis_endpoint),
            Target::Aws => format!("AWS, region {}", config.stack.region),
        },
        args.readings
    );
    let spinner = Spinner::new();
    spinner.say("putting the readings on the stream");
    let started = Instant::now();
    let put_step = format!("put on stream {}", config.stack.stream_name);
    let probe = match put(&device.kinesis, config, args.readings).await {
        Ok(probe) => probe,
        Err(error) => {
            spinner.done();
            spinner.line(&step_line(&Step {
                name: put_step,
                outcome: Err(format!("{error:#}")),
            }));
            println!("verify failed at its first step: put on the stream");
            return Ok(false);
        }
    };
    let acknowledged = Instant::now();
    let deadline = acknowledged + Duration::from_secs(args.wait);
    let mut steps = vec![Step {
        name: put_step,
        outcome: Ok(acknowledged - started),
    }];
    spinner.line(&step_line(&steps[0]));

    // The four are followed at once, so that each latency is when that step was reached, not
    // when the one before it was.
    spinner
        .say("following the readings to the query function, the table, the archive and the metric");
    let count = probe.timestamps.len();
    // A minute back: the datums are per minute, and the readings' own may start before the put.
    let from_ms = probe.put_ms - 60_000;
    let search = Mutex::new(ArchiveSearch::default());
    let (query, stored, archive_found, counted) = tokio::join!(
        until(
            deadline,
            acknowledged,
            "the writer function stores them: its log group and `deploy status` say why it did not",
            || queryable(&device.lambda, config, &probe),
        ),
        until(deadline, acknowledged, WRITER, || async {
            let stored = owner.stored(&probe).await?;
            Ok((stored == count)
                .then_some(())
                .ok_or(format!("{stored} of {count} readings stored")))
        }),
        until(
            deadline,
            acknowledged,
            "the archiver function writes them: its log group and `deploy status` say why it did not",
            || archived(owner, &probe, &search),
        ),
        until(deadline, acknowledged, WRITER, || async {
            let counted = owner.counted(&probe, from_ms).await?;
            Ok((counted >= count as f64).then_some(()).ok_or(format!(
                "{} of {count} readings counted",
                counted.round() as u64
            )))
        }),
    );
    spinner.done();
    steps.extend([
        Step {
            name: format!(
                "queryable through {} (sensor {})",
                config.stack.api_function_name, probe.sensor_id
            ),
            outcome: query,
        },
        Step {
            name: format!("in table {table}"),
            outcome: stored,
        },
        Step {
            name: format!("archived in {archive}"),
            outcome: archive_found,
        },
        Step {
            name: format!("counted in metric {metric}"),
            outcome: counted,
        },
    ]);
    for step in &steps[1..] {
        spinner.line(&step_line(step));
    }

    match steps.iter().find(|step| step.outcome.is_err()) {
        None => {
            println!(
                "verified: every step within {:.1} s of the put",
                steps
                    .iter()
                    .filter_map(|step| step.outcome.as_ref().ok())
                    .max()
                    .map_or(0.0, Duration::as_secs_f64)
            );
            Ok(true)
        }
        Some(first) => {
            println!("verify failed; the first step that failed: {}", first.name);
            Ok(false)
        }
    }
}

fn step_line(step: &Step) -> String {
    match &step.outcome {
        Ok(latency) => format!("  ok    {:<60} {:>8} ms", step.name, latency.as_millis()),
        Err(problem) => format!("  FAIL  {}: {problem}", step.name),
    }
}

/// Polls `check` until it passes (`Ok(Ok)`) or `deadline`, when `who` is named; an `Err` from
/// `check` itself (the call failed, not "not yet") ends the step at once. The latency is from
/// `since`.
async fn until<F, Fut>(
    deadline: Instant,
    since: Instant,
    who: &str,
    mut check: F,
) -> Result<Duration, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Result<(), String>>>,
{
    loop {
        match check().await {
            Ok(Ok(())) => return Ok(since.elapsed()),
            Ok(Err(not_yet)) if Instant::now() < deadline => {
                tracing::debug!(%not_yet, "not yet");
                tokio::time::sleep(POLL).await;
            }
            Ok(Err(not_yet)) => {
                return Err(format!(
                    "not within {} s of the put ({not_yet}); {who}",
                    (deadline - since).as_secs()
                ));
            }
            Err(error) => return Err(format!("{error:#}")),
        }
    }
}

/// The device's clients, from the page's config: its key, region and endpoints.
struct DeviceClients {
    kinesis: aws_sdk_kinesis::Client,
    lambda: aws_sdk_lambda::Client,
}

async fn device_clients(config: &TestpageConfig) -> DeviceClients {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(config.stack.region.clone()))
        .credentials_provider(config.key.clone())
        .load()
        .await;
    DeviceClients {
        kinesis: aws_sdk_kinesis::Client::from_conf(
            aws_sdk_kinesis::config::Builder::from(&sdk)
                .endpoint_url(&config.stack.kinesis_endpoint)
                .build(),
        ),
        lambda: aws_sdk_lambda::Client::from_conf(
            aws_sdk_lambda::config::Builder::from(&sdk)
                .endpoint_url(&config.stack.lambda_endpoint)
                .build(),
        ),
    }
}

/// Puts `count` readings of a new sensor, a millisecond apart and ending now, in one
/// PutRecords call, all with the sensor's partition key (so on one shard, in order).
async fn put(
    kinesis: &aws_sdk_kinesis::Client,
    config: &TestpageConfig,
    count: u32,
) -> anyhow::Result<Probe> {
    let now_ms = local_target::storage::stream::now_ms();
    let sensor_id = format!("verify-{now_ms}");
    let timestamps: Vec<Timestamp> = (0..i64::from(count))
        .rev()
        .map(|back| Timestamp::from_millis(now_ms - back).context("the clock is out of range"))
        .collect::<anyhow::Result<_>>()?;
    let entries = timestamps
        .iter()
        .enumerate()
        .map(|(n, timestamp)| {
            let body = serde_json::json!({
                "sensorid": sensor_id,
                "timestamp": timestamp.to_string(),
                "value": n as f64 + 0.5,
            });
            aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                .partition_key(&sensor_id)
                .data(Blob::new(body.to_string()))
                .build()
                .context("a PutRecords entry")
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let output = kinesis
        .put_records()
        .stream_name(&config.stack.stream_name)
        .set_records(Some(entries))
        .send()
        .await
        .map_err(call_failed)
        .with_context(|| format!("PutRecords to {} failed", config.stack.stream_name))?;
    if let Some(failed) = output
        .records()
        .iter()
        .find(|record| record.error_code().is_some())
    {
        anyhow::bail!(
            "the stream refused a reading: {} {}",
            failed.error_code().unwrap_or_default(),
            failed.error_message().unwrap_or_default()
        );
    }
    Ok(Probe {
        sensor_id,
        timestamps,
        sequence_numbers: output
            .records()
            .iter()
            .filter_map(|record| record.sequence_number().map(str::to_owned))
            .collect(),
        put_ms: local_target::storage::stream::now_ms(),
    })
}

/// Whether the API function answers every reading of the probe.
async fn queryable(
    lambda: &aws_sdk_lambda::Client,
    config: &TestpageConfig,
    probe: &Probe,
) -> anyhow::Result<Result<(), String>> {
    let request = serde_json::json!({"operation": "query", "sensorid": probe.sensor_id});
    let output = lambda
        .invoke()
        .function_name(&config.stack.api_function_name)
        .payload(aws_sdk_lambda::primitives::Blob::new(request.to_string()))
        .send()
        .await
        .map_err(call_failed)
        .with_context(|| format!("Invoke of {} failed", config.stack.api_function_name))?;
    let payload = output
        .payload()
        .map(|blob| blob.as_ref())
        .unwrap_or_default();
    if let Some(kind) = output.function_error() {
        anyhow::bail!(
            "{} answered a function error ({kind}): {}",
            config.stack.api_function_name,
            String::from_utf8_lossy(payload)
        );
    }
    let answer: QueryResponse = serde_json::from_slice(payload).with_context(|| {
        format!(
            "{} answered what is not a query response: {}",
            config.stack.api_function_name,
            String::from_utf8_lossy(payload)
        )
    })?;
    let found = probe
        .timestamps
        .iter()
        .filter(|timestamp| {
            answer
                .items
                .iter()
                .any(|item| item.timestamp == **timestamp)
        })
        .count();
    Ok((found == probe.timestamps.len())
        .then_some(())
        .ok_or(format!(
            "{found} of {} readings answered",
            probe.timestamps.len()
        )))
}

/// What the archive search has done so far. An object does not change once written, so
/// each is read once, however often the step looks again.
#[derive(Debug, Default)]
struct ArchiveSearch {
    read: HashSet<String>,
    found: HashSet<String>,
}

/// Whether the archive holds every reading of the probe. Objects are keyed by their batch's
/// first sequence number, so the batches that can hold a reading are those keyed at or before
/// it: the nearest few not read yet are read.
async fn archived(
    owner: &impl OwnerView,
    probe: &Probe,
    search: &Mutex<ArchiveSearch>,
) -> anyhow::Result<Result<(), String>> {
    const NEAREST: usize = 20;
    let Some(last) = probe.sequence_numbers.iter().max_by(|a, b| numeric(a, b)) else {
        return Ok(Err("the put returned no sequence numbers".to_owned()));
    };
    // A batch that began before midnight is under the day before.
    let mut days = vec![
        Timestamp::from_millis(probe.put_ms - 600_000)?.date(),
        Timestamp::from_millis(probe.put_ms)?.date(),
    ];
    days.dedup();
    let mut candidates = Vec::new();
    for day in days {
        let prefix = format!("{day}/");
        for key in owner.archive_keys(&prefix).await? {
            let first = key
                .strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(".json"))
                .map(str::to_owned);
            if let Some(first) = first
                && numeric(&first, last).is_le()
                && !lock(search).read.contains(&key)
            {
                candidates.push((key, first));
            }
        }
    }
    candidates.sort_by(|(_, a), (_, b)| numeric(b, a));
    for (key, _) in candidates.into_iter().take(NEAREST) {
        let body = owner.archive_object(&key).await?;
        let batch: ArchiveBody<'_> = serde_json::from_slice(&body)
            .with_context(|| format!("archive object {key} is not an archived batch"))?;
        let mut search = lock(search);
        for sequence in &probe.sequence_numbers {
            if batch
                .records
                .iter()
                .any(|record| record.sequence_number == sequence.as_str())
            {
                search.found.insert(sequence.clone());
            }
        }
        search.read.insert(key);
        if search.found.len() == probe.sequence_numbers.len() {
            break;
        }
    }
    let found = lock(search).found.len();
    let all = probe.sequence_numbers.len();
    Ok((found == all)
        .then_some(())
        .ok_or(format!("{found} of {all} readings archived")))
}

fn lock(search: &Mutex<ArchiveSearch>) -> std::sync::MutexGuard<'_, ArchiveSearch> {
    search
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An SDK error with its whole chain of causes in one message.
fn call_failed(error: impl std::error::Error) -> anyhow::Error {
    anyhow::anyhow!("{}", DisplayErrorContext(error))
}

/// Decimal strings compared as numbers (sequence numbers are too long for any integer type).
fn numeric(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The owner's view on AWS: the session's own credentials.
#[derive(Debug)]
pub struct AwsOwner {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub table: String,
    pub bucket: String,
    /// How the stack's writer publishes `SensorData`.
    pub sensor_metrics: SensorMetrics,
}

/// The dimensions of the probe's `SensorData`: its sensor's, or none with stack-wide metrics.
fn sensor_data_dimensions(
    sensor_metrics: SensorMetrics,
    probe: &Probe,
) -> Vec<(&'static str, &str)> {
    match sensor_metrics {
        SensorMetrics::PerSensor => vec![(SENSOR_ID_DIMENSION, probe.sensor_id.as_str())],
        SensorMetrics::StackWide => Vec::new(),
    }
}

impl OwnerView for AwsOwner {
    fn places(&self) -> [String; 3] {
        [
            self.table.clone(),
            format!("s3://{}", self.bucket),
            format!("{METRICS_NAMESPACE}/{SENSOR_DATA}"),
        ]
    }

    async fn stored(&self, probe: &Probe) -> anyhow::Result<usize> {
        let output = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .key_condition_expression("SensorId = :sensor")
            .expression_attribute_values(
                ":sensor",
                aws_sdk_dynamodb::types::AttributeValue::S(probe.sensor_id.clone()),
            )
            .consistent_read(true)
            .send()
            .await
            .map_err(call_failed)
            .with_context(|| format!("Query of table {} failed", self.table))?;
        Ok(output.count() as usize)
    }

    async fn archive_keys(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(call_failed)
                .with_context(|| format!("ListObjectsV2 of bucket {} failed", self.bucket))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }

    async fn archive_object(&self, key: &str) -> anyhow::Result<Vec<u8>> {
        let object = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(call_failed)
            .with_context(|| format!("GetObject of {key} failed"))?;
        Ok(object
            .body
            .collect()
            .await
            .with_context(|| format!("reading {key}"))?
            .into_bytes()
            .to_vec())
    }

    async fn counted(&self, probe: &Probe, from_ms: i64) -> anyhow::Result<f64> {
        let now = std::time::SystemTime::now();
        let from = std::time::UNIX_EPOCH
            + Duration::from_millis(u64::try_from(from_ms).unwrap_or_default());
        let output = self
            .cloudwatch
            .get_metric_statistics()
            .namespace(METRICS_NAMESPACE)
            .metric_name(SENSOR_DATA)
            .set_dimensions(Some(
                sensor_data_dimensions(self.sensor_metrics, probe)
                    .into_iter()
                    .map(|(name, value)| {
                        aws_sdk_cloudwatch::types::Dimension::builder()
                            .name(name)
                            .value(value)
                            .build()
                    })
                    .collect(),
            ))
            .start_time(from.into())
            .end_time((now + Duration::from_secs(60)).into())
            .period(60)
            .statistics(aws_sdk_cloudwatch::types::Statistic::SampleCount)
            .send()
            .await
            .map_err(call_failed)
            .context("GetMetricStatistics failed")?;
        Ok(output
            .datapoints()
            .iter()
            .filter_map(|point| point.sample_count())
            .sum())
    }
}

/// The owner's view locally: the running target's files in its state folder.
#[derive(Debug)]
pub struct LocalOwner {
    pub table: local_target::storage::table::SqliteTable,
    pub metrics: local_target::storage::metrics::SqliteMetrics,
    pub archive: PathBuf,
    pub table_name: String,
    /// How the target's writer publishes `SensorData`.
    pub sensor_metrics: SensorMetrics,
}

impl LocalOwner {
    /// The view of stack `stack`'s state folder `state_dir`, which a running target must have
    /// made.
    pub fn open(
        state_dir: &Path,
        stack: &str,
        table_name: String,
        sensor_metrics: SensorMetrics,
    ) -> anyhow::Result<Self> {
        let state = local_target::state::StateDir::existing(state_dir);
        if !state.table().is_file() {
            return Err(crate::status::NoLocalTarget::NeverRan {
                stack: stack.to_owned(),
                state_dir: state_dir.to_owned(),
            }
            .into());
        }
        Ok(Self {
            table: local_target::storage::table::SqliteTable::open(&state.table())?,
            metrics: local_target::storage::metrics::SqliteMetrics::open(
                &state.metrics(),
                METRICS_NAMESPACE,
            )?,
            archive: state.archive(),
            table_name,
            sensor_metrics,
        })
    }
}

impl OwnerView for LocalOwner {
    fn places(&self) -> [String; 3] {
        [
            self.table_name.clone(),
            self.archive.display().to_string(),
            format!("{METRICS_NAMESPACE}/{SENSOR_DATA}"),
        ]
    }

    async fn stored(&self, probe: &Probe) -> anyhow::Result<usize> {
        let (table, query) = (
            self.table.clone(),
            telemetry::query::StoreQuery {
                sensor_id: probe.sensor_id.clone(),
                oldest: Timestamp::min(),
                newest: Timestamp::max(),
                limit: telemetry::query::MAX_LIMIT,
            },
        );
        let readings = tokio::task::spawn_blocking(move || table.newest_blocking(&query)).await??;
        Ok(probe
            .timestamps
            .iter()
            .filter(|timestamp| {
                readings
                    .iter()
                    .any(|reading| reading.timestamp == **timestamp)
            })
            .count())
    }

    async fn archive_keys(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        let folder = self.archive.join(prefix.trim_end_matches('/'));
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => {
                return Err(error).with_context(|| format!("reading {}", folder.display()));
            }
        };
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry.with_context(|| format!("reading {}", folder.display()))?;
            if let Some(name) = entry.file_name().to_str() {
                keys.push(format!("{prefix}{name}"));
            }
        }
        Ok(keys)
    }

    async fn archive_object(&self, key: &str) -> anyhow::Result<Vec<u8>> {
        let path = self.archive.join(key);
        std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
    }

    async fn counted(&self, probe: &Probe, from_ms: i64) -> anyhow::Result<f64> {
        let metrics = self.metrics.clone();
        let metric = local_target::storage::metrics::MetricId::new(
            METRICS_NAMESPACE,
            SENSOR_DATA,
            sensor_data_dimensions(self.sensor_metrics, probe),
        );
        let to_ms = local_target::storage::stream::now_ms() + 60_000;
        let stats = tokio::task::spawn_blocking(move || {
            metrics.statistics_blocking(&metric, from_ms, to_ms)
        })
        .await??;
        Ok(stats.map_or(0.0, |stats| stats.count))
    }
}

/// A spinner with the current wait, on a terminal only.
struct Spinner(Option<ProgressBar>);

impl Spinner {
    fn new() -> Self {
        Self(std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        }))
    }

    fn say(&self, message: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(message.to_owned());
        }
    }

    /// A line on standard output, the spinner kept below it.
    fn line(&self, text: &str) {
        match &self.0 {
            Some(bar) => bar.suspend(|| println!("{text}")),
            None => println!("{text}"),
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        use std::cmp::Ordering::*;
        assert_eq!(numeric("9", "10"), Less);
        assert_eq!(
            numeric(
                "49590338271490256608559692538361571095921575989136588898",
                "49590338271490256608559692538361571095921575989136588899"
            ),
            Less
        );
        assert_eq!(numeric("0010", "10"), Equal);
        assert_eq!(numeric("11", "10"), Greater);
    }
}
