//! The DynamoDB table of readings.

use cfn_model::resources::dynamodb::{
    AttributeDefinition, BillingMode, KeySchemaElement, PointInTimeRecoverySpecification,
    ScalarType, SseSpecification, Table,
};
use cfn_model::{DeletionPolicy, Handle, ResourceOptions, Statement, TemplateBuilder};

use crate::checkov::{self, Skip};
use crate::names::Names;

/// The readings table and the rights its users need.
#[derive(Debug)]
pub struct SensorTable {
    /// The table.
    pub table: Handle<Table>,
}

/// Logical id of the table (the 2015 original's).
pub const LOGICAL_ID: &str = "SensorDataTable";

/// The key schema of the design's contract: the sensor's id, then the reading's normalised
/// UTC timestamp, whose text order is time order.
const HASH_KEY: &str = "SensorId";
const RANGE_KEY: &str = "Timestamp";

const SKIPS: &[Skip] = &[Skip {
    id: "CKV_AWS_119",
    comment: "Encrypted at rest with the AWS managed key aws/dynamodb (SSEEnabled). A customer \
              managed key adds a key policy to maintain and a monthly key cost for no extra \
              access control here: only this stack's roles can read the table.",
}];

impl SensorTable {
    /// Declares the table: on-demand billing (the 2015 original's 1 RCU / 1 WCU throttled at
    /// a few readings a second), encrypted, with point-in-time recovery.
    pub fn declare(template: &mut TemplateBuilder, names: &Names<'_>) -> Self {
        let table = template.resource_with(
            LOGICAL_ID,
            Table {
                table_name: Some(names.table().into()),
                attribute_definitions: vec![
                    AttributeDefinition::new(HASH_KEY, ScalarType::S),
                    AttributeDefinition::new(RANGE_KEY, ScalarType::S),
                ],
                key_schema: vec![
                    KeySchemaElement::hash(HASH_KEY),
                    KeySchemaElement::range(RANGE_KEY),
                ],
                billing_mode: BillingMode::PayPerRequest,
                sse_specification: Some(SseSpecification { sse_enabled: true }),
                point_in_time_recovery_specification: Some(PointInTimeRecoverySpecification {
                    point_in_time_recovery_enabled: true,
                }),
            },
            // Said explicitly: `destroy` removes the whole stack, data included.
            checkov::with_skips(
                ResourceOptions::default()
                    .deletion_policy(DeletionPolicy::Delete)
                    .update_replace_policy(DeletionPolicy::Delete),
                SKIPS,
            ),
        );
        Self { table }
    }

    /// What the writer needs: one batched write call (idempotent puts of whole items).
    pub fn batch_write(&self) -> Statement {
        Statement::allow(["dynamodb:BatchWriteItem"], [self.table.arn()]).sid("WriteReadings")
    }

    /// What the query API needs: `Query` on the table itself (it has no index).
    pub fn query(&self) -> Statement {
        Statement::allow(["dynamodb:Query"], [self.table.arn()]).sid("QueryReadings")
    }
}
