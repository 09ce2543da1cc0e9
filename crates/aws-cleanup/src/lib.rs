//! What CloudFormation cannot delete by itself, done with the official AWS SDK:
//! - [`bucket`]: a bucket's every object version and delete marker, after a bucket-policy
//!   statement has denied new writes (S3 refuses to delete a bucket that holds anything);
//! - [`access_keys`]: an IAM user's access keys (IAM refuses to delete a user that has any).
//!
//! The custom-resource provider runs both when the stack is deleted; the deployer uses them
//! for its own asset bucket and when it replaces the device key. Errors carry the service's
//! code and message, so that a stack event or a terminal line says what AWS said.

pub mod access_keys;
pub mod bucket;

use aws_sdk_s3::error::ProvideErrorMetadata;

/// The service's code and message, or the error's chain of causes when there is no service
/// answer (no connection, a timeout).
pub(crate) fn describe<E>(err: &E) -> String
where
    E: ProvideErrorMetadata + std::error::Error,
{
    if let Some(code) = err.code() {
        return format!("{code}: {}", err.message().unwrap_or("no message"));
    }
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
