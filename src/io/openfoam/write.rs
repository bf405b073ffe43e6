//! Writing a field back into a case: an ASCII `vol*Field` file in a time directory, so that
//! paraFoam and the user's own OpenFOAM tools see it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::files::{Budget, gz_path, locate, present};
use super::polymesh::{PolyMesh, mesh_dirs, read_polymesh};
use crate::io::write_atomically;
use crate::{Error, Result};

/// A field to write with [`write_openfoam_field`].
#[derive(Debug, Clone, Copy, Default)]
pub struct FieldToWrite<'a> {
    /// The field's name, which is also its file's name (`Q_nabla`).
    pub name: &'a str,
    /// Components per value: 1 (`volScalarField`), 3 (`volVectorField`), 6
    /// (`volSymmTensorField`: xx xy xz yy yz zz) or 9 (`volTensorField`, row-major).
    pub components: usize,
    /// One value per cell and component, in OpenFOAM's cell order (the order
    /// [`read_openfoam`](super::read_openfoam) reads cells in).
    pub cells: &'a [f64],
    /// The values on the faces of each boundary patch, by patch name (one value per face
    /// and component, in the patch's face order). Every patch but `empty` and the
    /// constraint types (`wedge`, `symmetry`, `symmetryPlane`, `cyclic`, …, which are written
    /// as their type) needs one.
    pub patches: &'a [(&'a str, &'a [f64])],
    /// The field's dimensions in OpenFOAM's order (mass, length, time, temperature,
    /// quantity, current, luminous intensity); all zero by default.
    pub dimensions: [f64; 7],
}

/// The patch types whose field types OpenFOAM fixes: written as `type TYPE;`, no value.
const CONSTRAINT: [&str; 9] = [
    "empty",
    "wedge",
    "symmetry",
    "symmetryPlane",
    "cyclic",
    "cyclicAMI",
    "cyclicACMI",
    "cyclicSlip",
    "nonuniformTransformCyclic",
];

fn io(path: &Path, message: impl Into<String>) -> Error {
    Error::Io {
        path: path.into(),
        message: message.into(),
    }
}

/// Writes `field` as the ASCII file `TIME/NAME` of the case at `case_dir` (the time
/// directory is created where it is missing) and returns its path.
///
/// The file is a `volScalarField`, `volVectorField`, `volSymmTensorField` or
/// `volTensorField` with a proper FoamFile header, `internalField nonuniform List<…>` and,
/// for each patch of the mesh, `type calculated; value nonuniform List<…>` with the given
/// face values (`type empty;` and the other constraint types as their type). It is written
/// under a temporary name and renamed into place, so a failed write leaves the old file (or
/// none).
///
/// # Errors
/// [`Error::Io`] naming the file for a name or time that is not a plain file name, a
/// component count other than 1, 3, 6 or 9, values whose count does not fit the mesh's
/// cells or a patch's faces, a patch without values or a name that is no patch, a value that
/// is not finite, a target that is a symbolic link (refused, not followed) or that exists
/// gzipped (`NAME.gz`, which OpenFOAM would read instead), a decomposed case (reconstruct it
/// first: writing into `processor*/` is not supported), or a file that cannot be written;
/// the errors of reading the mesh.
pub fn write_openfoam_field(case_dir: &Path, time: &str, field: &FieldToWrite) -> Result<PathBuf> {
    let mesh = case_mesh(case_dir, time, field.name)?;
    write_with(case_dir, time, field, &mesh)
}

/// Writes fields known at the cells only (`(name, components, cell values)`) as
/// [`write_openfoam_field`] does, reading the mesh once; each patch face gets the value of
/// the cell it belongs to (its owner: a zero-gradient copy, as OpenFOAM's own
/// post-processing writes derived fields on patches it does not compute), stated in the
/// file's header. Returns the files written, in order; a failure stops at that field
/// (the ones before it are written, each atomically).
///
/// # Errors
/// As [`write_openfoam_field`].
pub fn write_openfoam_cell_fields(
    case_dir: &Path,
    time: &str,
    fields: &[(&str, usize, &[f64])],
) -> Result<Vec<PathBuf>> {
    let Some(&(first, _, _)) = fields.first() else {
        return Ok(Vec::new());
    };
    let mesh = case_mesh(case_dir, time, first)?;
    let n_internal = mesh.neighbour.len();
    let mut out = Vec::with_capacity(fields.len());
    for &(name, k, cells) in fields {
        let path = case_dir.join(time).join(name);
        if k == 0 || cells.len() != mesh.n_cells * k {
            return Err(io(
                &path,
                format!(
                    "{} cell values of {k} components; expected {} cells",
                    cells.len(),
                    mesh.n_cells
                ),
            ));
        }
        let mut start = n_internal;
        let copies: Vec<(String, Vec<f64>)> = mesh
            .patches
            .iter()
            .map(|p| {
                let faces = start..start + p.size;
                start += p.size;
                let v = faces
                    .flat_map(|f| {
                        let c = mesh.owner.get(f).copied().unwrap_or(0);
                        cells[c * k..c * k + k].iter().copied()
                    })
                    .collect();
                (p.name.clone(), v)
            })
            .collect();
        let patches: Vec<(&str, &[f64])> = copies
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        let field = FieldToWrite {
            name,
            components: k,
            cells,
            patches: &patches,
            dimensions: [0.0; 7],
        };
        out.push(write_with(case_dir, time, &field, &mesh)?);
    }
    Ok(out)
}

/// The mesh of the case at `time`, for writing the field `name` (named in the errors).
fn case_mesh(case_dir: &Path, time: &str, name: &str) -> Result<PolyMesh> {
    let path = case_dir.join(time).join(name);
    let (dir, points_dir) = mesh_dirs(case_dir, time);
    if locate(&dir.join("faces")).is_none() && case_dir.join("processor0").is_dir() {
        return Err(io(
            &path,
            "the case is decomposed (processor*/ without a reconstructed mesh): writing into \
             the processor directories is not supported; run reconstructPar first",
        ));
    }
    read_polymesh(&dir, &points_dir, &Budget::new())
}

/// [`write_openfoam_field`] on the case's `mesh`.
fn write_with(
    case_dir: &Path,
    time: &str,
    field: &FieldToWrite,
    mesh: &PolyMesh,
) -> Result<PathBuf> {
    let plain = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && !s
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "/\\\"';{}".contains(c))
    };
    let time_dir = case_dir.join(time);
    let path = time_dir.join(field.name);
    if !plain(field.name) {
        return Err(io(
            &path,
            format!(
                "`{}` is not a field name; expected a word without spaces, slashes, quotes, `;` \
                 or braces",
                field.name
            ),
        ));
    }
    if !plain(time) {
        return Err(io(
            &time_dir,
            format!("`{time}` is not a time directory name"),
        ));
    }
    let (class, ty) = match field.components {
        1 => ("volScalarField", "scalar"),
        3 => ("volVectorField", "vector"),
        6 => ("volSymmTensorField", "symmTensor"),
        9 => ("volTensorField", "tensor"),
        k => {
            return Err(io(
                &path,
                format!(
                    "{k} components; expected 1 (scalar), 3 (vector), 6 (symmTensor) or 9 (tensor)"
                ),
            ));
        }
    };
    let k = field.components;
    if field.cells.len() != mesh.n_cells * k {
        return Err(io(
            &path,
            format!(
                "{} cell values; expected {} ({} cells × {k} components)",
                field.cells.len(),
                mesh.n_cells * k,
                mesh.n_cells
            ),
        ));
    }
    for (name, _) in field.patches {
        if !mesh.patches.iter().any(|p| p.name == *name) {
            let names: Vec<&str> = mesh.patches.iter().map(|p| p.name.as_str()).collect();
            return Err(io(
                &path,
                format!(
                    "no patch `{name}` in the mesh; its patches are {}",
                    names.join(", ")
                ),
            ));
        }
    }
    let finite = |what: &str, v: &[f64]| -> Result<()> {
        match v.iter().position(|x| !x.is_finite()) {
            Some(i) => Err(io(
                &path,
                format!(
                    "{what}: value {} (component {}) is {}; expected finite numbers",
                    i / k,
                    i % k,
                    v[i]
                ),
            )),
            None => Ok(()),
        }
    };
    finite("the cell values", field.cells)?;

    let mut text = String::with_capacity(field.cells.len() * 14 + 4096);
    let dims: Vec<String> = field.dimensions.iter().map(|d| format!("{d}")).collect();
    let _ = write!(
        text,
        "/*--------------------------------*- C++ -*----------------------------------*\\\n\
         | written by nabla                                                            |\n\
         \\*---------------------------------------------------------------------------*/\n\
         FoamFile\n{{\n    version     2.0;\n    format      ascii;\n    class       {class};\n    \
         location    \"{time}\";\n    object      {};\n}}\n\
         // * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * //\n\n\
         dimensions      [{}];\n\ninternalField   ",
        field.name,
        dims.join(" ")
    );
    list(&mut text, ty, k, field.cells);
    text.push_str(";\n\nboundaryField\n{\n");
    for p in &mesh.patches {
        let _ = write!(text, "    {}\n    {{\n", p.name);
        if CONSTRAINT.contains(&p.kind.as_str()) {
            let _ = writeln!(text, "        type            {};", p.kind);
        } else if matches!(p.kind.as_str(), "processor" | "processorCyclic") {
            return Err(io(
                &path,
                format!(
                    "patch {} is a processor patch: the case is decomposed; run reconstructPar \
                     first",
                    p.name
                ),
            ));
        } else {
            let Some((_, values)) = field.patches.iter().find(|(n, _)| *n == p.name) else {
                return Err(io(
                    &path,
                    format!(
                        "no values for patch {} ({} faces); expected values for every patch but \
                         empty and constraint patches",
                        p.name, p.size
                    ),
                ));
            };
            if values.len() != p.size * k {
                return Err(io(
                    &path,
                    format!(
                        "patch {}: {} values; expected {} ({} faces × {k} components)",
                        p.name,
                        values.len(),
                        p.size * k,
                        p.size
                    ),
                ));
            }
            finite(&format!("patch {}", p.name), values)?;
            text.push_str("        type            calculated;\n        value           ");
            list(&mut text, ty, k, values);
            text.push_str(";\n");
        }
        text.push_str("    }\n");
    }
    text.push_str(
        "}\n\n// ************************************************************************* //\n",
    );

    // The target: never through a link, never beside a gzipped copy OpenFOAM would read.
    if let Ok(meta) = std::fs::symlink_metadata(&time_dir) {
        if meta.file_type().is_symlink() || !meta.is_dir() {
            return Err(io(
                &time_dir,
                "the time directory is a symbolic link or not a directory; refused",
            ));
        }
    } else {
        std::fs::create_dir(&time_dir)
            .map_err(|e| io(&time_dir, format!("cannot create the time directory: {e}")))?;
    }
    if let Ok(meta) = std::fs::symlink_metadata(&path)
        && (meta.file_type().is_symlink() || !meta.is_file())
    {
        return Err(io(
            &path,
            "the target is a symbolic link or not a regular file; refused (not followed)",
        ));
    }
    if present(&gz_path(&path)) {
        return Err(io(
            &path,
            format!(
                "{} exists, which OpenFOAM would read instead; remove it first",
                gz_path(&path).display()
            ),
        ));
    }
    write_atomically(&path, text.as_bytes())?;
    Ok(path)
}

/// `nonuniform List<TYPE> N ( … )` of `values`, `k` per element.
fn list(text: &mut String, ty: &str, k: usize, values: &[f64]) {
    let n = values.len() / k;
    let _ = write!(text, "nonuniform List<{ty}> \n{n}\n(\n");
    for v in values.chunks_exact(k) {
        if k == 1 {
            let _ = writeln!(text, "{:?}", v[0]);
        } else {
            text.push('(');
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    text.push(' ');
                }
                let _ = write!(text, "{x:?}");
            }
            text.push_str(")\n");
        }
    }
    text.push_str(")\n");
}
