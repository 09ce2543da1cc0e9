//! One property value as a provider receives it.
//!
//! "Custom resource request objects" (AWS CloudFormation User Guide) says the properties are
//! sent to the provider "verbatim" in `ResourceProperties`; what arrives in practice is every
//! scalar rendered as a string, a template's `500` as `"500"` and `true` as `"true"`. A
//! [`Field`] accepts both forms, so neither reading is relied on, and keeps a value of the wrong
//! shape as [`Field::Invalid`] instead of failing the whole document, so that the provider
//! names every bad property in one answer.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A property's value: well-formed, or as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field<T> {
    Valid(T),
    /// Not a `T`, neither as JSON nor as a string holding `T`'s JSON.
    Invalid(Value),
}

impl<T> Field<T> {
    /// The value, if it is well-formed.
    pub fn valid(&self) -> Option<&T> {
        match self {
            Self::Valid(value) => Some(value),
            Self::Invalid(_) => None,
        }
    }
}

impl<T> From<T> for Field<T> {
    fn from(value: T) -> Self {
        Self::Valid(value)
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Valid(value) => value.serialize(serializer),
            Self::Invalid(value) => value.serialize(serializer),
        }
    }
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if let Ok(valid) = T::deserialize(&value) {
            return Ok(Self::Valid(valid));
        }
        // "500" -> 500, "true" -> true: the JSON text CloudFormation turned the value into.
        if let Value::String(text) = &value
            && let Ok(json) = serde_json::from_str::<Value>(text)
            && let Ok(valid) = T::deserialize(&json)
        {
            return Ok(Self::Valid(valid));
        }
        Ok(Self::Invalid(value))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn read<T: serde::de::DeserializeOwned>(value: Value) -> Field<T> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn strings_holding_json_scalars_are_read_as_the_scalar() {
        assert_eq!(read::<i64>(json!("500")), Field::Valid(500));
        assert_eq!(read::<i64>(json!(-1)), Field::Valid(-1));
        assert_eq!(read::<bool>(json!("true")), Field::Valid(true));
        assert_eq!(read::<String>(json!("500")), Field::Valid("500".to_owned()));
    }

    #[test]
    fn values_of_the_wrong_shape_are_kept_as_received() {
        assert_eq!(read::<i64>(json!("12.5")), Field::Invalid(json!("12.5")));
        assert_eq!(read::<bool>(json!("yes")), Field::Invalid(json!("yes")));
        assert_eq!(read::<String>(json!(5)), Field::Invalid(json!(5)));
        assert_eq!(
            serde_json::to_value(Field::<i64>::Invalid(json!("x"))).unwrap(),
            json!("x")
        );
    }
}
