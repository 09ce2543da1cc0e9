//! The custom resources' properties, one serde type each, so that a property is named once:
//! the stack definition serializes the type into the template, and the provider deserializes
//! the same type from the request CloudFormation sends.
//!
//! The two sides differ only in how a reference is written: the stack holds template
//! expressions (`Fn::GetAtt`, `Ref`), the provider the strings CloudFormation resolved them
//! to, so each type is generic over that text type.
//!
//! # Layout
//! - [`field`]: [`Field`], one property as CloudFormation passes it (every scalar a string),
//!   read without failing so that the provider can report every bad property at once.
//! - [`resource_properties`] (here): a request's properties without CloudFormation's own.
//! - [`event_source_mapping`]: `Custom::KinesisEventSourceMapping`, a Lambda event-source
//!   mapping from a Kinesis stream to a function.
//! - [`bucket_emptier`]: `Custom::BucketEmptier`, which empties a bucket when it is deleted,
//!   so that the bucket's own deletion succeeds.
//! - [`access_key_remover`]: `Custom::AccessKeyRemover`, which deletes an IAM user's access
//!   keys when it is deleted, so that the user's own deletion succeeds.

pub mod access_key_remover;
pub mod bucket_emptier;
pub mod event_source_mapping;
pub mod field;

pub use field::Field;
use serde_json::Value;

/// The properties CloudFormation itself defines for every custom resource
/// (`AWS::CloudFormation::CustomResource` in the CloudFormation Template Reference). They
/// arrive in `ResourceProperties` beside the resource's own ("Custom resource request
/// objects", CloudFormation User Guide), and belong to no resource type.
pub const CLOUDFORMATION_PROPERTIES: [&str; 2] = ["ServiceToken", "ServiceTimeout"];

/// `properties` without [`CLOUDFORMATION_PROPERTIES`]: what the resource type defines. A value
/// that is not an object is returned as it is, for the resource type to refuse.
pub fn resource_properties(properties: &Value) -> Value {
    let mut own = properties.clone();
    if let Value::Object(map) = &mut own {
        for name in CLOUDFORMATION_PROPERTIES {
            map.remove(name);
        }
    }
    own
}

/// An unknown property's name as a refusal names it: as it is, or quoted as JSON when it is
/// empty or not a plain name, so that `{"": 1}` is refused as `"" is not a property` rather
/// than ` is not a property` (found by fuzz/, `provider_properties`).
pub fn property_name(key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric()) {
        key.to_owned()
    } else {
        Value::String(key.to_owned()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cloudformation_s_own_properties_are_removed_and_nothing_else() {
        let request = json!({"ServiceToken": "arn", "ServiceTimeout": "300", "BucketName": "b"});
        assert_eq!(resource_properties(&request), json!({"BucketName": "b"}));
        assert_eq!(resource_properties(&json!("text")), json!("text"));
    }
}
