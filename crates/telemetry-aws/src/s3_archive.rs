//! The archive port on S3.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use telemetry::archive::ArchiveObject;
use telemetry::ports::{Archive, PortError};

/// Puts archive objects into one bucket. Encryption at rest comes from the bucket's default.
#[derive(Clone, Debug)]
pub struct S3Archive {
    client: Client,
    bucket: String,
}

impl S3Archive {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

impl Archive for S3Archive {
    async fn put(&self, object: &ArchiveObject) -> Result<(), PortError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&object.key)
            .content_type("application/json")
            .body(ByteStream::from(object.body.clone()))
            .send()
            .await
            .map_err(|err| {
                PortError::new(
                    "s3:PutObject",
                    aws_sdk_s3::error::DisplayErrorContext(err).to_string(),
                )
            })?;
        Ok(())
    }
}
