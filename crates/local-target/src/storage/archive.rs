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

/// One stored object, as a listing shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredObject {
    pub key: String,
    pub size: u64,
    pub modified: std::time::SystemTime,
}

impl FolderArchive {
    /// Every object, by key: the files of the day folders. A file being written (its
    /// temporary name starts with a dot) is not an object yet. Blocking.
    pub fn list_blocking(&self) -> Result<Vec<StoredObject>, StorageError> {
        let mut objects = Vec::new();
        let visible = |entry: &std::fs::DirEntry| {
            entry
                .file_name()
                .to_str()
                .filter(|name| !name.starts_with('.'))
                .map(str::to_owned)
        };
        for day in std::fs::read_dir(&self.root).map_err(StorageError::io(&self.root))? {
            let day = day.map_err(StorageError::io(&self.root))?;
            let Some(day_name) = visible(&day) else {
                continue;
            };
            if !day.file_type().is_ok_and(|kind| kind.is_dir()) {
                continue;
            }
            let folder = day.path();
            for file in std::fs::read_dir(&folder).map_err(StorageError::io(&folder))? {
                let file = file.map_err(StorageError::io(&folder))?;
                let Some(name) = visible(&file) else { continue };
                let metadata = file.metadata().map_err(StorageError::io(&file.path()))?;
                if metadata.is_file() {
                    objects.push(StoredObject {
                        key: format!("{day_name}/{name}"),
                        size: metadata.len(),
                        modified: metadata
                            .modified()
                            .map_err(StorageError::io(&file.path()))?,
                    });
                }
            }
        }
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    /// The object at `key`, if there is one. Blocking.
    pub fn get_blocking(&self, key: &str) -> Result<Option<(StoredObject, Vec<u8>)>, StorageError> {
        let relative = Path::new(key);
        let safe = relative.components().count() == 2
            && relative.components().all(|part| {
                matches!(part, std::path::Component::Normal(name)
                    if !name.to_string_lossy().starts_with('.'))
            });
        if !safe {
            return Ok(None);
        }
        let path = self.root.join(relative);
        match std::fs::read(&path) {
            Ok(body) => {
                let modified = std::fs::metadata(&path)
                    .and_then(|metadata| metadata.modified())
                    .map_err(StorageError::io(&path))?;
                let object = StoredObject {
                    key: key.to_owned(),
                    size: body.len() as u64,
                    modified,
                };
                Ok(Some((object, body)))
            }
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::IsADirectory
                ) =>
            {
                Ok(None)
            }
            Err(err) => Err(StorageError::io(&path)(err)),
        }
    }
}

impl Archive for FolderArchive {
    async fn put(&self, object: &ArchiveObject) -> Result<(), PortError> {
        let archive = self.clone();
        let object = object.clone();
        port_call("archive write", move || archive.put_blocking(&object)).await
    }
}
