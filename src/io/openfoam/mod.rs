//! OpenFOAM case directories, read natively: the mesh of `constant/polyMesh`, the vol
//! fields of a time directory with each patch's condition and values, decomposed cases
//! (`processor*/`) reassembled; and fields written back into a time directory.
//!
//! Reading is a pipeline, one file per stage:
//! `files` finds `NAME` or `NAME.gz` and reads it within [`max_input_bytes`] (all files
//! of one read together), `lexer` tokenizes FoamFiles and reads their lists (ASCII, and
//! binary with the header's `arch` label and scalar sizes), `dict` reads dictionaries
//! (`#include`, `$var`), `polymesh` reads and checks the mesh, `shapes` turns its cells
//! into VTK cells, `fields` reads the vol fields, `decomposed` reassembles a decomposed
//! case, `times` lists and chooses time directories, and `write` writes a field back.
//!
//! The mesh is a [`Mesh`]: OpenFOAM's points; its cells as VTK cells in the same point
//! numbering — hexahedra, wedges, pyramids and tetrahedra as the VTK primitives (VTK's
//! vertex order), every other cell kept whole as a VTK polyhedron (type 42) with its faces
//! in [`Cells::faces`](crate::io::Cells) (no decomposition into primitives: the cell
//! values stay one per OpenFOAM cell, cell `i` is OpenFOAM's cell `i`); the fields as cell
//! data (a `volSymmTensorField` expanded to 9 components, row-major); the boundary patches
//! as [`Patch`]es — `empty` patches (the missing direction of a 2-D case) and processor
//! patches are not boundaries and are left out.
//!
//! ```no_run
//! use nabla::io::{openfoam_times, read_openfoam};
//! # fn main() -> nabla::Result<()> {
//! let case = std::path::Path::new("cavity");
//! let times = openfoam_times(case)?;             // [("0", 0.0), ("0.5", 0.5), …]
//! let mesh = read_openfoam(case, "latest", Some(&["U", "p"]))?;
//! let u = mesh.cell_array("U").unwrap();        // 3 values per cell
//! let wall = mesh.patches.iter().find(|p| p.name == "movingWall").unwrap();
//! assert_eq!(wall.condition("U"), Some("fixedValue"));
//! # let _ = (times, u);
//! # Ok(())
//! # }
//! ```

mod decomposed;
mod dict;
mod fields;
mod files;
mod header;
mod lexer;
mod polymesh;
mod shapes;
mod times;
mod write;

use std::path::{Path, PathBuf};

use self::fields::{Field, read_field, vol_components};
use self::files::{Budget, locate, peek_header};
use self::polymesh::{PolyMesh, mesh_dirs, read_polymesh};
use super::{Cells, Mesh, Patch, PointArray};
use crate::{Error, Result};

pub use self::times::TimeSelection;
pub use self::write::{FieldToWrite, write_openfoam_cell_fields, write_openfoam_field};

#[cfg(doc)]
use super::max_input_bytes;

/// Whether a case is read as decomposed (`processor*/`) or reconstructed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// Reconstructed where the case directory itself has the time directory, else
    /// decomposed where `processor0/` has it (the times of a parallel run that was not
    /// reconstructed).
    #[default]
    Auto,
    /// The case directory's own `constant/polyMesh` and time directories.
    Reconstructed,
    /// The `processor0/` … `processorN-1/` directories, reassembled with decomposePar's
    /// addressing into the whole mesh.
    Decomposed,
}

/// How to read an OpenFOAM case with [`read_openfoam_with`].
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenFoamOptions<'a> {
    /// The fields to read (`None`: every vol field of the time directory, by name).
    pub fields: Option<&'a [&'a str]>,
    /// Reconstructed, decomposed, or whichever holds the time.
    pub layout: Layout,
}

/// The time directories of an OpenFOAM case: their names and values, sorted by value, `0`
/// included; the times of `processor0/` too where the case is decomposed (a parallel run
/// writes its times only there).
///
/// # Errors
/// [`Error::Io`] when the directory cannot be listed.
pub fn openfoam_times(case_dir: &Path) -> Result<Vec<(String, f64)>> {
    let mut all = times::times_in(case_dir)?;
    let proc0 = case_dir.join("processor0");
    if proc0.is_dir() {
        for t in times::times_in(&proc0)? {
            if !all.iter().any(|(n, _)| *n == t.0) {
                all.push(t);
            }
        }
        all.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    }
    Ok(all)
}

/// The times of a case that `selection` chooses (see [`openfoam_times`]).
///
/// # Errors
/// [`Error::Io`] for a case without time directories, or a listed time that is not there
/// (the message lists the times there are).
pub fn select_openfoam_times(
    case_dir: &Path,
    selection: &TimeSelection,
) -> Result<Vec<(String, f64)>> {
    times::select(case_dir, &openfoam_times(case_dir)?, selection)
}

/// Reads an OpenFOAM case at `time` (a directory name, a value, or `latest`): the mesh and
/// the vol fields `fields` (all of them for `None`), reconstructed or decomposed as the case
/// has that time. See [`read_openfoam_with`].
///
/// # Errors
/// Those of [`read_openfoam_with`].
pub fn read_openfoam(case_dir: &Path, time: &str, fields: Option<&[&str]>) -> Result<Mesh> {
    read_openfoam_with(
        case_dir,
        time,
        &OpenFoamOptions {
            fields,
            layout: Layout::Auto,
        },
    )
}

/// Reads an OpenFOAM case at `time` as [`read_openfoam`] does, with `options`.
///
/// Files are ASCII or binary (`arch` with 32- or 64-bit labels, 64- or 32-bit scalars,
/// little-endian), plain or gzipped (`NAME.gz`); faces as `faceList` or `faceCompactList`.
/// A mesh that changed in time is read from the time's `polyMesh` (and a moving mesh's
/// points from `TIME/polyMesh/points`). Each patch's [`Patch::conditions`] lists every
/// field read with the patch's `type` for it, and [`Patch::face_data`] the fields that have
/// a `value` there (uniform values are expanded); `zeroGradient` and other conditions
/// without a value contribute no face data.
///
/// # Errors
/// [`Error::Io`] for a time that is not there (naming the times there are), a field that is
/// not there, a file that cannot be read or is not a regular file (a FIFO, a device, a
/// link to one), and for a decomposed case a missing `processorK/` or addressing file;
/// [`Error::Input`] for a file that does not parse or does not fit the mesh, naming the file
/// and the line where one is known, and what was expected: truncated lists, a count that
/// does not match the list or the mesh, a binary file whose header says ASCII or the
/// reverse, faces with points out of range, a cell with fewer than 4 faces, patches that do
/// not cover the boundary, a field value that is not finite, a `boundaryField` without an
/// entry for a patch, an unsupported directive; and when the files together, inflated,
/// exceed [`max_input_bytes`] (counts are checked against the file before anything is
/// allocated). No input panics.
pub fn read_openfoam_with(case_dir: &Path, time: &str, options: &OpenFoamOptions) -> Result<Mesh> {
    let budget = Budget::new();
    let root_times = times::times_in(case_dir)?;
    let proc0 = case_dir.join("processor0");
    let decomposed = match options.layout {
        Layout::Reconstructed => false,
        Layout::Decomposed => true,
        Layout::Auto => {
            times::find_time(&root_times, time).is_none()
                && proc0.is_dir()
                && times::find_time(&times::times_in(&proc0)?, time).is_some()
        }
    };
    if decomposed {
        return decomposed::read(case_dir, time, options.fields, &budget);
    }
    let (name, _) = times::find_time(&root_times, time)
        .ok_or_else(|| times::missing_time(case_dir, &root_times, time))?
        .clone();
    let (dir, points_dir) = mesh_dirs(case_dir, &name);
    let mesh = read_polymesh(&dir, &points_dir, &budget)?;
    let time_dir = case_dir.join(&name);
    let names = field_names(&time_dir, options.fields)?;
    let fields = names
        .iter()
        .map(|f| read_field(&time_dir.join(f), f, mesh.n_cells, &mesh.patches, &budget))
        .collect::<Result<Vec<_>>>()?;
    Ok(assemble(mesh, fields))
}

/// The fields to read in `time_dir`: those asked for (each must be there), or every vol
/// field there, by name.
fn field_names(time_dir: &Path, asked: Option<&[&str]>) -> Result<Vec<String>> {
    if let Some(asked) = asked {
        for f in asked {
            if f.is_empty() || f.contains(['/', '\\']) || *f == "." || *f == ".." {
                return Err(Error::Io {
                    path: time_dir.into(),
                    message: format!("`{f}` is not a field name"),
                });
            }
            if locate(&time_dir.join(f)).is_none() {
                let there = field_names(time_dir, None).unwrap_or_default();
                return Err(Error::Io {
                    path: time_dir.join(f),
                    message: format!(
                        "no such field in the time directory; the vol fields there are {}",
                        if there.is_empty() {
                            "none".to_string()
                        } else {
                            there.join(", ")
                        }
                    ),
                });
            }
        }
        return Ok(asked.iter().map(|s| s.to_string()).collect());
    }
    let entries = std::fs::read_dir(time_dir).map_err(|e| Error::Io {
        path: time_dir.into(),
        message: format!("cannot list the time directory: {e}"),
    })?;
    let mut names = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let Some(file) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let name = file.strip_suffix(".gz").unwrap_or(&file).to_string();
        if names.contains(&name) {
            continue;
        }
        // Files that are not vol fields (surface fields, dictionaries, foreign files) are
        // skipped.
        if let Ok(h) = peek_header(&time_dir.join(&name))
            && vol_components(&h.class).is_some()
        {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// The [`Mesh`] of a polyMesh and its fields.
fn assemble(mesh: PolyMesh, fields: Vec<Field>) -> Mesh {
    let cells = shapes::vtk_cells(&mesh);
    let patches = mesh
        .patches
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_boundary())
        .map(|(i, p)| {
            let mut faces = Cells::default();
            for f in p.start..p.start + p.size {
                faces
                    .connectivity
                    .extend(mesh.face(f).iter().map(|&v| v as u64));
                faces.offsets.push(faces.connectivity.len() as u64);
                faces.types.push(7);
            }
            let mut face_data = Vec::new();
            let mut conditions = Vec::new();
            for field in &fields {
                if let Some(pf) = &field.patches[i] {
                    conditions.push((field.name.clone(), pf.kind.clone()));
                    if let Some(v) = &pf.values {
                        face_data.push(PointArray::new(&field.name, field.components, v.clone()));
                    }
                }
            }
            Patch {
                name: p.name.clone(),
                faces,
                face_data,
                conditions,
            }
        })
        .collect();
    let cell_data = fields
        .into_iter()
        .map(|f| PointArray::new(f.name, f.components, f.cells))
        .collect();
    Mesh {
        points: mesh.points,
        cells: Some(cells),
        point_data: Vec::new(),
        cell_data,
        patches,
    }
}

/// `processorK` of a case.
fn processor_dir(case_dir: &Path, k: usize) -> PathBuf {
    case_dir.join(format!("processor{k}"))
}
