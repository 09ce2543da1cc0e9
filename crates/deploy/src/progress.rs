//! What a stack operation shows while it runs: one line per resource status change, and a
//! spinner (on a terminal) saying what is being waited for. Progress goes to standard error;
//! standard output keeps results (changes, outputs).

use std::time::Duration;

use cfn_apply::{ProgressSink, ResourceEvent};
use indicatif::{ProgressBar, ProgressStyle};

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
