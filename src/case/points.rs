//! The points of a case: a lattice, random points in a box, or the points of a mesh, each
//! with the geometry that decides the output format.

use std::path::Path;

use rand::{Rng, SeedableRng};

use super::config::{Number, PointsSpec};
use super::load::{Case, Input};
use crate::autodiff::Tensor;
use crate::error::{Error, Result};
use crate::eval::Points;
use crate::io::{self, ImageGrid, Mesh, PointArray};

/// Where the points live, which decides the output format.
pub(super) enum Geometry {
    Lattice(ImageGrid),
    Cloud(Vec<[f64; 3]>),
    Mesh(Mesh),
}

/// The case's points, checked: 2 or 3 axes, sensible bounds, and arrays that fit in
/// memory; with the arrays of the mesh or CSV file they come from (carried into the
/// output).
pub(super) fn points(case: &Case) -> Result<(Geometry, Points, Vec<PointArray>)> {
    let none = |(g, p)| (g, p, Vec::new());
    match &case.spec.points {
        PointsSpec::Lattice { counts, bounds } => lattice(case, counts, bounds).map(none),
        PointsSpec::Random {
            count,
            bounds,
            seed,
        } => random(case, *count, bounds, *seed).map(none),
        PointsSpec::Mesh { file } => {
            let (mut g, p) = mesh(&case.dir.join(file))?;
            let arrays = match &mut g {
                Geometry::Mesh(m) => std::mem::take(&mut m.point_data),
                _ => Vec::new(),
            };
            Ok((g, p, arrays))
        }
        PointsSpec::Csv { file } => {
            let path = case.dir.join(file);
            let (mesh, dim) = super::data::read(&path)?;
            let points = Points::from_rows(dim, &mesh.points).map_err(|e| Error::Input {
                path: path.clone(),
                line: None,
                column: None,
                message: e.to_string(),
            })?;
            Ok((Geometry::Cloud(mesh.points), points, mesh.point_data))
        }
        PointsSpec::List { points } => {
            let dim = points.first().map_or(0, Vec::len);
            check_dims(dim, "points", &case.input)?;
            if let Some(k) = points.iter().position(|p| p.len() != dim) {
                return Err(case.input.error(format!(
                    "points.points: point {k} has {} coordinates, point 0 has {dim}; expected \
                     the same number for every point",
                    points[k].len()
                )));
            }
            let rows: Vec<[f64; 3]> = points
                .iter()
                .map(|p| [p[0], p[1], p.get(2).copied().unwrap_or(0.0)])
                .collect();
            let pts = Points::from_rows(dim, &rows).map_err(|e| case.input.error(e.to_string()))?;
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
        return Err(input.error(format!(
            "points: {} counts but {} bounds; expected one [low, high] per axis",
            counts.len(),
            b.len()
        )));
    }
    if counts.contains(&0) {
        return Err(input.error("points.counts: every axis needs at least 1 point".into()));
    }
    let n = counts
        .iter()
        .try_fold(1usize, |a, &c| a.checked_mul(c))
        .unwrap_or(usize::MAX);
    check_memory(n, case)?;
    for (k, (&c, &[lo, hi])) in counts.iter().zip(&b).enumerate() {
        let spacing = (hi - lo) / (c.max(2) - 1) as f64;
        if !(lo.is_finite() && hi.is_finite()) || (c > 1 && !(hi > lo && spacing > 0.0)) {
            return Err(input.error(format!(
                "points.bounds, axis {k}: [{lo}, {hi}] for {c} points; expected finite bounds with low < high (low = high only for 1 point)"
            )));
        }
    }
    let points = Points::from_columns(lattice_columns(counts, &b, n))
        .map_err(|e| input.error(e.to_string()))?;
    Ok((Geometry::Lattice(image_grid(counts, &b)), points))
}

/// The coordinate columns of a lattice of `n` points: x fastest, then y, then z (VTK's
/// order).
fn lattice_columns(counts: &[usize], b: &[[f64; 2]], n: usize) -> Vec<Vec<f64>> {
    let d = counts.len();
    let axes: Vec<Vec<f64>> = counts
        .iter()
        .zip(b)
        .map(|(&c, &[lo, hi])| Tensor::linspace(lo, hi, c).into_vec())
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
    check_memory(count, case)?;
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
    let points = Points::from_rows(b.len(), &rows).map_err(|e| input.error(e.to_string()))?;
    Ok((Geometry::Cloud(rows), points))
}

/// The points of the mesh in `file`, keeping its cells.
fn mesh(file: &Path) -> Result<(Geometry, Points)> {
    let mesh = io::read_mesh(file)?;
    let points = Points::from_rows(3, &mesh.points).map_err(|e| Error::Input {
        path: file.to_path_buf(),
        line: None,
        column: None,
        message: e.to_string(),
    })?;
    Ok((Geometry::Mesh(mesh), points))
}

/// The `[low, high]` pairs of `points.bounds` as numbers.
fn numbers(bounds: &[[Number; 2]], input: &Input) -> Result<Vec<[f64; 2]>> {
    bounds
        .iter()
        .map(|[lo, hi]| {
            Ok([
                input.number(lo, "points.bounds")?,
                input.number(hi, "points.bounds")?,
            ])
        })
        .collect()
}

/// Only 2 or 3 axes.
fn check_dims(n: usize, what: &str, input: &Input) -> Result<()> {
    if (2..=3).contains(&n) {
        Ok(())
    } else {
        Err(input.error(format!("points.{what}: expected 2 or 3 axes, got {n}")))
    }
}

/// Refuses point sets whose arrays cannot fit in memory.
fn check_memory(n: usize, case: &Case) -> Result<()> {
    let per_point: usize = 3 + case.spec.fields.len() * 40; // coordinates + a generous share of arrays
    let bytes = (n as u128) * (per_point as u128) * 8;
    let available = available_memory();
    if bytes > available as u128 {
        return Err(case.input.error(format!(
            "points: {n} points need about {:.1} GiB for their arrays, but only {:.1} GiB of memory is available",
            bytes as f64 / 2f64.powi(30),
            available as f64 / 2f64.powi(30)
        )));
    }
    Ok(())
}

/// Bytes of memory available, from /proc/meminfo (16 GiB where that cannot be read).
fn available_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(16 << 30, |kb| kb * 1024)
}
