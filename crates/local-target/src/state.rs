//! The state folder of one local stack: the stream, table and metrics files, the archive
//! folder, and the device key. The folder is private to the user (0700) and the key file is
//! 0600: the key is the only thing that lets a client in.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::device_api::{DEVICE_KEY_PROVIDER, DeviceKey};
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

    /// The device key: the one stored here, or a new one, stored with mode 0600.
    pub fn device_key(&self) -> Result<DeviceKey, StorageError> {
        let path = self.key_path();
        match std::fs::read(&path) {
            Ok(bytes) => {
                let mode = std::fs::metadata(&path)
                    .map_err(StorageError::io(&path))?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    // Someone widened it; narrow it again rather than serve a leaked key quietly.
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                        .map_err(StorageError::io(&path))?;
                }
                let file: KeyFile =
                    serde_json::from_slice(&bytes).map_err(|err| StorageError::Io {
                        path: path.clone(),
                        source: std::io::Error::new(std::io::ErrorKind::InvalidData, err),
                    })?;
                Ok(DeviceKey::new(
                    file.access_key_id,
                    file.secret_access_key,
                    None,
                    None,
                    DEVICE_KEY_PROVIDER,
                ))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let key = generate_key().map_err(StorageError::io(&path))?;
                let file = KeyFile {
                    access_key_id: key.access_key_id().to_owned(),
                    secret_access_key: key.secret_access_key().to_owned(),
                };
                let write = || -> std::io::Result<()> {
                    // tempfile creates the file with mode 0600.
                    let mut temporary = tempfile::NamedTempFile::new_in(&self.root)?;
                    temporary.write_all(&serde_json::to_vec(&file).unwrap_or_default())?;
                    temporary.as_file().sync_all()?;
                    temporary.persist(&path).map_err(|err| err.error)?;
                    Ok(())
                };
                write().map_err(StorageError::io(&path))?;
                Ok(key)
            }
            Err(err) => Err(StorageError::io(&path)(err)),
        }
    }
}

/// A key shaped like an IAM access key: `AKIA` and 16 upper-case letters or digits, and a
/// 40-character secret, both from the operating system's secure random source.
fn generate_key() -> std::io::Result<DeviceKey> {
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
        DEVICE_KEY_PROVIDER,
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
}
