//! What a stack operation shows while it runs: one line per resource status change, and a
//! spinner (on a terminal) saying what is being waited for. Progress goes to standard error;
//! standard output keeps results (changes, outputs).

use std::fmt;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// One stack event: a resource (or the stack) moving to a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceEvent {
    /// The event's id.
    pub id: String,
    /// When, as CloudFormation wrote it (UTC, RFC 3339).
    pub timestamp: String,
    /// Logical id (the stack's name for stack events).
    pub logical_id: String,
    /// `AWS::S3::Bucket` and the like.
    pub resource_type: String,
    /// `CREATE_IN_PROGRESS` and the like.
    pub status: String,
    /// Why, when CloudFormation says.
    pub reason: Option<String>,
}

impl ResourceEvent {
    /// A failure of a resource (not of the stack as a whole).
    pub fn is_resource_failure(&self) -> bool {
        self.status.ends_with("_FAILED") && self.resource_type != "AWS::CloudFormation::Stack"
    }
}

impl fmt::Display for ResourceEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `2026-11-27T22:00:01.123Z` -> `22:00:01`
        let time = self
            .timestamp
            .split('T')
            .nth(1)
            .map(|t| t.get(..8).unwrap_or(t))
            .unwrap_or(&self.timestamp);
        write!(
            f,
            "{time}  {:<28}  {:<32}  {}",
            self.status, self.resource_type, self.logical_id
        )?;
        if let Some(reason) = self.reason.as_deref().filter(|r| !r.is_empty()) {
            write!(f, "  ({reason})")?;
        }
        Ok(())
    }
}

/// Where a stack operation reports progress.
pub trait ProgressSink {
    /// A new event, in time order.
    fn event(&mut self, event: &ResourceEvent);
    /// What is being waited for now (stack status, or a pause after throttling).
    fn waiting(&mut self, message: &str);
}

/// Progress on standard error: event lines, and a spinner when it is a terminal.
#[derive(Debug)]
pub struct TerminalProgress {
    bar: ProgressBar,
}

impl TerminalProgress {
    /// A spinner (drawn only on a terminal) starting with `message`.
    pub fn start(message: &str) -> Self {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        bar.set_message(message.to_owned());
        Self { bar }
    }

    /// Prints a line above the spinner.
    pub fn line(&self, line: &str) {
        // suspend works whether or not the bar is drawn; `println` would drop lines when
        // standard error is not a terminal.
        self.bar.suspend(|| eprintln!("{line}"));
    }
}

impl ProgressSink for TerminalProgress {
    fn event(&mut self, event: &ResourceEvent) {
        self.line(&event.to_string());
    }

    fn waiting(&mut self, message: &str) {
        self.bar.set_message(message.to_owned());
    }
}

impl Drop for TerminalProgress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// Progress kept in memory (for callers that show it their own way, and tests).
#[derive(Debug, Default)]
pub struct RecordedProgress {
    /// The events, in the order they were reported.
    pub events: Vec<ResourceEvent>,
    /// The waiting messages.
    pub waits: Vec<String>,
}

impl ProgressSink for RecordedProgress {
    fn event(&mut self, event: &ResourceEvent) {
        self.events.push(event.clone());
    }

    fn waiting(&mut self, message: &str) {
        self.waits.push(message.to_owned());
    }
}
