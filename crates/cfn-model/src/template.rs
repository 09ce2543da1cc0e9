//! The template, its builder, handles to what was added, and rendering.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::marker::PhantomData;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Problem, Problems};
use crate::expr::Expr;
use crate::references;
use crate::resources::Resource;

/// A checked CloudFormation template, ready to render.
///
/// Only [`TemplateBuilder::build`] makes one, so every template has unique logical ids and
/// no dangling references.
#[derive(Debug, Clone, Serialize)]
pub struct Template {
    #[serde(rename = "AWSTemplateFormatVersion")]
    format_version: &'static str,
    #[serde(rename = "Description", skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(rename = "Parameters", skip_serializing_if = "BTreeMap::is_empty")]
    parameters: BTreeMap<String, Parameter>,
    #[serde(rename = "Resources")]
    resources: BTreeMap<String, ResourceEntry>,
    #[serde(rename = "Outputs", skip_serializing_if = "BTreeMap::is_empty")]
    outputs: BTreeMap<String, Output>,
}

impl Template {
    /// Pretty JSON with every object's keys sorted, ending in a newline: the same template
    /// always renders to the same bytes.
    pub fn to_json(&self) -> Result<String, Error> {
        let mut value = serde_json::to_value(self).map_err(Error::Render)?;
        // Sorted explicitly: with serde_json's `preserve_order` feature (which any crate in a
        // build can switch on) objects would keep insertion order instead.
        value.sort_all_objects();
        let mut text = serde_json::to_string_pretty(&value).map_err(Error::Render)?;
        text.push('\n');
        Ok(text)
    }

    /// The template as a JSON value, for inspection.
    pub fn to_value(&self) -> Result<Value, Error> {
        serde_json::to_value(self).map_err(Error::Render)
    }

    /// The logical ids of the resources, sorted.
    pub fn resource_ids(&self) -> impl Iterator<Item = &str> {
        self.resources.keys().map(String::as_str)
    }

    /// The CloudFormation type of resource `logical_id`, if the template has it.
    pub fn resource_type(&self, logical_id: &str) -> Option<&str> {
        self.resources
            .get(logical_id)
            .map(|entry| entry.resource_type.as_str())
    }
}

/// One entry of the `Resources` section, with its typed properties already rendered.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResourceEntry {
    #[serde(rename = "Type")]
    resource_type: String,
    properties: Value,
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    depends_on: BTreeSet<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    metadata: BTreeMap<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deletion_policy: Option<DeletionPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    update_replace_policy: Option<DeletionPolicy>,
}

/// What CloudFormation does with a resource's physical resource when the resource leaves the
/// stack (`DeletionPolicy`) or is replaced (`UpdateReplacePolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DeletionPolicy {
    /// Delete it.
    Delete,
    /// Keep it.
    Retain,
    /// Keep a snapshot, then delete it (for the types that support snapshots).
    Snapshot,
}

/// The resource attributes that are not properties: `DependsOn`, `Metadata` and the deletion
/// policies.
#[derive(Debug, Clone, Default)]
pub struct ResourceOptions {
    depends_on: BTreeSet<String>,
    metadata: BTreeMap<String, Value>,
    deletion_policy: Option<DeletionPolicy>,
    update_replace_policy: Option<DeletionPolicy>,
}

impl ResourceOptions {
    /// Create this resource only after `other`, and delete it before.
    #[must_use]
    pub fn depends_on<R>(mut self, other: &Handle<R>) -> Self {
        self.depends_on.insert(other.logical_id.clone());
        self
    }

    /// Set `Metadata.<key>` (tools such as linters read their settings from there).
    #[must_use]
    pub fn metadata(mut self, key: impl Into<String>, value: Value) -> Self {
        self.metadata.insert(key.into(), value);
        self
    }

    /// Set `DeletionPolicy`.
    #[must_use]
    pub fn deletion_policy(mut self, policy: DeletionPolicy) -> Self {
        self.deletion_policy = Some(policy);
        self
    }

    /// Set `UpdateReplacePolicy`.
    #[must_use]
    pub fn update_replace_policy(mut self, policy: DeletionPolicy) -> Self {
        self.update_replace_policy = Some(policy);
        self
    }
}

/// A typed reference to a parameter or resource added to a [`TemplateBuilder`].
///
/// The type parameter says what was added, so that each resource module can offer exactly the
/// attributes its type has (`Handle<Stream>::arn()`).
pub struct Handle<R> {
    logical_id: String,
    added: PhantomData<fn() -> R>,
}

impl<R> Handle<R> {
    fn new(logical_id: &str) -> Self {
        Self {
            logical_id: logical_id.to_owned(),
            added: PhantomData,
        }
    }

    /// The logical id.
    pub fn logical_id(&self) -> &str {
        &self.logical_id
    }

    /// `Ref`: a parameter's value, or the resource's physical id (what that is depends on the
    /// type; the resource modules name it, such as `Handle<Queue>::url()`).
    pub fn reference(&self) -> Expr {
        Expr::Ref(self.logical_id.clone())
    }

    /// `Fn::GetAtt` of `attribute`. Prefer the typed accessors of the resource modules; this is
    /// for types whose attributes are open, such as custom resources.
    pub fn attribute(&self, attribute: &str) -> Expr {
        Expr::GetAtt {
            logical_id: self.logical_id.clone(),
            attribute: attribute.to_owned(),
        }
    }
}

impl<R> Clone for Handle<R> {
    fn clone(&self) -> Self {
        Self::new(&self.logical_id)
    }
}

impl<R> fmt::Debug for Handle<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Handle").field(&self.logical_id).finish()
    }
}

/// A template parameter: a value given when the stack is created or updated.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    #[serde(rename = "Type")]
    kind: ParameterType,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    default: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    constraint_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_length: Option<u32>,
}

/// The parameter types this model supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
enum ParameterType {
    String,
}

impl Parameter {
    /// A `String` parameter described by `description`.
    pub fn string(description: impl Into<String>) -> Self {
        Self {
            kind: ParameterType::String,
            description: description.into(),
            default: None,
            allowed_pattern: None,
            constraint_description: None,
            min_length: None,
            max_length: None,
        }
    }

    /// The value taken when none is given.
    #[must_use]
    pub fn default_value(mut self, value: impl Into<String>) -> Self {
        self.default = Some(value.into());
        self
    }

    /// A regular expression the value must match, and the message CloudFormation shows when it
    /// does not.
    #[must_use]
    pub fn allowed_pattern(
        mut self,
        pattern: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.allowed_pattern = Some(pattern.into());
        self.constraint_description = Some(description.into());
        self
    }

    /// Bounds on the value's length.
    #[must_use]
    pub fn length(mut self, min: u32, max: u32) -> Self {
        self.min_length = Some(min);
        self.max_length = Some(max);
        self
    }
}

/// A stack output.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    description: String,
    value: Expr,
}

impl Output {
    /// An output showing `value`.
    pub fn new(description: impl Into<String>, value: Expr) -> Self {
        Self {
            description: description.into(),
            value,
        }
    }
}

/// Builds a [`Template`], collecting every problem on the way; [`Self::build`] reports them.
#[derive(Debug)]
pub struct TemplateBuilder {
    template: Template,
    problems: Vec<Problem>,
}

const PARAMETERS_AND_RESOURCES: &str = "parameters and resources";

impl TemplateBuilder {
    /// An empty template with a `Description`.
    pub fn new(description: impl Into<String>) -> Self {
        Self {
            template: Template {
                format_version: "2010-09-09",
                description: Some(description.into()),
                parameters: BTreeMap::new(),
                resources: BTreeMap::new(),
                outputs: BTreeMap::new(),
            },
            problems: Vec::new(),
        }
    }

    /// Add a parameter.
    pub fn parameter(&mut self, logical_id: &str, parameter: Parameter) -> Handle<Parameter> {
        if self.claim(logical_id) {
            self.template
                .parameters
                .insert(logical_id.to_owned(), parameter);
        }
        Handle::new(logical_id)
    }

    /// Add a resource with no `DependsOn`, `Metadata` or policies.
    pub fn resource<R: Resource>(&mut self, logical_id: &str, resource: R) -> Handle<R> {
        self.resource_with(logical_id, resource, ResourceOptions::default())
    }

    /// Add a resource with the attributes in `options`.
    pub fn resource_with<R: Resource>(
        &mut self,
        logical_id: &str,
        resource: R,
        options: ResourceOptions,
    ) -> Handle<R> {
        let resource_type = resource.resource_type().into_owned();
        if !is_valid_resource_type(&resource_type) {
            self.problems.push(Problem::InvalidResourceType {
                logical_id: logical_id.to_owned(),
                resource_type: resource_type.clone(),
            });
        }
        let properties = match serde_json::to_value(&resource) {
            Ok(properties) => properties,
            Err(source) => {
                self.problems.push(Problem::Properties {
                    logical_id: logical_id.to_owned(),
                    source,
                });
                Value::Null
            }
        };
        if self.claim(logical_id) {
            let entry = ResourceEntry {
                resource_type,
                properties,
                depends_on: options.depends_on,
                metadata: options.metadata,
                deletion_policy: options.deletion_policy,
                update_replace_policy: options.update_replace_policy,
            };
            self.template.resources.insert(logical_id.to_owned(), entry);
        }
        Handle::new(logical_id)
    }

    /// Add an output.
    pub fn output(&mut self, logical_id: &str, output: Output) {
        if !is_valid_logical_id(logical_id) {
            self.problems.push(Problem::InvalidLogicalId {
                logical_id: logical_id.to_owned(),
            });
        }
        if self.template.outputs.contains_key(logical_id) {
            self.problems.push(Problem::DuplicateLogicalId {
                logical_id: logical_id.to_owned(),
                section: "outputs",
            });
            return;
        }
        self.template.outputs.insert(logical_id.to_owned(), output);
    }

    /// The template, or every problem found in it.
    pub fn build(mut self) -> Result<Template, Error> {
        self.problems.extend(references::check(&self.template)?);
        if self.problems.is_empty() {
            Ok(self.template)
        } else {
            Err(Error::Invalid(Problems(self.problems)))
        }
    }

    /// Records `logical_id` as taken; false (and a problem) if it is already.
    fn claim(&mut self, logical_id: &str) -> bool {
        if !is_valid_logical_id(logical_id) {
            self.problems.push(Problem::InvalidLogicalId {
                logical_id: logical_id.to_owned(),
            });
        }
        let taken = self.template.parameters.contains_key(logical_id)
            || self.template.resources.contains_key(logical_id);
        if taken {
            self.problems.push(Problem::DuplicateLogicalId {
                logical_id: logical_id.to_owned(),
                section: PARAMETERS_AND_RESOURCES,
            });
        }
        !taken
    }
}

/// The logical ids a reference may name, by kind.
#[derive(Debug)]
pub(crate) struct Known<'a> {
    pub(crate) parameters: BTreeSet<&'a str>,
    pub(crate) resources: BTreeSet<&'a str>,
}

/// Where references can be found: `(where, JSON)` pairs, plus each resource's `DependsOn`.
pub(crate) struct Referrers<'a> {
    pub(crate) values: Vec<(String, Cow<'a, Value>)>,
    pub(crate) depends_on: Vec<(&'a str, &'a BTreeSet<String>)>,
}

impl Template {
    pub(crate) fn known(&self) -> Known<'_> {
        Known {
            parameters: self.parameters.keys().map(String::as_str).collect(),
            resources: self.resources.keys().map(String::as_str).collect(),
        }
    }

    pub(crate) fn referrers(&self) -> Result<Referrers<'_>, Error> {
        let mut values = Vec::new();
        for (logical_id, entry) in &self.resources {
            values.push((
                format!("resource `{logical_id}`"),
                Cow::Borrowed(&entry.properties),
            ));
        }
        for (logical_id, output) in &self.outputs {
            let value = serde_json::to_value(output).map_err(Error::Render)?;
            values.push((format!("output `{logical_id}`"), Cow::Owned(value)));
        }
        let depends_on = self
            .resources
            .iter()
            .map(|(logical_id, entry)| (logical_id.as_str(), &entry.depends_on))
            .collect();
        Ok(Referrers { values, depends_on })
    }
}

/// CloudFormation's rule: alphanumeric (A-Za-z0-9), at most 255 characters.
fn is_valid_logical_id(logical_id: &str) -> bool {
    !logical_id.is_empty()
        && logical_id.len() <= 255
        && logical_id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `AWS::Service::Resource` (alphanumeric parts) or `Custom::Name` (up to 60 characters of
/// letters, digits and `_@-`).
fn is_valid_resource_type(resource_type: &str) -> bool {
    if let Some(name) = resource_type.strip_prefix("Custom::") {
        return !name.is_empty()
            && name.len() <= 60
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_@-".contains(&b));
    }
    let parts: Vec<&str> = resource_type.split("::").collect();
    parts.len() == 3
        && parts[0] == "AWS"
        && parts[1..]
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::policy::{PolicyDocument, Statement};
    use crate::resources::iam::{InlinePolicy, Role};
    use crate::resources::kinesis::{Stream, StreamEncryption};
    use crate::resources::sqs::Queue;
    use serde_json::json;

    fn stream() -> Stream {
        Stream {
            name: Some("events".into()),
            shard_count: Some(1),
            stream_mode_details: None,
            retention_period_hours: None,
            stream_encryption: Some(StreamEncryption::kms("alias/aws/kinesis")),
        }
    }

    fn role_reading(resource: Expr) -> Role {
        Role {
            role_name: None,
            description: None,
            assume_role_policy_document: PolicyDocument::new([Statement::assume_role_by_service(
                "lambda.amazonaws.com",
            )]),
            policies: vec![InlinePolicy {
                policy_name: "read".into(),
                policy_document: PolicyDocument::new([Statement::allow(
                    ["kinesis:GetRecords"],
                    [resource],
                )]),
            }],
        }
    }

    fn problems(result: Result<Template, Error>) -> Vec<Problem> {
        match result {
            Err(Error::Invalid(problems)) => problems.0,
            other => panic!("expected an invalid template, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_template_renders_sorted_pretty_json_with_a_trailing_newline() {
        let mut builder = TemplateBuilder::new("test");
        let stream = builder.resource("Stream", stream());
        let _role = builder.resource("Role", role_reading(stream.arn()));
        builder.output("StreamName", Output::new("the stream", stream.name()));
        let text = builder.build().unwrap().to_json().unwrap();

        assert!(text.ends_with("}\n"), "{text}");
        assert!(text.contains("\n  \"AWSTemplateFormatVersion\": \"2010-09-09\""));
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value["Resources"]["Stream"],
            json!({
                "Type": "AWS::Kinesis::Stream",
                "Properties": {
                    "Name": "events",
                    "ShardCount": 1,
                    "StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}
                }
            })
        );
        assert_eq!(
            value["Outputs"]["StreamName"],
            json!({"Description": "the stream", "Value": {"Ref": "Stream"}})
        );
        // Keys appear in sorted order at every level.
        let top: Vec<&str> = [
            "AWSTemplateFormatVersion",
            "Description",
            "Outputs",
            "Resources",
        ]
        .into_iter()
        .collect();
        let positions: Vec<usize> = top
            .iter()
            .map(|key| text.find(&format!("\"{key}\"")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    }

    #[test]
    fn rendering_is_independent_of_insertion_order() {
        let render = |reverse: bool| {
            let mut builder = TemplateBuilder::new("order");
            let ids = if reverse { ["B", "A"] } else { ["A", "B"] };
            for id in ids {
                builder.resource(id, Queue::default());
            }
            builder.build().unwrap().to_json().unwrap()
        };
        assert_eq!(render(false), render(true));
    }

    #[test]
    fn a_duplicate_logical_id_is_an_error_at_build() {
        let mut builder = TemplateBuilder::new("dup");
        builder.parameter("Thing", Parameter::string("a parameter"));
        builder.resource("Thing", Queue::default());
        builder.resource("Queue", Queue::default());
        builder.resource("Queue", Queue::default());
        builder.output("Out", Output::new("x", "1".into()));
        builder.output("Out", Output::new("y", "2".into()));
        let found = problems(builder.build());
        let duplicates: Vec<&str> = found
            .iter()
            .filter_map(|p| match p {
                Problem::DuplicateLogicalId { logical_id, .. } => Some(logical_id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(duplicates, ["Thing", "Queue", "Out"], "{found:?}");
    }

    #[test]
    fn every_kind_of_dangling_reference_is_reported_with_where_it_is() {
        let mut builder = TemplateBuilder::new("dangling");
        let elsewhere = TemplateBuilder::new("other").resource("Elsewhere", Queue::default());
        let parameter = builder.parameter("Param", Parameter::string("p"));
        builder.resource("ByRef", role_reading(Expr::Ref("Missing".into())));
        builder.resource("ByGetAtt", role_reading(elsewhere.arn()));
        builder.resource("BySub", role_reading(Expr::sub("${Gone}-${AWS::Region}")));
        builder.resource("BySubAtt", role_reading(Expr::sub("${Gone.Arn}")));
        builder.resource(
            "GetAttOfParameter",
            role_reading(parameter.attribute("Arn")),
        );
        builder.resource_with(
            "Late",
            Queue::default(),
            ResourceOptions::default().depends_on(&elsewhere),
        );
        builder.output(
            "Out",
            Output::new("x", Expr::join("", [Expr::Ref("Nowhere".into())])),
        );
        let found: Vec<String> = problems(builder.build())
            .iter()
            .map(ToString::to_string)
            .collect();
        let expected = [
            "resource `ByGetAtt` refers to `Elsewhere` through Fn::GetAtt",
            "resource `ByRef` refers to `Missing` through Ref",
            "resource `BySub` refers to `Gone` through Fn::Sub",
            "resource `BySubAtt` refers to `Gone` through Fn::Sub",
            "resource `GetAttOfParameter` refers to `Param` through Fn::GetAtt, but the template has no resource",
            "output `Out` refers to `Nowhere` through Ref",
            "resource `Late` refers to `Elsewhere` through DependsOn",
        ];
        assert_eq!(found.len(), expected.len(), "{found:#?}");
        for (problem, start) in found.iter().zip(expected) {
            assert!(problem.starts_with(start), "{problem} / {start}");
        }
    }

    #[test]
    fn references_to_parameters_resources_and_pseudo_parameters_are_accepted() {
        let mut builder = TemplateBuilder::new("ok");
        let parameter = builder.parameter("Key", Parameter::string("k"));
        let stream = builder.resource("Stream", stream());
        builder.resource_with(
            "Role",
            role_reading(Expr::join(
                ":",
                [
                    parameter.reference(),
                    Expr::sub("${Stream.Arn}/${AWS::AccountId}/${!Literal}"),
                    Expr::pseudo(crate::PseudoParameter::Partition),
                ],
            )),
            ResourceOptions::default()
                .depends_on(&stream)
                .metadata("tool", json!({"skip": []}))
                .deletion_policy(DeletionPolicy::Retain),
        );
        let value = builder.build().unwrap().to_value().unwrap();
        assert_eq!(value["Resources"]["Role"]["DependsOn"], json!(["Stream"]));
        assert_eq!(
            value["Resources"]["Role"]["Metadata"],
            json!({"tool": {"skip": []}})
        );
        assert_eq!(
            value["Resources"]["Role"]["DeletionPolicy"],
            json!("Retain")
        );
    }

    #[test]
    fn bad_logical_ids_and_types_are_errors() {
        let mut builder = TemplateBuilder::new("bad");
        builder.resource("has-hyphen", Queue::default());
        builder.resource(
            "Custom",
            crate::resources::custom::CustomResource::new("Bad Name", "token".into(), json!({})),
        );
        let found = problems(builder.build());
        assert!(
            matches!(found[0], Problem::InvalidLogicalId { .. }),
            "{found:?}"
        );
        assert!(
            matches!(found[1], Problem::InvalidResourceType { .. }),
            "{found:?}"
        );
        assert_eq!(found.len(), 2, "{found:?}");
    }

    #[test]
    fn a_malformed_sub_is_an_error() {
        let mut builder = TemplateBuilder::new("sub");
        builder.resource("Role", role_reading(Expr::sub("arn:${Unclosed")));
        let found = problems(builder.build());
        assert!(
            matches!(found[..], [Problem::MalformedSub { .. }]),
            "{found:?}"
        );
    }

    #[test]
    fn custom_resource_properties_sit_beside_the_service_token() {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Props {
            batch_size: u32,
        }
        let mut builder = TemplateBuilder::new("custom");
        let queue = builder.resource("Provider", Queue::default());
        builder.resource(
            "Mapping",
            crate::resources::custom::CustomResource::new(
                "Thing",
                queue.arn(),
                Props { batch_size: 5 },
            )
            .service_timeout(300),
        );
        let template = builder.build().unwrap();
        assert_eq!(template.resource_type("Mapping"), Some("Custom::Thing"));
        let value = template.to_value().unwrap();
        assert_eq!(
            value["Resources"]["Mapping"]["Properties"],
            json!({
                "ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]},
                "ServiceTimeout": 300,
                "BatchSize": 5
            })
        );
    }
}
