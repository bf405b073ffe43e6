//! A rank's piece of the case's points, and the summary rows reduced over the ranks.
//!
//! With one rank the piece is the whole point set, moved, not copied. With N ranks:
//! - a lattice is cut into slabs of whole planes along its slowest axis (z, or y for a
//!   planar lattice), as many planes to each rank as the others to within one; each piece
//!   also carries the next piece's first plane, so that the pieces' cells join up in
//!   ParaView (VTK's own `.pvti` pieces overlap by one plane the same way). That plane's
//!   values are computed twice, bit-identically, and counted once, by its owner;
//! - a point cloud is cut into contiguous runs of whole chunks, as many chunks to each
//!   rank as the others to within one;
//! - meshes and comparisons with data arrays are refused for now (see `MPI_STATUS.md`).
//!
//! A physics-informed case's network is trained by all ranks together (each computes a
//! share of the loss's chunks, see `pinn::train_on`), then evaluated on each piece like
//! any other field.

use super::load::Case;
use super::points::Geometry;
use super::summary::Row;
use crate::error::{Error, Result};
use crate::eval::Points;
use crate::io::{ImageGrid, PointArray};
use crate::parallel::Ranks;

/// This rank's points, and where they sit among all the ranks' points.
pub(super) struct Piece {
    /// The piece's geometry: for a lattice, a grid of the piece's dimensions whose origin
    /// is the whole lattice's origin (its first point is at `lattice.start`).
    pub(super) geometry: Geometry,
    /// The piece's points, the very coordinates of the whole run.
    pub(super) points: Points,
    /// The piece's share of the arrays carried from the input file.
    pub(super) carried: Vec<PointArray>,
    /// The index, among all points, of the piece's first point.
    pub(super) start: usize,
    /// How many of the piece's points (the first ones) this rank owns and counts.
    pub(super) owned: usize,
    /// The number of points of all ranks together.
    pub(super) total: usize,
    /// For a lattice cut into several pieces: every piece's first index and dimensions.
    pub(super) lattice: Option<Slabs>,
}

/// The pieces of a lattice: the whole grid and each rank's (first index, dimensions).
#[derive(Clone, Debug)]
pub(super) struct Slabs {
    /// The whole lattice.
    pub(super) whole: ImageGrid,
    /// Each rank's piece, in rank order: first point index along each axis, and points
    /// along each axis.
    pub(super) pieces: Vec<([usize; 3], [usize; 3])>,
}

/// This rank's piece of the case's points (see the module docs).
///
/// # Errors
/// [`Error::Ranks`] for a case the ranks cannot share yet (a mesh, a comparison with a
/// data array) and for a lattice with fewer planes than ranks.
pub(super) fn piece(
    case: &Case,
    geometry: Geometry,
    points: Points,
    carried: Vec<PointArray>,
    ranks: &Ranks,
    chunk_size: usize,
) -> Result<Piece> {
    let total = points.len();
    if ranks.size() == 1 {
        return Ok(Piece {
            geometry,
            points,
            carried,
            start: 0,
            owned: total,
            total,
            lattice: None,
        });
    }
    let refuse = |what: &str| Error::Ranks {
        rank: ranks.rank(),
        size: ranks.size(),
        message: format!(
            "case {}: {what} is not shared over ranks yet; run it with one rank (without \
             mpirun)",
            case.name
        ),
    };
    if case.spec.fields.iter().any(|f| !f.compare.is_empty()) {
        return Err(refuse("a comparison with the data file's arrays (compare)"));
    }
    let (range, owned, geometry, lattice) = match geometry {
        Geometry::Mesh(_) => return Err(refuse("a mesh")),
        Geometry::Lattice(grid) => {
            let axis = (0..3).rev().find(|&d| grid.dims[d] > 1).unwrap_or(0);
            let planes = grid.dims[axis];
            if planes < ranks.size() {
                return Err(Error::Ranks {
                    rank: ranks.rank(),
                    size: ranks.size(),
                    message: format!(
                        "the lattice of {} has {planes} planes along its slowest axis; \
                         expected at least one per rank",
                        case.name
                    ),
                });
            }
            let stride: usize = grid.dims[..axis].iter().product();
            let slab = |r: usize| {
                let s = Ranks::share_of(planes, ranks.size(), r);
                // Each piece but the last also holds the next one's first plane.
                let end = (s.end + 1).min(planes);
                let (mut start, mut dims) = ([0; 3], grid.dims);
                start[axis] = s.start;
                dims[axis] = end - s.start;
                (start, dims, s.len())
            };
            let pieces: Vec<_> = (0..ranks.size())
                .map(|r| {
                    let (s, d, _) = slab(r);
                    (s, d)
                })
                .collect();
            let (start, dims, own_planes) = slab(ranks.rank());
            let first = start[axis] * stride;
            let range = first..first + dims[axis] * stride;
            let piece_grid = ImageGrid { dims, ..grid };
            let slabs = Slabs {
                whole: grid,
                pieces,
            };
            (
                range,
                own_planes * stride,
                Geometry::Lattice(piece_grid),
                Some(slabs),
            )
        }
        Geometry::Cloud(pts) => {
            let chunk = chunk_size.max(1);
            let chunks = total.div_ceil(chunk);
            let s = ranks.share(chunks);
            let range = (s.start * chunk).min(total)..(s.end * chunk).min(total);
            let geometry = Geometry::Cloud(pts[range.clone()].to_vec());
            (range.clone(), range.len(), geometry, None)
        }
    };
    let cols = (0..points.dim())
        .map(|k| points.col(k)[range.clone()].to_vec())
        .collect();
    let carried = carried
        .into_iter()
        .map(|a| {
            let c = a.components;
            let values = a.values[range.start * c..range.end * c].to_vec();
            PointArray::new(a.name, c, values)
        })
        .collect();
    Ok(Piece {
        geometry,
        points: Points::from_columns(cols)?,
        carried,
        start: range.start,
        owned,
        total,
        lattice,
    })
}

/// Values per row in [`reduce_rows`]' exchange.
const PER_ROW: usize = 11;

/// The summary rows of all ranks, reduced (collective): the largest error of all, the RMS
/// over all points (from each rank's RMS over the points it owns), the slowest rank's
/// time, and the points per second of all points in that time; counts of values that are
/// not finite are summed, and the first of them is the lowest rank's, at its global
/// point index. Every rank must hold the same rows (the same arrays at the same times).
///
/// # Errors
/// [`Error::Ranks`] when the ranks hold different numbers of rows.
pub(super) fn reduce_rows(ranks: &Ranks, rows: Vec<Row>, piece: &Piece) -> Result<Vec<Row>> {
    if ranks.size() == 1 {
        return Ok(rows);
    }
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let mut mine = Vec::with_capacity(rows.len() * PER_ROW);
    for r in &rows {
        let values = (piece.owned * r.components) as f64;
        let (i, p, v) = r.first_non_finite.unwrap_or((0, [0.0; 3], 0.0));
        mine.extend([
            r.max_error.unwrap_or(0.0),
            r.rms_error.map_or(0.0, |e| e * e * values),
            r.seconds.unwrap_or(0.0),
            r.non_finite as f64,
            (piece.start + i) as f64,
            p[0],
            p[1],
            p[2],
            v,
            flag(r.first_non_finite.is_some()),
            values,
        ]);
    }
    let all = ranks.all_gather(&mine)?;
    let per_rank = rows.len() * PER_ROW;
    let mut out = rows;
    for (k, row) in out.iter_mut().enumerate() {
        let at = |r: usize, j: usize| all[r * per_rank + k * PER_ROW + j];
        let ranks_iter = 0..ranks.size();
        if row.max_error.is_some() {
            row.max_error = Some(
                ranks_iter
                    .clone()
                    .map(|r| at(r, 0))
                    .fold(0.0, super::summary::nan_max),
            );
            let sum: f64 = ranks_iter.clone().map(|r| at(r, 1)).sum();
            let count: f64 = ranks_iter.clone().map(|r| at(r, 10)).sum();
            row.rms_error = Some((sum / count.max(1.0)).sqrt());
        }
        if row.seconds.is_some() {
            let secs = ranks_iter.clone().map(|r| at(r, 2)).fold(0.0, f64::max);
            row.seconds = Some(secs);
            row.points_per_second = Some(piece.total as f64 / secs);
        }
        row.non_finite = ranks_iter.clone().map(|r| at(r, 3) as usize).sum();
        row.first_non_finite = ranks_iter
            .clone()
            .find(|&r| at(r, 9) == 1.0)
            .map(|r| (at(r, 4) as usize, [at(r, 5), at(r, 6), at(r, 7)], at(r, 8)));
    }
    Ok(out)
}
