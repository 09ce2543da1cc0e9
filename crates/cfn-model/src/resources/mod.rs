//! Typed properties of the resource types this model supports, one module per service.
//!
//! Each struct serializes to exactly the `Properties` object CloudFormation documents for its
//! type; optional properties left `None` (or empty lists) are not written. Each module also
//! adds the typed attributes of its handles, such as `Handle<Stream>::arn()`.

use std::borrow::Cow;

use serde::Serialize;

pub mod cloudwatch;
pub mod custom;
pub mod dynamodb;
pub mod iam;
pub mod kinesis;
pub mod kms;
pub mod lambda;
pub mod logs;
pub mod s3;
pub mod sns;
pub mod sqs;

/// The properties of one resource type.
pub trait Resource: Serialize {
    /// The CloudFormation type, such as `AWS::Kinesis::Stream` or `Custom::Something`.
    fn resource_type(&self) -> Cow<'_, str>;
}

/// Implements [`Resource`] for a type with a fixed CloudFormation type name.
macro_rules! fixed_type {
    ($rust:ty, $cloudformation:literal) => {
        impl $crate::resources::Resource for $rust {
            fn resource_type(&self) -> ::std::borrow::Cow<'_, str> {
                ::std::borrow::Cow::Borrowed($cloudformation)
            }
        }
    };
}
pub(crate) use fixed_type;
