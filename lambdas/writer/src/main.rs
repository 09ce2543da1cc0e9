//! IoTDDBEventProcessor: stores each valid reading of a Kinesis batch in the table and publishes
//! its metrics; answers with batch item failures for what must be retried.
//! Configuration: `TABLE_NAME`, `METRICS_NAMESPACE`, and `SENSOR_METRICS` (`per-sensor`, the
//! default, or `stack`: one `SensorData` for all sensors).

use aws_lambda_events::event::kinesis::KinesisEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use telemetry::Timestamp;
use telemetry::handlers::write_batch;
use telemetry::metrics::SensorMetrics;
use telemetry_aws::startup::{init_logging, required_env, sdk_config, work_deadline};
use telemetry_aws::{CloudWatchMetrics, DynamoDbStore};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let table = required_env("TABLE_NAME")?;
    let namespace = required_env("METRICS_NAMESPACE")?;
    // A wrong value fails the init, naming the variable and what it takes: no batch is
    // written with metrics the stack did not ask for.
    let sensor_metrics = match std::env::var(SensorMetrics::VARIABLE) {
        Ok(value) => SensorMetrics::parse(&value)?,
        Err(_) => SensorMetrics::default(),
    };
    let config = sdk_config().await;
    let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::new(&config), table);
    let metrics = CloudWatchMetrics::new(aws_sdk_cloudwatch::Client::new(&config), namespace);
    let (store, metrics) = (&store, &metrics);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<KinesisEvent>| async move {
            let deadline = work_deadline(event.context.deadline());
            let now =
                Timestamp::from_datetime(chrono::Utc::now()).unwrap_or_else(|_| Timestamp::min());
            let (response, _report) = write_batch(
                store,
                metrics,
                sensor_metrics,
                &event.payload,
                now,
                deadline,
            )
            .await;
            Ok::<_, std::convert::Infallible>(response)
        },
    ))
    .await
}
