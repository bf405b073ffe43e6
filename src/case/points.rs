//! The points of a case: a lattice, random points in a box, or the points of a mesh, each
//! with the geometry that decides the output format.

use std::path::Path;

use rand::{Rng, SeedableRng};

use super::config::{AtSpec, DataRef, Number, PointsSpec};
use super::load::{Case, Input};
use crate::error::{Error, Result};
use crate::eval::{Operator, Points};
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
pub(super) fn points(case: &Case) -> Result<(Geometry, Points, Vec<PointArray>, Option<Mesh>)> {
    let (g, p, arrays) = points_of(case)?;
    let read = match (&g, super::data::reads_points_file(case)) {
        (Geometry::Mesh(m) | Geometry::Cells(m), true) => {
            let mut m = m.clone();
            match &g {
                Geometry::Mesh(_) => m.point_data = arrays.clone(),
                _ => m.cell_data = arrays.clone(),
            }
            Some(m)
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
            let (mesh, dim) = super::data::read(&path)?;
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
    let mesh = super::data::read_mesh(file, time)?;
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

/// Copies of every output array alive at the peak of a run, measured: the arrays of
/// one time as evaluated, their copy in the writer's model, and the encoded file (base64
/// text, then the finished XML) being assembled, with the allocator's slack.
const COPIES_AT_PEAK: u64 = 7;

/// Bytes per point besides the arrays: coordinates (as columns and as rows), the
/// evaluator's per-chunk tapes averaged over the points, and the allocator's slack.
const FIXED_PER_POINT: u64 = 96;

/// Bytes a run over `n` points of dimension `d` needs at its peak, from the arrays the
/// case asks for: every field's value, operators, error arrays against exact answers or
/// compared arrays, the `[mms]` source terms, the network's fields, and `carried` values
/// per point from the input file, and the coordinates of points that are not a lattice.
/// Measured against real peaks (see the tests); the
/// estimate is meant to be at or above them, never far below.
pub(super) fn estimate_bytes(case: &Case, n: usize, d: usize, carried: usize) -> u128 {
    let comps = |op: Operator, m: usize| op.components(m, d).unwrap_or(d * d * d) as u64;
    // Points that are not a lattice are written as an array of coordinates too.
    let coordinates = if matches!(case.spec.points, PointsSpec::Lattice { .. }) {
        0
    } else {
        3
    };
    let mut per_point: u64 = (carried + coordinates) as u64;
    let field_comps = |f: &super::config::FieldSpec| match (&f.value, &f.data) {
        (Some(v), _) => v.get_ref().0.len(),
        (None, Some(r)) => match r.get_ref() {
            DataRef::Many(v) => v.len(),
            DataRef::One(_) => d,
        },
        _ => 1,
    };
    for f in &case.spec.fields {
        let m = field_comps(f);
        let mut ops = vec![Operator::Value];
        ops.extend(f.operators.iter().copied());
        ops.extend(f.exact.keys().copied());
        ops.extend(f.compare.keys().copied());
        if let Some(mms) = &case.spec.mms {
            if mms.velocity == f.name {
                ops.extend([Operator::Advection, Operator::Lap, Operator::Div]);
            }
            if mms.pressure == f.name {
                ops.push(Operator::Grad);
            }
        }
        ops.sort_by_key(|o| o.name());
        ops.dedup();
        per_point += ops.iter().map(|&o| comps(o, m)).sum::<u64>();
        per_point += f
            .exact
            .keys()
            .chain(f.compare.keys())
            .map(|&o| comps(o, m))
            .sum::<u64>();
    }
    if let Some(mms) = &case.spec.mms {
        let errors = mms.exact_momentum.as_ref().map_or(0, |_| d)
            + mms.exact_continuity.as_ref().map_or(0, |_| 1);
        per_point += (d + 1 + errors) as u64;
    }
    if let Some(cfg) = &case.spec.pinn {
        let out = &case.spec.pinn_output;
        let equations = matches!(cfg.pde, crate::pinn::PdeConfig::Equations { .. });
        let m = if equations {
            cfg.outputs()
        } else if cfg.outputs() > 1 {
            d
        } else {
            1
        };
        per_point += (2 * m) as u64 + out.operators.iter().map(|&o| comps(o, m)).sum::<u64>();
        if cfg.outputs() > 1 && !equations {
            per_point += 1 + out
                .pressure_operators
                .iter()
                .map(|&o| comps(o, 1))
                .sum::<u64>();
        }
    }
    (n as u128) * u128::from(FIXED_PER_POINT + 8 * COPIES_AT_PEAK * per_point)
}

/// Values a network's tapes hold at their peak, per point of a chunk and per unit of
/// layer width: the layer's forward values, the jets' tangents and second-order entries
/// (or reverse mode's recorded passes, for the output operators) and the backward pass
/// over them; measured on deep narrow networks (see the tests), with room to spare.
const NETWORK_VALUES_PER_WIDTH: u128 = 96;

/// Tape nodes per layer of a network at the peak, and the bytes of each beside its
/// values (the node, its op and shape, the allocator's slack).
const NETWORK_NODES_PER_LAYER: u128 = 96;
const NODE_BYTES: u128 = 256;

/// Copies of a data file's samples held while data fields exist: the file as read, the
/// fields' samples and their k-d tree.
const DATA_COPIES: u128 = 3;

/// Bytes a run needs besides the per-point arrays of [`estimate_bytes`]: the tapes of a
/// physics-informed network, one per chunk evaluated at once (`threads`, chunks of the
/// training's `chunk_size` or the evaluation's `eval_chunk` points, whichever is larger),
/// with every chunk's gradient gathered at each step; and the samples of the data fields
/// (`data`: the data file's points and values per point), held for the whole run.
pub(super) fn extra_bytes(
    case: &Case,
    eval_chunk: usize,
    threads: usize,
    data: Option<(usize, usize)>,
) -> u128 {
    let mut bytes = 0u128;
    if let Some(cfg) = &case.spec.pinn {
        let hidden = &cfg.network.hidden;
        let widths: u128 = hidden.iter().map(|&w| w as u128).sum::<u128>() + cfg.outputs() as u128;
        let layers = hidden.len() as u128 + 1;
        let chunk = cfg.points.chunk_size.max(eval_chunk) as u128;
        let per_chunk = chunk * widths * NETWORK_VALUES_PER_WIDTH * 8
            + layers * NETWORK_NODES_PER_LAYER * NODE_BYTES;
        // Parameters: weights and biases of each layer, from the input dimension on.
        let mut params = 0u128;
        let mut fan_in = cfg.dim() as u128;
        for &w in hidden.iter().chain(std::iter::once(&cfg.outputs())) {
            params += (fan_in + 1) * w as u128;
            fan_in = w as u128;
        }
        let points = (cfg.points.interior + cfg.points.boundary) as u128;
        let chunks = points.div_ceil(cfg.points.chunk_size.max(1) as u128);
        // Each chunk's gradient, gathered at every step, and Adam's state.
        bytes += threads as u128 * per_chunk + (chunks + 8) * params * 8;
    }
    if let Some((samples, values)) = data {
        bytes += DATA_COPIES * samples as u128 * (24 + 8 * values as u128);
    }
    bytes
}

/// Refuses a run whose network or data fields, with the arrays over `n` points of
/// dimension `d` and `carried` input values per point, cannot fit in memory; the error
/// points at the network's widths when the network alone is too large.
pub(super) fn check_total_memory(
    case: &Case,
    n: usize,
    d: usize,
    carried: usize,
    extra: u128,
) -> Result<()> {
    let arrays = estimate_bytes(case, n, d, carried);
    let available = u128::from(available_memory());
    if arrays + extra <= available {
        return Ok(());
    }
    let gib = |b: u128| b as f64 / 2f64.powi(30);
    let (key, what) = if case.spec.pinn.is_some() && extra > available {
        (
            "pinn.network.hidden",
            "pinn.network.hidden: the network is too large for memory: its tapes (a chunk of \
             points × the sum of the layer widths, per thread) with the rest of the run",
        )
    } else {
        (
            "points",
            "points: the run's arrays with the network's tapes and the data fields' samples",
        )
    };
    Err(case.input.error_key(
        key,
        format!(
            "{what} need about {:.1} GiB, but only {:.1} GiB of memory is available",
            gib(arrays + extra),
            gib(available)
        ),
    ))
}

/// Refuses point sets whose run cannot fit in memory (see [`estimate_bytes`]).
fn check_memory(n: usize, d: usize, carried: usize, case: &Case) -> Result<()> {
    let bytes = estimate_bytes(case, n, d, carried);
    let available = available_memory();
    if bytes > u128::from(available) {
        return Err(case.input.error_key(
            "points",
            format!(
                "points: {n} points need about {:.1} GiB for their arrays, but only {:.1} GiB \
                 of memory is available",
                bytes as f64 / 2f64.powi(30),
                available as f64 / 2f64.powi(30)
            ),
        ));
    }
    Ok(())
}

/// Whether the arrays of the points' file are carried into the output (`[data] carry`).
fn carries(case: &Case) -> bool {
    case.spec.data.as_ref().and_then(|d| d.carry) != Some(false)
}

/// Values per point of the arrays carried from the input file.
fn carried_per_point(arrays: &[PointArray]) -> usize {
    arrays.iter().map(|a| a.components).sum()
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
