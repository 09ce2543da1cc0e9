//! The moto server that `scripts/test` starts on loopback, and SDK configuration pointing at it.
//! Tests share one server and never reset it: each test names its resources uniquely.

use crate::HarnessError;
use std::sync::atomic::{AtomicU64, Ordering};

/// moto's fixed test account.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region the tests use.
pub const REGION: &str = "us-east-1";

/// The endpoint from `MOTO_ENDPOINT`. Without it the test fails: a test that cannot reach its
/// server has not passed.
pub fn endpoint() -> Result<String, HarnessError> {
    std::env::var("MOTO_ENDPOINT").map_err(|_| HarnessError::NoMoto)
}

/// SDK configuration for moto: its endpoint, a fixed region and static test credentials.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_credential_types::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await
}

/// The environment a function process needs to reach moto.
pub fn function_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
    ]
}

/// A lower-case name no other test in this run, or an earlier run against the same server, uses.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A table shaped as the stack makes it: `SensorId` (S) hash key, `Timestamp` (S) range key.
pub async fn create_sensor_table(
    config: &aws_config::SdkConfig,
    name: &str,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let key = |name: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
    };
    aws_sdk_dynamodb::Client::new(config)
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("SensorId")?)
        .attribute_definitions(attribute("Timestamp")?)
        .key_schema(key("SensorId", KeyType::Hash)?)
        .key_schema(key("Timestamp", KeyType::Range)?)
        .send()
        .await?;
    Ok(())
}
