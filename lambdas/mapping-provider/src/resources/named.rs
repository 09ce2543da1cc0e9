//! The properties of the resource types that name one thing (a bucket, a user) and nothing
//! else: that one name is required, and any other property is refused by name.

use crate::answer::Answer;
use custom_resources::Field;
use serde_json::Value;
use std::collections::BTreeMap;

/// The text of `property`, required and non-blank, where `unknown` holds the properties the
/// type does not define; the error lists every problem.
pub fn required_name(
    resource_type: &str,
    property: &str,
    field: Option<&Field<String>>,
    unknown: &BTreeMap<String, Value>,
) -> Result<String, String> {
    let mut problems: Vec<String> = unknown
        .keys()
        .map(|key| {
            format!(
                "{} is not a property of {resource_type} (known: {property})",
                custom_resources::property_name(key)
            )
        })
        .collect();
    let name = match field {
        Some(Field::Valid(name)) if !name.trim().is_empty() => Some(name.clone()),
        Some(Field::Invalid(value)) => {
            problems.push(format!("{property} must be a string, got {value}"));
            None
        }
        _ => {
            problems.push(format!("{property} is required"));
            None
        }
    };
    match name {
        Some(name) if problems.is_empty() => Ok(name),
        _ => Err(format!(
            "invalid properties of {resource_type}: {}",
            problems.join("; ")
        )),
    }
}

/// Properties of type `P` read from `value`, or why not.
pub fn read<P: serde::de::DeserializeOwned>(value: &Value) -> Result<P, String> {
    if !value.is_object() {
        return Err(format!(
            "ResourceProperties must be a JSON object, got {value}"
        ));
    }
    serde_json::from_value(value.clone()).map_err(|err| err.to_string())
}

/// The answer to a Create or Update of such a resource, which only names its target: SUCCESS
/// with the name as the physical id and `promise(name)` as the reason, or FAILED under
/// `failed_id` with why the name could not be read.
pub fn answer(
    name: Result<String, String>,
    failed_id: String,
    promise: fn(&str) -> String,
) -> Answer {
    match name {
        Ok(name) => {
            let reason = promise(&name);
            Answer::success(name, reason)
        }
        Err(reason) => Answer::failed(Some(failed_id), reason),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The same finding as the mapping's (fuzz/, `provider_properties`): a property named
    /// `""` is quoted, so the refusal names it.
    #[test]
    fn an_empty_property_name_is_quoted_in_the_refusal() {
        let unknown = BTreeMap::from([(String::new(), Value::from(1))]);
        let field = Field::Valid("bucket".to_owned());
        let error = required_name(
            "Custom::BucketEmptier",
            "BucketName",
            Some(&field),
            &unknown,
        )
        .unwrap_err();
        assert!(
            error.contains(r#""" is not a property of Custom::BucketEmptier"#),
            "{error}"
        );
    }
}
