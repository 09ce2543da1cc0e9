//! The archive folder: one file per batch object, at the object's key. A file appears whole or
//! not at all: it is written to a temporary file in the same folder, synced, and renamed.

use std::io::Write;
use std::path::{Path, PathBuf};

use telemetry::archive::ArchiveObject;
use telemetry::ports::{Archive, PortError};

use crate::storage::{StorageError, port_call};

/// The archive folder.
#[derive(Clone, Debug)]
pub struct FolderArchive {
    root: PathBuf,
}

impl FolderArchive {
    /// The archive in `root`, created if missing.
    pub fn open(root: &Path) -> Result<Self, StorageError> {
        std::fs::create_dir_all(root).map_err(StorageError::io(root))?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes the object atomically, replacing any object with the same key. Blocking.
    pub fn put_blocking(&self, object: &ArchiveObject) -> Result<(), StorageError> {
        // Keys are `YYYY-MM-DD/<sequence number>.json`; refuse anything that could leave the
        // folder.
        let relative = Path::new(&object.key);
        let path = self.root.join(relative);
        if relative
            .components()
            .any(|part| !matches!(part, std::path::Component::Normal(_)))
        {
            return Err(StorageError::Io {
                path,
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "unsafe object key"),
            });
        }
        let folder = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(folder).map_err(StorageError::io(folder))?;
        let write = || -> std::io::Result<()> {
            let mut file = tempfile::NamedTempFile::new_in(folder)?;
            file.write_all(&object.body)?;
            file.as_file().sync_all()?;
            file.persist(&path).map_err(|err| err.error)?;
            Ok(())
        };
        write().map_err(StorageError::io(&path))
    }
}

impl Archive for FolderArchive {
    async fn put(&self, object: &ArchiveObject) -> Result<(), PortError> {
        let archive = self.clone();
        let object = object.clone();
        port_call("archive write", move || archive.put_blocking(&object)).await
    }
}
