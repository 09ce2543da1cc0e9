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
//! - [`event_source_mapping`]: `Custom::KinesisEventSourceMapping`, a Lambda event-source
//!   mapping from a Kinesis stream to a function.

pub mod event_source_mapping;
pub mod field;

pub use field::Field;
