//! Files written whole or not at all: a temporary file next to the final path, renamed onto
//! it when complete.

use std::io::Write;
use std::path::Path;

use super::encode::io_error;
use crate::Result;

/// Writes `bytes` to a temporary file next to `path` and renames it to `path`. On any
/// failure the temporary file is removed and `path` is left as it was.
///
/// See [`AtomicFile`] for how the temporary file is made.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write(bytes)?;
    file.commit()
}

/// A file written in pieces to a temporary file next to its path, and moved into place by
/// [`commit`](AtomicFile::commit): until then `path` is as it was, and a file dropped
/// uncommitted (after an error) is removed.
///
/// The temporary file has a random name and is created exclusively (`O_CREAT | O_EXCL`,
/// which never follows a symlink), so nothing planted in the folder can redirect the
/// write; the rename replaces whatever is at `path` (a symlink there is replaced, its
/// target untouched).
pub(crate) struct AtomicFile {
    path: std::path::PathBuf,
    tmp: tempfile::NamedTempFile,
}

impl AtomicFile {
    /// The temporary file of `path`, empty.
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".nabla-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| {
                io_error(
                    path,
                    format!("cannot create a temporary file in {}: {e}", dir.display()),
                )
            })?;
        // Temporary files are created private (0600); give the result the permissions of
        // the file it replaces, or the usual 0644 for a new one, so that ParaView run by
        // another user can read it.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Not through a symlink: a link at `path` is replaced, its target neither read
            // nor written.
            let mode = std::fs::symlink_metadata(path)
                .ok()
                .filter(|m| m.is_file())
                .map_or(0o644, |m| m.permissions().mode() & 0o777);
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(|e| io_error(path, format!("cannot set permissions: {e}")))?;
        }
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
        })
    }

    /// Appends `bytes`.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.tmp
            .write_all(bytes)
            .map_err(|e| io_error(&self.path, format!("cannot write: {e}")))
    }

    /// Flushes the file to the disk and renames it to its path.
    pub(crate) fn commit(self) -> Result<()> {
        let path = self.path;
        self.tmp
            .as_file()
            .sync_all()
            .map_err(|e| io_error(&path, format!("cannot write: {e}")))?;
        self.tmp.persist(&path).map_err(|e| {
            io_error(
                &path,
                format!("cannot move the finished file into place: {}", e.error),
            )
        })?;
        Ok(())
    }
}
