//! The output set of a run: a staging folder inside the case, switched into place as
//! `VTK/` in one step, and the clean-up of what killed runs left.

use std::path::{Component, Path, PathBuf};

use super::pieces::Slabs;
use super::points::Geometry;
use crate::error::{Error, Result};
use crate::eval::Array;
use crate::io;

/// The output file extension of a geometry.
pub(super) fn extension(geometry: &Geometry) -> &'static str {
    match geometry {
        Geometry::Lattice(_) => "vti",
        Geometry::Cloud(_) => "vtp",
        Geometry::Mesh(_) => "vtu",
    }
}

/// The output set of a run, staged and switched into place in one step.
///
/// Every file of the run is written into a fresh folder `.nabla-staging-XXXXXXXX` inside
/// the case, made by this run (exclusively: `mkdir` fails on anything already there,
/// symlinks included), so no write of the run can land outside it. At the end
/// ([`Output::commit`]) the files of the previous `VTK/` that the run does not replace are
/// hard-linked into the staging folder (never copied through a symlink: symlinks are
/// recreated as symlinks), and the staging folder is exchanged with `VTK/` by one
/// `renameat2(RENAME_EXCHANGE)`. Before that instant `VTK/` is the old one, after it the
/// new one; never a mixture. Where the exchange is not available (another OS, a file
/// system without it), `VTK/` is renamed to `.nabla-previous-XXXXXXXX` and the staging
/// folder to `VTK/`; a kill between the two renames is repaired at the next start by
/// renaming the previous folder back.
///
/// At the start ([`Output::new`]) the case directory is locked against a second run, and
/// what killed runs left (staging and previous folders, and the hidden temporary files
/// older versions of nabla left in `VTK/`) is removed.
///
/// `VTK/` must be a real folder: a symlink named `VTK` is refused, since following it
/// would write outside the case and exchanging it would replace the link by a folder.
pub(super) struct Output {
    /// `CASE/VTK`, where the results end up.
    pub(super) vtk: PathBuf,
    /// The staging folder, where this run writes.
    pub(super) stage: PathBuf,
    /// The folder holding the output folder and the staging folder: the case directory,
    /// or the parent of `--output DIR`.
    case_dir: PathBuf,
    /// The name prefix of this output folder's previous copy during a switch without
    /// `RENAME_EXCHANGE`.
    previous: String,
    /// The precision and compression of the arrays.
    write: io::WriteOptions,
    /// Names of the files written into the staging folder, in order.
    pub(super) names: Vec<String>,
    /// The VTK files written so far: their bytes and the seconds spent encoding and
    /// writing them.
    pub(super) written: (u64, f64),
    /// The time and file name of each VTK file of the series.
    series: Vec<(f64, String)>,
    /// Whether the staging folder has been switched into place.
    committed: bool,
    /// Whether this process made the staging folder (and removes it after a failure);
    /// ranks other than 0 write into rank 0's.
    owner: bool,
    /// This rank and the number of ranks; with several, each writes its piece
    /// `NAME_r.EXT` and rank 0 also the parallel file `NAME.pEXT` that lists them.
    rank: (usize, usize),
    /// For a lattice cut into pieces: every rank's piece, and this one's first index.
    slabs: Option<(Slabs, [usize; 3])>,
    /// The open case directory and output parent folder, locked (`flock`) while the run
    /// lasts.
    _lock: (Option<std::fs::File>, Option<std::fs::File>),
}

/// The prefix of staging folders.
const STAGING: &str = ".nabla-staging-";
/// The prefix of a previous `VTK/` during a switch without `RENAME_EXCHANGE`.
const PREVIOUS: &str = ".nabla-previous-";

/// An [`Error::Io`] about `path`.
fn io_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

impl Output {
    /// Locks the case, removes what killed runs left and makes a fresh staging folder.
    /// The output folder is `target` (`--output DIR`), or the case's `VTK/`; the staging
    /// folder is made beside it, in its parent folder, which is locked too.
    pub(super) fn new(
        case_dir: &Path,
        target: Option<&Path>,
        write: io::WriteOptions,
    ) -> Result<Output> {
        let (vtk, parent, previous) = match target {
            None => (
                case_dir.join("VTK"),
                case_dir.to_path_buf(),
                PREVIOUS.into(),
            ),
            Some(dir) => chosen_target(case_dir, dir)?,
        };
        let lock = lock_case(case_dir)?;
        let parent_lock = if same_file(&parent, case_dir) {
            None
        } else {
            lock_case(&parent)?
        };
        check_vtk(&vtk)?;
        clean_stale(&parent, &vtk, &previous)?;
        let stage = fresh_dir(&parent, STAGING)?;
        // The new output folder keeps the old one's permissions.
        if let Ok(m) = std::fs::symlink_metadata(&vtk)
            && m.is_dir()
        {
            let _ = std::fs::set_permissions(&stage, m.permissions());
        }
        Ok(Output {
            vtk,
            stage,
            case_dir: parent,
            previous,
            write,
            names: Vec::new(),
            written: (0, 0.0),
            series: Vec::new(),
            committed: false,
            owner: true,
            rank: (0, 1),
            slabs: None,
            _lock: (lock, parent_lock),
        })
    }

    /// The output of a rank other than 0: it writes into rank 0's staging folder `stage`
    /// (made by [`Output::new`] there), never removes it, and never switches it.
    pub(super) fn joined(vtk: PathBuf, stage: PathBuf, write: io::WriteOptions) -> Output {
        let case_dir = stage.parent().map(Path::to_path_buf).unwrap_or_default();
        Output {
            vtk,
            stage,
            case_dir,
            previous: PREVIOUS.into(),
            write,
            names: Vec::new(),
            written: (0, 0.0),
            series: Vec::new(),
            committed: false,
            owner: false,
            rank: (0, 1),
            slabs: None,
            _lock: (None, None),
        }
    }

    /// Whether several ranks write into this staging folder.
    pub(super) fn stage_is_shared(&self) -> bool {
        self.rank.1 > 1
    }

    /// Makes this the output of `rank` of `size` ranks, writing pieces; `slabs` are a
    /// lattice's pieces and this rank's first point index.
    pub(super) fn set_ranks(
        &mut self,
        rank: usize,
        size: usize,
        slabs: Option<(Slabs, [usize; 3])>,
    ) {
        self.rank = (rank, size);
        self.slabs = slabs;
    }

    /// Writes the arrays of time `t` as `fname` into the staging folder.
    pub(super) fn stage(
        &mut self,
        geometry: &Geometry,
        t: f64,
        fname: String,
        arrays: Vec<Array>,
    ) -> Result<()> {
        let (rank, size) = self.rank;
        let start = std::time::Instant::now();
        let meta: Vec<(String, usize)> = arrays
            .iter()
            .map(|a| (a.name.clone(), a.components))
            .collect();
        let arrays: Vec<io::PointArray> = arrays
            .into_iter()
            .map(|a| io::PointArray::new(a.name, a.components, a.values))
            .collect();
        let (stem, ext) = fname.rsplit_once('.').unwrap_or((&fname, ""));
        let piece_name = |r: usize| {
            if size == 1 {
                fname.clone()
            } else {
                format!("{stem}_{r}.{ext}")
            }
        };
        let path = self.stage.join(piece_name(rank));
        match geometry {
            Geometry::Lattice(grid) => {
                let first = self.slabs.as_ref().map_or([0; 3], |s| s.1);
                io::write_vti_piece_with(&path, grid, first, &arrays, &self.write)?;
            }
            Geometry::Cloud(pts) => io::write_vtp_with(&path, pts, &arrays, &self.write)?,
            Geometry::Mesh(mesh) => io::write_vtu_with(&path, mesh, &arrays, &self.write)?,
        }
        self.written.0 += std::fs::metadata(&path).map_or(0, |m| m.len());
        if size == 1 {
            self.written.1 += start.elapsed().as_secs_f64();
            self.names.push(fname.clone());
            self.series.push((t, fname));
            return Ok(());
        }
        if rank == 0 {
            let parallel = format!("{stem}.p{ext}");
            let ppath = self.stage.join(&parallel);
            let names: Vec<String> = (0..size).map(piece_name).collect();
            match (geometry, &self.slabs) {
                (Geometry::Lattice(_), Some((slabs, _))) => {
                    let pieces: Vec<_> = slabs
                        .pieces
                        .iter()
                        .zip(&names)
                        .map(|(&(s, d), n)| (s, d, n.clone()))
                        .collect();
                    io::write_pvti(&ppath, &slabs.whole, &pieces, &meta, self.write.precision)?;
                }
                (Geometry::Cloud(_), _) => {
                    io::write_pvtp(&ppath, &names, &meta, self.write.precision)?;
                }
                _ => {
                    return Err(io_err(
                        &ppath,
                        "internal: only lattices and point clouds are written in pieces",
                    ));
                }
            }
            self.written.0 += std::fs::metadata(&ppath).map_or(0, |m| m.len());
            self.names.extend(names);
            self.names.push(parallel.clone());
            self.series.push((t, parallel));
        }
        self.written.1 += start.elapsed().as_secs_f64();
        Ok(())
    }

    /// Writes `<name>.pvd`, the collection of the series, into the staging folder (rank
    /// 0 alone, which lists the parallel files of all ranks' pieces).
    pub(super) fn pvd(&mut self, name: &str) -> Result<()> {
        if self.rank.0 != 0 {
            return Ok(());
        }
        let fname = format!("{name}.pvd");
        io::write_pvd(&self.stage.join(&fname), &self.series)?;
        self.names.push(fname);
        Ok(())
    }

    /// Carries the files of the previous `VTK/` that this run does not replace into the
    /// staging folder and switches it into place. Returns the run's files, as paths in
    /// `VTK/`.
    pub(super) fn commit(mut self) -> Result<Vec<PathBuf>> {
        if let Ok(rd) = std::fs::read_dir(&self.vtk) {
            for entry in rd {
                let entry = entry.map_err(|e| io_err(&self.vtk, format!("cannot list: {e}")))?;
                let name = entry.file_name();
                let from = entry.path();
                let to = self.stage.join(&name);
                let replaced = name
                    .to_str()
                    .is_some_and(|n| self.names.iter().any(|m| m == n));
                if replaced {
                    let meta = std::fs::symlink_metadata(&from)
                        .map_err(|e| io_err(&from, format!("cannot inspect: {e}")))?;
                    if meta.is_dir() {
                        return Err(io_err(
                            &from,
                            "is a folder, where this run writes a file of that name; expected \
                             a file (move the folder away)",
                        ));
                    }
                } else {
                    carry_entry(&from, &to)?;
                }
            }
        }
        sync_dir(&self.stage)?;
        switch(&self.case_dir, &self.previous, &self.stage, &self.vtk)?;
        self.committed = true;
        let _ = sync_dir(&self.case_dir);
        Ok(self.names.iter().map(|n| self.vtk.join(n)).collect())
    }
}

impl Drop for Output {
    /// A run that did not switch removes its staging folder (after an error or a panic;
    /// after a kill, the next run does).
    fn drop(&mut self) {
        if self.owner && !self.committed {
            let _ = std::fs::remove_dir_all(&self.stage);
        }
    }
}

/// Locks the case directory (an advisory `flock` on the directory itself, no lock file),
/// so that a second run on the same case at the same time stops instead of removing the
/// first run's staging folder.
fn lock_case(case_dir: &Path) -> Result<Option<std::fs::File>> {
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
fn check_vtk(vtk: &Path) -> Result<()> {
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
fn chosen_target(case_dir: &Path, dir: &Path) -> Result<(PathBuf, PathBuf, String)> {
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
fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// Removes what killed runs left: staging folders in the case directory, a previous
/// `VTK/` (renamed back if the kill came between the two renames of a switch without
/// `RENAME_EXCHANGE`), and the hidden temporary files of older versions of nabla in
/// `VTK/`. Nothing is followed through a symlink.
fn clean_stale(case_dir: &Path, vtk: &Path, previous_prefix: &str) -> Result<()> {
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
fn is_legacy_temporary(name: &str) -> bool {
    (name.starts_with(".nabla-") && name.ends_with(".tmp"))
        || (name.starts_with('.')
            && [".vti", ".vtp", ".vtu"]
                .iter()
                .any(|ext| name.contains(".partial.") && name.ends_with(ext)))
        || (name.starts_with('.') && name.ends_with(".tmp.png"))
}

/// Removes a file, symlink or folder (recursively, never following symlinks).
fn remove_entry(p: &Path) -> Result<()> {
    let r = match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(_) => return Ok(()),
    };
    r.map_err(|e| io_err(p, format!("cannot remove what a killed run left: {e}")))
}

/// Makes a new folder `dir/PREFIX<random>`, exclusively.
fn fresh_dir(dir: &Path, prefix: &str) -> Result<PathBuf> {
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
fn carry_entry(from: &Path, to: &Path) -> Result<()> {
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
fn copy_new(from: &Path, to: &Path) -> std::io::Result<()> {
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
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_err(dir, format!("cannot flush the folder to disk: {e}")))?;
    Ok(())
}

/// Puts the staging folder `stage` in place of `vtk`, in one step where the system can.
fn switch(case_dir: &Path, previous_prefix: &str, stage: &Path, vtk: &Path) -> Result<()> {
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
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
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
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<bool> {
    Ok(false)
}
