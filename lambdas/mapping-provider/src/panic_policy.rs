//! A panic ends the process, in every build: the hook reports it, then aborts.
//!
//! cargo-lambda builds release binaries with `panic = "abort"` (it passes
//! `--config profile.release.panic="abort"` unless the workspace's `[profile.release]` sets
//! `panic`; this workspace sets none), while `cargo test --release` builds with the default,
//! `unwind`. Aborting from the hook makes both builds behave as the shipped one: nothing
//! catches a panic (not `catch_unwind`, not a tokio `JoinHandle`, not lambda_runtime), no
//! destructor runs, the process dies of SIGABRT. The guarantee that CloudFormation still gets
//! an answer therefore cannot rest on catching anything; it rests on process isolation (see
//! the crate documentation), and the tests exercise exactly what runs in Lambda.

use std::panic::PanicHookInfo;

/// Where a panic is reported before the process aborts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanicReport {
    /// Only to the log (standard error), as the default hook does.
    Log,
    /// Also to the supervisor, as a report line on standard output.
    Supervisor,
}

/// Installs the hook; call first thing in `main`.
pub fn abort_on_panic(report: PanicReport) {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        if report == PanicReport::Supervisor {
            crate::worker::report_panic(panic_message(info));
        }
        std::process::abort();
    }));
}

/// The panic's message and where it happened.
pub fn panic_message(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic without a message)");
    match info.location() {
        Some(at) => format!("{text} (at {}:{}:{})", at.file(), at.line(), at.column()),
        None => text.to_owned(),
    }
}
