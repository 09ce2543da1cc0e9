//! Test support for the Lambda binaries: they are run as real processes, as Lambda runs them.
//!
//! # Layout
//! - [`runtime_api`]: a loopback Lambda Runtime API ([`RuntimeApi`]) that hands out queued
//!   invocations on `/next` and collects responses and errors.
//! - [`process`]: [`FunctionProcess`], a bootstrap binary started under that API with the
//!   environment Lambda gives it, its log lines captured.
//! - [`moto`]: the moto server the test command started, and SDK configuration pointing at it.

pub mod moto;
pub mod process;
pub mod runtime_api;

pub use process::FunctionProcess;
pub use runtime_api::{Outcome, RuntimeApi};

/// What can go wrong running a function under the harness.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("binding the Runtime API on 127.0.0.1: {0}")]
    Bind(std::io::Error),
    #[error("starting {binary}: {source}")]
    Spawn {
        binary: String,
        source: std::io::Error,
    },
    #[error("no answer to invocation {request_id} within {waited_ms} ms; function log:\n{log}")]
    Timeout {
        request_id: String,
        waited_ms: u128,
        log: String,
    },
    #[error("the function reported an init error: {0}")]
    InitError(serde_json::Value),
    #[error("the function exited ({status}) before answering; function log:\n{log}")]
    Exited { status: String, log: String },
    #[error(
        "MOTO_ENDPOINT is not set: run the tests with scripts/test, which installs and starts moto"
    )]
    NoMoto,
}

/// A JSON fixture of the telemetry crate's (`crates/telemetry/tests/fixtures/<name>`), shared by
/// the adapter and binary tests so that every layer is fed the same real payloads.
pub fn telemetry_fixture(name: &str) -> serde_json::Value {
    let path = format!(
        "{}/../telemetry/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("parsing {path}: {e}"))
}
