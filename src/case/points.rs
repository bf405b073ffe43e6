//! The points of a case: a lattice, random points in a box, or the points of a mesh, each
//! with the geometry that decides the output format.

use std::path::Path;

use rand::{Rng, SeedableRng};

use super::config::{AtSpec, Number, PointsSpec};
use super::data::Read;
use super::load::{Case, Input};
use super::memory::check_memory;
use crate::error::{Error, Result};
use crate::eval::Points;
use crate::io::{self, ImageGrid, Mesh, PointArray};

/// Where the points live, which decides the output format.
pub(super) enum Geometry {
    Lattice(ImageGrid),
    Cloud(Vec<[f64; 3]>),
    Mesh(Mesh),
    /// The centres of a mesh's cells: results are written as cell data of its cells.
    Cells(Mesh),
}

/// The case's points, checked: 2 or 3 axes, sensible bounds, and arrays that fit in
/// memory; with the arrays of the mesh or CSV file they come from (carried into the
/// output), and the mesh as read where the data fields read the same file (see
/// [`super::data::source`]: read once, not twice — seconds at 10⁶ cells).
pub(super) fn points(case: &Case) -> Result<(Geometry, Points, Vec<PointArray>, Option<Read>)> {
    let (g, p, arrays) = points_of(case)?;
    let read = match (&g, super::data::reads_points_file(case)) {
        (Geometry::Mesh(m) | Geometry::Cells(m), true) => {
            let mut mesh = m.clone();
            let mut centres = None;
            match &g {
                Geometry::Mesh(_) => mesh.point_data = arrays.clone(),
                _ => {
                    mesh.cell_data = arrays.clone();
                    centres = Some((0..p.len()).map(|i| p.point(i)).collect());
                }
            }
            Some(Read { mesh, centres })
        }
        _ => None,
    };
    Ok((g, p, arrays, read))
}

fn points_of(case: &Case) -> Result<(Geometry, Points, Vec<PointArray>)> {
    let none = |(g, p)| (g, p, Vec::new());
    match &case.spec.points {
        PointsSpec::Lattice { counts, bounds } => lattice(case, counts, bounds).map(none),
        PointsSpec::Random {
            count,
            bounds,
            seed,
        } => random(case, *count, bounds, *seed).map(none),
        PointsSpec::Mesh { file, at, time } => {
            let path = case.dir.join(file);
            let (mut g, p) = mesh(&path, time.as_deref(), *at == Some(AtSpec::Cells))?;
            let arrays = match &mut g {
                Geometry::Mesh(m) => std::mem::take(&mut m.point_data),
                // At the cell centres the cell arrays are the points' own.
                Geometry::Cells(m) => std::mem::take(&mut m.cell_data),
                _ => Vec::new(),
            };
            if carries(case) {
                super::names::check_carried(&path, &arrays)?;
            }
            if let Geometry::Mesh(m) | Geometry::Cells(m) = &g {
                super::names::check_carried(&path, &m.cell_data)?;
                super::names::check_carried(&path, &m.point_data)?;
            }
            check_memory(p.len(), p.dim(), carried_per_point(&arrays), case)?;
            Ok((g, p, arrays))
        }
        PointsSpec::Csv { file } => {
            let path = case.dir.join(file);
            let (mesh, dim) = io::read_any(&path, None)?;
            let points = Points::from_rows(dim, &mesh.points).map_err(|e| Error::Input {
                path: path.clone(),
                line: None,
                column: None,
                message: e.to_string(),
            })?;
            if carries(case) {
                super::names::check_carried(&path, &mesh.point_data)?;
            }
            check_memory(
                points.len(),
                points.dim(),
                carried_per_point(&mesh.point_data),
                case,
            )?;
            Ok((Geometry::Cloud(mesh.points), points, mesh.point_data))
        }
        PointsSpec::List { points } => {
            let dim = points.first().map_or(0, Vec::len);
            check_dims(dim, "points", &case.input)?;
            if let Some(k) = points.iter().position(|p| p.len() != dim) {
                return Err(case.input.error_key(
                    &format!("points.points.{k}"),
                    format!(
                        "points.points: point {k} has {} coordinates, point 0 has {dim}; expected \
                     the same number for every point",
                        points[k].len()
                    ),
                ));
            }
            let rows: Vec<[f64; 3]> = points
                .iter()
                .map(|p| [p[0], p[1], p.get(2).copied().unwrap_or(0.0)])
                .collect();
            if let Some((k, p)) = points
                .iter()
                .enumerate()
                .find(|(_, p)| p.iter().any(|c| !c.is_finite()))
            {
                return Err(case.input.error_key(
                    &format!("points.points.{k}"),
                    format!("points.points: point {k} is {p:?}; expected finite coordinates"),
                ));
            }
            let pts = Points::from_rows(dim, &rows)
                .map_err(|e| case.input.error_key("points.points", e.to_string()))?;
            Ok((Geometry::Cloud(rows), pts, Vec::new()))
        }
    }
}

/// `counts` points along each axis spanning `bounds`, in VTK's order.
fn lattice(case: &Case, counts: &[usize], bounds: &[[Number; 2]]) -> Result<(Geometry, Points)> {
    let input = &case.input;
    check_dims(counts.len(), "counts", input)?;
    let b = numbers(bounds, input)?;
    if b.len() != counts.len() {
        return Err(input.error_key(
            "points.bounds",
            format!(
                "points: {} counts but {} bounds; expected one [low, high] per axis",
                counts.len(),
                b.len()
            ),
        ));
    }
    if let Some(k) = counts.iter().position(|&c| c == 0) {
        return Err(input.error_key(
            &format!("points.counts.{k}"),
            format!("points.counts, axis {k}: 0 points; every axis needs at least 1 point"),
        ));
    }
    let n = counts
        .iter()
        .try_fold(1usize, |a, &c| a.checked_mul(c))
        .unwrap_or(usize::MAX);
    check_memory(n, counts.len(), 0, case)?;
    for (k, (&c, &[lo, hi])) in counts.iter().zip(&b).enumerate() {
        let spacing = (hi - lo) / (c.max(2) - 1) as f64;
        if !(lo.is_finite() && hi.is_finite() && spacing.is_finite())
            || (c > 1 && !(hi > lo && spacing > 0.0))
        {
            return Err(input.error_key(
                &format!("points.bounds.{k}"),
                format!(
                    "points.bounds, axis {k}: [{lo:?}, {hi:?}] for {c} points; expected finite \
                     bounds with low < high and a finite difference (low = high only for 1 \
                     point)"
                ),
            ));
        }
    }
    let grid = image_grid(counts, &b);
    let points = Points::from_columns(lattice_columns(counts, &grid, n))
        .map_err(|e| input.error_key("points", e.to_string()))?;
    Ok((Geometry::Lattice(grid), points))
}

/// The coordinate columns of a lattice of `n` points: x fastest, then y, then z (VTK's
/// order). Point `k` of an axis is `origin + k·spacing`, computed exactly as VTK (and
/// every reader of the `.vti` file) computes it from the file's origin and spacing, so
/// the values written are those of the points the reader sees, bit for bit.
fn lattice_columns(counts: &[usize], grid: &ImageGrid, n: usize) -> Vec<Vec<f64>> {
    let d = counts.len();
    let axes: Vec<Vec<f64>> = (0..d)
        .map(|k| {
            (0..counts[k])
                .map(|i| grid.origin[k] + i as f64 * grid.spacing[k])
                .collect()
        })
        .collect();
    let mut cols = vec![Vec::with_capacity(n); d];
    let nz = if d == 3 { counts[2] } else { 1 };
    for iz in 0..nz {
        for iy in 0..counts[1] {
            for ix in 0..counts[0] {
                cols[0].push(axes[0][ix]);
                cols[1].push(axes[1][iy]);
                if d == 3 {
                    cols[2].push(axes[2][iz]);
                }
            }
        }
    }
    cols
}

/// The VTK image grid of a lattice.
fn image_grid(counts: &[usize], b: &[[f64; 2]]) -> ImageGrid {
    let mut grid = ImageGrid {
        origin: [0.0; 3],
        spacing: [1.0; 3],
        dims: [1; 3],
    };
    for k in 0..counts.len() {
        grid.origin[k] = b[k][0];
        grid.dims[k] = counts[k];
        if counts[k] > 1 {
            grid.spacing[k] = (b[k][1] - b[k][0]) / (counts[k] - 1) as f64;
        }
    }
    grid
}

/// `count` uniform random points in the box `bounds`, reproducible from `seed`.
fn random(
    case: &Case,
    count: usize,
    bounds: &[[Number; 2]],
    seed: u64,
) -> Result<(Geometry, Points)> {
    let input = &case.input;
    let b = numbers(bounds, input)?;
    check_dims(b.len(), "bounds", input)?;
    if count == 0 {
        return Err(input.error_key(
            "points.count",
            "points.count: 0 points; expected at least 1".into(),
        ));
    }
    for (k, &[lo, hi]) in b.iter().enumerate() {
        if !(lo <= hi && (hi - lo).is_finite()) {
            return Err(input.error_key(
                &format!("points.bounds.{k}"),
                format!(
                    "points.bounds, axis {k}: [{lo:?}, {hi:?}]; expected low <= high and a \
                     finite difference"
                ),
            ));
        }
    }
    check_memory(count, b.len(), 0, case)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let rows: Vec<[f64; 3]> = (0..count)
        .map(|_| {
            let mut p = [0.0; 3];
            for (k, &[lo, hi]) in b.iter().enumerate() {
                p[k] = lo + (hi - lo) * rng.random::<f64>();
            }
            p
        })
        .collect();
    let points =
        Points::from_rows(b.len(), &rows).map_err(|e| input.error_key("points", e.to_string()))?;
    Ok((Geometry::Cloud(rows), points))
}

/// The points of the mesh in `file`, keeping its cells; or, `at_cells`, the centres of
/// its cells (an error for a file without cells).
fn mesh(file: &Path, time: Option<&str>, at_cells: bool) -> Result<(Geometry, Points)> {
    let mesh = io::read_mesh_at(file, time)?;
    let bad = |message: String| Error::Input {
        path: file.to_path_buf(),
        line: None,
        column: None,
        message,
    };
    if at_cells {
        if mesh.num_cells() == 0 {
            return Err(bad(
                "points.at = \"cells\" but the file has no cells; expected a mesh with cells"
                    .into(),
            ));
        }
        let centres = io::geometry::cell_centres(&mesh);
        let points = Points::from_rows(3, &centres).map_err(|e| bad(e.to_string()))?;
        return Ok((Geometry::Cells(mesh), points));
    }
    let points = Points::from_rows(3, &mesh.points).map_err(|e| bad(e.to_string()))?;
    Ok((Geometry::Mesh(mesh), points))
}

/// Which points of `geometry` lie within one cell of the mesh's boundary (points of a
/// mesh, or its cells for [`Geometry::Cells`]); `None` for points without a mesh. A
/// one-cell-thick 2-D mesh's front and back are not boundary.
pub(super) fn near_boundary(geometry: &Geometry) -> Option<Vec<bool>> {
    use crate::field::data::{boundary_cells, boundary_points};
    match geometry {
        Geometry::Mesh(m) if m.num_cells() > 0 => Some(boundary_points(m, thin_axis(m))),
        Geometry::Cells(m) => Some(boundary_cells(m, thin_axis(m))),
        _ => None,
    }
}

/// The axis along which every point of `mesh` lies on one of two planes, and which is
/// its thinnest (a one-cell-thick 2-D mesh), if there is one.
fn thin_axis(mesh: &Mesh) -> Option<usize> {
    let b = mesh.bounds();
    let extent = |a: usize| b[a][1] - b[a][0];
    let thin = (0..3).min_by(|&a, &c| extent(a).total_cmp(&extent(c)))?;
    let planes = mesh
        .points
        .iter()
        .all(|p| p[thin] == b[thin][0] || p[thin] == b[thin][1]);
    (planes && (0..3).all(|a| a == thin || extent(a) > extent(thin))).then_some(thin)
}

/// The `[low, high]` pairs of `points.bounds` as numbers.
fn numbers(bounds: &[[Number; 2]], input: &Input) -> Result<Vec<[f64; 2]>> {
    bounds
        .iter()
        .enumerate()
        .map(|(k, [lo, hi])| {
            Ok([
                input.number(lo, &format!("points.bounds.{k}.0"))?,
                input.number(hi, &format!("points.bounds.{k}.1"))?,
            ])
        })
        .collect()
}

/// Only 2 or 3 axes. A line of points is a 2-D set whose second axis has one point (or
/// zero width), which the message of a 1-axis set says.
fn check_dims(n: usize, what: &str, input: &Input) -> Result<()> {
    if (2..=3).contains(&n) {
        return Ok(());
    }
    let hint = match (n, what) {
        (1, "counts") => {
            "; for a line of N points write counts = [N, 1] (or [N, 1, 1]) with a second \
             bound such as [0, 0]"
        }
        (1, "bounds") => "; for points on a line give a second axis of zero width, [0, 0]",
        (1, _) => "; for points on a line write them as [x, 0]",
        _ => "",
    };
    Err(input.error_key(
        &format!("points.{what}"),
        format!("points.{what}: expected 2 or 3 axes, got {n}{hint}"),
    ))
}

/// Whether the arrays of the points' file are carried into the output (`[data] carry`).
fn carries(case: &Case) -> bool {
    case.spec.data.as_ref().and_then(|d| d.carry) != Some(false)
}

/// Values per point of the arrays carried from the input file.
fn carried_per_point(arrays: &[PointArray]) -> usize {
    arrays.iter().map(|a| a.components).sum()
}
