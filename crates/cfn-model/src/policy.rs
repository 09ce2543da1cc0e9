//! IAM policy documents: the `PolicyDocument` of roles, users, policies and bucket policies.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use crate::expr::Expr;

/// An IAM policy document, version `2012-10-17`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    version: &'static str,
    statement: Vec<Statement>,
}

impl PolicyDocument {
    /// A document of `statements`.
    pub fn new(statements: impl IntoIterator<Item = Statement>) -> Self {
        Self {
            version: "2012-10-17",
            statement: statements.into_iter().collect(),
        }
    }

    /// The statements.
    pub fn statements(&self) -> &[Statement] {
        &self.statement
    }
}

/// Whether a statement allows or denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    /// Grants the actions.
    Allow,
    /// Refuses the actions, whatever else grants them.
    Deny,
}

/// Who a resource policy or trust policy is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// `"*"`: anyone (only sensible in a `Deny`, or narrowed by a condition).
    Everyone,
    /// `{"Service": [...]}`: AWS services, such as `lambda.amazonaws.com`.
    Service(Vec<String>),
    /// `{"AWS": [...]}`: accounts or IAM principals by ARN, such as an account's root.
    Aws(Vec<Expr>),
}

impl Serialize for Principal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Everyone => serializer.serialize_str("*"),
            Self::Service(services) => {
                let mut map = BTreeMap::new();
                map.insert("Service", services);
                map.serialize(serializer)
            }
            Self::Aws(principals) => {
                let mut map = BTreeMap::new();
                map.insert("AWS", principals);
                map.serialize(serializer)
            }
        }
    }
}

/// One statement. Actions and resources are always written as lists, conditions as
/// `{operator: {key: [values]}}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    effect: Effect,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<Principal>,
    action: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resource: Vec<Expr>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    condition: BTreeMap<String, BTreeMap<String, Vec<Expr>>>,
}

impl Statement {
    /// Allow `actions` on `resources`.
    pub fn allow<A, R>(actions: A, resources: R) -> Self
    where
        A: IntoIterator,
        A::Item: Into<String>,
        R: IntoIterator<Item = Expr>,
    {
        Self::new(Effect::Allow, actions, resources)
    }

    /// Deny `actions` on `resources`.
    pub fn deny<A, R>(actions: A, resources: R) -> Self
    where
        A: IntoIterator,
        A::Item: Into<String>,
        R: IntoIterator<Item = Expr>,
    {
        Self::new(Effect::Deny, actions, resources)
    }

    fn new<A, R>(effect: Effect, actions: A, resources: R) -> Self
    where
        A: IntoIterator,
        A::Item: Into<String>,
        R: IntoIterator<Item = Expr>,
    {
        Self {
            sid: None,
            effect,
            principal: None,
            action: actions.into_iter().map(Into::into).collect(),
            resource: resources.into_iter().collect(),
            condition: BTreeMap::new(),
        }
    }

    /// A trust policy statement: `service` may assume the role.
    pub fn assume_role_by_service(service: &str) -> Self {
        Self::allow(["sts:AssumeRole"], []).principal(Principal::Service(vec![service.to_owned()]))
    }

    /// Name the statement (`Sid`: letters and digits).
    #[must_use]
    pub fn sid(mut self, sid: impl Into<String>) -> Self {
        self.sid = Some(sid.into());
        self
    }

    /// Set the principal (resource and trust policies only).
    #[must_use]
    pub fn principal(mut self, principal: Principal) -> Self {
        self.principal = Some(principal);
        self
    }

    /// Add the condition `operator: {key: values}`.
    #[must_use]
    pub fn condition(
        mut self,
        operator: &str,
        key: &str,
        values: impl IntoIterator<Item = Expr>,
    ) -> Self {
        self.condition
            .entry(operator.to_owned())
            .or_default()
            .entry(key.to_owned())
            .or_default()
            .extend(values);
        self
    }

    /// The effect.
    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// The actions.
    pub fn actions(&self) -> &[String] {
        &self.action
    }

    /// The resources.
    pub fn resources(&self) -> &[Expr] {
        &self.resource
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn a_statement_renders_lists_and_nested_conditions() {
        let statement = Statement::allow(["cloudwatch:PutMetricData"], [Expr::from("*")])
            .sid("PublishMetrics")
            .condition(
                "StringEquals",
                "cloudwatch:namespace",
                [Expr::from("Sensors")],
            );
        assert_eq!(
            serde_json::to_value(&statement).unwrap(),
            json!({
                "Sid": "PublishMetrics",
                "Effect": "Allow",
                "Action": ["cloudwatch:PutMetricData"],
                "Resource": ["*"],
                "Condition": {"StringEquals": {"cloudwatch:namespace": ["Sensors"]}}
            })
        );
    }

    #[test]
    fn a_trust_statement_names_the_service_and_no_resource() {
        let document =
            PolicyDocument::new([Statement::assume_role_by_service("lambda.amazonaws.com")]);
        assert_eq!(
            serde_json::to_value(&document).unwrap(),
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": ["lambda.amazonaws.com"]},
                    "Action": ["sts:AssumeRole"]
                }]
            })
        );
    }
}
