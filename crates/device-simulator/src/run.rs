//! The sending loop: readings fall due at the plan's rate, are put in batches with the official
//! aws-sdk-kinesis client, several calls in flight, and every answer is tallied.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::{BehaviorVersion, Region};
use aws_sdk_kinesis::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_kinesis::operation::put_records::PutRecordsOutput;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use crate::plan::{Plan, Target};
use crate::readings::{Reading, Sensors, now_ms};
use crate::report::{Latency, Progress, Report};

/// How often `on_progress` is called at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Runs `plan` against `target` to the end; `on_progress` sees the tally as it grows.
pub async fn run(target: &Target, plan: &Plan, on_progress: impl FnMut(&Progress)) -> Report {
    run_until(target, plan, on_progress, std::future::pending()).await
}

/// Like [`run`], but sends nothing more once `stop` completes (the calls in flight are still
/// awaited and counted).
pub async fn run_until(
    target: &Target,
    plan: &Plan,
    mut on_progress: impl FnMut(&Progress),
    stop: impl Future<Output = ()>,
) -> Report {
    let client = client(target).await;
    let mut sensors = Sensors::new(plan.sensors);
    let planned = plan.total();
    let batch = u64::from(plan.batch_size);
    let start = Instant::now();
    let mut tally = Tally::default();
    let mut calls = Calls::default();
    let mut produced = 0_u64;
    let mut last_progress = start;

    // A tick fills about one batch at the plan's rate; at low rates a call goes out every
    // second with what is due rather than a reading waiting minutes for its batch to fill.
    let period = Duration::from_secs_f64(batch as f64 / f64::from(plan.rate))
        .clamp(Duration::from_millis(5), Duration::from_secs(1));
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tokio::pin!(stop);

    while produced < planned {
        tokio::select! {
            _ = &mut stop => break,
            _ = ticks.tick() => {}
        }
        let due = plan.due(start.elapsed());
        while produced < due {
            let size = (due - produced).min(batch);
            let readings: Vec<Reading> =
                (0..size).map(|_| sensors.next_reading(now_ms())).collect();
            produced += size;
            while calls.in_flight() >= plan.max_in_flight {
                calls.finish_one(&mut tally).await;
            }
            calls.start(&client, &target.stream_name, readings);
        }
        calls.collect_finished(&mut tally);
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            on_progress(&tally.progress(planned, start.elapsed()));
        }
    }
    while calls.in_flight() > 0 {
        calls.finish_one(&mut tally).await;
    }
    let elapsed = start.elapsed();
    on_progress(&tally.progress(planned, elapsed));
    tally.report(elapsed)
}

async fn client(target: &Target) -> Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(target.region.clone()))
        .credentials_provider(target.credentials.clone());
    if let Some(url) = &target.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    Client::new(&loader.load().await)
}

/// What one batch came to, over its attempts.
struct Outcome {
    /// Each `PutRecords` call's latency.
    latencies: Vec<Duration>,
    /// Sensor ids of the acknowledged readings.
    accepted: Vec<String>,
    /// Readings not acknowledged after the last attempt.
    failed: u64,
    /// Refusals for throughput (`ProvisionedThroughputExceededException`), each attempt's.
    throttled: u64,
    error: Option<String>,
}

/// Attempts per batch: a reading its shard refused is sent again, up to this many times in
/// all, as the Kinesis Developer Guide asks of a producer ("Handling Failures When Using
/// PutRecords": resend the failed records).
pub const MAX_ATTEMPTS: u32 = 4;
/// The first pause before a resend; each next one doubles it.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// Exponential backoff with full jitter (the AWS Architecture Blog's "Exponential Backoff And
/// Jitter"): a random pause up to `FIRST_BACKOFF * 2^retry`, so that throttled devices do not
/// all come back in the same instant.
fn backoff(retry: u32) -> Duration {
    let ceiling = FIRST_BACKOFF * 2_u32.pow(retry.min(10));
    ceiling.mul_f64(fastrand::f64())
}

/// The calls in flight, with their sizes so that even a task that died is counted.
#[derive(Default)]
struct Calls {
    tasks: JoinSet<Outcome>,
    sizes: HashMap<tokio::task::Id, u64>,
}

impl Calls {
    fn in_flight(&self) -> usize {
        self.tasks.len()
    }

    fn start(&mut self, client: &Client, stream: &str, readings: Vec<Reading>) {
        let size = readings.len() as u64;
        let handle = self
            .tasks
            .spawn(put(client.clone(), stream.to_owned(), readings));
        self.sizes.insert(handle.id(), size);
    }

    async fn finish_one(&mut self, tally: &mut Tally) {
        if let Some(result) = self.tasks.join_next_with_id().await {
            self.record(result, tally);
        }
    }

    fn collect_finished(&mut self, tally: &mut Tally) {
        while let Some(result) = self.tasks.try_join_next_with_id() {
            self.record(result, tally);
        }
    }

    fn record(
        &mut self,
        result: Result<(tokio::task::Id, Outcome), tokio::task::JoinError>,
        tally: &mut Tally,
    ) {
        match result {
            Ok((id, outcome)) => {
                self.sizes.remove(&id);
                tally.add(outcome);
            }
            Err(error) => {
                let size = self.sizes.remove(&error.id()).unwrap_or(0);
                tally.add(Outcome {
                    latencies: Vec::new(),
                    accepted: Vec::new(),
                    failed: size,
                    throttled: 0,
                    error: Some(format!("a PutRecords call stopped unanswered: {error}")),
                });
            }
        }
    }
}

/// Puts `readings`, resending those the stream refused (up to [`MAX_ATTEMPTS`] in all) after
/// a backoff. A call that fails as a whole fails what it carried; the SDK has already retried
/// it as its retry policy says.
async fn put(client: Client, stream: String, readings: Vec<Reading>) -> Outcome {
    let mut outcome = Outcome {
        latencies: Vec::new(),
        accepted: Vec::with_capacity(readings.len()),
        failed: 0,
        throttled: 0,
        error: None,
    };
    let mut pending = readings;
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(backoff(attempt - 1)).await;
        }
        let answer = put_once(&client, &stream, &pending).await;
        outcome.latencies.extend(answer.latency);
        outcome.throttled += answer.throttled;
        outcome.accepted.extend(
            answer
                .accepted
                .iter()
                .map(|&index| pending[index].sensor_id.clone()),
        );
        if let Some(error) = answer.error {
            // The last attempt's reason is what the readings failed for.
            outcome.error = Some(error);
        }
        let accepted: std::collections::HashSet<usize> = answer.accepted.into_iter().collect();
        let refused: Vec<Reading> = pending
            .into_iter()
            .enumerate()
            .filter(|(index, _)| !accepted.contains(index))
            .map(|(_, reading)| reading)
            .collect();
        if refused.is_empty() || !answer.retryable {
            outcome.failed = refused.len() as u64;
            return outcome;
        }
        pending = refused;
    }
    outcome.failed = pending.len() as u64;
    outcome
}

/// One `PutRecords` call's answer.
struct Answer {
    latency: Option<Duration>,
    /// Indexes of the readings acknowledged.
    accepted: Vec<usize>,
    throttled: u64,
    /// Whether the refused readings may succeed if sent again.
    retryable: bool,
    error: Option<String>,
}

async fn put_once(client: &Client, stream: &str, readings: &[Reading]) -> Answer {
    let entries: Result<Vec<_>, _> = readings
        .iter()
        .map(|reading| {
            PutRecordsRequestEntry::builder()
                .partition_key(&reading.sensor_id)
                .data(Blob::new(reading.to_json()))
                .build()
        })
        .collect();
    let all_failed = |error: String, latency| Answer {
        latency,
        accepted: Vec::new(),
        throttled: 0,
        retryable: false,
        error: Some(error),
    };
    let entries = match entries {
        Ok(entries) => entries,
        Err(error) => return all_failed(error.to_string(), None),
    };
    let started = Instant::now();
    let result = client
        .put_records()
        .stream_name(stream)
        .set_records(Some(entries))
        .send()
        .await;
    let latency = started.elapsed();
    let output = match result {
        Ok(output) => output,
        Err(error) => {
            let text = match (error.code(), error.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                _ => DisplayErrorContext(&error).to_string(),
            };
            return all_failed(text, Some(latency));
        }
    };
    answer_of(readings.len(), &output, latency)
}

/// Reads an answer: records it reports failed (`ErrorCode`) are not acknowledged. Both codes
/// PutRecords reports for a record (`ProvisionedThroughputExceededException`,
/// `InternalFailure`; Kinesis API Reference, PutRecordsResultEntry) are worth a resend.
fn answer_of(sent: usize, output: &PutRecordsOutput, latency: Duration) -> Answer {
    // The answer lists the records in the order they were sent.
    let mut answer = Answer {
        latency: Some(latency),
        accepted: Vec::with_capacity(sent),
        throttled: 0,
        retryable: true,
        error: None,
    };
    for (index, record) in output.records().iter().enumerate().take(sent) {
        match record.error_code() {
            None => answer.accepted.push(index),
            Some(code) => {
                if code == "ProvisionedThroughputExceededException" {
                    answer.throttled += 1;
                }
                answer.error.get_or_insert_with(|| {
                    format!("{code}: {}", record.error_message().unwrap_or_default())
                });
            }
        }
    }
    let answered = output.records().len();
    if answered < sent {
        // An answer that leaves records out is not one to resend into.
        answer.retryable = false;
        answer
            .error
            .get_or_insert_with(|| format!("the stream answered {answered} of {sent} records"));
    }
    answer
}

#[derive(Default)]
struct Tally {
    sent: u64,
    failed: u64,
    throttled: u64,
    first_error: Option<String>,
    latencies: Vec<Duration>,
    per_sensor: std::collections::BTreeMap<String, u64>,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        self.latencies.extend(outcome.latencies);
        self.sent += outcome.accepted.len() as u64;
        self.failed += outcome.failed;
        self.throttled += outcome.throttled;
        for sensor in outcome.accepted {
            *self.per_sensor.entry(sensor).or_default() += 1;
        }
        // A batch that got through in the end has no error to report.
        if self.first_error.is_none() && outcome.failed > 0 {
            self.first_error = outcome.error;
        }
    }

    fn progress(&self, planned: u64, elapsed: Duration) -> Progress {
        Progress {
            sent: self.sent,
            failed: self.failed,
            throttled: self.throttled,
            planned,
            elapsed,
        }
    }

    fn report(self, elapsed: Duration) -> Report {
        Report {
            sent: self.sent,
            failed: self.failed,
            throttled: self.throttled,
            first_error: self.first_error,
            elapsed,
            latency: Latency::of(self.latencies),
            per_sensor: self.per_sensor,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use aws_sdk_kinesis::types::PutRecordsResultEntry;

    fn reading(sensor: &str) -> Reading {
        Reading {
            sensor_id: sensor.into(),
            value: 1.0,
            timestamp_ms: 0,
        }
    }

    #[test]
    fn backoff_stays_under_its_doubling_ceiling() {
        for retry in 0..4 {
            for _ in 0..100 {
                assert!(backoff(retry) <= FIRST_BACKOFF * 2_u32.pow(retry));
            }
        }
    }

    #[test]
    fn records_the_answer_reports_failed_are_not_acknowledged_and_may_be_resent() {
        let readings = [
            reading("sim-0001"),
            reading("sim-0002"),
            reading("sim-0003"),
        ];
        let output = PutRecordsOutput::builder()
            .failed_record_count(1)
            .records(
                PutRecordsResultEntry::builder()
                    .shard_id("shardId-000000000000")
                    .sequence_number("1")
                    .build(),
            )
            .records(
                PutRecordsResultEntry::builder()
                    .error_code("ProvisionedThroughputExceededException")
                    .error_message("Rate exceeded for shard shardId-000000000000")
                    .build(),
            )
            .records(
                PutRecordsResultEntry::builder()
                    .shard_id("shardId-000000000000")
                    .sequence_number("2")
                    .build(),
            )
            .build()
            .unwrap();
        let answer = answer_of(readings.len(), &output, Duration::from_millis(3));
        assert_eq!(answer.accepted, [0, 2]);
        assert_eq!(answer.throttled, 1);
        assert!(answer.retryable);
        assert_eq!(
            answer.error.as_deref(),
            Some(
                "ProvisionedThroughputExceededException: Rate exceeded for shard \
                 shardId-000000000000"
            )
        );
    }

    #[test]
    fn records_the_answer_leaves_out_are_failed_for_good() {
        let readings = [reading("sim-0001"), reading("sim-0002")];
        let output = PutRecordsOutput::builder()
            .records(
                PutRecordsResultEntry::builder()
                    .shard_id("shardId-000000000000")
                    .sequence_number("1")
                    .build(),
            )
            .build()
            .unwrap();
        let answer = answer_of(readings.len(), &output, Duration::from_millis(3));
        assert_eq!(answer.accepted, [0]);
        assert!(!answer.retryable);
        assert_eq!(
            answer.error.as_deref(),
            Some("the stream answered 1 of 2 records")
        );
    }
}
