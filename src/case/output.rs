//! The output set of a run: a staging folder inside the case, switched into place as
//! `VTK/` (or the `--output` folder) in one step. The folder operations themselves — lock,
//! clean-up of what killed runs left, the switch — are in `folders`.

use std::path::{Path, PathBuf};

use super::folders::{
    PREVIOUS, STAGING, carry_entry, check_vtk, chosen_target, clean_stale, fresh_dir, io_err,
    lock_case, same_file, switch, sync_dir,
};
use super::pieces::Slabs;
use super::points::Geometry;
use crate::error::Result;
use crate::eval::Array;
use crate::io;

/// The output file extension of a geometry.
pub(super) fn extension(geometry: &Geometry) -> &'static str {
    match geometry {
        Geometry::Lattice(_) => "vti",
        Geometry::Cloud(_) => "vtp",
        Geometry::Mesh(_) | Geometry::Cells(_) => "vtu",
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
    /// Whether each file holds its time (`TimeValue`): the files of a series do.
    pub(super) timed: bool,
    /// Whether the staging folder has been switched into place.
    committed: bool,
    /// The cell arrays of the last time staged, kept to be written back into the
    /// OpenFOAM case (`[output] openfoam = true`); `None` when not asked.
    pub(super) kept: Option<Vec<(String, usize, Vec<f64>)>>,
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
            timed: false,
            committed: false,
            kept: None,
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
            timed: false,
            committed: false,
            kept: None,
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
        if let (Some(kept), Geometry::Cells(_)) = (&mut self.kept, geometry) {
            *kept = arrays
                .iter()
                .map(|a| (a.name.clone(), a.components, a.values.clone()))
                .collect();
        }
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
        let write = io::WriteOptions {
            time: self.timed.then_some(t),
            ..self.write
        };
        match geometry {
            Geometry::Lattice(grid) => {
                let first = self.slabs.as_ref().map_or([0; 3], |s| s.1);
                io::write_vti_piece_with(&path, grid, first, &arrays, &write)?;
            }
            Geometry::Cloud(pts) => io::write_vtp_with(&path, pts, &arrays, &write)?,
            Geometry::Mesh(mesh) => io::write_vtu_with(&path, mesh, &arrays, &write)?,
            Geometry::Cells(mesh) => {
                // The arrays are the cells': written as cell data, after none of the
                // input's (they are among `arrays`, carried).
                let with = io::Mesh {
                    points: mesh.points.clone(),
                    cells: mesh.cells.clone(),
                    point_data: Vec::new(),
                    cell_data: arrays,
                    patches: Vec::new(),
                };
                io::write_vtu_with(&path, &with, &mesh.point_data, &write)?
            }
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
                (Geometry::Mesh(mesh), _) => {
                    let cell_meta: Vec<(String, usize)> = mesh
                        .cell_data
                        .iter()
                        .map(|a| (a.name.clone(), a.components))
                        .collect();
                    let p = self.write.precision;
                    io::write_pvtu(&ppath, &names, &meta, &cell_meta, p)?;
                }
                (Geometry::Lattice(_), None) | (Geometry::Cells(_), _) => {
                    return Err(io_err(
                        &ppath,
                        "internal: a lattice without its slabs, or cell centres, written in \
                         pieces",
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
