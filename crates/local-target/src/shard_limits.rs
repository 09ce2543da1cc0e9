//! Kinesis' write limits per shard, so that a device tested locally meets throttling here
//! first instead of only on AWS. "Each shard can support writes up to 1,000 records per
//! second, up to a maximum data write total of 1 MiB per second" (Kinesis Data Streams
//! Developer Guide, "Quotas and limits"); a record over either is refused with
//! `ProvisionedThroughputExceededException` (Kinesis API Reference, `PutRecords`,
//! `PutRecordsResultEntry`).
//!
//! Each shard is a token bucket of both budgets, refilled continuously and holding one second
//! of each, which admits the bursts AWS admits within a second and no more over any longer
//! span. One record takes one record token and its size in byte tokens, and is admitted only
//! when both allow it, atomically; that joint check is why this is a small bucket of its own
//! and not a general rate limiter, which meters one quantity at a time.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// Records a shard takes per second.
pub const RECORDS_PER_SECOND: f64 = 1000.0;
/// Bytes (data plus partition key) a shard takes per second.
pub const BYTES_PER_SECOND: f64 = 1024.0 * 1024.0;

/// Whether puts meet Kinesis' per-shard limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ShardLimits {
    /// As on AWS.
    #[default]
    Aws,
    /// No limit: for benchmarks of the local target itself.
    Off,
}

/// The buckets of every shard.
#[derive(Debug)]
pub struct ShardThrottle {
    /// `None` with [`ShardLimits::Off`].
    buckets: Option<Mutex<Vec<Bucket>>>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    records: f64,
    bytes: f64,
    at: Instant,
}

impl Bucket {
    fn full(now: Instant) -> Self {
        Self {
            records: RECORDS_PER_SECOND,
            bytes: BYTES_PER_SECOND,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let seconds = now.saturating_duration_since(self.at).as_secs_f64();
        self.records = (self.records + seconds * RECORDS_PER_SECOND).min(RECORDS_PER_SECOND);
        self.bytes = (self.bytes + seconds * BYTES_PER_SECOND).min(BYTES_PER_SECOND);
        self.at = self.at.max(now);
    }

    fn take(&mut self, size: usize) -> bool {
        let size = size as f64;
        // A record of a full second's bytes (1 MiB of data plus its key) is admitted by a
        // full bucket and leaves it in debt, rather than never fitting.
        let admitted = self.records >= 1.0 && self.bytes >= size.min(BYTES_PER_SECOND);
        if admitted {
            self.records -= 1.0;
            self.bytes -= size;
        }
        admitted
    }
}

impl ShardThrottle {
    /// Full buckets for `shard_count` shards.
    pub fn new(limits: ShardLimits, shard_count: u32, now: Instant) -> Self {
        let buckets = match limits {
            ShardLimits::Aws => Some(Mutex::new(vec![
                Bucket::full(now);
                shard_count.max(1) as usize
            ])),
            ShardLimits::Off => None,
        };
        Self { buckets }
    }

    /// For each record, given as its shard and its size (data plus partition key), whether
    /// that shard takes it at `now`. Records are weighed in order, so a call's earlier
    /// records go first, and a refused record uses nothing. Without limits nothing is read
    /// from `records`, so a caller that places records lazily places none twice.
    pub fn admit(
        &self,
        records: impl ExactSizeIterator<Item = (u32, usize)>,
        now: Instant,
    ) -> Vec<bool> {
        let Some(buckets) = &self.buckets else {
            return vec![true; records.len()];
        };
        let mut buckets = buckets.lock().unwrap_or_else(PoisonError::into_inner);
        for bucket in buckets.iter_mut() {
            bucket.refill(now);
        }
        records
            .into_iter()
            .map(|(shard, size)| {
                buckets
                    .get_mut(shard as usize)
                    .is_some_and(|bucket| bucket.take(size))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn admitted(throttle: &ShardThrottle, records: &[(u32, usize)], now: Instant) -> usize {
        throttle
            .admit(records.iter().copied(), now)
            .into_iter()
            .filter(|admitted| *admitted)
            .count()
    }

    #[test]
    fn a_shard_takes_a_second_of_records_at_once_then_its_rate() {
        let start = Instant::now();
        let throttle = ShardThrottle::new(ShardLimits::Aws, 2, start);
        let small = vec![(0, 100); 1500];
        assert_eq!(admitted(&throttle, &small, start), 1000);
        // The other shard has its own budget.
        assert_eq!(admitted(&throttle, &[(1, 100); 10], start), 10);
        assert_eq!(
            admitted(&throttle, &small, start + Duration::from_millis(250)),
            250
        );
        // Idle time refills to one second's worth, no more.
        assert_eq!(
            admitted(&throttle, &small, start + Duration::from_secs(60)),
            1000
        );
    }

    #[test]
    fn a_shard_takes_a_mebibyte_a_second() {
        let start = Instant::now();
        let throttle = ShardThrottle::new(ShardLimits::Aws, 1, start);
        let large = vec![(0, 100 * 1024); 20];
        // Ten 100 KiB records fit in 1 MiB; the eleventh does not.
        assert_eq!(admitted(&throttle, &large, start), 10);
        // A refused large record leaves room for small ones.
        let mixed = [(0, 100 * 1024), (0, 1000)];
        assert_eq!(
            throttle.admit(mixed.into_iter(), start + Duration::from_millis(1)),
            [false, true]
        );
        // A 1 MiB record fits a full bucket.
        let later = start + Duration::from_secs(5);
        assert_eq!(
            throttle.admit([(0, 1024 * 1024 + 256)].into_iter(), later),
            [true]
        );
        assert_eq!(throttle.admit([(0, 10)].into_iter(), later), [false]);
    }

    #[test]
    fn off_takes_everything() {
        let start = Instant::now();
        let throttle = ShardThrottle::new(ShardLimits::Off, 1, start);
        assert_eq!(
            admitted(&throttle, &vec![(0, 1024 * 1024); 5000], start),
            5000
        );
    }
}
