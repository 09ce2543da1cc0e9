//! IoTAPI: answers `{"operation": "query", "sensorid": "X", ...}` with the sensor's readings,
//! newest first. A bad request is a function error of type `InvalidRequest` whose message names
//! the field.
//! Configuration: `TABLE_NAME`.

use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde_json::Value;
use telemetry::handlers::{QueryError, answer_query};
use telemetry_aws::DynamoDbStore;
use telemetry_aws::startup::{init_logging, required_env, sdk_config};

/// The query error as Lambda reports it: `errorType` and `errorMessage`.
#[derive(Debug)]
struct ApiError(QueryError);

impl From<ApiError> for Diagnostic {
    fn from(ApiError(err): ApiError) -> Self {
        Diagnostic {
            error_type: err.error_type().to_owned(),
            error_message: err.to_string(),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let table = required_env("TABLE_NAME")?;
    let config = sdk_config().await;
    let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::new(&config), table);
    let store = &store;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        answer_query(store, &event.payload).await.map_err(|err| {
            tracing::warn!(error = %err, error_type = err.error_type(), "query refused");
            ApiError(err)
        })
    }))
    .await
}
