//! The live view while the local target runs: readings in, processed, rejected, dead-lettered, and
//! each consumer's lag. A redrawn line on a terminal; a line every few seconds otherwise (when
//! something changed), so logs stay readable.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use local_target::RunningTarget;

/// One snapshot of the counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Records the stream acknowledged.
    pub records_in: u64,
    /// Readings the writer stored in the table.
    pub stored: u64,
    /// Readings the writer rejected.
    pub rejected: u64,
    /// Records the archiver's consumer delivered.
    pub archived: u64,
    /// Records both consumers dead-lettered.
    pub dead_lettered: u64,
    /// Records the archiver's consumer has yet to deliver.
    pub archiver_lag: u64,
    /// Records the writer's consumer has yet to deliver.
    pub writer_lag: u64,
}

impl Snapshot {
    /// The counters of `target` now.
    pub fn of(target: &RunningTarget) -> Self {
        let stats = &target.stats;
        let (archiver_lag, writer_lag) = target.lag();
        Self {
            records_in: stats.records_in.load(Ordering::Relaxed),
            stored: stats.writer.accepted.load(Ordering::Relaxed),
            rejected: stats.writer.rejected.load(Ordering::Relaxed),
            archived: stats.archiver_consumer.delivered.load(Ordering::Relaxed),
            dead_lettered: stats
                .archiver_consumer
                .dead_lettered
                .load(Ordering::Relaxed)
                + stats.writer_consumer.dead_lettered.load(Ordering::Relaxed),
            archiver_lag,
            writer_lag,
        }
    }

    /// The line shown.
    pub fn line(&self) -> String {
        format!(
            "in {} · stored {} · rejected {} · archived {} · dead-lettered {} · lag: archiver {}, writer {}",
            self.records_in,
            self.stored,
            self.rejected,
            self.archived,
            self.dead_lettered,
            self.archiver_lag,
            self.writer_lag
        )
    }
}

/// Shows the counters until the returned future is dropped.
pub async fn show(target: &RunningTarget) {
    let terminal = std::io::stderr().is_terminal();
    let bar = if terminal {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        Some(bar)
    } else {
        None
    };
    let period = if terminal {
        Duration::from_millis(250)
    } else {
        Duration::from_secs(5)
    };
    let mut last = None;
    loop {
        let now = Snapshot::of(target);
        match &bar {
            Some(bar) => {
                bar.set_message(now.line());
                bar.tick();
            }
            None if last.as_ref() != Some(&now) => eprintln!("{}", now.line()),
            None => {}
        }
        last = Some(now);
        tokio::time::sleep(period).await;
    }
}
