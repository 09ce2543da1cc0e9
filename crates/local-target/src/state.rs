//! The state folder of one local stack: the stream, table and metrics files, the archive
//! folder, and the device key. The folder is private to the user (0700) and the key file is
//! 0600: the key is the only thing that lets a client in.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::device_api::{DEVICE_KEY_PROVIDER, DeviceKey, OPERATOR_KEY_PROVIDER};
use crate::storage::StorageError;

/// The state folder.
#[derive(Clone, Debug)]
pub struct StateDir {
    root: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    access_key_id: String,
    secret_access_key: String,
}

impl StateDir {
    /// Opens the folder, creating it (mode 0700) if missing.
    pub fn open(root: &Path) -> Result<Self, StorageError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(StorageError::io(root))?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    /// The folder as it is, for reading what a running target writes there: nothing is
    /// created.
    pub fn existing(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
        }
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn stream(&self) -> PathBuf {
        self.root.join("stream.db")
    }

    pub fn table(&self) -> PathBuf {
        self.root.join("table.db")
    }

    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.db")
    }

    pub fn archive(&self) -> PathBuf {
        self.root.join("archive")
    }

    /// The alarms' newest evaluation ([`crate::alarms::AlarmReport`]).
    pub fn alarms(&self) -> PathBuf {
        self.root.join("alarms.json")
    }

    fn key_path(&self) -> PathBuf {
        self.root.join("device-key.json")
    }

    fn operator_key_path(&self) -> PathBuf {
        self.root.join("operator-key.json")
    }

    /// The device key: the one stored here, or a new one, stored with mode 0600.
    pub fn device_key(&self) -> Result<DeviceKey, StorageError> {
        key_at(&self.root, &self.key_path(), DEVICE_KEY_PROVIDER)
    }

    /// The operator key (what the stack's owner may do), kept beside the device key the same
    /// way: in its own file, so that handing the device key to a device never hands this.
    pub fn operator_key(&self) -> Result<DeviceKey, StorageError> {
        key_at(&self.root, &self.operator_key_path(), OPERATOR_KEY_PROVIDER)
    }

    /// The AWS CLI's (and boto3's) two files for the operator key, under `aws/`: a profile
    /// `profile`, with the key, `region` and `endpoint_url`, both files mode 0600. Returns
    /// the shell line that makes a shell use them; it names files, not the secret.
    pub fn write_aws_profile(
        &self,
        profile: &str,
        region: &str,
        endpoint_url: &str,
        key: &DeviceKey,
    ) -> Result<String, StorageError> {
        let folder = self.root.join("aws");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&folder)
            .map_err(StorageError::io(&folder))?;
        // "Configuration and credential file settings in the AWS CLI": named profiles are
        // `[profile NAME]` in `config` and `[NAME]` in `credentials`; `endpoint_url` in a
        // profile is honoured by the AWS CLI and the SDKs ("Service-specific endpoints",
        // AWS SDKs and Tools Reference Guide).
        let config = format!(
            "[profile {profile}]\nregion = {region}\nendpoint_url = {endpoint_url}\noutput = json\n"
        );
        let credentials = format!(
            "[{profile}]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            key.access_key_id(),
            key.secret_access_key()
        );
        let config_path = folder.join("config");
        let credentials_path = folder.join("credentials");
        write_private(&folder, &config_path, config.as_bytes())?;
        write_private(&folder, &credentials_path, credentials.as_bytes())?;
        let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        Ok(format!(
            "export AWS_CONFIG_FILE={} AWS_SHARED_CREDENTIALS_FILE={} AWS_PROFILE={profile}",
            shell_word(&absolute(&config_path)),
            shell_word(&absolute(&credentials_path)),
        ))
    }
}

/// `path` whole or not at all, mode 0600 (tempfile creates it so).
fn write_private(folder: &Path, path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let write = || -> std::io::Result<()> {
        let mut temporary = tempfile::NamedTempFile::new_in(folder)?;
        temporary.write_all(bytes)?;
        temporary.as_file().sync_all()?;
        temporary.persist(path).map_err(|err| err.error)?;
        Ok(())
    };
    write().map_err(StorageError::io(path))
}

/// A path as one shell word: quoted unless it is plainly safe.
fn shell_word(path: &Path) -> String {
    let text = path.to_string_lossy();
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The key stored at `path` (in `root`), or a new one, stored with mode 0600.
fn key_at(root: &Path, path: &Path, provider: &'static str) -> Result<DeviceKey, StorageError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let mode = std::fs::metadata(path)
                .map_err(StorageError::io(path))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                // Someone widened it; narrow it again rather than serve a leaked key quietly.
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                    .map_err(StorageError::io(path))?;
            }
            let file: KeyFile = serde_json::from_slice(&bytes).map_err(|err| StorageError::Io {
                path: path.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, err),
            })?;
            Ok(DeviceKey::new(
                file.access_key_id,
                file.secret_access_key,
                None,
                None,
                provider,
            ))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let key = generate_key(provider).map_err(StorageError::io(path))?;
            let file = KeyFile {
                access_key_id: key.access_key_id().to_owned(),
                secret_access_key: key.secret_access_key().to_owned(),
            };
            write_private(root, path, &serde_json::to_vec(&file).unwrap_or_default())?;
            Ok(key)
        }
        Err(err) => Err(StorageError::io(path)(err)),
    }
}

/// A key shaped like an IAM access key: `AKIA` and 16 upper-case letters or digits, and a
/// 40-character secret, both from the operating system's secure random source.
fn generate_key(provider: &'static str) -> std::io::Result<DeviceKey> {
    const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const SECRET_ALPHABET: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bytes = [0u8; 56];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    let (id, secret) = bytes.split_at(16);
    let pick = |alphabet: &[u8], bytes: &[u8]| -> String {
        // 32 and 64 divide 256, so taking the low bits keeps every character equally likely.
        bytes
            .iter()
            .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
            .collect()
    };
    Ok(DeviceKey::new(
        format!("AKIA{}", pick(ID_ALPHABET, id)),
        pick(SECRET_ALPHABET, secret),
        None,
        None,
        provider,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_key_is_generated_once_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(&dir.path().join("demo")).unwrap();
        let key = state.device_key().unwrap();
        assert!(key.access_key_id().starts_with("AKIA") && key.access_key_id().len() == 20);
        assert_eq!(key.secret_access_key().len(), 40);
        assert!(!format!("{key:?}").contains(key.secret_access_key()));
        let mode = std::fs::metadata(state.key_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(state.root())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        let again = state.device_key().unwrap();
        assert_eq!(again.secret_access_key(), key.secret_access_key());
        let other = StateDir::open(&dir.path().join("other"))
            .unwrap()
            .device_key()
            .unwrap();
        assert_ne!(other.secret_access_key(), key.secret_access_key());
    }

    #[test]
    fn the_operator_key_is_another_key_and_its_profile_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(&dir.path().join("demo")).unwrap();
        let device = state.device_key().unwrap();
        let operator = state.operator_key().unwrap();
        assert_ne!(operator.access_key_id(), device.access_key_id());
        assert_eq!(
            state.operator_key().unwrap().secret_access_key(),
            operator.secret_access_key()
        );
        let line = state
            .write_aws_profile(
                "demo-local",
                "us-east-1",
                "http://127.0.0.1:4567",
                &operator,
            )
            .unwrap();
        assert!(!line.contains(operator.secret_access_key()), "{line}");
        assert!(line.ends_with("AWS_PROFILE=demo-local"), "{line}");
        let aws = state.root().join("aws");
        for (file, wanted) in [
            (
                "config",
                "[profile demo-local]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:4567\n",
            ),
            ("credentials", "[demo-local]\naws_access_key_id = "),
        ] {
            let path = aws.join(file);
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.starts_with(wanted), "{file}: {text}");
            assert!(line.contains(&path.display().to_string()), "{line}");
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
        assert_eq!(shell_word(Path::new("/a b/it's")), r"'/a b/it'\''s'");
    }
}
