//! The functions' packages: built with cargo-lambda, hashed, and uploaded under
//! content-addressed keys to the stack's asset bucket, which the deployer creates encrypted
//! and private.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use aws_sdk_cloudformation::types::Parameter;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::head_bucket::HeadBucketError;
use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use cfn_model::resources::lambda::Architecture;
use sha2::{Digest, Sha256};

use crate::stack::assets as parameters;
use crate::stack::names::FunctionKind;

/// What can go wrong building the packages.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// `cargo lambda` is not installed.
    #[error(
        "cargo-lambda is not installed (running `cargo lambda --version` failed: {reason}); \
         install it with `pip install cargo-lambda==1.9.2` (this repository: `source \
         scripts/lib.sh && ensure_venv .venv-lambda scripts/requirements-lambda.txt && export \
         PATH=$PWD/.venv-lambda/bin:$PATH`), then deploy again"
    )]
    CargoLambdaMissing {
        /// Why it could not be run.
        reason: String,
    },
    /// The Rust standard library for the target is not installed.
    #[error(
        "--arch {arch} needs the Rust target `{target}`, which is not installed; add it with \
         `rustup target add {target}`, or deploy for x86_64 (the default)"
    )]
    TargetMissing {
        /// `--arch`'s value.
        arch: &'static str,
        /// The Rust target.
        target: &'static str,
    },
    /// The build failed.
    #[error("`{command}` failed ({status}); its output is above")]
    Failed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
    },
    /// The lock that keeps two builds from writing the same packages at once.
    #[error("locking {path} (which keeps two builds of the packages apart): {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A package is not where cargo-lambda puts it.
    #[error("reading the package {path}: {source}")]
    Read {
        /// The expected zip.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// One function's package, read once: what is hashed is what is uploaded, whatever a later
/// build writes to the file.
#[derive(Clone, PartialEq, Eq)]
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
        format!("{}/{}.zip", self.kind.suffix(), self.sha256)
    }
}

/// The cargo package (and binary) of each function.
pub fn cargo_package(kind: FunctionKind) -> &'static str {
    match kind {
        FunctionKind::Archiver => "archiver",
        FunctionKind::Writer => "writer",
        FunctionKind::QueryApi => "query-api",
        FunctionKind::MappingProvider => "mapping-provider",
    }
}

/// The workspace the deployer was built from (where the functions' sources are).
pub fn workspace_root() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // `crates/deploy` is two levels down.
    crate_dir.ancestors().nth(2).unwrap_or(crate_dir).to_owned()
}

fn rust_target(architecture: Architecture) -> (&'static str, &'static str) {
    match architecture {
        Architecture::X86_64 => ("x86_64", "x86_64-unknown-linux-gnu"),
        Architecture::Arm64 => ("arm64", "aarch64-unknown-linux-gnu"),
    }
}

/// Where the packages of `architecture` are put: under `target/`, so warm builds are fast.
pub fn lambda_dir(workspace: &Path, architecture: Architecture) -> PathBuf {
    workspace
        .join("target/lambda-assets")
        .join(rust_target(architecture).0)
}

/// Builds the four functions with one `cargo lambda build --release --output-format zip`
/// (cargo's output goes to standard error), then reads and hashes the zips.
///
/// cargo's own lock ends with the compile, but cargo-lambda writes the zips after it, in
/// place; a second build running then (two deploys, or two tests) would hand this one
/// half-written zips. So a lock file in the packages' folder is held from the build until
/// the zips are read.
pub fn build(workspace: &Path, architecture: Architecture) -> Result<Vec<Package>, BuildError> {
    check_cargo_lambda()?;
    let (arch, target) = rust_target(architecture);
    if architecture == Architecture::Arm64 && !target_installed(target) {
        return Err(BuildError::TargetMissing { arch, target });
    }
    let dir = lambda_dir(workspace, architecture);
    let _lock = lock_packages(&dir)?;
    let mut command = Command::new("cargo");
    command
        .current_dir(workspace)
        // Its own target folder: the packages share no artifact with host builds (another
        // target, cargo-lambda's release settings), and a long package build then never holds
        // the lock of the folder the rest of the workspace builds in.
        .env("CARGO_TARGET_DIR", workspace.join("target/lambda-build"))
        .args(["lambda", "build", "--release", "--output-format", "zip"])
        .arg("--lambda-dir")
        .arg(&dir)
        .args(["--target", target]);
    for kind in FunctionKind::ALL {
        command.args(["-p", cargo_package(kind)]);
    }
    // cargo's progress is for the person waiting; standard output stays for results.
    command
        .stdout(Stdio::from(std::io::stderr()))
        .stderr(Stdio::inherit());
    let described = format!("{command:?}").replace('"', "");
    let status = command.status().map_err(|error| BuildError::Failed {
        command: described.clone(),
        status: error.to_string(),
    })?;
    if !status.success() {
        return Err(BuildError::Failed {
            command: described,
            status: status.to_string(),
        });
    }
    FunctionKind::ALL
        .into_iter()
        .map(|kind| {
            let zip = dir.join(cargo_package(kind)).join("bootstrap.zip");
            let bytes = std::fs::read(&zip).map_err(|source| BuildError::Read {
                path: zip.clone(),
                source,
            })?;
            Ok(Package {
                kind,
                sha256: hex::encode(Sha256::digest(&bytes)),
                bytes,
                zip,
            })
        })
        .collect()
}

/// Takes the packages folder's lock, waiting (and saying so) while another build holds it.
/// The lock goes with the returned file, also when the process dies.
fn lock_packages(dir: &Path) -> Result<std::fs::File, BuildError> {
    let path = dir.join(".build.lock");
    let error = |source| BuildError::Lock {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(error)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            eprintln!(
                "waiting for another build of the packages in {} to finish",
                dir.display()
            );
            file.lock().map_err(error)?;
        }
        Err(std::fs::TryLockError::Error(source)) => return Err(error(source)),
    }
    Ok(file)
}

fn check_cargo_lambda() -> Result<(), BuildError> {
    let missing = |reason: String| BuildError::CargoLambdaMissing { reason };
    let output = Command::new("cargo")
        .args(["lambda", "--version"])
        .stdin(Stdio::null())
        .output()
        .map_err(|error| missing(error.to_string()))?;
    if output.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(missing(
            stderr
                .lines()
                .next()
                .unwrap_or("no output")
                .trim()
                .to_owned(),
        ))
    }
}

/// Whether the Rust standard library for `target` is installed in the active toolchain.
fn target_installed(target: &str) -> bool {
    let Ok(output) = Command::new("rustc").args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Path::new(&sysroot)
        .join("lib/rustlib")
        .join(target)
        .join("lib")
        .is_dir()
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

/// Whether the asset bucket existed or was made now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketState {
    /// It was there.
    Existing,
    /// It was created, encrypted and private.
    Created,
}

/// Creates the asset bucket unless it exists: default encryption (SSE-S3 with a bucket key),
/// every public access blocked.
pub async fn ensure_bucket(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    region: &str,
) -> anyhow::Result<BucketState> {
    use anyhow::Context;
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => return Ok(BucketState::Existing),
        Err(error) => match error.into_service_error() {
            HeadBucketError::NotFound(_) => {}
            other => {
                return Err(other).with_context(|| {
                    format!("failed to check the asset bucket {bucket} (another account may own the name)")
                });
            }
        },
    }
    let mut create = s3.create_bucket().bucket(bucket);
    // us-east-1 is the one region that refuses a location constraint naming itself.
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    create
        .send()
        .await
        .with_context(|| format!("failed to create the asset bucket {bucket}"))?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::Aes256)
                .build()
                .context("encryption rule")?,
        )
        .bucket_key_enabled(true)
        .build();
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .context("encryption configuration")?,
        )
        .send()
        .await
        .with_context(|| format!("failed to set default encryption on {bucket}"))?;
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .with_context(|| format!("failed to block public access to {bucket}"))?;
    Ok(BucketState::Created)
}

/// How many packages were sent and how many were already there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Uploads {
    /// Sent now.
    pub uploaded: usize,
    /// Already in the bucket under their key.
    pub skipped: usize,
}

/// Uploads each package whose key is not in the bucket yet.
pub async fn upload_missing(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    packages: &[Package],
) -> anyhow::Result<Uploads> {
    use anyhow::Context;
    let mut uploads = Uploads::default();
    for package in packages {
        let key = package.key();
        match s3.head_object().bucket(bucket).key(&key).send().await {
            Ok(_) => {
                uploads.skipped += 1;
                continue;
            }
            Err(error) => match error.into_service_error() {
                HeadObjectError::NotFound(_) => {}
                other if other.code() == Some("NotFound") => {}
                other => {
                    return Err(other)
                        .with_context(|| format!("failed to check s3://{bucket}/{key}"));
                }
            },
        }
        s3.put_object()
            .bucket(bucket)
            .key(&key)
            .body(ByteStream::from(package.bytes.clone()))
            .content_type("application/zip")
            .server_side_encryption(ServerSideEncryption::Aes256)
            .send()
            .await
            .with_context(|| {
                format!(
                    "failed to upload {} to s3://{bucket}/{key}",
                    package.zip.display()
                )
            })?;
        uploads.uploaded += 1;
    }
    Ok(uploads)
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
