//! The run itself: evaluating every field and its operators at each time, and writing
//! one VTK file per time (and a `.pvd` collection for a series) into `VTK/`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::load::Case;
use super::mms::Mms;
use super::points::Geometry;
use super::progress::Bar;
use super::summary::{Recorder, Reference, Row};
use super::{data, fields, network};
use crate::error::{Error, Result};
use crate::eval::{Array, EvalOptions, Points, evaluate};
use crate::io;

/// How to run a case.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// No progress bar.
    pub quiet: bool,
    /// Points per chunk of the evaluator.
    pub chunk_size: usize,
    /// Physics-informed cases: continue training from `VTK/checkpoint.json`.
    pub resume: bool,
    /// Physics-informed cases: no training; evaluate the network of `VTK/checkpoint.json`.
    pub evaluate_only: bool,
    /// Any value that is not finite (NaN or infinite) is an error, and nothing is written.
    pub strict: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            quiet: false,
            chunk_size: EvalOptions::default().chunk_size,
            resume: false,
            evaluate_only: false,
            strict: false,
        }
    }
}

/// What a run produced.
pub(super) struct Done {
    /// The summary rows, in output order.
    pub(super) rows: Vec<Row>,
    /// Lines for the summary: the training and its relative L2 errors.
    pub(super) notes: Vec<String>,
    /// Files written, in order: VTK files, `.pvd`, the training's files.
    pub(super) files: Vec<PathBuf>,
}

/// What a run evaluates on and with, prepared by the earlier stages.
pub(super) struct Inputs<'a> {
    pub(super) geometry: &'a Geometry,
    pub(super) points: &'a Points,
    /// The arrays of the points' own file, written beside the results.
    pub(super) carried: &'a [io::PointArray],
    /// The data file of the data fields.
    pub(super) source: Option<&'a data::Source>,
    pub(super) data: &'a [data::Built],
}

/// Trains the network if the case has one, evaluates every field at every time, and
/// writes the results into the case's `VTK/`: every file of the run (the VTK files, the
/// `.pvd`, the training's checkpoint, loss history and plot) is written into a fresh
/// staging folder inside the case and switched into place in one step (see [`Output`]).
/// After an error or a kill, `VTK/` is as it was before the run.
pub(super) fn execute(
    case: &Case,
    inputs: &Inputs<'_>,
    times: &[f64],
    mms: Option<&Mms<'_>>,
    opts: &RunOptions,
) -> Result<Done> {
    let mut output = Output::new(&case.dir)?;
    let (rows, notes) = evaluate_and_write(case, inputs, times, mms, opts, &mut output)?;
    let files = output.commit()?;
    Ok(Done { rows, notes, files })
}

/// [`execute`] up to the switch: everything is written into the staging folder.
fn evaluate_and_write(
    case: &Case,
    inputs: &Inputs<'_>,
    times: &[f64],
    mms: Option<&Mms<'_>>,
    opts: &RunOptions,
    output: &mut Output,
) -> Result<(Vec<Row>, Vec<String>)> {
    let Inputs {
        geometry, points, ..
    } = *inputs;
    let (n, d) = (points.len(), points.dim());
    let trained = match &case.spec.pinn {
        Some(cfg) => Some((
            cfg,
            network::train(&case.input, cfg, &output.vtk, &output.stage, opts)?,
        )),
        None => None,
    };
    let network_fields = trained.as_ref().map_or(0, |(cfg, _)| cfg.outputs().min(2));
    let bar = Bar::new(
        opts.quiet,
        (n * (case.spec.fields.len() + network_fields).max(1) * times.len()) as u64,
    );
    let mut rec = Recorder::new(points, opts.chunk_size, opts.strict);
    let series = case.spec.times.is_some();
    for (k, &t) in times.iter().enumerate() {
        let mlp = trained.as_ref().map(|(_, tr)| &tr.mlp);
        let built = fields::build(case, d, t, mlp, inputs.data)?;
        for b in &built {
            let eo = EvalOptions {
                chunk_size: opts.chunk_size,
                progress: Some(&|c| bar.inc(c)),
                field_name: &b.name,
            };
            let t0 = Instant::now();
            let out = evaluate(b.field.as_ref(), points, &b.ops, &eo)?;
            let secs = t0.elapsed().as_secs_f64();
            for (op, a) in b.ops.iter().zip(out) {
                let reference = match (b.exact.get(op), b.compare.get(op)) {
                    (Some(ex), _) => Some(Reference::Exact(ex)),
                    (None, Some(name)) => Some(compared(case, inputs, name, &a)?),
                    (None, None) => None,
                };
                rec.record(a, reference, t, Some((secs, n as f64 / secs)))?;
            }
        }
        if let Some(mms) = mms {
            mms.record(&mut rec, t, n, d)?;
        }
        let ext = extension(geometry);
        let fname = if series {
            format!("{}_{k}.{ext}", case.name)
        } else {
            format!("{}.{ext}", case.name)
        };
        let mut arrays = rec.take_arrays();
        if case.spec.data.as_ref().and_then(|d| d.carry) != Some(false) {
            carry(&mut arrays, inputs.carried);
        }
        output.stage(geometry, t, fname, arrays)?;
    }
    bar.finish();
    if series {
        output.pvd(&case.name)?;
    }
    let mut notes = std::mem::take(&mut rec.notes);
    for b in inputs.data {
        let s = b.field.stats();
        notes.push(format!(
            "{}; {} of {} evaluations extrapolated (outside their stencil's box), {} with a \
             grown stencil, {} at a lowered degree",
            b.what, s.extrapolated, s.points, s.grown, s.lowered
        ));
    }
    if let Some((_, tr)) = trained {
        output.names.extend(tr.files);
        notes.extend(tr.notes);
    }
    Ok((rec.rows, notes))
}

/// The array `name` of the data file to compare the computed array `a` with: it must be
/// point data with `a`'s shape, so the output points must be the data file's points.
fn compared<'a>(case: &Case, inputs: &Inputs<'a>, name: &str, a: &Array) -> Result<Reference<'a>> {
    let Some(src) = inputs.source else {
        return Err(case.input.error(format!(
            "compare {name}: the case has no data file to take '{name}' from"
        )));
    };
    let Some(r) = src.mesh.point_array(name) else {
        let names: Vec<&str> = src
            .mesh
            .point_data
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        return Err(case.input.error(format!(
            "compare: {} has no point array '{name}'; its point arrays are: {}",
            src.name.display(),
            names.join(", ")
        )));
    };
    if r.components != a.components || r.values.len() != a.values.len() {
        return Err(case.input.error(format!(
            "compare: '{name}' of {} has {} components at {} points, but {} has {} at {} \
             points; expected the same shape (the output points must be the data file's)",
            src.name.display(),
            r.components,
            r.values.len() / r.components.max(1),
            a.name,
            a.components,
            a.values.len() / a.components.max(1)
        )));
    }
    Ok(Reference::Array(r))
}

/// Appends the input arrays; one whose name a result already has is written as
/// `NAME (input)`.
fn carry(arrays: &mut Vec<Array>, carried: &[io::PointArray]) {
    for c in carried {
        let mut name = c.name.clone();
        while arrays.iter().any(|a| a.name == name) {
            name += " (input)";
        }
        arrays.push(Array {
            name,
            components: c.components,
            values: c.values.clone(),
        });
    }
}

/// The output file extension of a geometry.
fn extension(geometry: &Geometry) -> &'static str {
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
    /// The case directory.
    case_dir: PathBuf,
    /// Names of the files written into the staging folder, in order.
    names: Vec<String>,
    /// The time and file name of each VTK file of the series.
    series: Vec<(f64, String)>,
    /// Whether the staging folder has been switched into place.
    committed: bool,
    /// The open case directory, locked (`flock`) while the run lasts.
    _lock: Option<std::fs::File>,
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
    fn new(case_dir: &Path) -> Result<Output> {
        let vtk = case_dir.join("VTK");
        let lock = lock_case(case_dir)?;
        check_vtk(&vtk)?;
        clean_stale(case_dir, &vtk)?;
        let stage = fresh_dir(case_dir, STAGING)?;
        // The new VTK/ keeps the old one's permissions.
        if let Ok(m) = std::fs::symlink_metadata(&vtk)
            && m.is_dir()
        {
            let _ = std::fs::set_permissions(&stage, m.permissions());
        }
        Ok(Output {
            vtk,
            stage,
            case_dir: case_dir.to_path_buf(),
            names: Vec::new(),
            series: Vec::new(),
            committed: false,
            _lock: lock,
        })
    }

    /// Writes the arrays of time `t` as `fname` into the staging folder.
    fn stage(
        &mut self,
        geometry: &Geometry,
        t: f64,
        fname: String,
        arrays: Vec<Array>,
    ) -> Result<()> {
        let path = self.stage.join(&fname);
        let arrays: Vec<io::PointArray> = arrays
            .into_iter()
            .map(|a| io::PointArray::new(a.name, a.components, a.values))
            .collect();
        match geometry {
            Geometry::Lattice(grid) => io::write_vti(&path, grid, &arrays)?,
            Geometry::Cloud(pts) => io::write_vtp(&path, pts, &arrays)?,
            Geometry::Mesh(mesh) => io::write_vtu(&path, mesh, &arrays)?,
        }
        self.names.push(fname.clone());
        self.series.push((t, fname));
        Ok(())
    }

    /// Writes `<name>.pvd`, the collection of the series, into the staging folder.
    fn pvd(&mut self, name: &str) -> Result<()> {
        let fname = format!("{name}.pvd");
        io::write_pvd(&self.stage.join(&fname), &self.series)?;
        self.names.push(fname);
        Ok(())
    }

    /// Carries the files of the previous `VTK/` that this run does not replace into the
    /// staging folder and switches it into place. Returns the run's files, as paths in
    /// `VTK/`.
    fn commit(mut self) -> Result<Vec<PathBuf>> {
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
        switch(&self.case_dir, &self.stage, &self.vtk)?;
        self.committed = true;
        let _ = sync_dir(&self.case_dir);
        Ok(self.names.iter().map(|n| self.vtk.join(n)).collect())
    }
}

impl Drop for Output {
    /// A run that did not switch removes its staging folder (after an error or a panic;
    /// after a kill, the next run does).
    fn drop(&mut self) {
        if !self.committed {
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

/// Removes what killed runs left: staging folders in the case directory, a previous
/// `VTK/` (renamed back if the kill came between the two renames of a switch without
/// `RENAME_EXCHANGE`), and the hidden temporary files of older versions of nabla in
/// `VTK/`. Nothing is followed through a symlink.
fn clean_stale(case_dir: &Path, vtk: &Path) -> Result<()> {
    let Ok(rd) = std::fs::read_dir(case_dir) else {
        return Ok(());
    };
    let mut previous = Vec::new();
    for entry in rd.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with(STAGING) {
            remove_entry(&entry.path())?;
        } else if name.starts_with(PREVIOUS) {
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
fn switch(case_dir: &Path, stage: &Path, vtk: &Path) -> Result<()> {
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
    let previous = fresh_dir(case_dir, PREVIOUS)?;
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
