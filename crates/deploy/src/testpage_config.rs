//! `testpage/config.js`: what the test page needs to act as the device, written by `deploy`
//! for AWS and by `deploy --local` for the local target, in the same shape.
//!
//! It holds the device's secret key, so it is git-ignored, written with mode 0600, and written
//! atomically (a temporary file in the same folder, renamed over the old one), so the page
//! never reads half a file and the secret never sits in a world-readable file, not even
//! briefly.

use std::io::Write;
use std::path::{Path, PathBuf};

use local_target::device_api::DeviceKey;
use serde::{Deserialize, Serialize};

/// Where the page talks to: AWS, or the local target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Aws,
    Local,
}

/// The stack the page talks to: its names, and the base URLs of Kinesis and Lambda.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackAddress {
    pub stack_name: String,
    pub region: String,
    pub stream_name: String,
    pub api_function_name: String,
    /// Base URL of the Kinesis API, e.g. `https://kinesis.eu-west-1.amazonaws.com`.
    pub kinesis_endpoint: String,
    /// Base URL of the Lambda API.
    pub lambda_endpoint: String,
}

impl StackAddress {
    /// The Kinesis and Lambda endpoints of `region` on AWS, or `endpoint_url` for both when given.
    pub fn aws_endpoints(region: &str, endpoint_url: Option<&str>) -> (String, String) {
        match endpoint_url {
            Some(url) => (url.to_owned(), url.to_owned()),
            None => (
                format!("https://kinesis.{region}.amazonaws.com"),
                format!("https://lambda.{region}.amazonaws.com"),
            ),
        }
    }
}

/// The key as read from or written to the page's config: the workspace's one key type (the
/// SDK's credentials, whose `Debug` redacts the secret).
pub fn device_key(access_key_id: &str, secret_access_key: &str) -> DeviceKey {
    DeviceKey::new(
        access_key_id,
        secret_access_key,
        None,
        None,
        "testpage/config.js",
    )
}

/// The page's configuration, serialised as `window.IOT_CONFIG = {...};` with the stack's
/// fields at the top level beside the target and the key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "ConfigFile", from = "ConfigFile")]
pub struct TestpageConfig {
    pub target: Target,
    pub stack: StackAddress,
    pub key: DeviceKey,
}

/// The file's shape: the key as two strings the page's signer reads.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigFile {
    target: Target,
    #[serde(flatten)]
    stack: StackAddress,
    access_key_id: String,
    secret_access_key: String,
}

impl From<TestpageConfig> for ConfigFile {
    fn from(config: TestpageConfig) -> Self {
        Self {
            target: config.target,
            stack: config.stack,
            access_key_id: config.key.access_key_id().to_owned(),
            secret_access_key: config.key.secret_access_key().to_owned(),
        }
    }
}

impl From<ConfigFile> for TestpageConfig {
    fn from(file: ConfigFile) -> Self {
        Self {
            target: file.target,
            stack: file.stack,
            key: device_key(&file.access_key_id, &file.secret_access_key),
        }
    }
}

const PREFIX: &str = "window.IOT_CONFIG = ";
const HEADER: &str = "// Written by `deploy`. Holds the device's secret key: git-ignored, mode 0600; do not share.\n";

/// The default location, `testpage/config.js` in the repository at `workspace`.
pub fn default_path(workspace: &Path) -> PathBuf {
    workspace.join("testpage/config.js")
}

impl TestpageConfig {
    /// The file's text.
    pub fn render(&self) -> String {
        // serde_json escapes every string, so no value can break out of the literal.
        let json = serde_json::to_string_pretty(self).unwrap_or_default();
        format!("{HEADER}{PREFIX}{json};\n")
    }

    /// Reads a file written by [`TestpageConfig::write`]; `None` if it is missing or not in
    /// this shape.
    pub fn read(path: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(path).ok()?;
        let start = text.find(PREFIX)? + PREFIX.len();
        let json = text[start..].trim_end().strip_suffix(';')?;
        serde_json::from_str(json).ok()
    }

    /// Writes the file atomically with mode 0600.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        // tempfile creates the file with mode 0600 on Unix.
        let mut file = tempfile::NamedTempFile::new_in(folder)?;
        file.write_all(self.render().as_bytes())?;
        file.as_file().sync_all()?;
        file.persist(path).map_err(|err| err.error)?;
        Ok(())
    }
}

/// Removes the file; a missing file is fine.
pub fn remove(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn sample() -> TestpageConfig {
        TestpageConfig {
            target: Target::Local,
            stack: StackAddress {
                stack_name: "demo".into(),
                region: "us-east-1".into(),
                stream_name: "demo-IoTEventStream".into(),
                api_function_name: "demo-IoTAPI".into(),
                kinesis_endpoint: "http://127.0.0.1:4567".into(),
                lambda_endpoint: "http://127.0.0.1:4567".into(),
            },
            key: device_key("AKIALOCAL", "s3cr\"et</script>"),
        }
    }

    #[test]
    fn written_with_mode_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.js");
        sample().write(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(TestpageConfig::read(&path), Some(sample()));
        sample().write(&path).unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }

    #[test]
    fn the_secret_is_not_in_debug_output() {
        assert!(!format!("{:?}", sample()).contains("s3cr"));
    }
}
