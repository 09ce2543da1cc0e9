//! `deploy status`: the stack's health at a glance, from its alarms, which watch the metrics
//! that matter (each consumer's iterator age, the failure queues, the functions' errors and
//! throttles, the stream's throttling, the share of readings refused). On AWS they are read
//! with DescribeAlarms; locally, from the local target's newest evaluation of the same alarms
//! (`local_target::alarms`). Exit status 1 when any alarm is in ALARM, or missing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use iot_stack::StackDefinition;
use iot_stack::monitoring::{self, SUBJECTS};
use iot_stack::names::Names;
use local_target::alarms::{AlarmReport, AlarmState};
use local_target::state::StateDir;

use crate::aws::Session;

/// A local evaluation older than this means the target is not running: it evaluates every
/// second.
const LOCAL_STALE_AFTER: Duration = Duration::from_secs(10);

/// DescribeAlarms takes at most this many names per call ("DescribeAlarms", CloudWatch API
/// Reference: `AlarmNames`, "Maximum number of 100 items").
const NAMES_PER_CALL: usize = 100;

/// An alarm's state, as CloudWatch names it, and `MISSING` for one the stack should have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Ok,
    Alarm,
    InsufficientData,
    Missing,
}

impl State {
    /// In ALARM or missing. INSUFFICIENT_DATA is a new alarm's state until its first period
    /// ends; with missing data treated as not breaching it means nothing is wrong.
    fn needs_a_look(self) -> bool {
        matches!(self, Self::Alarm | Self::Missing)
    }

    fn label(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Alarm => "ALARM",
            Self::InsufficientData => "INSUFFICIENT_DATA",
            Self::Missing => "MISSING",
        }
    }
}

/// One alarm's row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub name: String,
    pub state: State,
    /// Why, as the alarm says it.
    pub reason: String,
    /// What it means, shown for the ones that need a look.
    pub description: String,
}

/// The stack's health.
#[derive(Clone, Debug, PartialEq)]
pub struct Health {
    /// Where it was read from, such as `local, evaluated 0.4 s ago`.
    pub source: String,
    pub rows: Vec<Row>,
}

impl Health {
    /// No alarm in ALARM and none missing.
    pub fn healthy(&self) -> bool {
        !self.rows.iter().any(|row| row.state.needs_a_look())
    }

    /// The report shown: a summary line, then one line per alarm, those that need a look
    /// first, each in ALARM followed by what it means.
    pub fn render(&self, stack: &str) -> String {
        let mut rows: Vec<&Row> = self.rows.iter().collect();
        rows.sort_by_key(|row| (!row.state.needs_a_look(), row.name.clone()));
        let bad = rows.iter().filter(|row| row.state.needs_a_look()).count();
        let width = rows.iter().map(|row| row.name.len()).max().unwrap_or(0);
        let mut text = format!(
            "stack `{stack}` ({}): {}\n",
            self.source,
            if bad == 0 {
                format!("healthy, none of its {} alarms in ALARM", rows.len())
            } else {
                format!("{bad} of {} alarms need a look", rows.len())
            }
        );
        for row in rows {
            let _ = writeln!(
                text,
                "  {:<17} {:<width$}  {}",
                row.state.label(),
                row.name,
                row.reason
            );
            if row.state == State::Alarm {
                let _ = writeln!(text, "  {:<17} {:<width$}  {}", "", "", row.description);
            }
        }
        text
    }
}

/// No local target of the stack runs on this state folder; [`crate::hints`] names the command
/// that starts it, with the user's own folders and port.
#[derive(Debug, thiserror::Error)]
pub enum NoLocalTarget {
    /// None ever ran there.
    #[error("no local target of stack `{stack}` has run in {}", state_dir.display())]
    NeverRan { stack: String, state_dir: PathBuf },
    /// One ran, and its last evaluation is stale.
    #[error(
        "the local target of stack `{stack}` is not running: its alarms were last evaluated \
         {seconds_ago} s ago (it evaluates them every second while it runs)"
    )]
    Stopped { stack: String, seconds_ago: u64 },
}

/// The local stack's health, from the report its running target writes in `state_dir`.
pub fn local(definition: &StackDefinition, state_dir: &Path) -> anyhow::Result<Health> {
    let path = StateDir::existing(state_dir).alarms();
    let stack = definition.stack_name.to_string();
    let report = AlarmReport::read(&path)
        .with_context(|| format!("failed to read the local alarms in {}", path.display()))?
        .ok_or_else(|| NoLocalTarget::NeverRan {
            stack: stack.clone(),
            state_dir: state_dir.to_owned(),
        })?;
    let age_ms = local_target::storage::stream::now_ms() - report.evaluated_at_ms;
    let age = Duration::from_millis(u64::try_from(age_ms).unwrap_or_default());
    if age > LOCAL_STALE_AFTER {
        return Err(NoLocalTarget::Stopped {
            stack,
            seconds_ago: age.as_secs(),
        }
        .into());
    }
    Ok(Health {
        source: format!("local, evaluated {:.1} s ago", age.as_secs_f64()),
        rows: report
            .alarms
            .into_iter()
            .map(|alarm| Row {
                name: alarm.name,
                state: match alarm.state {
                    AlarmState::Ok => State::Ok,
                    AlarmState::Alarm => State::Alarm,
                },
                reason: alarm.reason,
                description: alarm.description,
            })
            .collect(),
    })
}

/// The deployed stack's health: its alarms' states from CloudWatch.
pub async fn on_aws(session: &Session, definition: &StackDefinition) -> anyhow::Result<Health> {
    let names = Names::new(&definition.stack_name);
    let expected = monitoring::alarms(&names, &SUBJECTS);
    let wanted: Vec<String> = expected.iter().map(|alarm| alarm.name.clone()).collect();
    let mut found = Vec::new();
    for chunk in wanted.chunks(NAMES_PER_CALL) {
        let mut pages = session
            .clients
            .cloudwatch
            .describe_alarms()
            .set_alarm_names(Some(chunk.to_vec()))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.context("failed to describe the stack's alarms (DescribeAlarms)")?;
            found.extend(page.metric_alarms.unwrap_or_default());
        }
    }
    let rows = expected
        .into_iter()
        .map(|spec| {
            let alarm = found
                .iter()
                .find(|alarm| alarm.alarm_name.as_deref() == Some(spec.name.as_str()));
            match alarm {
                Some(alarm) => Row {
                    state: match alarm.state_value.as_ref().map(|state| state.as_str()) {
                        Some("OK") => State::Ok,
                        Some("ALARM") => State::Alarm,
                        _ => State::InsufficientData,
                    },
                    reason: alarm.state_reason.clone().unwrap_or_default(),
                    name: spec.name,
                    description: spec.description,
                },
                None => Row {
                    state: State::Missing,
                    reason: "not found: the stack creates it; deploy this version of the stack"
                        .to_owned(),
                    name: spec.name,
                    description: spec.description,
                },
            }
        })
        .collect();
    Ok(Health {
        source: format!("account {} region {}", session.account, session.region),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, state: State) -> Row {
        Row {
            name: name.to_owned(),
            state,
            reason: format!("{name} reason"),
            description: format!("{name} means"),
        }
    }

    #[test]
    fn alarms_that_need_a_look_come_first_with_what_they_mean() {
        let health = Health {
            source: "local".to_owned(),
            rows: vec![
                row("a-ok", State::Ok),
                row("b-alarm", State::Alarm),
                row("c-new", State::InsufficientData),
            ],
        };
        assert!(!health.healthy());
        let text = health.render("demo");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "stack `demo` (local): 1 of 3 alarms need a look");
        assert!(lines[1].starts_with("  ALARM") && lines[1].contains("b-alarm reason"));
        assert!(lines[2].ends_with("b-alarm means"));
        assert!(!text.contains("a-ok means"));
        let healthy = Health {
            source: "local".to_owned(),
            rows: vec![
                row("a-ok", State::Ok),
                row("c-new", State::InsufficientData),
            ],
        };
        assert!(healthy.healthy());
        assert!(
            healthy
                .render("demo")
                .starts_with("stack `demo` (local): healthy, none of its 2 alarms in ALARM")
        );
        let missing = Health {
            source: "aws".to_owned(),
            rows: vec![row("a", State::Missing)],
        };
        assert!(!missing.healthy());
    }
}
