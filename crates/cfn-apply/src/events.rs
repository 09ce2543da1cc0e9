//! The stack's events since a point, read newest first in pages and handed on oldest first,
//! each once.

use std::collections::HashSet;

use anyhow::Context;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{ResourceStatus, StackEvent};
use aws_smithy_types::date_time::Format;

use crate::progress::ResourceEvent;

/// Reads the stack's new events, newest first in pages, and hands them on oldest first.
#[derive(Debug)]
pub struct EventCursor {
    pub(crate) stack_id: String,
    seen: HashSet<String>,
    /// The newest event at the start: reading stops there.
    boundary: Option<String>,
}

/// What one look at the events gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Look {
    /// New events, oldest first.
    Events(Vec<ResourceEvent>),
    /// CloudFormation asked to slow down; try later.
    Throttled,
}

/// The most pages read in one look: a stack of this size makes far fewer events between two
/// looks, so more means the boundary was lost; the rest is read at the next look.
const MAX_PAGES_PER_LOOK: usize = 20;

impl EventCursor {
    /// A cursor past every event the stack has now (the ones before the operation).
    pub async fn start(cfn: &Client, stack_id: &str) -> anyhow::Result<Self> {
        let first = cfn
            .describe_stack_events()
            .stack_name(stack_id)
            .send()
            .await
            .with_context(|| format!("failed to read the events of stack {stack_id}"))?;
        Ok(Self {
            stack_id: stack_id.to_owned(),
            seen: HashSet::new(),
            boundary: first
                .stack_events()
                .first()
                .and_then(|e| e.event_id())
                .map(str::to_owned),
        })
    }

    /// A cursor that reports every event of the stack (a stack just made).
    pub fn from_beginning(stack_id: &str) -> Self {
        Self {
            stack_id: stack_id.to_owned(),
            seen: HashSet::new(),
            boundary: None,
        }
    }

    /// The events since the last look.
    pub async fn look(&mut self, cfn: &Client) -> anyhow::Result<Look> {
        let mut fresh = Vec::new();
        let mut token: Option<String> = None;
        'pages: for _ in 0..MAX_PAGES_PER_LOOK {
            let page = match cfn
                .describe_stack_events()
                .stack_name(&self.stack_id)
                .set_next_token(token.take())
                .send()
                .await
            {
                Ok(page) => page,
                Err(error) => {
                    let error = error.into_service_error();
                    if is_throttling(&error) {
                        return Ok(Look::Throttled);
                    }
                    return Err(error).with_context(|| {
                        format!("failed to read the events of stack {}", self.stack_id)
                    });
                }
            };
            for event in page.stack_events() {
                let id = event.event_id().unwrap_or_default();
                if self.boundary.as_deref() == Some(id) || self.seen.contains(id) {
                    break 'pages;
                }
                fresh.push(resource_event(event));
            }
            match page.next_token() {
                Some(next) => token = Some(next.to_owned()),
                None => break,
            }
        }
        fresh.reverse();
        fresh.retain(|event| self.seen.insert(event.id.clone()));
        Ok(Look::Events(fresh))
    }
}

fn is_throttling<E: ProvideErrorMetadata>(error: &E) -> bool {
    matches!(
        error.code(),
        Some(
            "Throttling"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "TooManyRequestsException"
        )
    )
}

fn resource_event(event: &StackEvent) -> ResourceEvent {
    ResourceEvent {
        id: event.event_id().unwrap_or_default().to_owned(),
        timestamp: event
            .timestamp()
            .and_then(|t| t.fmt(Format::DateTime).ok())
            .unwrap_or_default(),
        logical_id: event.logical_resource_id().unwrap_or_default().to_owned(),
        resource_type: event.resource_type().unwrap_or_default().to_owned(),
        status: event
            .resource_status()
            .cloned()
            .unwrap_or_else(|| ResourceStatus::from("")),
        reason: event.resource_status_reason().map(str::to_owned),
    }
}
