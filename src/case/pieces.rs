//! A rank's piece of the case's points, and the summary rows reduced over the ranks.
//!
//! With one rank the piece is the whole point set, moved, not copied. With N ranks:
//! - a lattice is cut into slabs of whole planes along its slowest axis (z, or y for a
//!   planar lattice), as many planes to each rank as the others to within one; each piece
//!   is written with the next piece's first plane too, so that the pieces' cells join up
//!   in ParaView (VTK's own `.pvti` pieces overlap by one plane the same way). That plane
//!   is evaluated once, by the next rank, which passes its values on;
//! - a point cloud is cut into contiguous runs of whole chunks, as many chunks to each
//!   rank as the others to within one;
//! - a mesh is cut into contiguous runs of cells, as many cells to each rank as the others
//!   to within one; each piece holds its cells and the points they use, renumbered, its
//!   own points first. A point on the border of two pieces is in both (as in VTK's own
//!   `.pvtu` pieces), computed twice, bit-identically, and counted once, by its owner: the
//!   lowest rank whose cells use it. Points no cell uses (all of them for a mesh without
//!   cells) go to the rank whose contiguous share of the points holds them;
//! - the arrays carried from the input file and the data file's arrays a field is compared
//!   with are cut the same way.
//!
//! A physics-informed case's network is trained by all ranks together (each computes a
//! share of the loss's chunks, see `pinn::train_on`), then evaluated on each piece like
//! any other field.

use super::load::Case;
use super::points::Geometry;
use super::summary::Row;
use crate::error::{Error, Result};
use crate::eval::Points;
use crate::io::{Cells, ImageGrid, Mesh, PointArray};
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
    /// For a mesh cut into pieces: the index among all points of each of the piece's
    /// points (which are not contiguous); `None` when they are `start..start + len`.
    pub(super) global: Option<Vec<usize>>,
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
    /// along each axis (the next piece's first plane included).
    pub(super) pieces: Vec<([usize; 3], [usize; 3])>,
    /// Points per plane: a piece is written with the next piece's first plane, which the
    /// next rank evaluates and passes on.
    pub(super) plane: usize,
}

/// This rank's piece of the case's points (see the module docs).
///
/// # Errors
/// [`Error::Ranks`] for fewer lattice planes, mesh cells (points, for a mesh without
/// cells) or chunks of a cloud than ranks.
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
            global: None,
            owned: total,
            total,
            lattice: None,
        });
    }
    // Every rank gets at least one unit (plane, cell, chunk): no piece is empty.
    let too_few = |units: usize, what: &str| {
        if units >= ranks.size() {
            return Ok(());
        }
        Err(Error::Ranks {
            rank: ranks.rank(),
            size: ranks.size(),
            message: format!(
                "the points of {} have {units} {what}; expected at least one per rank (run \
                 with at most {units} ranks)",
                case.name
            ),
        })
    };
    let (range, owned, geometry, lattice) = match geometry {
        Geometry::Cells(_) => {
            return Err(Error::Ranks {
                rank: ranks.rank(),
                size: ranks.size(),
                message: format!(
                    "{} evaluates at the cell centres (points.at = \"cells\"), which runs on \
                     one rank only for now; run it without mpirun, or at the points",
                    case.name
                ),
            });
        }
        Geometry::Mesh(mesh) => {
            // A mesh without cells (or with an empty list of them) is cut by its points.
            match mesh.num_cells() {
                0 => too_few(total, "points")?,
                cells => too_few(cells, "cells")?,
            }
            let cut = cut_mesh(&mesh, ranks.size(), ranks.rank());
            if cut.global.is_empty() {
                // Cells without points (a polyvertex of none) leave nothing to a rank.
                return Err(Error::Ranks {
                    rank: ranks.rank(),
                    size: ranks.size(),
                    message: format!(
                        "the cells of {}'s share for this rank use no points; expected \
                         points in every rank's share (run with fewer ranks)",
                        case.name
                    ),
                });
            }
            let cols = (0..points.dim())
                .map(|k| {
                    let col = points.col(k);
                    cut.global.iter().map(|&i| col[i]).collect()
                })
                .collect();
            let carried = carried.iter().map(|a| select(a, &cut.global)).collect();
            return Ok(Piece {
                geometry: Geometry::Mesh(cut.mesh),
                points: Points::from_columns(cols)?,
                carried,
                start: 0,
                global: Some(cut.global),
                owned: cut.owned,
                total,
                lattice: None,
            });
        }
        Geometry::Lattice(grid) => {
            let axis = (0..3).rev().find(|&d| grid.dims[d] > 1).unwrap_or(0);
            let planes = grid.dims[axis];
            too_few(planes, "planes along its slowest axis")?;
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
            // The rank evaluates its own planes; the next piece's first plane comes from
            // the next rank (`Ranks::pass_down`) before the piece is written.
            let range = first..first + own_planes * stride;
            let piece_grid = ImageGrid { dims, ..grid };
            let slabs = Slabs {
                whole: grid,
                pieces,
                plane: stride,
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
            too_few(chunks, "chunks of points (see --chunk-size)")?;
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
        global: None,
        owned,
        total,
        lattice,
    })
}

impl Piece {
    /// The piece's share of `a`, an array over all points (unchanged with one piece).
    pub(super) fn share_of(&self, a: &PointArray) -> PointArray {
        match &self.global {
            Some(g) => select(a, g),
            None => {
                let (c, n) = (a.components, self.points.len());
                let values = a.values[self.start * c..(self.start + n) * c].to_vec();
                PointArray::new(a.name.clone(), c, values)
            }
        }
    }
}

/// The values of `a` at the points `at` (indices among all points), in that order.
fn select(a: &PointArray, at: &[usize]) -> PointArray {
    let c = a.components;
    let mut values = Vec::with_capacity(at.len() * c);
    for &i in at {
        values.extend_from_slice(&a.values[i * c..(i + 1) * c]);
    }
    PointArray::new(a.name.clone(), c, values)
}

/// One rank's piece of a mesh (see the module docs).
struct MeshCut {
    /// The piece: its cells, its points renumbered, its share of the cell arrays; no
    /// point arrays (those are carried separately).
    mesh: Mesh,
    /// The index among all points of each of the piece's points: first the ones this
    /// rank owns, then the ones lower ranks own, each in increasing order.
    global: Vec<usize>,
    /// How many of the piece's points this rank owns.
    owned: usize,
}

/// The piece of `mesh` for `rank` of `size` ranks.
fn cut_mesh(mesh: &Mesh, size: usize, rank: usize) -> MeshCut {
    const NONE: usize = usize::MAX;
    let n = mesh.points.len();
    let cells = mesh.cells.as_ref();
    let ncells = mesh.num_cells();
    // The cells of a rank occupy `connectivity[bounds(range)]`.
    let bounds = |c: &Cells, r: std::ops::Range<usize>| {
        let from = if r.start == 0 {
            0
        } else {
            c.offsets[r.start - 1]
        };
        let to = if r.end == 0 { 0 } else { c.offsets[r.end - 1] };
        from as usize..to as usize
    };
    // The owner of every point: the lowest rank whose cells use it.
    let mut owner = vec![NONE; n];
    if let Some(c) = cells {
        for r in 0..size {
            let span = bounds(c, Ranks::share_of(ncells, size, r));
            for &p in &c.connectivity[span] {
                let o = &mut owner[p as usize];
                if *o == NONE {
                    *o = r;
                }
            }
        }
    }
    for r in 0..size {
        for o in &mut owner[Ranks::share_of(n, size, r)] {
            if *o == NONE {
                *o = r;
            }
        }
    }
    let mine = Ranks::share_of(ncells, size, rank);
    let mut global: Vec<usize> = (0..n).filter(|&p| owner[p] == rank).collect();
    let owned = global.len();
    let mut local = vec![NONE; n];
    for (l, &g) in global.iter().enumerate() {
        local[g] = l;
    }
    // The points of this rank's cells that lower ranks own, each once, in order.
    let mut borrowed: Vec<usize> = cells.map_or_else(Vec::new, |c| {
        c.connectivity[bounds(c, mine.clone())]
            .iter()
            .map(|&p| p as usize)
            .filter(|&p| owner[p] != rank)
            .collect()
    });
    borrowed.sort_unstable();
    borrowed.dedup();
    for &g in &borrowed {
        local[g] = global.len();
        global.push(g);
    }
    let cells = cells.map(|c| {
        let span = bounds(c, mine.clone());
        let base = span.start as u64;
        Cells {
            connectivity: c.connectivity[span]
                .iter()
                .map(|&p| local[p as usize] as u64)
                .collect(),
            offsets: c.offsets[mine.clone()].iter().map(|&o| o - base).collect(),
            types: c.types[mine.clone()].to_vec(),
            ..Default::default()
        }
    });
    let cell_data = mesh
        .cell_data
        .iter()
        .map(|a| {
            let c = a.components;
            let values = a.values[mine.start * c..mine.end * c].to_vec();
            PointArray::new(a.name.clone(), c, values)
        })
        .collect();
    MeshCut {
        mesh: Mesh {
            points: global.iter().map(|&g| mesh.points[g]).collect(),
            cells,
            point_data: Vec::new(),
            cell_data,
            patches: Vec::new(),
        },
        global,
        owned,
    }
}

/// Values per row in [`reduce_rows`]' exchange.
const PER_ROW: usize = 11;

/// The summary rows of all ranks, reduced (collective): the largest error of all, the RMS
/// over all points (from each rank's RMS over the points it owns), the slowest rank's
/// time, and the points per second of all points in that time; counts of values that are
/// not finite are summed, and the first of them is the one at the lowest index among all
/// points. Every rank must hold the same rows (the same arrays at the same times), over
/// its piece, whose first `owned` points it owns, of `total` points in all.
///
/// # Errors
/// [`Error::Ranks`] when the ranks hold different numbers of rows.
pub(super) fn reduce_rows(
    ranks: &Ranks,
    rows: Vec<Row>,
    owned: usize,
    total: usize,
) -> Result<Vec<Row>> {
    if ranks.size() == 1 {
        return Ok(rows);
    }
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let mut mine = Vec::with_capacity(rows.len() * PER_ROW);
    for r in &rows {
        let values = (owned * r.components) as f64;
        let (i, p, v) = r.first_non_finite.unwrap_or((0, [0.0; 3], 0.0));
        mine.extend([
            r.max_error.unwrap_or(0.0),
            r.rms_error.map_or(0.0, |e| e * e * values),
            r.seconds.unwrap_or(0.0),
            r.non_finite as f64,
            i as f64, // already the index among all points
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
            row.points_per_second = Some(total as f64 / secs);
        }
        row.non_finite = ranks_iter.clone().map(|r| at(r, 3) as usize).sum();
        // The first among all points: a mesh's pieces do not hold contiguous runs of them.
        row.first_non_finite = ranks_iter
            .clone()
            .filter(|&r| at(r, 9) == 1.0)
            .min_by_key(|&r| at(r, 4) as usize)
            .map(|r| (at(r, 4) as usize, [at(r, 5), at(r, 6), at(r, 7)], at(r, 8)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A strip of `k` quads (points 0..2k+2), with two points no cell uses after them.
    fn strip(k: u64) -> Mesh {
        let n = 2 * k + 2 + 2;
        Mesh {
            points: (0..n)
                .map(|i| [(i / 2) as f64, (i % 2) as f64, 0.0])
                .collect(),
            cells: Some(Cells {
                connectivity: (0..k)
                    .flat_map(|c| [2 * c, 2 * c + 2, 2 * c + 3, 2 * c + 1])
                    .collect(),
                offsets: (1..=k).map(|c| 4 * c).collect(),
                types: vec![9; k as usize],
                ..Default::default()
            }),
            point_data: Vec::new(),
            cell_data: vec![PointArray::new("c", 1, (0..k).map(|c| c as f64).collect())],
            patches: Vec::new(),
        }
    }

    #[test]
    fn the_pieces_of_a_mesh_own_every_point_once_and_hold_its_cells_in_order() {
        let whole = strip(7);
        let cells = whole.cells.as_ref().unwrap();
        for size in 1..=7 {
            let cuts: Vec<MeshCut> = (0..size).map(|r| cut_mesh(&whole, size, r)).collect();
            let mut owned: Vec<usize> = cuts
                .iter()
                .flat_map(|c| c.global[..c.owned].iter().copied())
                .collect();
            owned.sort_unstable();
            assert_eq!(owned, (0..whole.points.len()).collect::<Vec<_>>(), "{size}");
            let (mut conn, mut types, mut data) = (Vec::new(), Vec::new(), Vec::new());
            for (r, cut) in cuts.iter().enumerate() {
                let c = cut.mesh.cells.as_ref().unwrap();
                assert_eq!(c.check(cut.mesh.points.len()), Ok(()));
                assert!(!c.is_empty(), "rank {r} of {size} has no cell");
                for (l, &g) in cut.global.iter().enumerate() {
                    assert_eq!(cut.mesh.points[l], whole.points[g]);
                }
                // Owned first, then the ones a lower rank owns, each in increasing order.
                let (own, rest) = cut.global.split_at(cut.owned);
                assert!(own.is_sorted() && rest.is_sorted());
                for &g in rest {
                    assert!(cuts[..r].iter().any(|o| o.global[..o.owned].contains(&g)));
                }
                conn.extend(
                    c.connectivity
                        .iter()
                        .map(|&l| cut.global[l as usize] as u64),
                );
                types.extend_from_slice(&c.types);
                data.extend_from_slice(&cut.mesh.cell_data[0].values);
            }
            assert_eq!(conn, cells.connectivity);
            assert_eq!(types, cells.types);
            assert_eq!(data, whole.cell_data[0].values);
        }
    }

    #[test]
    fn a_mesh_without_cells_is_cut_into_contiguous_runs_of_points() {
        let mut whole = strip(3);
        whole.cells = None;
        whole.cell_data.clear();
        let cuts: Vec<MeshCut> = (0..3).map(|r| cut_mesh(&whole, 3, r)).collect();
        for (r, cut) in cuts.iter().enumerate() {
            let share: Vec<usize> = Ranks::share_of(10, 3, r).collect();
            assert_eq!(
                (cut.global.clone(), cut.owned),
                (share.clone(), share.len())
            );
            assert!(cut.mesh.cells.is_none());
        }
    }
}
