//! The frame a data field is fitted in: the samples' coordinates scaled by a power of two
//! near the largest, with the directions the data cannot resolve dropped (the thin axis of a
//! one-cell-thick 2-D mesh; the normal of an oblique plane, the directions across a line).

use kiddo::{ImmutableKdTree, SquaredEuclidean};

use super::samples::{Dropped, fmt_point, groups, sorted};
use crate::error::{Error, Result};

/// Extent (relative to the largest) below which a direction is a candidate to drop.
const THIN: f64 = 1e-3;
/// Extent (relative to the largest) that is round-off: dropped without further checks.
const ROUNDOFF: f64 = 1e-12;
/// A thin direction is dropped only when the samples' extent across it is below this
/// fraction of their median nearest-neighbour distance: the data cannot resolve a variation
/// across it (a plane written with noise in its normal coordinate). A thin slab with
/// several layers of samples across it has neighbours closer than its thickness and is 3-D.
const UNRESOLVED: f64 = 0.1;

/// The coordinates a reconstruction fits in: `local_a = dirs[a] · x / scale`, with
/// orthonormal `dirs`. `scale` is the power of two just above the samples' largest
/// coordinate, so local coordinates of samples lie in (−1, 1), their squares (and those of
/// offsets between samples down to 10⁻¹⁵⁰ of the largest coordinate, far below f64's
/// resolution) neither overflow nor underflow, and along a coordinate axis the division is
/// exact: the fit sees the same offsets, bit for bit, as it would in the input's units.
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    /// A power of two.
    pub scale: f64,
    /// Unit directions of the fitted coordinates (1 to 3).
    pub dirs: Vec<[f64; 3]>,
    /// The input coordinates any direction depends on, ascending.
    pub axes: Vec<usize>,
}

impl Frame {
    fn new(scale: f64, dirs: Vec<[f64; 3]>) -> Frame {
        let axes = (0..3)
            .filter(|&b| dirs.iter().any(|d| d[b] != 0.0))
            .collect();
        Frame { scale, dirs, axes }
    }

    /// Number of fitted coordinates.
    pub fn dim(&self) -> usize {
        self.dirs.len()
    }

    /// The local coordinates of `x` (beyond [`Frame::dim`]: 0).
    pub fn local(&self, x: &[f64; 3]) -> [f64; 3] {
        let d = x.map(|v| v / self.scale);
        let mut out = [0.0; 3];
        for (a, dir) in self.dirs.iter().enumerate() {
            out[a] = (0..3)
                .filter(|&b| dir[b] != 0.0)
                .map(|b| dir[b] * d[b])
                .sum();
        }
        out
    }
}

/// The frame to fit in. `dim = Some(d)`: the first `d` coordinates. `None` with 2-D
/// points: x and y. `None` with 3-D points: a direction is dropped when
/// - it is a coordinate axis and every sample lies on one of two planes across it with the
///   same values at the same position in the planes (OpenFOAM's one-cell-thick 2-D
///   meshes), or
/// - the samples' extent along it is below 10⁻³ of their largest extent and (unless it is
///   round-off, below 10⁻¹²) below a tenth of their median nearest-neighbour distance, so
///   the data cannot resolve a variation across it. Coordinate axes are tried first; then
///   the principal axes of the remaining coordinates (samples on an oblique plane or line
///   are fitted in its own orthonormal coordinates).
///
/// Derivatives across a dropped direction are 0 (the reconstruction is constant across
/// it). The samples' extent must be a normal number.
pub(super) fn frame(
    points: &[[f64; 3]],
    point_dim: usize,
    values: &[f64],
    m: usize,
    dim: Option<usize>,
) -> Result<(Frame, Option<String>, Option<Dropped>)> {
    let d = match dim {
        Some(d) if !(2..=3).contains(&d) => {
            return Err(Error::config(
                "dim",
                format!("{d} coordinates; expected 2 or 3"),
            ));
        }
        Some(3) if point_dim == 2 => {
            return Err(Error::config(
                "dim",
                "3 coordinates asked for 2-D samples; expected 2",
            ));
        }
        Some(d) => d,
        None => point_dim,
    };
    let unit = |a: usize| {
        let mut e = [0.0; 3];
        e[a] = 1.0;
        e
    };
    let mut lo = [0.0f64; 3];
    let mut hi = [0.0f64; 3];
    for a in 0..d {
        lo[a] = points.iter().map(|p| p[a]).fold(f64::INFINITY, f64::min);
        hi[a] = points
            .iter()
            .map(|p| p[a])
            .fold(f64::NEG_INFINITY, f64::max);
    }
    // Halves first: hi − lo may overflow, hi/2 − lo/2 cannot.
    let centre: [f64; 3] = std::array::from_fn(|a| hi[a] / 2.0 + lo[a] / 2.0);
    let half: [f64; 3] = std::array::from_fn(|a| hi[a] / 2.0 - lo[a] / 2.0);
    let span = half.iter().cloned().fold(0.0, f64::max);
    let largest = (0..d)
        .map(|a| lo[a].abs().max(hi[a].abs()))
        .fold(0.0, f64::max);
    // The power of two above `largest`: its exponent field plus one, within the normals.
    let exponent = ((largest.to_bits() >> 52) & 0x7ff) + 1;
    let scale = f64::from_bits(exponent.clamp(1, 2046) << 52);
    if span == 0.0 {
        return Err(Error::Data(format!(
            "every sample lies at one point {}; expected samples spread in at least one \
             direction",
            fmt_point(&points[0])
        )));
    }
    if !(2.0 * span).is_normal() {
        return Err(Error::Data(format!(
            "the samples span only {:e} (largest extent of their bounding box), below the \
             smallest normal number of f64 ({:e}): their offsets cannot be represented; \
             expected coordinates in a unit that makes the extent at least 1e-300",
            2.0 * span,
            f64::MIN_POSITIVE
        )));
    }
    let full = Frame::new(scale, (0..d).map(unit).collect());
    if dim.is_some() || d == 2 {
        return Ok((full, None, None));
    }
    let local: Vec<[f64; 3]> = points.iter().map(|p| full.local(p)).collect();
    let name = ["x", "y", "z"];
    // 1. Two planes across a coordinate axis with the same values at the same position.
    let thin = (0..3)
        .min_by(|&a, &b| half[a].total_cmp(&half[b]))
        .unwrap_or(2);
    let others_min = (0..3)
        .filter(|&a| a != thin)
        .map(|a| half[a])
        .fold(f64::INFINITY, f64::min);
    if half[thin] > 0.0
        && half[thin] < others_min
        && points
            .iter()
            .all(|p| p[thin] == lo[thin] || p[thin] == hi[thin])
        && planes_agree(&local, values, m, thin, lo[thin], points)
    {
        let kept: Vec<_> = (0..3).filter(|&a| a != thin).map(unit).collect();
        let n = name[thin];
        let why = format!(
            "every sample lies on one of two planes {n} = {} and {n} = {}, with the same \
             values on both",
            lo[thin], hi[thin]
        );
        return Ok((
            Frame::new(scale, kept),
            Some(format!("2-D data: {why}; derivatives along {n} are 0")),
            Some((thin, why)),
        ));
    }
    // 2. Thin coordinate axes, then thin principal axes of the rest.
    let extent: [f64; 3] = std::array::from_fn(|a| 2.0 * (half[a] / scale));
    let largest = extent.iter().cloned().fold(0.0, f64::max);
    let mut spacing: Option<f64> = None;
    let mut unresolved = |e: f64| {
        if e < ROUNDOFF * largest {
            return true;
        }
        if e >= THIN * largest {
            return false;
        }
        let s = *spacing.get_or_insert_with(|| median_spacing(&local));
        e < UNRESOLVED * s
    };
    let mut kept_axes = Vec::new();
    let mut why = Vec::new();
    for a in 0..3 {
        if unresolved(extent[a]) {
            why.push(if lo[a] == hi[a] {
                format!("every sample lies on the plane {} = {}", name[a], lo[a])
            } else {
                format!(
                    "the samples' extent in {} ({:e}) is below 1e-3 of their largest \
                     ({:e}) and below a tenth of their spacing",
                    name[a],
                    hi[a] - lo[a],
                    2.0 * span
                )
            });
        } else {
            kept_axes.push(a);
        }
    }
    let principal = principal(&local, &kept_axes);
    let mut dropped_dirs = Vec::new();
    for (dir, e) in &principal {
        if dropped_dirs.len() + 1 < principal.len() && unresolved(*e) {
            dropped_dirs.push((*dir, *e));
        }
    }
    if why.is_empty() && dropped_dirs.is_empty() {
        return Ok((full, None, None));
    }
    let frame_dirs: Vec<[f64; 3]> = if dropped_dirs.is_empty() {
        kept_axes.iter().map(|&a| unit(a)).collect()
    } else {
        principal[dropped_dirs.len()..]
            .iter()
            .map(|p| p.0)
            .collect()
    };
    let frame = Frame::new(scale, frame_dirs);
    let k = frame.dim();
    let fmt_dir = |v: &[f64; 3]| format!("({:.6}, {:.6}, {:.6})", v[0], v[1], v[2]);
    let reduced = if dropped_dirs.is_empty() {
        let gone: Vec<&str> = (0..3)
            .filter(|a| !kept_axes.contains(a))
            .map(|a| name[a])
            .collect();
        format!(
            "{k}-D data: {}; derivatives along {} are 0",
            why.join("; "),
            gone.join(" and ")
        )
    } else {
        for (dir, e) in &dropped_dirs {
            why.push(format!(
                "their extent along {} is {:e}",
                fmt_dir(dir),
                e * scale
            ));
        }
        let c = fmt_point(&centre);
        if k == 1 {
            format!(
                "1-D data: every sample lies on the line through {c} along {} ({}); fitted \
                 along the line, derivatives across it are 0",
                fmt_dir(&frame.dirs[0]),
                why.join("; ")
            )
        } else {
            format!(
                "2-D data: every sample lies on the plane through {c} with normal {} ({}); \
                 fitted in the plane's own coordinates, derivatives across it are 0",
                fmt_dir(&cross(&frame.dirs[0], &frame.dirs[1])),
                why.join("; ")
            )
        }
    };
    let dropped = if dropped_dirs.is_empty() && why.len() == 1 {
        let a = (0..3).find(|a| !kept_axes.contains(a)).unwrap_or(2);
        Some((a, why.remove(0)))
    } else {
        None
    };
    Ok((frame, Some(reduced), dropped))
}

/// Whether the samples on the two planes across axis `thin` (the lower at `lo`) pair up: at
/// every position in the planes (`local` without coordinate `thin`) there are samples on
/// both planes, all with the same values.
fn planes_agree(
    local: &[[f64; 3]],
    values: &[f64],
    m: usize,
    thin: usize,
    lo: f64,
    points: &[[f64; 3]],
) -> bool {
    let flat: Vec<[f64; 3]> = local
        .iter()
        .map(|p| {
            let mut q = *p;
            q[thin] = 0.0;
            q
        })
        .collect();
    let order = sorted(&flat);
    groups(&order, &flat).all(|g| {
        let i = g[0];
        let on_lo = g.iter().filter(|&&j| points[j][thin] == lo).count();
        on_lo > 0
            && on_lo < g.len()
            && g.iter()
                .all(|&j| values[i * m..(i + 1) * m] == values[j * m..(j + 1) * m])
    })
}

/// The median over samples of the distance to the nearest sample at another position.
fn median_spacing(local: &[[f64; 3]]) -> f64 {
    let tree: ImmutableKdTree<f64, 3> = ImmutableKdTree::new_from_slice(local);
    let k = std::num::NonZero::new(8).unwrap_or(std::num::NonZero::<usize>::MIN);
    let mut d: Vec<f64> = local
        .iter()
        .filter_map(|p| {
            tree.nearest_n_within::<SquaredEuclidean>(p, f64::INFINITY, k, false)
                .iter()
                .map(|nb| nb.distance)
                .filter(|&d| d > 0.0)
                .min_by(f64::total_cmp)
        })
        .collect();
    if d.is_empty() {
        return 0.0;
    }
    let mid = d.len() / 2;
    d.select_nth_unstable_by(mid, f64::total_cmp);
    d[mid].sqrt()
}

/// The principal axes of the samples `local` within the coordinates `axes` (unit
/// directions, zero outside `axes`) with the samples' extent along each, thinnest first.
fn principal(local: &[[f64; 3]], axes: &[usize]) -> Vec<([f64; 3], f64)> {
    let k = axes.len();
    let n = local.len() as f64;
    let mut mean = [0.0; 3];
    for p in local {
        for r in 0..k {
            mean[r] += p[axes[r]];
        }
    }
    mean.iter_mut().for_each(|v| *v /= n);
    let mut cov = [[0.0; 3]; 3];
    for p in local {
        for r in 0..k {
            for c in 0..k {
                cov[r][c] += (p[axes[r]] - mean[r]) * (p[axes[c]] - mean[c]);
            }
        }
    }
    let v = jacobi(cov, k);
    let mut out: Vec<([f64; 3], f64)> = (0..k)
        .map(|j| {
            let mut dir = [0.0; 3];
            for r in 0..k {
                dir[axes[r]] = v[r][j];
            }
            let (lo, hi) = local
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| {
                    let t = dot(&dir, p);
                    (l.min(t), h.max(t))
                });
            (dir, hi - lo)
        })
        .collect();
    out.sort_by(|a, b| a.1.total_cmp(&b.1));
    out
}

/// The eigenvectors (columns) of the symmetric `k × k` matrix `a` (k ≤ 3), by cyclic
/// Jacobi rotations.
fn jacobi(mut a: [[f64; 3]; 3], k: usize) -> [[f64; 3]; 3] {
    let mut v = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    for _ in 0..64 {
        let off: f64 = (0..k)
            .flat_map(|p| (p + 1..k).map(move |q| (p, q)))
            .map(|(p, q)| a[p][q] * a[p][q])
            .sum();
        let diag: f64 = (0..k).map(|p| a[p][p] * a[p][p]).sum();
        if off <= 1e-36 * diag {
            break;
        }
        for p in 0..k {
            for q in p + 1..k {
                if a[p][q] == 0.0 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + theta.hypot(1.0));
                let c = 1.0 / t.hypot(1.0);
                let s = t * c;
                for row in a.iter_mut().take(k) {
                    let (x, y) = (row[p], row[q]);
                    row[p] = c * x - s * y;
                    row[q] = s * x + c * y;
                }
                let (rp, rq) = (a[p], a[q]);
                for r in 0..k {
                    a[p][r] = c * rp[r] - s * rq[r];
                    a[q][r] = s * rp[r] + c * rq[r];
                }
                for row in v.iter_mut().take(k) {
                    let (x, y) = (row[p], row[q]);
                    row[p] = c * x - s * y;
                    row[q] = s * x + c * y;
                }
            }
        }
    }
    v
}

fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: &[f64; 3], b: &[f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
