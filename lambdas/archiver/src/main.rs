//! IoTS3EventProcessor: archives every Kinesis batch as one object in the archive bucket.
//! Configuration: `ARCHIVE_BUCKET`.

use aws_lambda_events::event::kinesis::KinesisEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use telemetry::handlers::archive_batch;
use telemetry_aws::S3Archive;
use telemetry_aws::startup::{init_logging, required_env, sdk_config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let bucket = required_env("ARCHIVE_BUCKET")?;
    let config = sdk_config().await;
    let archive = S3Archive::new(aws_sdk_s3::Client::new(&config), bucket);
    let archive = &archive;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<KinesisEvent>| async move {
            Ok::<_, std::convert::Infallible>(archive_batch(archive, &event.payload).await)
        },
    ))
    .await
}
