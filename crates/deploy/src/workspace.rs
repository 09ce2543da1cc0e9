//! The project's workspace, found from the current directory the way cargo finds one: the
//! nearest folder, here or above, whose `Cargo.toml` has a `[workspace]` table.
//!
//! The deployer needs it for the functions' sources and the test page. It is found at run time,
//! not compiled in, so an installed or moved `deploy` binary works on the checkout it is run in.

use std::path::{Path, PathBuf};

/// The workspace could not be found.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// No `Cargo.toml` with `[workspace]` here or above.
    #[error(
        "{} is not inside the project's repository (no Cargo.toml with a [workspace] table \
         there or in any folder above it); run deploy from the repository's folder",
        start.display()
    )]
    NotFound {
        /// Where the search started.
        start: PathBuf,
    },
    /// A workspace, but another project's.
    #[error(
        "the cargo workspace at {} is not this project's (it has no crates/deploy); run deploy \
         from the repository it came from",
        root.display()
    )]
    NotThisProject {
        /// The workspace found.
        root: PathBuf,
    },
    /// The current directory is unreadable.
    #[error("cannot read the current directory: {0}")]
    CurrentDir(#[source] std::io::Error),
}

/// The workspace holding the current directory.
pub fn find() -> Result<PathBuf, WorkspaceError> {
    let here = std::env::current_dir().map_err(WorkspaceError::CurrentDir)?;
    find_from(&here)
}

/// The workspace holding `start`.
pub fn find_from(start: &Path) -> Result<PathBuf, WorkspaceError> {
    let root = start
        .ancestors()
        .find(|dir| declares_workspace(&dir.join("Cargo.toml")))
        .ok_or_else(|| WorkspaceError::NotFound {
            start: start.to_owned(),
        })?;
    if !root.join("crates/deploy/Cargo.toml").is_file() {
        return Err(WorkspaceError::NotThisProject {
            root: root.to_owned(),
        });
    }
    Ok(root.to_owned())
}

/// A manifest with a `[workspace]` table (a line of its own, as cargo writes and reads it).
fn declares_workspace(manifest: &Path) -> bool {
    std::fs::read_to_string(manifest)
        .is_ok_and(|text| text.lines().any(|line| line.trim() == "[workspace]"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn found_from_any_folder_inside_and_refused_outside() {
        let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let repository = repository.canonicalize().unwrap();
        assert_eq!(find_from(&repository).unwrap(), repository);
        assert_eq!(
            find_from(&repository.join("lambdas/writer/src")).unwrap(),
            repository
        );

        let outside = tempfile::tempdir().unwrap();
        let error = find_from(outside.path()).unwrap_err();
        assert!(matches!(error, WorkspaceError::NotFound { .. }), "{error}");
        assert!(
            error.to_string().contains("run deploy from the repository"),
            "{error}"
        );

        // A workspace, but not this one: a member's Cargo.toml alone does not count either.
        std::fs::write(outside.path().join("Cargo.toml"), "[workspace]\n").unwrap();
        let member = outside.path().join("member");
        std::fs::create_dir(&member).unwrap();
        std::fs::write(member.join("Cargo.toml"), "[package]\nname = \"m\"\n").unwrap();
        let error = find_from(&member).unwrap_err();
        assert!(
            matches!(&error, WorkspaceError::NotThisProject { root } if root == outside.path()),
            "{error}"
        );
    }
}
