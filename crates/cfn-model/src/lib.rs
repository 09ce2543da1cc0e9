//! A small typed CloudFormation model.
//!
//! Templates are built from typed resource properties with a [`TemplateBuilder`]; every
//! resource added returns a typed [`Handle`] whose methods give the intrinsic functions that
//! resource supports (`handle.arn()`, `handle.reference()`), so most references cannot be
//! mistyped. What can still go wrong — a logical id used twice, a `Ref`, `Fn::GetAtt`,
//! `Fn::Sub` or `DependsOn` naming something that is not in the template — is collected while
//! building and returned by [`TemplateBuilder::build`] as one [`Error`], never a panic and
//! never a template that CloudFormation would reject for it.
//!
//! Rendering is deterministic: every JSON object is written with its keys sorted, pretty
//! printed, ending in a newline, whatever features of `serde_json` other crates enable.
//!
//! This crate knows nothing of the stack it is used for.
//!
//! # Layout
//! - [`expr`]: [`Expr`], the values that may be literals or intrinsic functions (`Ref`,
//!   `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`), and the pseudo parameters.
//! - [`template`]: [`Template`], [`TemplateBuilder`], [`Handle`], [`Parameter`], [`Output`],
//!   [`ResourceOptions`] (`DependsOn`, `Metadata`, deletion policies) and rendering.
//! - `references` (private): finds every reference inside rendered properties and checks it.
//! - [`policy`]: IAM policy documents and statements.
//! - [`resources`]: typed properties per service, one module each, and the [`Resource`] trait.
//! - [`error`]: [`Error`] and the [`Problem`]s it lists.

pub mod error;
pub mod expr;
pub mod policy;
mod references;
pub mod resources;
pub mod template;

pub use error::{Error, Problem};
pub use expr::{Expr, PseudoParameter};
pub use policy::{Effect, PolicyDocument, Principal, Statement};
pub use resources::Resource;
pub use template::{
    DeletionPolicy, Handle, Output, Parameter, ResourceOptions, Template, TemplateBuilder,
};
