//! Values that are either literals or CloudFormation intrinsic functions.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// A string-valued property: a literal, or an intrinsic function CloudFormation resolves at
/// deploy time.
///
/// `Ref` and `Fn::GetAtt` are usually made through a [`crate::Handle`], which knows its
/// logical id; constructing them by hand is possible, and a wrong id is then reported by
/// [`crate::TemplateBuilder::build`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// A plain string.
    Literal(String),
    /// `{"Ref": logical_id}`: a parameter's value, a resource's physical id, or a pseudo
    /// parameter such as `AWS::Region`.
    Ref(String),
    /// `{"Fn::GetAtt": [logical_id, attribute]}`.
    GetAtt {
        /// The resource.
        logical_id: String,
        /// The attribute, such as `Arn`.
        attribute: String,
    },
    /// `{"Fn::Sub": text}`: `${Name}` is a `Ref`, `${Name.Attribute}` a `Fn::GetAtt`, `${!x}`
    /// a literal `${x}`.
    Sub(String),
    /// `{"Fn::Join": [separator, parts]}`.
    Join {
        /// Written between the parts.
        separator: String,
        /// The parts.
        parts: Vec<Expr>,
    },
}

impl Expr {
    /// `Fn::Sub` of `text`.
    pub fn sub(text: impl Into<String>) -> Self {
        Self::Sub(text.into())
    }

    /// `Fn::Join` of `parts` with `separator`.
    pub fn join(separator: impl Into<String>, parts: impl IntoIterator<Item = Expr>) -> Self {
        Self::Join {
            separator: separator.into(),
            parts: parts.into_iter().collect(),
        }
    }

    /// `Ref` of a pseudo parameter.
    pub fn pseudo(parameter: PseudoParameter) -> Self {
        Self::Ref(parameter.as_str().to_owned())
    }
}

impl From<&str> for Expr {
    fn from(text: &str) -> Self {
        Self::Literal(text.to_owned())
    }
}

impl From<String> for Expr {
    fn from(text: String) -> Self {
        Self::Literal(text)
    }
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Literal(text) => serializer.serialize_str(text),
            Self::Ref(logical_id) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("Ref", logical_id)?;
                map.end()
            }
            Self::GetAtt {
                logical_id,
                attribute,
            } => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("Fn::GetAtt", &[logical_id, attribute])?;
                map.end()
            }
            Self::Sub(text) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("Fn::Sub", text)?;
                map.end()
            }
            Self::Join { separator, parts } => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("Fn::Join", &JoinArguments { separator, parts })?;
                map.end()
            }
        }
    }
}

/// `[separator, [parts...]]`, the argument list of `Fn::Join`.
struct JoinArguments<'a> {
    separator: &'a str,
    parts: &'a [Expr],
}

impl Serialize for JoinArguments<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(2))?;
        seq.serialize_element(self.separator)?;
        seq.serialize_element(self.parts)?;
        seq.end()
    }
}

/// The pseudo parameters CloudFormation defines in every template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PseudoParameter {
    /// `AWS::AccountId`.
    AccountId,
    /// `AWS::NotificationARNs`.
    NotificationArns,
    /// `AWS::NoValue`.
    NoValue,
    /// `AWS::Partition`.
    Partition,
    /// `AWS::Region`.
    Region,
    /// `AWS::StackId`.
    StackId,
    /// `AWS::StackName`.
    StackName,
    /// `AWS::URLSuffix`.
    UrlSuffix,
}

impl PseudoParameter {
    /// Every pseudo parameter.
    pub const ALL: [Self; 8] = [
        Self::AccountId,
        Self::NotificationArns,
        Self::NoValue,
        Self::Partition,
        Self::Region,
        Self::StackId,
        Self::StackName,
        Self::UrlSuffix,
    ];

    /// Its name, as written after `Ref` or inside `${}`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountId => "AWS::AccountId",
            Self::NotificationArns => "AWS::NotificationARNs",
            Self::NoValue => "AWS::NoValue",
            Self::Partition => "AWS::Partition",
            Self::Region => "AWS::Region",
            Self::StackId => "AWS::StackId",
            Self::StackName => "AWS::StackName",
            Self::UrlSuffix => "AWS::URLSuffix",
        }
    }

    /// The pseudo parameter called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn every_form_renders_as_cloudformation_writes_it() {
        let cases = [
            (Expr::from("plain"), json!("plain")),
            (Expr::Ref("Stream".into()), json!({"Ref": "Stream"})),
            (
                Expr::GetAtt {
                    logical_id: "Stream".into(),
                    attribute: "Arn".into(),
                },
                json!({"Fn::GetAtt": ["Stream", "Arn"]}),
            ),
            (
                Expr::sub("${AWS::StackName}-x"),
                json!({"Fn::Sub": "${AWS::StackName}-x"}),
            ),
            (
                Expr::join(",", [Expr::from("a"), Expr::Ref("B".into())]),
                json!({"Fn::Join": [",", ["a", {"Ref": "B"}]]}),
            ),
            (
                Expr::pseudo(PseudoParameter::Region),
                json!({"Ref": "AWS::Region"}),
            ),
        ];
        for (expr, expected) in cases {
            assert_eq!(serde_json::to_value(&expr).unwrap(), expected, "{expr:?}");
        }
    }

    #[test]
    fn pseudo_parameters_round_trip_by_name() {
        for parameter in PseudoParameter::ALL {
            assert_eq!(
                PseudoParameter::from_name(parameter.as_str()),
                Some(parameter)
            );
        }
        assert_eq!(PseudoParameter::from_name("AWS::Nope"), None);
    }
}
