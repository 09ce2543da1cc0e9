//! Where the functions' code comes from: template parameters, so that the rendered template
//! does not change with every build (the deployer passes the bucket and the content-addressed
//! keys of the packages it uploaded).

use cfn_model::resources::lambda::Code;
use cfn_model::{Handle, Parameter, TemplateBuilder};

use crate::names::FunctionKind;

/// The asset bucket parameter and one code-key parameter per function.
#[derive(Debug)]
pub struct Assets {
    bucket: Handle<Parameter>,
    archiver: Handle<Parameter>,
    writer: Handle<Parameter>,
    query_api: Handle<Parameter>,
    mapping_provider: Handle<Parameter>,
}

/// The parameter holding the asset bucket's name.
pub const BUCKET_PARAMETER: &str = "AssetBucket";

/// The parameter holding the S3 key of `kind`'s package, `<function logical id>CodeKey`.
pub fn key_parameter(kind: FunctionKind) -> String {
    format!("{}CodeKey", kind.suffix())
}

impl Assets {
    /// Declares the parameters.
    pub fn declare(template: &mut TemplateBuilder) -> Self {
        let bucket = template.parameter(
            BUCKET_PARAMETER,
            Parameter::string("S3 bucket holding the functions' deployment packages")
                .allowed_pattern(
                    "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
                    "an S3 bucket name: 3 to 63 lower case letters, digits, dots and hyphens",
                ),
        );
        let mut key = |kind: FunctionKind| {
            template.parameter(
                &key_parameter(kind),
                Parameter::string(format!(
                    "S3 key of the {} deployment package (a zip holding `bootstrap`)",
                    kind.suffix()
                ))
                .length(1, 1024),
            )
        };
        Self {
            archiver: key(FunctionKind::Archiver),
            writer: key(FunctionKind::Writer),
            query_api: key(FunctionKind::QueryApi),
            mapping_provider: key(FunctionKind::MappingProvider),
            bucket,
        }
    }

    /// The code of function `kind`.
    pub fn code(&self, kind: FunctionKind) -> Code {
        let key = match kind {
            FunctionKind::Archiver => &self.archiver,
            FunctionKind::Writer => &self.writer,
            FunctionKind::QueryApi => &self.query_api,
            FunctionKind::MappingProvider => &self.mapping_provider,
        };
        Code {
            s3_bucket: self.bucket.reference(),
            s3_key: key.reference(),
        }
    }
}
