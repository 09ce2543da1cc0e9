//! Building the packages: one cargo-lambda build of the four functions, each binary zipped
//! by the deployer so that the same code always gives the same bytes and so the same key.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cfn_model::resources::lambda::Architecture;
use iot_stack::names::FunctionKind;

use super::Package;

/// What can go wrong building the packages.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// `cargo lambda` is not installed.
    #[error(
        "cargo-lambda is not installed; it builds the functions for Lambda (running `cargo \
         lambda --version` failed: {reason})"
    )]
    CargoLambdaMissing {
        /// Why it could not be run.
        reason: String,
    },
    /// The Rust standard library for the target is not installed.
    #[error("--arch {arch} needs the Rust target `{target}`, which is not installed")]
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
    /// A package could not be written.
    #[error("writing the package {path}: {source}")]
    Write {
        /// The zip.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A binary is not where cargo-lambda puts it.
    #[error("reading the function's binary {path}: {source}")]
    Read {
        /// The expected binary.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
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

/// Builds the four functions with one `cargo lambda build --release` (cargo's output goes to
/// standard error), then zips each binary as `bootstrap` and hashes the zip.
///
/// cargo-lambda copies the binaries into the packages' folder after cargo's own lock is
/// released; a second build running then (two deploys, or two tests) would hand this one
/// half-written files. So a lock file in that folder is held from the build until the
/// packages are read.
pub fn build(workspace: &Path, architecture: Architecture) -> Result<Vec<Package>, BuildError> {
    check_cargo_lambda()?;
    let (arch, target) = rust_target(architecture);
    if architecture == Architecture::Arm64 && !target_installed(target) {
        return Err(BuildError::TargetMissing { arch, target });
    }
    let dir = lambda_dir(workspace, architecture);
    let _lock = lock_packages(&dir)?;
    eprintln!("building the functions with cargo-lambda");
    let mut command = Command::new("cargo");
    command
        .current_dir(workspace)
        // Its own target folder: the packages share no artifact with host builds (another
        // target, cargo-lambda's release settings), and a long package build then never holds
        // the lock of the folder the rest of the workspace builds in.
        .env("CARGO_TARGET_DIR", workspace.join("target/lambda-build"))
        .args(["lambda", "build", "--release"])
        .arg("--lambda-dir")
        .arg(&dir)
        .args(["--target", target]);
    if let Some(cargo_home) = cargo_home() {
        // The dependencies' panic locations name their sources under CARGO_HOME, so without
        // this every package carries the builder's home folder, and two machines build two
        // keys for the same code. Arrays in --config add to cargo-lambda's own rustflags.
        let remap = format!("--remap-path-prefix={}=/cargo", cargo_home.display());
        command.arg("--config").arg(format!(
            "build.rustflags=[{}]",
            serde_json::Value::from(remap)
        ));
    }
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
        .map(|kind| package(kind, &dir.join(cargo_package(kind))))
        .collect()
}

/// Zips `<folder>/bootstrap` into `<folder>/bootstrap.zip` and returns that package.
fn package(kind: FunctionKind, folder: &Path) -> Result<Package, BuildError> {
    let binary = folder.join("bootstrap");
    let executable = std::fs::read(&binary).map_err(|source| BuildError::Read {
        path: binary.clone(),
        source,
    })?;
    let zip = folder.join("bootstrap.zip");
    let write_error = |source| BuildError::Write {
        path: zip.clone(),
        source,
    };
    let bytes = zip_bootstrap(&executable).map_err(|error| write_error(error.into()))?;
    // Kept for people and for the size figures; the upload sends `bytes`.
    let mut file = tempfile::NamedTempFile::new_in(folder).map_err(write_error)?;
    file.write_all(&bytes).map_err(write_error)?;
    file.persist(&zip)
        .map_err(|error| write_error(error.error))?;
    Ok(Package {
        kind,
        sha256: cfn_apply::sha256_hex(&bytes),
        bytes,
        zip,
    })
}

/// A zip holding `executable` as `bootstrap`, mode 0755, that depends on nothing else: the
/// entry's time is the format's epoch (1980-01-01), not the binary's mtime, which cargo-lambda's
/// own zips carry. So a rebuild that gives the same binary (a fresh checkout, CI, a `touch`)
/// gives the same key, and the stack does not change.
pub fn zip_bootstrap(executable: &[u8]) -> zip::result::ZipResult<Vec<u8>> {
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755)
        .last_modified_time(zip::DateTime::default());
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer.start_file("bootstrap", options)?;
    writer.write_all(executable)?;
    Ok(writer.finish()?.into_inner())
}

/// Takes the packages folder's lock, waiting (and saying so) while another build holds it.
/// The lock goes with the returned file, also when the process dies. Whoever reads the built
/// binaries takes it too: cargo-lambda copies them into place on every build, even one that
/// compiled nothing.
pub fn lock_packages(dir: &Path) -> Result<std::fs::File, BuildError> {
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

/// Where cargo keeps the registry's sources: `CARGO_HOME`, else `~/.cargo`.
fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::home_dir().map(|home| home.join(".cargo")))
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Read;
    use std::time::{Duration, SystemTime};

    use super::*;

    /// The package of `<folder>/bootstrap` after its mtime is set to `mtime`.
    fn package_with_mtime(folder: &Path, mtime: SystemTime) -> Vec<u8> {
        std::fs::File::options()
            .write(true)
            .open(folder.join("bootstrap"))
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        package(FunctionKind::Writer, folder).unwrap().bytes
    }

    #[test]
    fn a_package_is_one_executable_bootstrap_and_the_same_bytes_every_time() {
        let executable = b"\x7fELF pretend binary".repeat(1_000);
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join("bootstrap"), &executable).unwrap();
        // Two builds of the same binary a year apart, as a fresh checkout or a `touch` makes.
        let then = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let bytes = package_with_mtime(folder.path(), then);
        let a_year_later =
            package_with_mtime(folder.path(), then + Duration::from_secs(365 * 86_400));
        assert_eq!(
            a_year_later, bytes,
            "the package must not depend on the binary's mtime"
        );
        assert_eq!(zip_bootstrap(&executable).unwrap(), bytes);
        assert!(bytes.len() < executable.len() / 10, "deflated");

        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name().unwrap(), "bootstrap");
        assert_eq!(entry.unix_mode().map(|mode| mode & 0o777), Some(0o755));
        assert_eq!(entry.last_modified(), Some(zip::DateTime::default()));
        let stored = entry.last_modified().unwrap();
        assert_eq!(
            (stored.year(), stored.month(), stored.day()),
            (1980, 1, 1),
            "the zip format's epoch"
        );
        assert_eq!((stored.hour(), stored.minute(), stored.second()), (0, 0, 0));
        let mut read = Vec::new();
        entry.read_to_end(&mut read).unwrap();
        assert_eq!(read, executable);
    }
}
