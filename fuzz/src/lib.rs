//! What the fuzz targets share: a runtime for the async cores, the device key and the endpoint
//! settings they run under, a plain-text request format that seed files are written in, and
//! signing such a request with aws-sigv4 as a client does.
//!
//! # Layout
//! - [`request`]: the text format (`METHOD /path?query`, header lines, a blank line, the body)
//!   and its parsing into an `http` request.
//! - [`signing`]: SigV4 headers for a request, from aws-sigv4, with the device key or another.
//! - [`runtime`] (here): one current-thread tokio runtime per process.

pub mod request;
pub mod signing;

use std::sync::OnceLock;

/// The region, account and key the targets' endpoint is configured with.
pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";
pub const KEY_ID: &str = "AKIALOCALFUZZDEVICE0";
pub const SECRET: &str = "fuzz/secret/Key+for+the+device+under+test0";
pub const STREAM: &str = "demo-IoTEventStream";
pub const STREAM_ARN: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/demo-IoTEventStream";
pub const FUNCTION: &str = "demo-IoTAPI";

/// One runtime for every input: building one per input would cost more than most inputs.
/// Current-thread, so that an input's work runs on the fuzzer's thread and a panic in it is
/// the fuzzer's crash rather than a task's.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
    })
}
