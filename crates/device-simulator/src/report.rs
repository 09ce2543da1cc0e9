//! What a run achieved.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Where a run is, for a progress display.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Readings acknowledged by the stream.
    pub sent: u64,
    pub failed: u64,
    /// Refusals for throughput so far (a reading refused twice counts twice).
    pub throttled: u64,
    /// Readings the run will send in all.
    pub planned: u64,
    pub elapsed: Duration,
}

impl Progress {
    /// Acknowledged readings per second so far.
    pub fn rate(&self) -> f64 {
        per_second(self.sent, self.elapsed)
    }
}

/// Latency of the `PutRecords` calls, nearest-rank percentiles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Latency {
    pub calls: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Latency {
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        let rank = |percent: usize| -> Duration {
            if samples.is_empty() {
                return Duration::ZERO;
            }
            let index = (samples.len() * percent).div_ceil(100).max(1) - 1;
            samples[index]
        };
        Self {
            calls: samples.len(),
            p50: rank(50),
            p90: rank(90),
            p99: rank(99),
            max: samples.last().copied().unwrap_or_default(),
        }
    }
}

/// The outcome of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Readings the stream acknowledged.
    pub sent: u64,
    /// Readings not acknowledged in the end, by a failed call or as failed records of each of
    /// their attempts.
    pub failed: u64,
    /// Refusals for throughput (`ProvisionedThroughputExceededException`), counting each
    /// attempt; a refused reading is resent with backoff.
    pub throttled: u64,
    /// The first failure's text, as the SDK reported it.
    pub first_error: Option<String>,
    pub elapsed: Duration,
    pub latency: Latency,
    /// Acknowledged readings per sensor id.
    pub per_sensor: BTreeMap<String, u64>,
}

impl Report {
    /// Acknowledged readings per second.
    pub fn throughput(&self) -> f64 {
        per_second(self.sent, self.elapsed)
    }
}

fn per_second(count: u64, elapsed: Duration) -> f64 {
    if elapsed.is_zero() {
        0.0
    } else {
        count as f64 / elapsed.as_secs_f64()
    }
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "readings sent     {} (acknowledged by the stream)",
            self.sent
        )?;
        writeln!(f, "readings failed   {}", self.failed)?;
        writeln!(
            f,
            "throttled         {} refusals, resent with backoff (up to {} attempts a reading)",
            self.throttled,
            crate::run::MAX_ATTEMPTS
        )?;
        writeln!(f, "elapsed           {:.2} s", self.elapsed.as_secs_f64())?;
        writeln!(f, "throughput        {:.1} readings/s", self.throughput())?;
        let latency = &self.latency;
        writeln!(
            f,
            "PutRecords calls  {}, latency p50 {}, p90 {}, p99 {}, max {}",
            latency.calls,
            millis(latency.p50),
            millis(latency.p90),
            millis(latency.p99),
            millis(latency.max)
        )?;
        let fewest = self.per_sensor.values().min().copied().unwrap_or(0);
        let most = self.per_sensor.values().max().copied().unwrap_or(0);
        write!(
            f,
            "sensors           {} with readings, {fewest} to {most} each",
            self.per_sensor.len()
        )?;
        if let Some(error) = &self.first_error {
            write!(f, "\nfirst error       {error}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let latency = Latency::of(samples);
        assert_eq!(latency.calls, 100);
        assert_eq!(latency.p50, Duration::from_millis(50));
        assert_eq!(latency.p90, Duration::from_millis(90));
        assert_eq!(latency.p99, Duration::from_millis(99));
        assert_eq!(latency.max, Duration::from_millis(100));
        let one = Latency::of(vec![Duration::from_millis(7)]);
        assert_eq!(
            (one.p50, one.p99, one.max),
            (
                Duration::from_millis(7),
                Duration::from_millis(7),
                Duration::from_millis(7)
            )
        );
        assert_eq!(Latency::of(Vec::new()), Latency::default());
    }

    #[test]
    fn the_report_reads_well() {
        let report = Report {
            sent: 200,
            failed: 1,
            throttled: 3,
            first_error: Some("ProvisionedThroughputExceededException: slow down".into()),
            elapsed: Duration::from_secs(2),
            latency: Latency::of(vec![Duration::from_millis(4)]),
            per_sensor: [("sim-0001".to_owned(), 120), ("sim-0002".to_owned(), 80)].into(),
        };
        assert_eq!(report.throughput(), 100.0);
        let text = report.to_string();
        assert!(
            text.contains("throughput        100.0 readings/s"),
            "{text}"
        );
        assert!(text.contains("throttled         3 refusals"), "{text}");
        assert!(text.contains("2 with readings, 80 to 120 each"), "{text}");
        assert!(
            text.contains("first error       ProvisionedThroughput"),
            "{text}"
        );
    }
}
