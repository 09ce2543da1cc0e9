//! Custom resources: `Custom::<Name>`, answered by a provider (usually a Lambda function).

use std::borrow::Cow;

use serde::Serialize;

use crate::expr::Expr;
use crate::resources::Resource;

/// A custom resource of type `Custom::<name>` whose properties are `P` (any struct that
/// serializes to an object), sent to the provider behind `ServiceToken`.
///
/// CloudFormation hands every property value to the provider as a string (numbers and
/// booleans included); the provider parses them.
#[derive(Debug, Clone, Serialize)]
pub struct CustomResource<P> {
    #[serde(skip)]
    type_name: String,
    #[serde(rename = "ServiceToken")]
    service_token: Expr,
    #[serde(rename = "ServiceTimeout", skip_serializing_if = "Option::is_none")]
    service_timeout: Option<u32>,
    #[serde(flatten)]
    properties: P,
}

impl<P: Serialize> CustomResource<P> {
    /// `Custom::<name>` served by `service_token` (a Lambda function ARN or SNS topic ARN).
    /// A name CloudFormation does not accept is reported when the template is built.
    pub fn new(name: &str, service_token: Expr, properties: P) -> Self {
        Self {
            type_name: format!("Custom::{name}"),
            service_token,
            service_timeout: None,
            properties,
        }
    }

    /// How long CloudFormation waits for the provider's answer before it fails the operation,
    /// in seconds: 1 to 3,600, CloudFormation's default being 3,600
    /// (`AWS::CloudFormation::CustomResource`, CloudFormation Template Reference).
    pub fn service_timeout(mut self, seconds: u32) -> Self {
        self.service_timeout = Some(seconds);
        self
    }
}

impl<P: Serialize> Resource for CustomResource<P> {
    fn resource_type(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.type_name)
    }
}
