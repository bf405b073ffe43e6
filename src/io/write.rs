//! Writing binary XML VTK files, atomically.

use std::path::{Component, Path};

use num_traits::FromPrimitive;
use vtkio::model::CellType;

use super::encode::{WriteOptions, check_arrays, io_error};
use super::mesh::{Cells, Mesh};
use super::write_atomically;
use super::xml::{Array, Document, Values, active_attributes};
use crate::Result;

/// A named array with a fixed number of components at every point, written as `Float64`
/// (or `Float32`, see [`WriteOptions`]).
///
/// `values` is point-major: the `components` values of point 0, then those of point 1, and so
/// on; its length must be `components × number of points`. VTK reads 1 component as a
/// scalar, 3 as a vector and 9 as a 3 × 3 tensor (row-major: `t00 t01 t02 t10 …`); any
/// positive count is written.
#[derive(Debug, Clone, PartialEq)]
pub struct PointArray {
    /// Name shown in ParaView, e.g. `grad(U)`; any printable characters (`<`, `&`, quotes
    /// are escaped); a control character (tab, line break, …) is refused when written.
    pub name: String,
    /// Number of components per point (1, 3, 9, …).
    pub components: usize,
    /// The values, point-major.
    pub values: Vec<f64>,
}

impl PointArray {
    /// An array named `name` with `components` values per point.
    pub fn new(name: impl Into<String>, components: usize, values: Vec<f64>) -> Self {
        PointArray {
            name: name.into(),
            components,
            values,
        }
    }
}

/// A regular lattice as VTK's `ImageData` describes it: axis-aligned, `dims[d]` points along
/// axis `d`, spaced by `spacing[d]` from `origin`. A 2-D lattice has `dims[2] = 1`.
///
/// Points are numbered as VTK numbers them: **x fastest, then y, then z**. The point at
/// flat index `i = ix + dims[0] · (iy + dims[1] · iz)` is
/// `origin + (ix · spacing[0], iy · spacing[1], iz · spacing[2])`; arrays written with
/// [`write_vti`] must hold their values in that order ([`ImageGrid::point`] gives it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageGrid {
    /// Coordinates of point 0.
    pub origin: [f64; 3],
    /// Distance between neighbouring points along each axis (positive).
    pub spacing: [f64; 3],
    /// Number of points along each axis (at least 1).
    pub dims: [usize; 3],
}

impl ImageGrid {
    /// Number of points, `dims[0] · dims[1] · dims[2]` (saturating).
    pub fn num_points(&self) -> usize {
        self.dims.iter().fold(1usize, |n, &d| n.saturating_mul(d))
    }

    /// The point at flat index `i`, in VTK's order (x fastest, then y, then z).
    ///
    /// # Panics
    /// When `i >= num_points()` (always, for a grid with a zero dimension), as slice
    /// indexing does; [`ImageGrid::get_point`] returns `None` instead.
    pub fn point(&self, i: usize) -> [f64; 3] {
        match self.get_point(i) {
            Some(p) => p,
            None => panic!("ImageGrid::point: point {i} of a {:?} lattice", self.dims),
        }
    }

    /// The point at flat index `i`, or `None` when `i >= num_points()`.
    pub fn get_point(&self, i: usize) -> Option<[f64; 3]> {
        if i >= self.num_points() {
            return None;
        }
        let [nx, ny, _] = self.dims;
        // i < num_points, so no dimension is 0. A plane too large for usize holds every
        // index below usize::MAX: point i is then in plane 0.
        let z = nx.checked_mul(ny).map_or(0, |plane| i / plane);
        let idx = [i % nx, (i / nx) % ny, z];
        Some(std::array::from_fn(|d| {
            self.origin[d] + idx[d] as f64 * self.spacing[d]
        }))
    }
}

/// Checks that `path` ends in `.ext`.
fn check_extension(path: &Path, ext: &str, what: &str) -> Result<()> {
    let actual = path.extension().and_then(|e| e.to_str());
    if actual.is_some_and(|e| e.eq_ignore_ascii_case(ext)) {
        Ok(())
    } else {
        Err(io_error(
            path,
            format!(
                "cannot write {what} here: expected a file name ending in .{ext}, which is how \
                 ParaView picks its reader"
            ),
        ))
    }
}

/// Writes a lattice and its point arrays as VTK `ImageData` (`.vti`).
///
/// Arrays hold their values in VTK's point order, x fastest, then y, then z (see
/// [`ImageGrid`]). Origin and spacing are written with full `f64` precision.
///
/// # Errors
///
/// [`Error::Io`](crate::Error::Io), naming the file, when the name does not end in `.vti`, the lattice is
/// degenerate (a zero dimension, a non-positive or non-finite spacing, a non-finite origin),
/// an array is empty-named, named twice or of the wrong length, or the file cannot be
/// written. Nothing is left on disk then.
pub fn write_vti(path: &Path, grid: &ImageGrid, arrays: &[PointArray]) -> Result<()> {
    write_vti_with(path, grid, arrays, &WriteOptions::default())
}

/// [`write_vti`] with the arrays' precision and compression chosen by `opts`.
///
/// # Errors
/// Those of [`write_vti`].
pub fn write_vti_with(
    path: &Path,
    grid: &ImageGrid,
    arrays: &[PointArray],
    opts: &WriteOptions,
) -> Result<()> {
    write_vti_piece_with(path, grid, [0; 3], arrays, opts)
}

/// A piece of a larger lattice as `ImageData` (`.vti`), for ParaView's parallel
/// `.pvti`: the points of `grid.dims` starting at index `start` of the whole lattice,
/// whose point 0 is at `grid.origin` (the whole lattice's origin, not the piece's first
/// point). The file's extent is `start[d] ..= start[d] + dims[d] - 1`, as VTK's
/// `.pvti` reader expects of a piece. `start = [0; 3]` is [`write_vti_with`].
///
/// # Errors
/// Those of [`write_vti`].
pub fn write_vti_piece_with(
    path: &Path,
    grid: &ImageGrid,
    start: [usize; 3],
    arrays: &[PointArray],
    opts: &WriteOptions,
) -> Result<()> {
    check_extension(path, "vti", "ImageData")?;
    if (0..3).any(|d| start[d].saturating_add(grid.dims[d]) > i32::MAX as usize) {
        return Err(io_error(
            path,
            format!(
                "lattice piece at {start:?} of dimensions {:?} is beyond VTK's extents",
                grid.dims
            ),
        ));
    }
    if grid.dims.contains(&0) || grid.dims.iter().any(|&d| d - 1 > i32::MAX as usize) {
        return Err(io_error(
            path,
            format!(
                "lattice dimensions {:?}; expected at least 1 point along each axis",
                grid.dims
            ),
        ));
    }
    if grid.spacing.iter().any(|s| !(s.is_finite() && *s > 0.0))
        || grid.origin.iter().any(|o| !o.is_finite())
    {
        return Err(io_error(
            path,
            format!(
                "lattice origin {:?}, spacing {:?}; expected a finite origin and positive spacings",
                grid.origin, grid.spacing
            ),
        ));
    }
    let num_points = grid
        .dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| io_error(path, format!("lattice {:?} has too many points", grid.dims)))?;
    check_arrays(path, arrays, num_points, "points")?;
    let extent = (0..3)
        .map(|d| format!("{} {}", start[d], start[d] + grid.dims[d] - 1))
        .collect::<Vec<_>>()
        .join(" ");
    // `{:?}` prints the shortest decimal that reads back as the same f64.
    let v3 = |v: [f64; 3]| format!("{:?} {:?} {:?}", v[0], v[1], v[2]);
    let mut doc = Document::new(path, "ImageData", opts.compression)?;
    doc.open(
        "ImageData",
        &format!(
            " WholeExtent=\"{extent}\" Origin=\"{}\" Spacing=\"{}\"",
            v3(grid.origin),
            v3(grid.spacing)
        ),
    );
    doc.time(opts.time);
    doc.open("Piece", &format!(" Extent=\"{extent}\""));
    let point_data: Vec<Array> = arrays
        .iter()
        .map(|a| Array::of(a, opts.precision))
        .collect();
    doc.arrays("PointData", &active_attributes(arrays), &point_data);
    doc.close("Piece");
    doc.close("ImageData");
    doc.finish()
}

/// Writes a bare point cloud and its point arrays as VTK `PolyData` (`.vtp`), with one
/// vertex cell per point so that ParaView draws every point.
///
/// # Errors
///
/// [`Error::Io`](crate::Error::Io), naming the file, when the name does not end in `.vtp`, an array is
/// empty-named, named twice or of the wrong length, or the file cannot be written. Nothing
/// is left on disk then.
pub fn write_vtp(path: &Path, points: &[[f64; 3]], arrays: &[PointArray]) -> Result<()> {
    write_vtp_with(path, points, arrays, &WriteOptions::default())
}

/// [`write_vtp`] with the arrays' precision and compression chosen by `opts`.
///
/// # Errors
/// Those of [`write_vtp`].
pub fn write_vtp_with(
    path: &Path,
    points: &[[f64; 3]],
    arrays: &[PointArray],
    opts: &WriteOptions,
) -> Result<()> {
    check_extension(path, "vtp", "PolyData")?;
    check_arrays(path, arrays, points.len(), "points")?;
    let n = points.len();
    let connectivity: Vec<u64> = (0..n as u64).collect();
    let offsets: Vec<u64> = (1..=n as u64).collect();
    let mut doc = Document::new(path, "PolyData", opts.compression)?;
    doc.open("PolyData", "");
    doc.time(opts.time);
    doc.open(
        "Piece",
        &format!(
            " NumberOfPoints=\"{n}\" NumberOfVerts=\"{n}\" NumberOfLines=\"0\" \
             NumberOfStrips=\"0\" NumberOfPolys=\"0\""
        ),
    );
    let point_data: Vec<Array> = arrays
        .iter()
        .map(|a| Array::of(a, opts.precision))
        .collect();
    doc.arrays("PointData", &active_attributes(arrays), &point_data);
    doc.arrays("Points", "", &[coordinates(points)]);
    doc.arrays(
        "Verts",
        "",
        &[
            Array::named("connectivity", Values::Count(&connectivity)),
            Array::named("offsets", Values::Count(&offsets)),
        ],
    );
    doc.close("Piece");
    doc.close("PolyData");
    doc.finish()
}

/// The `<Points>` array: the coordinates, `Float64` whatever the arrays' precision.
fn coordinates(points: &[[f64; 3]]) -> Array<'_> {
    Array {
        name: None,
        components: 3,
        values: Values::Exact(points.as_flattened()),
    }
}

/// Writes a mesh and its point arrays as VTK `UnstructuredGrid` (`.vtu`), keeping the mesh's
/// cells unchanged (a mesh without cells, or with an empty list of them, gets one vertex cell per point) and writing its
/// [`Mesh::cell_data`] as cell data (the input's cell arrays, carried through; clear them to
/// leave them out). The mesh's own `point_data` is not written: `arrays` are the point data.
///
/// # Errors
///
/// [`Error::Io`](crate::Error::Io), naming the file, when the name does not end in `.vtu`, the cells do not
/// fit the points or have a cell type VTK does not know, an array is empty-named, named twice
/// or of the wrong length, or the file cannot be written. Nothing is left on disk then.
pub fn write_vtu(path: &Path, mesh: &Mesh, arrays: &[PointArray]) -> Result<()> {
    write_vtu_with(path, mesh, arrays, &WriteOptions::default())
}

/// [`write_vtu`] with the arrays' precision and compression chosen by `opts` (the cell
/// arrays carried from the mesh too).
///
/// # Errors
/// Those of [`write_vtu`].
pub fn write_vtu_with(
    path: &Path,
    mesh: &Mesh,
    arrays: &[PointArray],
    opts: &WriteOptions,
) -> Result<()> {
    check_extension(path, "vtu", "an UnstructuredGrid")?;
    let n = mesh.points.len();
    check_arrays(path, arrays, n, "points")?;
    // A mesh without cells (or with none listed) is written with one vertex per point:
    // VTK reads no UnstructuredGrid piece of zero cells, and ParaView draws the points.
    let listed = mesh.cells.as_ref().filter(|c| !c.is_empty());
    let vertices;
    let (cells, cell_data): (&Cells, &[PointArray]) = match listed {
        Some(cells) => {
            cells
                .check(n)
                .map_err(|m| io_error(path, format!("the mesh's cells are inconsistent: {m}")))?;
            if let Some(&t) = cells
                .types
                .iter()
                .find(|&&t| CellType::from_u8(t).is_none())
            {
                return Err(io_error(
                    path,
                    format!("unknown VTK cell type {t} in the mesh"),
                ));
            }
            if let Some(c) = cells.polyhedron_without_faces() {
                return Err(io_error(
                    path,
                    format!(
                        "cell {c} is a polyhedron (VTK type 42) without its faces, which VTK \
                         needs to read it; expected the face stream in Cells::faces and \
                         Cells::face_offsets"
                    ),
                ));
            }
            check_arrays(path, &mesh.cell_data, cells.len(), "cells")?;
            (cells, &mesh.cell_data)
        }
        None => {
            vertices = Cells {
                connectivity: (0..n as u64).collect(),
                offsets: (1..=n as u64).collect(),
                types: vec![CellType::Vertex as u8; n],
                ..Default::default()
            };
            (&vertices, &[])
        }
    };
    let mut doc = Document::new(path, "UnstructuredGrid", opts.compression)?;
    doc.open("UnstructuredGrid", "");
    doc.time(opts.time);
    doc.open(
        "Piece",
        &format!(" NumberOfPoints=\"{n}\" NumberOfCells=\"{}\"", cells.len()),
    );
    let point_data: Vec<Array> = arrays
        .iter()
        .map(|a| Array::of(a, opts.precision))
        .collect();
    doc.arrays("PointData", &active_attributes(arrays), &point_data);
    let cell_arrays: Vec<Array> = cell_data
        .iter()
        .map(|a| Array::of(a, opts.precision))
        .collect();
    doc.arrays("CellData", &active_attributes(cell_data), &cell_arrays);
    doc.arrays("Points", "", &[coordinates(&mesh.points)]);
    let mut cell_arrays = vec![
        Array::named("connectivity", Values::Count(&cells.connectivity)),
        Array::named("offsets", Values::Count(&cells.offsets)),
        Array::named("types", Values::Byte(&cells.types)),
    ];
    // Polyhedra: VTK's `faces` (the face streams) and `faceoffsets` (the end of each
    // polyhedron's stream, -1 for the other cells), as VTK's XML writer writes them.
    let (faces, faceoffsets): (Vec<i64>, Vec<i64>) = if cells.face_offsets.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let mut prev = 0;
        let offsets = cells
            .face_offsets
            .iter()
            .map(|&end| {
                let o = if end == prev { -1 } else { end as i64 };
                prev = end;
                o
            })
            .collect();
        (cells.faces.iter().map(|&v| v as i64).collect(), offsets)
    };
    if !faceoffsets.is_empty() {
        cell_arrays.push(Array::named("faces", Values::Signed(&faces)));
        cell_arrays.push(Array::named("faceoffsets", Values::Signed(&faceoffsets)));
    }
    doc.arrays("Cells", "", &cell_arrays);
    doc.close("Piece");
    doc.close("UnstructuredGrid");
    doc.finish()
}

/// Escapes the five XML special characters for an attribute value.
pub(super) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Writes a ParaView collection (`.pvd`): a time series of VTK files, one `(time, file)`
/// entry per time step, in the order given.
///
/// File names are written as given and must be relative (ParaView resolves them against the
/// directory of the `.pvd`, so the series can be moved as a whole). vtkio has no `.pvd`
/// writer; the file is this small XML:
///
/// ```xml
/// <?xml version="1.0"?>
/// <VTKFile type="Collection" version="0.1">
///   <Collection>
///     <DataSet timestep="0.5" part="0" file="u_1.vtu"/>
///   </Collection>
/// </VTKFile>
/// ```
///
/// # Errors
///
/// [`Error::Io`](crate::Error::Io), naming the `.pvd`, when its name does not end in `.pvd`, a time is not
/// finite, a file name is absolute, empty, not UTF-8 or has a control character (which
/// XML cannot hold), or the file cannot be written.
/// Nothing is left on disk then.
pub fn write_pvd<P: AsRef<Path>>(path: &Path, entries: &[(f64, P)]) -> Result<()> {
    check_extension(path, "pvd", "a ParaView collection")?;
    let mut xml = String::from(
        "<?xml version=\"1.0\"?>\n<VTKFile type=\"Collection\" version=\"0.1\">\n  <Collection>\n",
    );
    for (time, file) in entries {
        let file = file.as_ref();
        if !time.is_finite() {
            return Err(io_error(
                path,
                format!("time {time} of {}; expected a finite time", file.display()),
            ));
        }
        let name = file
            .to_str()
            .ok_or_else(|| io_error(path, format!("file name {} is not UTF-8", file.display())))?;
        super::encode::check_xml_text(path, "file name", name)?;
        if name.is_empty()
            || file
                .components()
                .any(|c| matches!(c, Component::RootDir | Component::Prefix(_)))
        {
            return Err(io_error(
                path,
                format!(
                    "file name `{name}` at time {time:?}; expected a non-empty path relative to \
                     the .pvd's directory"
                ),
            ));
        }
        xml.push_str(&format!(
            "    <DataSet timestep=\"{time:?}\" part=\"0\" file=\"{}\"/>\n",
            xml_escape(name)
        ));
    }
    xml.push_str("  </Collection>\n</VTKFile>\n");
    write_atomically(path, xml.as_bytes())
}
