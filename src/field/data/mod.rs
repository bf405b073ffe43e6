//! Fields from data: values sampled at points (a CFD solver's `U` on its mesh, measured
//! velocities on scattered points) turned into a differentiable [`Field`] by local
//! weighted least-squares polynomial reconstruction.
//!
//! At an evaluation point `q`, [`DataField`] takes the `k` nearest samples (a k-d tree built
//! once), fits a polynomial of total degree `p` in the scaled offsets `s = (x − q)/h` (h: the
//! distance to the farthest of those samples), and records that polynomial on the tape with
//! per-point coefficient columns. The autodiff core then differentiates it like any formula:
//! the Jacobian, Laplacian, Hessian, Q and λ2 are the exact derivatives of the
//! reconstruction, and a polynomial of degree ≤ p is reproduced to round-off.
//!
//! The stages: `samples` (checks, the thin axis of 2-D data, coincident samples, the tree),
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

mod fit;
mod mesh;
mod samples;

use std::num::NonZero;
use std::sync::atomic::{AtomicUsize, Ordering};

use kiddo::SquaredEuclidean;

pub use fit::Weights;
pub use mesh::{
    Location, MeshSamples, PatchUse, boundary_cells, boundary_points, holds_values, mesh_samples,
};

use super::Field;
use crate::autodiff::{Tape, Tensor, Var};
use crate::error::{Error, Result};
use fit::{Fit, exponents, num_monomials, predecessors};

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
    /// Fit in 2 (x, y) or 3 coordinates; `None` detects a degenerate axis (samples on two
    /// planes, as OpenFOAM's one-cell-thick 2-D meshes, or an extent below 10⁻³ of the
    /// largest) and fits in the other two, with derivatives along it exactly 0.
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
    counters: [AtomicUsize; 4],
}

impl DataField {
    /// A field with `components` components from `values` (`components` per point,
    /// point-major) at `points` (`[x, y, z]`; `point_dim` = 2 when z is not a coordinate).
    ///
    /// # Errors
    /// [`Error::Data`] for no samples, a value count that does not fit, non-finite
    /// coordinates or values (counted, with the first location), coincident samples with
    /// different values, or fewer samples than the degree needs (with the number needed);
    /// [`Error::Config`] for a degree outside 1–4, a neighbour count below the number of
    /// monomials, or a `dim` that is not 2 or 3.
    pub fn new(
        points: &[[f64; 3]],
        point_dim: usize,
        values: Vec<f64>,
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
        let s = samples::build(points, point_dim, &values, components, opts.dim)?;
        let dim = s.axes.len();
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

    /// The coordinates the reconstruction fits in (0 = x, 1 = y, 2 = z).
    pub fn axes(&self) -> &[usize] {
        &self.s.axes
    }

    /// The axis dropped as degenerate and why, if one was.
    pub fn dropped_axis(&self) -> Option<(usize, &str)> {
        self.s.dropped.as_ref().map(|(a, w)| (*a, w.as_str()))
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
        }
    }

    /// Sets the counters of [`DataField::stats`] back to zero.
    pub fn reset_stats(&self) {
        self.counters
            .iter()
            .for_each(|c| c.store(0, Ordering::Relaxed));
    }

    /// Fits at every point of a batch: returns the coefficients (`[(c * P + k) * n + i]`,
    /// column-major per component) and `1/h` per point.
    fn fit_batch(&self, q: &[Vec<f64>], n: usize) -> (Vec<f64>, Vec<f64>) {
        let dim = self.s.axes.len();
        let p_all = self.exps.len();
        let m = self.m;
        let mut coef = vec![0.0; m * p_all * n];
        let mut hinv = vec![0.0; n];
        let mut fit = Fit::default();
        let mut offsets = Vec::new();
        let mut vals = Vec::new();
        let mut idx = Vec::new();
        let mut counts = [0usize; 4];
        for i in 0..n {
            let mut query = [0.0; 3];
            for (a, &axis) in self.s.axes.iter().enumerate() {
                query[axis] = q[a][i];
            }
            let mut degree = self.degree;
            let mut k = self.neighbours;
            let mut grown = false;
            let h = loop {
                let p = num_monomials(dim, degree);
                self.stencil(&query, k, &mut idx);
                let h = idx
                    .iter()
                    .map(|&j| dist2(&self.s.pos[j], &query))
                    .fold(0.0, f64::max)
                    .sqrt();
                let h = if h > 0.0 { h } else { 1.0 };
                offsets.clear();
                vals.clear();
                let mut inside = [true; 3];
                let mut lo = [f64::INFINITY; 3];
                let mut hi = [f64::NEG_INFINITY; 3];
                for &j in &idx {
                    let x = self.s.pos[j];
                    let mut s = [0.0; 3];
                    for (a, &axis) in self.s.axes.iter().enumerate() {
                        s[a] = (x[axis] - query[axis]) / h;
                        lo[a] = lo[a].min(s[a]);
                        hi[a] = hi[a].max(s[a]);
                    }
                    offsets.push(s);
                    // Element by element: a call to memcpy for m values cost 7 % of a fit.
                    vals.extend(self.s.values[j * m..(j + 1) * m].iter().copied());
                }
                for a in 0..dim {
                    inside[a] = lo[a] <= 0.0 && hi[a] >= 0.0;
                }
                let cond = fit.solve(&self.exps, &self.pred, p, &offsets, &vals, m, self.weights);
                let last_k = k >= self.neighbours * MAX_GROWTH || k >= self.s.pos.len();
                if cond <= COND_GROW || (last_k && cond <= COND_LOWER) {
                    if !inside.iter().all(|&b| b) {
                        counts[1] += 1;
                    }
                    break h;
                }
                if !last_k {
                    k = (2 * k)
                        .min(self.neighbours * MAX_GROWTH)
                        .min(self.s.pos.len());
                    grown = true;
                    continue;
                }
                if degree > 0 {
                    degree -= 1;
                    k = self.neighbours;
                    counts[3] += usize::from(degree + 1 == self.degree);
                    continue;
                }
                // Degree 0 always fits (a weighted mean); reached only when it did.
                break h;
            };
            counts[0] += 1;
            counts[2] += usize::from(grown);
            hinv[i] = 1.0 / h;
            for kk in 0..p_all {
                for c in 0..m {
                    coef[(c * p_all + kk) * n + i] = fit.coef[kk * m + c];
                }
            }
        }
        for (c, v) in self.counters.iter().zip(counts) {
            c.fetch_add(v, Ordering::Relaxed);
        }
        (coef, hinv)
    }
}

impl DataField {
    /// The stencil of at least `k` samples for the point `query` (in the fitted
    /// coordinates): whole rings of mesh neighbours around the nearest sample where the
    /// field knows the mesh's cells, else the `k` nearest samples.
    fn stencil(&self, query: &[f64; 3], k: usize, out: &mut Vec<usize>) {
        out.clear();
        if self.s.adjacency.is_empty() {
            // Unsorted (a binary heap inside kiddo): measured 15 % faster than its sorted
            // k-nearest query, whose insertion into a sorted vector dominated.
            let k = NonZero::new(k).unwrap_or(NonZero::<usize>::MIN);
            let found =
                self.s
                    .tree
                    .nearest_n_within::<SquaredEuclidean>(query, f64::INFINITY, k, false);
            out.extend(found.iter().map(|nb| nb.item as usize));
        } else {
            let centre = self.s.tree.nearest_one::<SquaredEuclidean>(query).item as usize;
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
        let ends = cells.offsets.iter().map(|&e| e as usize);
        let conn = &cells.connectivity;
        self.s.set_cells(ends.map(|end| {
            let c = &conn[start..end];
            start = end;
            c
        }));
        Ok(self)
    }
}

fn dist2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    (0..3).map(|d| (a[d] - b[d]) * (a[d] - b[d])).sum()
}

impl Field for DataField {
    fn components(&self) -> usize {
        self.m
    }

    fn eval<'t>(&self, tape: &'t Tape, x: &[Var<'t>]) -> Vec<Var<'t>> {
        let need = self.s.axes.iter().copied().max().unwrap_or(0) + 1;
        if x.len() < need {
            let bad = tape.invalid(Error::Operator {
                op: "data field".into(),
                message: format!(
                    "the data is fitted in coordinate {} but the points have {}",
                    need - 1,
                    x.len()
                ),
            });
            return vec![bad; self.m];
        }
        let n = x[0].rows();
        let q: Vec<Vec<f64>> = self
            .s
            .axes
            .iter()
            .map(|&a| x[a].with_values(|_, _, v| v.to_vec()).unwrap_or_default())
            .collect();
        if q.iter().any(|c| c.len() != n) {
            let bad = tape.invalid(Error::Operator {
                op: "data field".into(),
                message: "coordinates of different lengths".into(),
            });
            return vec![bad; self.m];
        }
        let (coef, hinv) = self.fit_batch(&q, n);
        let p_all = self.exps.len();
        let hinv = tape.constant(Tensor::column(hinv));
        // Scaled offsets s_a = (x_a − q_a)/h: exactly 0 at the point, with ∂s_a/∂x_a = 1/h.
        let s: Vec<Var<'t>> = self
            .s
            .axes
            .iter()
            .zip(&q)
            .map(|(&a, qa)| (x[a] - tape.constant_from_slice(n, 1, qa)) * hinv)
            .collect();
        let mut phi: Vec<Var<'t>> = Vec::with_capacity(p_all);
        phi.push(tape.full(n, 1, 1.0));
        for &(q, a) in &self.pred[1..] {
            phi.push(phi[q] * s[a]);
        }
        let phi = tape.stack(&phi);
        (0..self.m)
            .map(|c| {
                let cc =
                    tape.constant_from_slice(n, p_all, &coef[c * p_all * n..(c + 1) * p_all * n]);
                (phi * cc).sum_cols()
            })
            .collect()
    }
}
