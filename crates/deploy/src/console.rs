//! The live view while the local target runs: readings in, processed, rejected, dead-lettered,
//! each consumer's lag, and the alarms in ALARM. A redrawn line on a terminal; a line every few
//! seconds otherwise (when something changed), so logs stay readable. An alarm changing state
//! also gets a line of its own, with why and what it means, as an alarm's notification would.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use local_target::RunningTarget;
use local_target::alarms::{AlarmReport, AlarmState};

/// One snapshot of the counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Records the stream acknowledged.
    pub records_in: u64,
    /// Records refused for the shard limits (a device retries them).
    pub throttled: u64,
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
    /// The alarms in ALARM, by name.
    pub in_alarm: Vec<String>,
}

impl Snapshot {
    /// The counters of `target` now.
    pub fn of(target: &RunningTarget) -> Self {
        let stats = &target.stats;
        let (archiver_lag, writer_lag) = target.lag();
        Self {
            records_in: stats.records_in.load(Ordering::Relaxed),
            throttled: stats.records_throttled.load(Ordering::Relaxed),
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
            in_alarm: target
                .alarm_report()
                .in_alarm()
                .map(|alarm| alarm.name.clone())
                .collect(),
        }
    }

    /// The line shown.
    pub fn line(&self) -> String {
        let alarms = if self.in_alarm.is_empty() {
            "alarms OK".to_owned()
        } else {
            format!("ALARM: {}", self.in_alarm.join(", "))
        };
        // Shown once there is any: most runs never meet the limits.
        let throttled = if self.throttled == 0 {
            String::new()
        } else {
            format!(" (throttled {})", self.throttled)
        };
        format!(
            "in {}{throttled} · stored {} · rejected {} · archived {} · dead-lettered {} · lag: archiver {}, writer {} · {alarms}",
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

/// A line for each alarm whose state differs from `before` (or, with no `before`, each one in
/// ALARM): `ALARM <name>: <reason>. <description>`, or `OK <name>: <reason>`.
pub fn alarm_changes(before: Option<&AlarmReport>, now: &AlarmReport) -> Vec<String> {
    now.changed_since(before)
        .map(|alarm| match alarm.state {
            AlarmState::Alarm => format!(
                "ALARM {}: {}. {}",
                alarm.name, alarm.reason, alarm.description
            ),
            AlarmState::Ok => format!("OK {}: {}", alarm.name, alarm.reason),
        })
        .collect()
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
    let mut alarms: Option<AlarmReport> = None;
    loop {
        let report = target.alarm_report();
        for change in alarm_changes(alarms.as_ref(), &report) {
            match &bar {
                Some(bar) => bar.println(&change),
                None => eprintln!("{change}"),
            }
        }
        alarms = Some(report);
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
