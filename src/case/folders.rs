//! The folder operations behind an output set: the case lock, the clean-up of what killed
//! runs left, fresh staging folders, carrying entries over, and the switch into place
//! (`RENAME_EXCHANGE` where Linux has it, two renames elsewhere).

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The prefix of staging folders.
pub(super) const STAGING: &str = ".nabla-staging-";
/// The prefix of a previous `VTK/` during a switch without `RENAME_EXCHANGE`.
pub(super) const PREVIOUS: &str = ".nabla-previous-";

/// An [`Error::Io`] about `path`.
pub(super) fn io_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Locks the case directory (an advisory `flock` on the directory itself, no lock file),
/// so that a second run on the same case at the same time stops instead of removing the
/// first run's staging folder.
pub(super) fn lock_case(case_dir: &Path) -> Result<Option<std::fs::File>> {
    let Ok(f) = std::fs::File::open(case_dir) else {
        // Not every platform opens folders; go without the lock there.
        return Ok(None);
    };
    match f.try_lock() {
        Ok(()) => Ok(Some(f)),
        Err(std::fs::TryLockError::WouldBlock) => Err(io_err(
            case_dir,
            "another nabla run is writing this case; wait for it to finish",
        )),
        Err(std::fs::TryLockError::Error(_)) => Ok(None),
    }
}

/// Refuses a `VTK` that is a symlink or not a folder.
pub(super) fn check_vtk(vtk: &Path) -> Result<()> {
    match std::fs::symlink_metadata(vtk) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(
            vtk,
            format!("cannot inspect the output folder: {e}"),
        )),
        Ok(m) if m.file_type().is_symlink() => Err(io_err(
            vtk,
            "the output folder is a symbolic link; nabla writes only into a real folder \
             inside the case (it never follows a link out of the case); replace the link by \
             a folder, or link the whole case directory instead",
        )),
        Ok(m) if !m.is_dir() => Err(io_err(
            vtk,
            "cannot create the output folder: something that is not a folder has its name; \
             move it away",
        )),
        Ok(_) => Ok(()),
    }
}

/// The output folder `dir` of `--output DIR`, its parent folder (where the staging folder
/// is made) and the name prefix of its previous copy. `dir` must end in a folder name, its
/// parent must exist, and it must not be the case directory or hold it.
pub(super) fn chosen_target(case_dir: &Path, dir: &Path) -> Result<(PathBuf, PathBuf, String)> {
    let bad = |why: &str| io_err(dir, format!("cannot write the output here: {why}"));
    let Some(Component::Normal(name)) = dir.components().next_back() else {
        return Err(bad("expected a path that ends in a folder name"));
    };
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(bad(&format!(
            "its parent folder {} does not exist; expected an existing folder (or a new \
             folder in one)",
            parent.display()
        )));
    }
    let target = parent.join(name);
    if let (Ok(t), Ok(c)) = (target.canonicalize(), case_dir.canonicalize())
        && c.starts_with(&t)
    {
        return Err(bad(
            "it is the case directory or holds it, and the output folder is replaced as a \
             whole; expected a folder of its own",
        ));
    }
    let previous = format!("{PREVIOUS}{}-", name.to_string_lossy());
    Ok((target, parent, previous))
}

/// Whether `a` and `b` are the same folder.
pub(super) fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// Removes what killed runs left: staging folders in the case directory, a previous
/// `VTK/` (renamed back if the kill came between the two renames of a switch without
/// `RENAME_EXCHANGE`), and the hidden temporary files of older versions of nabla in
/// `VTK/`. Nothing is followed through a symlink.
pub(super) fn clean_stale(case_dir: &Path, vtk: &Path, previous_prefix: &str) -> Result<()> {
    let Ok(rd) = std::fs::read_dir(case_dir) else {
        return Ok(());
    };
    let mut previous = Vec::new();
    for entry in rd.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with(STAGING) {
            remove_entry(&entry.path())?;
        } else if name
            .strip_prefix(previous_prefix)
            .is_some_and(|rest| rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            // Another output folder's previous copy (`--output` beside it) is left alone.
            previous.push(entry.path());
        }
    }
    for p in previous {
        let is_dir = std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir());
        if is_dir && std::fs::symlink_metadata(vtk).is_err() {
            std::fs::rename(&p, vtk)
                .map_err(|e| io_err(vtk, format!("cannot restore it from {}: {e}", p.display())))?;
        } else {
            remove_entry(&p)?;
        }
    }
    if let Ok(rd) = std::fs::read_dir(vtk) {
        for entry in rd.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if is_legacy_temporary(name)
                && entry
                    .file_type()
                    .is_ok_and(|t| t.is_file() || t.is_symlink())
            {
                remove_entry(&entry.path())?;
            }
        }
    }
    Ok(())
}

/// The names of the temporary files older versions of nabla left in `VTK/` when killed:
/// `.nabla-XXXXXX.tmp`, `.NAME.partial.EXT` and `.NAME.tmp.png`.
pub(super) fn is_legacy_temporary(name: &str) -> bool {
    (name.starts_with(".nabla-") && name.ends_with(".tmp"))
        || (name.starts_with('.')
            && [".vti", ".vtp", ".vtu"]
                .iter()
                .any(|ext| name.contains(".partial.") && name.ends_with(ext)))
        || (name.starts_with('.') && name.ends_with(".tmp.png"))
}

/// Removes a file, symlink or folder (recursively, never following symlinks).
pub(super) fn remove_entry(p: &Path) -> Result<()> {
    let r = match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(_) => return Ok(()),
    };
    r.map_err(|e| io_err(p, format!("cannot remove what a killed run left: {e}")))
}

/// Makes a new folder `dir/PREFIX<random>`, exclusively.
pub(super) fn fresh_dir(dir: &Path, prefix: &str) -> Result<PathBuf> {
    use rand::Rng;
    let mut rng = rand::rng();
    let mut last = None;
    for _ in 0..32 {
        let path = dir.join(format!("{prefix}{:016x}", rng.random::<u64>()));
        match std::fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => {
                return Err(io_err(
                    dir,
                    format!("cannot create a staging folder for the output: {e}"),
                ));
            }
        }
    }
    Err(io_err(
        dir,
        format!(
            "cannot create a staging folder for the output: {}",
            last.map_or_else(String::new, |e| e.to_string())
        ),
    ))
}

/// Puts the entry `from` of the previous `VTK/` at `to` in the staging folder: a hard
/// link for a file (a copy where the file system has none), the same symlink for a
/// symlink, a folder of such entries for a folder.
pub(super) fn carry_entry(from: &Path, to: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(from)
        .map_err(|e| io_err(from, format!("cannot inspect: {e}")))?;
    let ft = meta.file_type();
    let fail = |e: std::io::Error| io_err(from, format!("cannot keep it in the new output: {e}"));
    if ft.is_symlink() {
        let target = std::fs::read_link(from).map_err(fail)?;
        #[cfg(unix)]
        std::os::unix::fs::symlink(&target, to).map_err(fail)?;
        #[cfg(not(unix))]
        return Err(fail(std::io::Error::other(
            "cannot recreate a symlink here",
        )));
    } else if ft.is_dir() {
        std::fs::create_dir(to).map_err(fail)?;
        std::fs::set_permissions(to, meta.permissions()).map_err(fail)?;
        for entry in std::fs::read_dir(from).map_err(fail)? {
            let entry = entry.map_err(fail)?;
            carry_entry(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else if ft.is_file() {
        if std::fs::hard_link(from, to).is_err() {
            copy_new(from, to).map_err(fail)?;
        }
    } else {
        return Err(io_err(
            from,
            "is neither a file, a folder nor a symlink; nabla cannot keep it in the new \
             output folder (move it away)",
        ));
    }
    Ok(())
}

/// Copies the file `from` to the new file `to` (created exclusively).
pub(super) fn copy_new(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut src = std::fs::File::open(from)?;
    let mut dst = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)?;
    std::io::copy(&mut src, &mut dst)?;
    dst.set_permissions(src.metadata()?.permissions())?;
    dst.sync_all()
}

/// Flushes a folder's entries to disk.
pub(super) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_err(dir, format!("cannot flush the folder to disk: {e}")))?;
    Ok(())
}

/// Puts the staging folder `stage` in place of `vtk`, in one step where the system can.
pub(super) fn switch(
    case_dir: &Path,
    previous_prefix: &str,
    stage: &Path,
    vtk: &Path,
) -> Result<()> {
    let fail = |e: std::io::Error| {
        io_err(
            vtk,
            format!(
                "cannot switch the new output into place from {}: {e}",
                stage.display()
            ),
        )
    };
    if std::fs::symlink_metadata(vtk).is_err() {
        return std::fs::rename(stage, vtk).map_err(fail);
    }
    if exchange(stage, vtk).map_err(fail)? {
        // `stage` now holds the previous output.
        let _ = std::fs::remove_dir_all(stage);
        return Ok(());
    }
    let previous = fresh_dir(case_dir, previous_prefix)?;
    std::fs::remove_dir(&previous).map_err(fail)?;
    std::fs::rename(vtk, &previous).map_err(fail)?;
    if let Err(e) = std::fs::rename(stage, vtk) {
        let _ = std::fs::rename(&previous, vtk);
        return Err(fail(e));
    }
    let _ = std::fs::remove_dir_all(&previous);
    Ok(())
}

/// Exchanges `a` and `b` atomically (`renameat2` with `RENAME_EXCHANGE`); `Ok(false)`
/// where the system or the file system cannot.
#[cfg(target_os = "linux")]
pub(super) fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::other("a path with a NUL byte"))
    };
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: both are valid NUL-terminated paths that outlive the call; the syscall
    // reads them and touches no memory of ours.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ENOSYS | libc::EINVAL | libc::ENOTSUP) => Ok(false),
        _ => Err(e),
    }
}

/// Exchanges `a` and `b` atomically: not available here.
#[cfg(not(target_os = "linux"))]
pub(super) fn exchange(_a: &Path, _b: &Path) -> std::io::Result<bool> {
    Ok(false)
}
