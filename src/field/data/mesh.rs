//! The samples of a mesh's arrays, taken where the code that wrote them holds them: a
//! finite-volume solver's cell values at the cell centres, plus its boundary values at the
//! centres of the patch faces; or the point values at the points.
//!
//! foamToVTK's point data is an inverse-distance interpolation of the cell values: smoother
//! than the solver's solution, of low order, and wrong at walls, so a reconstruction of it
//! cannot beat the solver's own gradient. The cell values and the patch values are the
//! solver's unknowns and boundary conditions themselves.
//!
//! A patch contributes the values of a field at its face centres, except where they are not
//! values the solver holds but copies of the adjacent cell's value:
//! - a condition that fixes a gradient or a constraint, not a value ([`holds_values`]:
//!   `zeroGradient`, `symmetry`, `empty`, `cyclic`, `slip`, …) contributes nothing: its face
//!   value is the cell value extrapolated with zero gradient, and placing it on the wall
//!   would be a first-order error;
//! - where the condition is not known (foamToVTK's `.vtm` does not say it) or is mixed
//!   (`inletOutlet`, …), a patch whose every face holds exactly its cell's value, those values
//!   not all one value, is left out for the same reason (a decision per patch, so that a
//!   field that starts uniform does not change the samples from one time to the next);
//! - `noSlip` (written without a value) contributes zeros.
//!
//! ```
//! use nabla::field::data::{Location, mesh_samples};
//! use nabla::io::{Cells, Mesh, PointArray, Patch};
//! // One unit cube cell with the value 1 and a patch of its bottom face holding 3.
//! let mut mesh = Mesh {
//!     points: (0..8).map(|i| [(i & 1) as f64, (i >> 1 & 1) as f64, (i >> 2) as f64]).collect(),
//!     cells: Some(Cells { connectivity: vec![0, 1, 3, 2, 4, 5, 7, 6], offsets: vec![8], types: vec![12], ..Default::default() }),
//!     cell_data: vec![PointArray::new("T", 1, vec![1.0])],
//!     ..Mesh::default()
//! };
//! mesh.patches.push(Patch {
//!     name: "bottom".into(),
//!     faces: Cells { connectivity: vec![0, 2, 3, 1], offsets: vec![4], types: vec![7], ..Default::default() },
//!     face_data: vec![PointArray::new("T", 1, vec![3.0])],
//!     conditions: vec![("T".into(), "fixedValue".into())],
//! });
//! let s = mesh_samples(&mesh, &["T"], Location::Cells).unwrap();
//! assert_eq!(s.points, [[0.5, 0.5, 0.5], [0.5, 0.5, 0.0]]);
//! assert_eq!(s.values, [1.0, 3.0]);
//! ```

use crate::error::{Error, Result};
use crate::io::geometry::{cell_centres, cell_points, face_centre, faces_of};
use crate::io::{Cells, Mesh, Patch, PointArray};

pub use super::location::Location;

/// How one boundary patch took part in [`MeshSamples`].
#[derive(Clone, Debug, PartialEq)]
pub struct PatchUse {
    /// The patch's name.
    pub name: String,
    /// Faces whose values became samples.
    pub used: usize,
    /// Faces left out, and why (empty when none were).
    pub left_out: usize,
    /// Why faces were left out, or what the values are.
    pub why: String,
}

/// Samples of a mesh's arrays, ready for [`DataField::new`](super::DataField::new) and
/// [`DataField::with_cells`](super::DataField::with_cells).
#[derive(Clone, Debug)]
pub struct MeshSamples {
    /// Where the samples are: cell centres, then boundary face centres (or the points).
    pub points: Vec<[f64; 3]>,
    /// Their values, `components` per sample.
    pub values: Vec<f64>,
    /// Components per sample.
    pub components: usize,
    /// Which samples are neighbours: one group per mesh point (or per cell, for point
    /// samples), of the samples that touch it; for [`DataField::with_cells`](super::DataField::with_cells).
    pub neighbours: Option<Cells>,
    /// The number of cell samples (the first ones); 0 for point samples.
    pub cells: usize,
    /// How each boundary patch took part (cell samples only).
    pub patches: Vec<PatchUse>,
}

/// Whether the boundary condition `condition` holds a value on its faces (`Some(true)`:
/// `fixedValue` and its kin, `calculated`), holds a gradient or a constraint whose face
/// values are copies of the cells' (`Some(false)`), or is not known here (`None`: its faces
/// are tested one by one).
pub fn holds_values(condition: &str) -> Option<bool> {
    match condition {
        "fixedValue"
        | "uniformFixedValue"
        | "noSlip"
        | "movingWallVelocity"
        | "rotatingWallVelocity"
        | "flowRateInletVelocity"
        | "surfaceNormalFixedValue"
        | "timeVaryingMappedFixedValue"
        | "fixedMean"
        | "totalPressure"
        | "calculated"
        | "codedFixedValue"
        | "turbulentInlet"
        | "fixedProfile" => Some(true),
        "zeroGradient"
        | "fixedGradient"
        | "uniformFixedGradient"
        | "symmetry"
        | "symmetryPlane"
        | "slip"
        | "partialSlip"
        | "empty"
        | "wedge"
        | "cyclic"
        | "cyclicAMI"
        | "cyclicACMI"
        | "cyclicSlip"
        | "processor"
        | "processorCyclic"
        | "fixedFluxPressure"
        | "advective"
        | "waveTransmissive"
        | "nutkWallFunction"
        | "kqRWallFunction" => Some(false),
        _ => None,
    }
}

/// The arrays `names` of `mesh` (one array of any number of components, or one scalar
/// array per component) as samples at `location`.
///
/// # Errors
/// [`Error::Data`] for an array that does not exist at `location` (the available ones are
/// listed), a list of arrays that are not all scalar, an empty list, cell samples without
/// cells, or arrays whose lengths do not fit the mesh.
pub fn mesh_samples(mesh: &Mesh, names: &[&str], location: Location) -> Result<MeshSamples> {
    mesh_samples_with(mesh, names, location, None)
}

/// [`mesh_samples`] with the cell centres of `mesh` where the caller has them already
/// ([`cell_centres`] of the same mesh: a second pass over a large mesh's faces saved).
pub(crate) fn mesh_samples_with(
    mesh: &Mesh,
    names: &[&str],
    location: Location,
    centres: Option<&[[f64; 3]]>,
) -> Result<MeshSamples> {
    if names.is_empty() {
        return Err(Error::Data(
            "an empty list of arrays; expected one scalar array per component".into(),
        ));
    }
    let arrays = match location {
        Location::Points => &mesh.point_data,
        Location::Cells => &mesh.cell_data,
    };
    let rows = match location {
        Location::Points => mesh.points.len(),
        Location::Cells => mesh.num_cells(),
    };
    let (values, m) = gather(arrays, names, rows).map_err(|e| Error::Data(e + &listing(mesh)))?;
    match location {
        Location::Points => Ok(MeshSamples {
            points: mesh.points.clone(),
            values,
            components: m,
            neighbours: mesh.cells.clone(),
            cells: 0,
            patches: Vec::new(),
        }),
        Location::Cells => {
            let Some(cells) = &mesh.cells else {
                return Err(Error::Data(
                    "cell samples need the mesh's cells, and this file has none".into(),
                ));
            };
            cells
                .check(mesh.points.len())
                .map_err(|e| Error::Data(format!("the mesh's cells are not valid: {e}")))?;
            let mut points = match centres {
                Some(c) if c.len() == mesh.num_cells() => c.to_vec(),
                _ => cell_centres(mesh),
            };
            let mut values = values;
            let nc = points.len();
            let point_cells = point_cells(cells, mesh.points.len());
            let mut faces: Vec<&[u64]> = Vec::new();
            let mut uses = Vec::new();
            for patch in &mesh.patches {
                let u = patch_samples(mesh, &point_cells, &values, m, names, patch)?;
                for (f, v) in u.faces {
                    let face = face_of(&patch.faces, f);
                    points.push(face_centre(&mesh.points, face).0);
                    values.extend_from_slice(&v);
                    faces.push(face);
                }
                uses.push(u.usage);
            }
            let neighbours = neighbour_groups(&point_cells, &faces, nc, mesh.points.len());
            Ok(MeshSamples {
                points,
                values,
                components: m,
                neighbours: Some(neighbours),
                cells: nc,
                patches: uses,
            })
        }
    }
}

/// The available arrays, for an error message.
fn listing(mesh: &Mesh) -> String {
    let list: Vec<String> = mesh
        .point_data
        .iter()
        .map(|a| format!("{} ({})", a.name, a.components))
        .chain(
            mesh.cell_data
                .iter()
                .map(|a| format!("{} ({}, cell data)", a.name, a.components)),
        )
        .collect();
    format!(
        "; the available arrays (components) are: {}",
        if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        }
    )
}

/// The values of `names` among `arrays` (each of `rows` rows), row-major, and their
/// component count.
fn gather(
    arrays: &[PointArray],
    names: &[&str],
    rows: usize,
) -> std::result::Result<(Vec<f64>, usize), String> {
    let find = |name: &str| {
        arrays
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| format!("no array named '{name}'"))
    };
    let check = |a: &PointArray| {
        if Some(a.values.len()) != rows.checked_mul(a.components) || a.components == 0 {
            Err(format!(
                "array '{}' has {} values for {rows} rows of {} components",
                a.name,
                a.values.len(),
                a.components
            ))
        } else {
            Ok(())
        }
    };
    if let [name] = names {
        let a = find(name)?;
        check(a)?;
        return Ok((a.values.clone(), a.components));
    }
    let cols: Vec<&PointArray> = names
        .iter()
        .map(|n| find(n))
        .collect::<std::result::Result<_, _>>()?;
    if let Some(a) = cols.iter().find(|a| a.components != 1) {
        return Err(format!(
            "array '{}' has {} components; a list takes one scalar array per component",
            a.name, a.components
        ));
    }
    cols.iter().try_for_each(|a| check(a))?;
    let m = cols.len();
    let mut v = vec![0.0; rows * m];
    for (c, a) in cols.iter().enumerate() {
        for (i, &x) in a.values.iter().enumerate() {
            v[i * m + c] = x;
        }
    }
    Ok((v, m))
}

/// For each mesh point, the cells that use it (CSR: `start`, `cells`).
struct PointCells {
    start: Vec<usize>,
    cells: Vec<usize>,
}

impl PointCells {
    fn of(&self, p: u64) -> &[usize] {
        let p = p as usize;
        match (self.start.get(p), self.start.get(p + 1)) {
            (Some(&a), Some(&b)) => &self.cells[a..b],
            _ => &[],
        }
    }
}

fn point_cells(cells: &Cells, num_points: usize) -> PointCells {
    let mut start = vec![0usize; num_points + 1];
    for ids in cell_points(cells) {
        for &p in ids {
            start[p as usize + 1] += 1;
        }
    }
    for i in 0..num_points {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut out = vec![0usize; start[num_points]];
    for (c, ids) in cell_points(cells).enumerate() {
        for &p in ids {
            out[fill[p as usize]] = c;
            fill[p as usize] += 1;
        }
    }
    // A cell listing a point twice (a degenerate cell) appears twice: harmless here.
    PointCells { start, cells: out }
}

fn face_of(faces: &Cells, f: usize) -> &[u64] {
    let start = if f == 0 {
        0
    } else {
        faces.offsets[f - 1] as usize
    };
    &faces.connectivity[start..faces.offsets[f] as usize]
}

/// What one patch gives: the faces used with their values, and the summary's line.
struct PatchSamples {
    faces: Vec<(usize, Vec<f64>)>,
    usage: PatchUse,
}

fn patch_samples(
    mesh: &Mesh,
    point_cells: &PointCells,
    cell_values: &[f64],
    m: usize,
    names: &[&str],
    patch: &Patch,
) -> Result<PatchSamples> {
    let nf = patch.faces.len();
    let bad = |msg: String| Error::Data(format!("patch '{}': {msg}", patch.name));
    patch
        .faces
        .check(mesh.points.len())
        .map_err(|e| bad(format!("its faces are not valid: {e}")))?;
    let mut usage = PatchUse {
        name: patch.name.clone(),
        used: 0,
        left_out: nf,
        why: String::new(),
    };
    let conditions: Vec<Option<&str>> = names.iter().map(|n| patch.condition(n)).collect();
    let known: Vec<Option<bool>> = conditions
        .iter()
        .map(|c| c.and_then(holds_values))
        .collect();
    if let Some(k) = known.iter().position(|k| *k == Some(false)) {
        usage.why = format!(
            "{} holds no values ({}): its face values are the cells'",
            names[k],
            conditions[k].unwrap_or_default()
        );
        return Ok(PatchSamples {
            faces: Vec::new(),
            usage,
        });
    }
    let no_slip = conditions.iter().all(|c| *c == Some("noSlip"));
    let present = names.iter().all(|n| patch.face_array(n).is_some());
    let values: Option<(Vec<f64>, usize)> = if present {
        Some(gather(&patch.face_data, names, nf).map_err(bad)?)
    } else if no_slip {
        Some((vec![0.0; nf * m], m))
    } else {
        None
    };
    let Some((values, pm)) = values else {
        usage.why = "no values of the field on it".into();
        return Ok(PatchSamples {
            faces: Vec::new(),
            usage,
        });
    };
    if pm != m {
        return Err(bad(format!(
            "{} components on the patch but {m} in the cells",
            pm
        )));
    }
    // Where the condition is not known to hold values, the patch is taken for a
    // zero-gradient copy when every face holds exactly its cell's value and those values
    // are not all one value: a decision per patch, so that it does not change with the
    // values from one time to the next where a field starts uniform (all 0 at t = 0).
    let all_fixed = known.iter().all(|k| *k == Some(true));
    if !all_fixed && nf > 0 {
        let copies = (0..nf).all(|f| {
            let v = &values[f * m..(f + 1) * m];
            owner_cell(mesh, point_cells, face_of(&patch.faces, f))
                .is_some_and(|c| &cell_values[c * m..(c + 1) * m] == v)
        });
        let uniform = values.chunks(m).all(|v| v == &values[..m]);
        if copies && !uniform {
            usage.why = "its face values are its cells' (a zero-gradient copy)".into();
            return Ok(PatchSamples {
                faces: Vec::new(),
                usage,
            });
        }
    }
    let faces: Vec<(usize, Vec<f64>)> = (0..nf)
        .map(|f| (f, values[f * m..(f + 1) * m].to_vec()))
        .collect();
    usage.used = faces.len();
    usage.left_out = 0;
    usage.why = if no_slip && patch.face_array(names[0]).is_none() {
        "noSlip: zeros".into()
    } else {
        String::new()
    };
    Ok(PatchSamples { faces, usage })
}

/// The cell that has every point of `face` (a boundary face has one).
fn owner_cell(mesh: &Mesh, point_cells: &PointCells, face: &[u64]) -> Option<usize> {
    let cells = mesh.cells.as_ref()?;
    let first = *face.first()?;
    point_cells.of(first).iter().copied().find(|&c| {
        let start = if c == 0 {
            0
        } else {
            cells.offsets[c - 1] as usize
        };
        let ids = &cells.connectivity[start..cells.offsets[c] as usize];
        face.iter().all(|p| ids.contains(p))
    })
}

/// One group per mesh point: the cells that use it and the (sample indices of the) used
/// boundary faces that touch it.
fn neighbour_groups(point_cells: &PointCells, faces: &[&[u64]], nc: usize, np: usize) -> Cells {
    let mut point_faces: Vec<Vec<u64>> = vec![Vec::new(); np];
    for (k, f) in faces.iter().enumerate() {
        for &p in *f {
            point_faces[p as usize].push((nc + k) as u64);
        }
    }
    let mut connectivity = Vec::new();
    let mut offsets = Vec::with_capacity(np);
    for (p, pf) in point_faces.iter().enumerate() {
        connectivity.extend(point_cells.of(p as u64).iter().map(|&c| c as u64));
        connectivity.extend_from_slice(pf);
        offsets.push(connectivity.len() as u64);
    }
    Cells {
        connectivity,
        offsets,
        types: vec![0; np],
        ..Cells::default()
    }
}

/// Which cells of `mesh` lie within one cell of its boundary: those with a point on a
/// boundary face (a face of one cell only). Faces whose normal is along `thin` (the axis a
/// one-cell-thick 2-D mesh is extruded along: its front and back) are not boundary. Empty
/// without cells.
pub fn boundary_cells(mesh: &Mesh, thin: Option<usize>) -> Vec<bool> {
    let Some(cells) = &mesh.cells else {
        return Vec::new();
    };
    let mut keys: Vec<(Vec<u64>, usize, Vec<u64>)> = Vec::new();
    for (c, ids) in cell_points(cells).enumerate() {
        let local = faces_of(cells, c, ids);
        for f in local {
            let mut key = f.clone();
            key.sort_unstable();
            keys.push((key, c, f));
        }
    }
    keys.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut on_boundary = vec![false; mesh.points.len()];
    let mut i = 0;
    while i < keys.len() {
        let mut j = i + 1;
        while j < keys.len() && keys[j].0 == keys[i].0 {
            j += 1;
        }
        if j == i + 1 {
            let face = &keys[i].2;
            let across = thin.is_some_and(|a| {
                let (_, n) = face_centre(&mesh.points, face);
                let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
                len > 0.0 && n[a].abs() > 0.99 * len
            });
            if !across {
                for &p in face {
                    if let Some(b) = on_boundary.get_mut(p as usize) {
                        *b = true;
                    }
                }
            }
        }
        i = j;
    }
    cell_points(cells)
        .map(|ids| {
            ids.iter()
                .any(|&p| on_boundary.get(p as usize) == Some(&true))
        })
        .collect()
}

/// Which points of `mesh` lie within one cell of its boundary: the points of the cells of
/// [`boundary_cells`].
pub fn boundary_points(mesh: &Mesh, thin: Option<usize>) -> Vec<bool> {
    let near = boundary_cells(mesh, thin);
    let mut out = vec![false; mesh.points.len()];
    if let Some(cells) = &mesh.cells {
        for (ids, &b) in cell_points(cells).zip(&near) {
            if b {
                for &p in ids {
                    if let Some(o) = out.get_mut(p as usize) {
                        *o = true;
                    }
                }
            }
        }
    }
    out
}
