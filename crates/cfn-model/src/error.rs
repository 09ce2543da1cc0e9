//! Errors of building and rendering a template.

use std::fmt;

/// Why a template could not be built or rendered.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The template has one or more problems; all of them are listed.
    #[error("the template is invalid: {0}")]
    Invalid(Problems),
    /// The template could not be written as JSON.
    #[error("could not render the template as JSON")]
    Render(#[source] serde_json::Error),
}

/// Every problem found in a template, in the order found.
#[derive(Debug)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// One thing wrong with a template.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// Two parameters or resources (or two outputs) share a logical id.
    #[error(
        "logical id `{logical_id}` is used twice among the {section}; logical ids must be unique"
    )]
    DuplicateLogicalId {
        /// The repeated logical id.
        logical_id: String,
        /// `parameters and resources` or `outputs`.
        section: &'static str,
    },
    /// A logical id with characters CloudFormation does not allow.
    #[error("logical id `{logical_id}` must be 1 to 255 ASCII letters and digits")]
    InvalidLogicalId {
        /// The offending logical id.
        logical_id: String,
    },
    /// A resource type that is neither `AWS::<service>::<resource>` nor `Custom::<name>`.
    #[error(
        "resource `{logical_id}` has type `{resource_type}`, which is neither `AWS::Service::Resource` nor `Custom::Name` (letters, digits, `_@-`, at most 60)"
    )]
    InvalidResourceType {
        /// The resource.
        logical_id: String,
        /// The type it was given.
        resource_type: String,
    },
    /// A reference to a logical id that no parameter or resource has.
    #[error(
        "{from} refers to `{target}` through {via}, but the template has no {expected} with that logical id"
    )]
    DanglingReference {
        /// Where the reference is: `resource X`, `output Y`.
        from: String,
        /// The logical id referred to.
        target: String,
        /// `Ref`, `Fn::GetAtt`, `Fn::Sub` or `DependsOn`.
        via: &'static str,
        /// What the reference needs: `parameter or resource`, or `resource`.
        expected: &'static str,
    },
    /// A `Fn::Sub` string whose `${...}` cannot be read.
    #[error("{from} has a `Fn::Sub` string `{text}` with an unclosed or empty `${{}}`")]
    MalformedSub {
        /// Where the string is.
        from: String,
        /// The whole string.
        text: String,
    },
    /// An intrinsic function whose arguments do not have the shape CloudFormation expects.
    #[error("{from} has a malformed `{function}`: {reason}")]
    MalformedIntrinsic {
        /// Where the function is.
        from: String,
        /// The function's key, such as `Fn::GetAtt`.
        function: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// Typed properties that could not be turned into JSON.
    #[error("the properties of resource `{logical_id}` could not be rendered as JSON")]
    Properties {
        /// The resource.
        logical_id: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}
