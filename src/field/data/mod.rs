//! Fields from data: values sampled at points (a CFD solver's `U` on its mesh, measured
//! velocities on scattered points) turned into a differentiable [`Field`](crate::field::Field) by local
//! weighted least-squares polynomial reconstruction.
//!
//! At an evaluation point `q`, [`DataField`] takes the `k` nearest samples (equal distances in the
//! order of position; found in a grid of bins, or a k-d tree where the samples crowd), fits a polynomial of total degree `p` in the scaled offsets `s = (x − q)/h` (h: the
//! distance to the farthest of those samples), and records that polynomial on the tape with
//! per-point coefficient columns. The autodiff core then differentiates it like any formula:
//! the Jacobian, Laplacian, Hessian, Q and λ2 are the exact derivatives of the
//! reconstruction, and a polynomial of degree ≤ p is reproduced to round-off.
//!
//! The stages: `samples` (checks, the frame the samples are fitted in: centred and scaled by
//! their extent, without the thin axis of 2-D data, along a line or in an oblique plane's own
//! coordinates; coincident samples, the tree),
//! then per chunk of evaluation points the stencils and `fit`s, then the tape.
//!
//! Where the field knows the cells of the mesh the samples came from
//! ([`DataField::with_cells`]), stencils are whole rings of mesh neighbours around the
//! nearest sample instead: they follow the mesh where cells are 100 times longer than thick.
//!
//! Where a stencil's geometry does not support the degree (its neighbours lie nearly on a
//! line or a plane, as next to the walls of strongly anisotropic CFD meshes), the estimated
//! condition number of the equilibrated fit is large: the stencil is grown (twice the
//! neighbours, or more rings, up to eight times as many samples), and if that does not help
//! the degree is lowered at that point. [`DataField::stats`] counts those points and the points outside the box of
//! their own stencil (extrapolated).
//!
//! Points outside the data (outside every cell of the mesh given by [`DataField::within`],
//! else farther from the nearest sample than that sample's stencil reaches; see [`locate`])
//! are not fitted: every value and derivative is NaN there, counted in [`Stats::outside`].
//! The samples themselves are always inside. The derivatives along an axis 2-D data does not
//! vary on stay exactly 0 (the tape knows they do not depend on it).
//!
//! ```
//! use nabla::eval::{EvalOptions, Operator, Points, evaluate};
//! use nabla::field::data::{DataField, Reconstruction};
//! // f = x² + 3xy − y sampled on a jittered 9 × 9 grid; degree 2 reproduces it exactly.
//! let mut pts = Vec::new();
//! let mut vals = Vec::new();
//! for i in 0..9 {
//!     for j in 0..9 {
//!         let (x, y) = (i as f64 / 8.0 + 0.01 * (j % 3) as f64, j as f64 / 8.0);
//!         pts.push([x, y, 0.0]);
//!         vals.push(x * x + 3.0 * x * y - y);
//!     }
//! }
//! let f = DataField::new(&pts, 2, vals, 1, &Reconstruction::default()).unwrap();
//! let at = Points::from_rows(2, &[[0.5, 0.5, 0.0]]).unwrap();
//! let out = evaluate(&f, &at, &[Operator::Grad, Operator::Lap], &EvalOptions::default()).unwrap();
//! // ∇f = (2x + 3y, 3x − 1) = (2.5, 0.5), ∇²f = 2.
//! assert!((out[0].values[0] - 2.5).abs() < 1e-10 && (out[0].values[1] - 0.5).abs() < 1e-10);
//! assert!((out[1].values[0] - 2.0).abs() < 1e-9);
//! ```

mod batch;
mod fit;
mod flat;
mod frame;
pub mod locate;
mod location;
mod mesh;
mod nearest;
mod samples;
mod tape;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use kiddo::SquaredEuclidean;

pub use fit::Weights;
pub use locate::Domain;
pub(crate) use mesh::mesh_samples_with;
pub use mesh::{
    Location, MeshSamples, PatchUse, boundary_cells, boundary_points, holds_values, mesh_samples,
};

use crate::error::{Error, Result};
use fit::{exponents, num_monomials, predecessors};

/// Condition-number estimate above which a stencil is grown. Not round-off but the fit's
/// truncation error is what an ill-shaped stencil amplifies into the derivatives, so the
/// bound is low: well-shaped stencils of jittered lattices stay below it except at
/// boundaries, while stencils along one line of an anisotropic mesh exceed it.
const COND_GROW: f64 = 3e2;
/// Condition-number estimate above which, with the largest stencil, the degree is lowered.
const COND_LOWER: f64 = 1e8;
/// The largest stencil, as a multiple of the default number of neighbours.
const MAX_GROWTH: usize = 8;

/// How a [`DataField`] reconstructs its samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Reconstruction {
    /// Total degree p of the local polynomial, 1 to 4 (default 2).
    pub degree: usize,
    /// Samples per stencil; `None` for twice the number of monomials for p ≤ 2 (12 for
    /// p = 2 in 2-D, 20 in 3-D) and three times for p ≥ 3 (60 for p = 3 in 3-D: with twice,
    /// a third of the stencils of a jittered lattice had to grow, and errors were 4× larger).
    pub neighbours: Option<usize>,
    /// How samples are weighted by distance.
    pub weights: Weights,
    /// Fit in 2 (x, y) or 3 coordinates; `None` detects degenerate directions and fits in
    /// the others, with derivatives across them 0 ([`DataField::reduction`] says what was
    /// dropped): a coordinate axis across which the samples lie on two planes with the same
    /// values at each position in the planes (OpenFOAM's one-cell-thick 2-D meshes), and
    /// any direction along which the samples' extent is below 10⁻³ of the largest and below
    /// a tenth of their median spacing (a plane, a line, an oblique one in its own
    /// orthonormal coordinates; a thin slab with layers of samples across it stays 3-D).
    pub dim: Option<usize>,
}

impl Default for Reconstruction {
    fn default() -> Self {
        Reconstruction {
            degree: 2,
            neighbours: None,
            weights: Weights::Gaussian,
            dim: None,
        }
    }
}

/// What the reconstruction did at the points evaluated so far (see [`DataField::stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Points evaluated.
    pub points: usize,
    /// Points outside the bounding box of their own stencil: the polynomial extrapolates.
    pub extrapolated: usize,
    /// Points whose stencil was grown because the nearest samples did not support the fit.
    pub grown: usize,
    /// Points where even the largest stencil did not support the degree, fitted with a
    /// lower one.
    pub lowered: usize,
    /// Points outside the data (see [`DataField::valid`]): not fitted, every value and
    /// derivative NaN.
    pub outside: usize,
}

/// A field reconstructed from values at sample points (see the [module docs](self)).
pub struct DataField {
    s: samples::Samples,
    m: usize,
    degree: usize,
    neighbours: usize,
    weights: Weights,
    exps: Vec<[u8; 3]>,
    /// `φ_j = φ_q · s_a` for `(q, a) = pred[j]`.
    pred: Vec<(usize, usize)>,
    /// Where the field has data: a mesh's cells from [`DataField::within`], else the
    /// samples' reach as a cloud, made on first use (a kNN query per sample: seconds at
    /// 10⁶ samples, wasted where `within` replaces it or only samples are evaluated).
    domain: OnceLock<Domain>,
    /// Bins for the stencils' nearest-sample queries, made on first use; `None` where the
    /// samples crowd and the k-d tree answers (see [`nearest`]).
    grid: OnceLock<Option<nearest::Grid>>,
    counters: [AtomicUsize; 5],
}

impl DataField {
    /// A field with `components` components from `values` (`components` per point,
    /// point-major; borrowed, so a caller's buffer is not copied) at `points` (`[x, y, z]`; `point_dim` = 2 when z is not a coordinate).
    ///
    /// # Errors
    /// [`Error::Data`] for no samples, a value count that does not fit, non-finite
    /// coordinates or values (counted, with the first location), coincident samples (in
    /// the fitted coordinates) with different values, samples all at one point or less
    /// than the smallest normal f64 apart, or fewer samples than the degree needs (with the
    /// number needed);
    /// [`Error::Config`] for a degree outside 1–4, a neighbour count below the number of
    /// monomials, or a `dim` that is not 2 or 3.
    pub fn new(
        points: &[[f64; 3]],
        point_dim: usize,
        values: impl AsRef<[f64]>,
        components: usize,
        opts: &Reconstruction,
    ) -> Result<Self> {
        if !(2..=3).contains(&point_dim) {
            return Err(Error::Points(format!(
                "points must be 2-D or 3-D, got {point_dim}"
            )));
        }
        if !(1..=4).contains(&opts.degree) {
            return Err(Error::config(
                "degree",
                format!("{}; expected 1, 2, 3 or 4", opts.degree),
            ));
        }
        let s = samples::build(points, point_dim, values.as_ref(), components, opts.dim)?;
        let dim = s.frame.dim();
        let p = num_monomials(dim, opts.degree);
        let default = if opts.degree >= 3 { 3 * p } else { 2 * p };
        let neighbours = match opts.neighbours {
            None => default.min(s.pos.len()),
            Some(k) if k < p => {
                return Err(Error::config(
                    "neighbours",
                    format!(
                        "{k}; degree {} in {dim}-D has {p} coefficients, so at least {p} \
                         neighbours are needed (default {default})",
                        opts.degree,
                    ),
                ));
            }
            Some(k) => k.min(s.pos.len()),
        };
        if s.pos.len() < p {
            return Err(Error::Data(format!(
                "{} distinct samples; degree {} in {dim}-D needs at least {p}",
                s.pos.len(),
                opts.degree
            )));
        }
        let exps = exponents(dim, opts.degree);
        Ok(DataField {
            domain: OnceLock::new(),
            grid: OnceLock::new(),
            pred: predecessors(&exps),
            exps,
            s,
            m: components,
            degree: opts.degree,
            neighbours,
            weights: opts.weights,
            counters: Default::default(),
        })
    }

    /// The input coordinates the reconstruction depends on (0 = x, 1 = y, 2 = z): the
    /// coordinates it fits in where [`DataField::directions`] are coordinate axes; all those
    /// an oblique line or plane has a component along.
    pub fn axes(&self) -> &[usize] {
        &self.s.frame.axes
    }

    /// The unit directions of the coordinates the reconstruction fits in (as many as the
    /// fit's dimension): the coordinate axes of [`DataField::axes`] unless the samples lie
    /// on an oblique line or plane, whose own orthonormal coordinates they are then. The
    /// reconstruction is constant across every direction not spanned by them.
    pub fn directions(&self) -> &[[f64; 3]] {
        &self.s.frame.dirs
    }

    /// The one coordinate axis dropped as degenerate and why, if exactly one was (and the
    /// others are fitted as they are); see [`DataField::reduction`] for every case.
    pub fn dropped_axis(&self) -> Option<(usize, &str)> {
        self.s.dropped.as_ref().map(|(a, w)| (*a, w.as_str()))
    }

    /// Why the fit has fewer coordinates than the points, if it has, and what the
    /// derivatives across the dropped directions are (0): a sentence such as "2-D data: every
    /// sample lies on one of two planes z = 0 and z = 0.01, with the same values on both;
    /// derivatives along z are 0".
    pub fn reduction(&self) -> Option<&str> {
        self.s.reduced.as_deref()
    }

    /// Number of distinct samples (after merging coincident ones).
    pub fn num_samples(&self) -> usize {
        self.s.pos.len()
    }

    /// Number of input samples merged into another at the same position.
    pub fn merged(&self) -> usize {
        self.s.merged
    }

    /// Samples per stencil (before any growth).
    pub fn neighbours(&self) -> usize {
        self.neighbours
    }

    /// Counts over every point evaluated since the field was built or the last
    /// [`DataField::reset_stats`]. Sums over points, so independent of threads and chunks.
    pub fn stats(&self) -> Stats {
        let c = |i: usize| self.counters[i].load(Ordering::Relaxed);
        Stats {
            points: c(0),
            extrapolated: c(1),
            grown: c(2),
            lowered: c(3),
            outside: c(4),
        }
    }

    /// Sets the counters of [`DataField::stats`] back to zero.
    pub fn reset_stats(&self) {
        self.counters
            .iter()
            .for_each(|c| c.store(0, Ordering::Relaxed));
    }
}

impl DataField {
    /// Whether the point `x` (input coordinates, those not fitted 0) has data: a sample
    /// there, or inside the domain (a mesh's cells in input coordinates, a cloud's reach
    /// in the samples' local ones).
    fn valid_with(&self, x: &[f64; 3], scratch: &mut locate::Scratch) -> bool {
        let local = self.s.frame.local(x);
        self.s
            .tree()
            .nearest_one::<SquaredEuclidean>(&local)
            .distance
            == 0.0
            || self.in_domain(x, scratch)
    }

    /// Whether the point `x` (input coordinates, those not fitted 0) is inside the domain.
    fn in_domain(&self, x: &[f64; 3], scratch: &mut locate::Scratch) -> bool {
        if self.domain().cells() > 0 {
            self.domain().contains_with(x, scratch)
        } else {
            self.domain().contains_with(&self.s.frame.local(x), scratch)
        }
    }

    /// Which of `points` have data, in parallel: the samples themselves, and the points
    /// inside the field's [`Domain`] — the cells of its mesh where [`DataField::within`]
    /// gave them, else the reach of the samples' stencils (see [`locate`]). Only the
    /// fitted coordinates count: 2-D data is tested in its plane. Elsewhere the field's
    /// values and derivatives are NaN, and counted in [`Stats::outside`].
    pub fn valid(&self, points: &[[f64; 3]]) -> Vec<bool> {
        use rayon::prelude::*;
        points
            .par_iter()
            .map_init(locate::Scratch::default, |scratch, p| {
                let mut query = [0.0; 3];
                for &axis in &self.s.frame.axes {
                    query[axis] = p[axis];
                }
                self.valid_with(&query, scratch)
            })
            .collect()
    }

    /// Where the field has data (see [`DataField::valid`]).
    pub fn domain(&self) -> &Domain {
        self.domain.get_or_init(|| {
            // The samples' own (local) coordinates: a cloud's reach is measured where they are.
            let local: Vec<usize> = (0..self.s.frame.dim()).collect();
            Domain::cloud(&self.s.pos, &local, self.neighbours)
        })
    }

    /// Takes the field's domain from the cells of a mesh: `points` and `cells` are the
    /// mesh's (the samples may be its points, its cell centres, or any points in it). A
    /// point of a lattice, line or slice outside every cell then has no values (NaN); see
    /// [`locate`] for the test. A mesh with no cell of the fitted dimension (only vertices
    /// or lines; only faces for 3-D data) keeps the domain of the samples as a cloud, and
    /// so do samples on a line (a row of cells, a boundary patch of a 2-D mesh), whose
    /// cells are not tested.
    ///
    /// # Errors
    /// [`Error::Data`] when the cells refer to a point that does not exist.
    pub fn within(mut self, points: &[[f64; 3]], cells: &crate::io::Cells) -> Result<Self> {
        if self.s.frame.axes.len() < 2 {
            return Ok(self);
        }
        let domain = Domain::mesh(points, cells, &self.s.frame.axes)?;
        if domain.cells() > 0 {
            self.domain = OnceLock::from(domain);
        }
        Ok(self)
    }

    /// The stencil of at least `k` samples for the point `query` (in the fitted
    /// coordinates): whole rings of mesh neighbours around the nearest sample where the
    /// field knows the mesh's cells, else the `k` nearest samples (equal distances in the
    /// order of position: [`nearest`]'s rule).
    fn stencil(&self, query: &[f64; 3], k: usize, out: &mut Vec<usize>) {
        out.clear();
        thread_local! {
            static SCRATCH: std::cell::RefCell<nearest::Scratch> = std::cell::RefCell::default();
        }
        if self.s.adjacency.is_empty() {
            let grid = self
                .grid
                .get_or_init(|| nearest::Grid::new(&self.s.pos, &self.s.rank, self.neighbours));
            SCRATCH.with_borrow_mut(|s| match grid {
                Some(g) => g.nearest(query, k, s, out),
                None => nearest::from_tree(
                    self.s.tree(),
                    &self.s.pos,
                    &self.s.rank,
                    query,
                    k,
                    &mut s.best,
                    out,
                ),
            });
        } else {
            // The nearest sample by the same rule: a sample at the point is the only one at
            // distance 0 (coincident samples are merged); elsewhere equidistant samples go
            // by the order of position.
            let nb = self.s.tree().nearest_one::<SquaredEuclidean>(query);
            let centre = if nb.distance == 0.0 {
                nb.item as usize
            } else {
                let s = &self.s;
                SCRATCH.with_borrow_mut(|sc| {
                    nearest::from_tree(s.tree(), &s.pos, &s.rank, query, 1, &mut sc.best, out)
                });
                out.first().copied().unwrap_or(nb.item as usize)
            };
            self.s.rings(centre, k, out);
        }
    }

    /// Uses the cells of the mesh the samples came from to choose stencils: whole rings of
    /// neighbours sharing a cell, which follow the mesh where it is strongly anisotropic
    /// (cells 100 times longer than thick next to a wall, where the nearest samples all lie
    /// along one line). `cells` must be those of the `points` given to [`DataField::new`].
    ///
    /// # Errors
    /// [`Error::Data`] when the cells refer to a point that does not exist.
    pub fn with_cells(mut self, cells: &crate::io::Cells) -> Result<Self> {
        cells
            .check(self.s.index.len())
            .map_err(|m| Error::Data(format!("the cells do not fit the samples: {m}")))?;
        let mut start = 0usize;
        let cells: Vec<&[u64]> = (cells.offsets.iter())
            .map(|&end| {
                let c = &cells.connectivity[start..end as usize];
                start = end as usize;
                c
            })
            .collect();
        self.s.set_cells(&cells);
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring stencil's centre at a point equidistant from two mesh points is the one
    /// first in the order of position (x, then y, then z), as for the nearest samples.
    #[test]
    fn rings_centre_equidistant_points_by_position() {
        let n = 5usize;
        let id = |i: usize, j: usize, k: usize| (i + n * (j + n * k)) as u64;
        let mut pts = Vec::new();
        for k in 0..n {
            for j in 0..n {
                for i in 0..n {
                    pts.push([i as f64, j as f64, k as f64]);
                }
            }
        }
        let values: Vec<f64> = pts.iter().map(|p| p[0] + 2.0 * p[1] + 3.0 * p[2]).collect();
        let mut cells = crate::io::Cells::default();
        for k in 0..n - 1 {
            for j in 0..n - 1 {
                for i in 0..n - 1 {
                    cells.connectivity.extend([
                        id(i, j, k),
                        id(i + 1, j, k),
                        id(i + 1, j + 1, k),
                        id(i, j + 1, k),
                        id(i, j, k + 1),
                        id(i + 1, j, k + 1),
                        id(i + 1, j + 1, k + 1),
                        id(i, j + 1, k + 1),
                    ]);
                    cells.offsets.push(cells.connectivity.len() as u64);
                    cells.types.push(12);
                }
            }
        }
        let field = DataField::new(&pts, 3, &values, 1, &Reconstruction::default())
            .unwrap()
            .with_cells(&cells)
            .unwrap();
        let sample = |p: [f64; 3]| {
            let local = field.s.frame.local(&p);
            field.s.pos.iter().position(|q| *q == local).unwrap()
        };
        let k = field.neighbours;
        let (mut got, mut want, mut other) = (Vec::new(), Vec::new(), Vec::new());
        let mut checked = 0;
        for a in 0..3 {
            for &lo in &[
                [1.0, 1.0, 1.0],
                [2.0, 1.0, 2.0],
                [1.0, 2.0, 2.0],
                [2.0, 2.0, 1.0],
            ] {
                let mut hi = lo;
                hi[a] += 1.0;
                let mut mid = lo;
                mid[a] += 0.5;
                field.stencil(&field.s.frame.local(&mid), k, &mut got);
                field.s.rings(sample(lo), k, &mut want);
                field.s.rings(sample(hi), k, &mut other);
                assert_eq!(got, want, "between {lo:?} and {hi:?}");
                assert_ne!(want, other);
                checked += 1;
            }
        }
        assert_eq!(checked, 12);
    }
}
