//! The functions' packages: built with cargo-lambda and zipped the same way every time
//! (`build`), each an [`Asset`] that `cfn-apply` uploads under its content-addressed key, and
//! the template parameters naming them.

mod build;

use std::path::{Path, PathBuf};

use aws_sdk_cloudformation::types::Parameter;
use cfn_apply::Asset;
use iot_stack::assets as parameters;
use iot_stack::names::FunctionKind;

pub use build::{BuildError, build, cargo_package, lambda_dir, lock_packages};

/// One function's package, read once: what is hashed is what is uploaded, whatever a later
/// build writes to the file.
pub struct Package {
    /// Which function.
    pub kind: FunctionKind,
    /// Where cargo-lambda wrote the zip (one `bootstrap` entry).
    pub zip: PathBuf,
    /// The zip's bytes.
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`, hex.
    pub sha256: String,
}

impl std::fmt::Debug for Package {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Package")
            .field("kind", &self.kind)
            .field("zip", &self.zip)
            .field("bytes", &self.bytes.len())
            .field("sha256", &self.sha256)
            .finish()
    }
}

impl Package {
    /// The content-addressed S3 key: a changed package gets a new key, so CloudFormation sees
    /// a changed parameter and updates the function, and an unchanged one is never re-sent.
    pub fn key(&self) -> String {
        cfn_apply::content_key(self.kind.suffix(), &self.sha256, "zip")
    }
}

impl Asset for Package {
    fn key(&self) -> String {
        Package::key(self)
    }

    fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn file(&self) -> &Path {
        &self.zip
    }

    fn content_type(&self) -> &str {
        "application/zip"
    }
}

/// The template parameters naming `bucket` and each package's key.
pub fn stack_parameters(bucket: &str, packages: &[Package]) -> Vec<Parameter> {
    let parameter = |key: String, value: String| {
        Parameter::builder()
            .parameter_key(key)
            .parameter_value(value)
            .build()
    };
    std::iter::once(parameter(
        parameters::BUCKET_PARAMETER.to_owned(),
        bucket.to_owned(),
    ))
    .chain(
        packages
            .iter()
            .map(|p| parameter(parameters::key_parameter(p.kind), p.key())),
    )
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_content_addressed_per_function() {
        let package = Package {
            kind: FunctionKind::Writer,
            zip: PathBuf::from("x.zip"),
            bytes: Vec::new(),
            sha256: "ab12".to_owned(),
        };
        assert_eq!(package.key(), "IoTDDBEventProcessor/ab12.zip");
        let parameters = stack_parameters("bucket", std::slice::from_ref(&package));
        assert_eq!(parameters[0].parameter_value(), Some("bucket"));
        assert_eq!(
            parameters[1].parameter_key(),
            Some("IoTDDBEventProcessorCodeKey")
        );
        assert_eq!(
            parameters[1].parameter_value(),
            Some("IoTDDBEventProcessor/ab12.zip")
        );
    }
}
