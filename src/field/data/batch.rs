//! The fits of a batch of evaluation points. First stencils of one size (the nearest
//! samples; mesh rings, as long as they have the same number of samples) go through the
//! lanes of [`Fit`] four at a time; a point whose first stencil does not support the fit
//! (flat, or it must grow, or the degree be lowered) is fitted alone. A lane gives the
//! bits of a fit alone, so the result does not depend on which points shared the lanes,
//! nor on the batches' sizes.

use std::sync::atomic::Ordering;

use super::fit::{Fit, Stencil, num_monomials};
use super::flat::{dist2, flat_stencil};
use super::{COND_GROW, COND_LOWER, DataField, MAX_GROWTH, locate};

/// Stencils fitted side by side: an AVX2 register of f64.
const LANES: usize = 4;

/// A point's first stencil, waiting for a lane.
#[derive(Default)]
struct Pending {
    /// The point's index in the batch.
    i: usize,
    /// The point in the fitted coordinates.
    query: [f64; 3],
    /// The stencil's radius.
    h: f64,
    /// Whether the point is inside its stencil's bounding box.
    inside: bool,
    offsets: Vec<[f64; 3]>,
    vals: Vec<f64>,
}

/// The results of a batch: coefficients `[(c * P + k) * n + i]`, `1/h` per point and the
/// counters of [`super::Stats`] (points, extrapolated, grown, lowered, outside).
struct Out {
    coef: Vec<f64>,
    hinv: Vec<f64>,
    counts: [usize; 5],
}

/// Scratch buffers of the points fitted alone.
#[derive(Default)]
struct Alone {
    fit: Fit<1>,
    idx: Vec<usize>,
    offsets: Vec<[f64; 3]>,
    vals: Vec<f64>,
}

impl DataField {
    /// Fits at every point of a batch (`q`: the coordinates of [`DataField::axes`]):
    /// returns the coefficients (`[(c * P + k) * n + i]`, column-major per component) and
    /// `1/h` per point, h in the input's units.
    ///
    /// (Fitting each stencil in its own principal axes was tried: on the known-answer
    /// meshes it changed nothing measurable, and on the airFoil2D C-mesh it let stencils
    /// along single mesh lines pass the condition check — the equilibrated columns of the
    /// rotated thin axis looked well conditioned — and blew up. The principal spreads are
    /// kept for the flatness test.)
    pub(super) fn fit_batch(&self, q: &[Vec<f64>], n: usize) -> (Vec<f64>, Vec<f64>) {
        let frame = &self.s.frame;
        let dim = frame.dim();
        let mut out = Out {
            coef: vec![0.0; self.m * self.exps.len() * n],
            hinv: vec![0.0; n],
            counts: [0; 5],
        };
        let mut lanes = Fit::<LANES>::default();
        let mut pending: [Pending; LANES] = Default::default();
        let mut filled = 0;
        let mut alone = Alone::default();
        // The first stencil of the point at hand (`alone.idx` serves the points fitted
        // alone, which may be fitted between).
        let mut idx = Vec::new();
        let mut scratch = locate::Scratch::default();
        for i in 0..n {
            let mut x = [0.0; 3];
            for (&axis, column) in frame.axes.iter().zip(q) {
                x[axis] = column[i];
            }
            let query = frame.local(&x);
            // The first stencil; a point with a sample on it (the nearest at distance 0)
            // has data without a look at the domain.
            self.stencil(&query, self.neighbours, &mut idx);
            let on_sample = idx.iter().any(|&j| dist2(&self.s.pos[j], &query) == 0.0);
            if !on_sample && !self.in_domain(&x, &mut scratch) {
                // Outside the data: no values rather than an extrapolation.
                out.counts[0] += 1;
                out.counts[4] += 1;
                out.hinv[i] = 1.0;
                for c in 0..self.m * self.exps.len() {
                    out.coef[c * n + i] = f64::NAN;
                }
                continue;
            }
            // The lanes share a stencil size: a stencil of another size (mesh rings at a
            // boundary) starts a new group.
            if filled > 0 && pending[0].offsets.len() != idx.len() {
                self.fit_lanes(&mut lanes, &pending[..filled], &mut alone, &mut out);
                filled = 0;
            }
            let slot = &mut pending[filled];
            let (h, inside) = self.offsets(&query, &idx, &mut slot.offsets, &mut slot.vals);
            if self.degree > 0 && flat_stencil(&self.s, dim, &query, &idx) {
                alone.idx.clone_from(&idx);
                self.fit_alone(i, &query, &mut alone, false, &mut out);
                continue;
            }
            (slot.i, slot.query, slot.h, slot.inside) = (i, query, h, inside);
            filled += 1;
            if filled == LANES {
                self.fit_lanes(&mut lanes, &pending[..filled], &mut alone, &mut out);
                filled = 0;
            }
        }
        if filled > 0 {
            self.fit_lanes(&mut lanes, &pending[..filled], &mut alone, &mut out);
        }
        for (c, v) in self.counters.iter().zip(out.counts) {
            c.fetch_add(v, Ordering::Relaxed);
        }
        (out.coef, out.hinv)
    }

    /// Fits up to [`LANES`] first stencils side by side (the empty lanes repeat the last),
    /// keeps those that support the fit and fits the others alone.
    fn fit_lanes(
        &self,
        lanes: &mut Fit<LANES>,
        pending: &[Pending],
        alone: &mut Alone,
        out: &mut Out,
    ) {
        let dim = self.s.frame.dim();
        let p = num_monomials(dim, self.degree);
        let stencils: [Stencil<'_>; LANES] = std::array::from_fn(|l| {
            let s = &pending[l.min(pending.len() - 1)];
            (&s.offsets[..], &s.vals[..])
        });
        let cond = lanes.solve(
            &self.pred,
            p,
            self.exps.len(),
            stencils,
            self.m,
            self.weights,
        );
        let k = self.neighbours;
        let last_k = k >= self.neighbours * MAX_GROWTH || k >= self.s.pos.len();
        for (l, s) in pending.iter().enumerate() {
            if cond[l] <= COND_GROW || (last_k && cond[l] <= COND_LOWER) {
                let coef = lanes.coef.iter().map(|c| c[l]);
                self.store(s.i, s.h, s.inside, false, coef, out);
            } else {
                self.fit_alone(s.i, &s.query, alone, true, out);
            }
        }
    }

    /// Fits at one point alone, growing the stencil where the fit is ill-conditioned and
    /// lowering the degree where even the largest stencil is; `alone.idx` holds the first
    /// stencil unless `fresh` asks for it to be found again.
    fn fit_alone(&self, i: usize, query: &[f64; 3], alone: &mut Alone, fresh: bool, out: &mut Out) {
        let dim = self.s.frame.dim();
        let Alone {
            fit,
            idx,
            offsets,
            vals,
        } = alone;
        let mut degree = self.degree;
        let mut k = self.neighbours;
        let mut grown = false;
        let mut first = !fresh;
        let (h, inside) = loop {
            let p = num_monomials(dim, degree);
            if !first {
                self.stencil(query, k, idx);
            }
            first = false;
            let (h, inside) = self.offsets(query, idx, offsets, vals);
            // A stencil with no extent along one of its axes (every sample in one plane
            // of cells, up to the round-off of their centres) cannot determine the
            // derivatives across it, however well the equilibrated columns condition.
            let cond = if degree > 0 && flat_stencil(&self.s, dim, query, idx) {
                f64::INFINITY
            } else {
                let all = self.exps.len();
                fit.solve(&self.pred, p, all, [(offsets, vals)], self.m, self.weights)[0]
            };
            let last_k = k >= self.neighbours * MAX_GROWTH || k >= self.s.pos.len();
            if cond <= COND_GROW || (last_k && cond <= COND_LOWER) {
                break (h, inside);
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
                out.counts[3] += usize::from(degree + 1 == self.degree);
                continue;
            }
            // Degree 0 always fits (a weighted mean); reached only when it did (and not
            // counted as extrapolated).
            break (h, true);
        };
        let coef = fit.coef.iter().map(|c| c[0]);
        self.store(i, h, inside, grown, coef, out);
    }

    /// The scaled offsets `s = (x − q)/h` of the stencil `idx` from `query` and its values;
    /// returns h (the distance to the farthest sample, 1 where that is 0) and whether the
    /// point lies inside the stencil's bounding box.
    fn offsets(
        &self,
        query: &[f64; 3],
        idx: &[usize],
        offsets: &mut Vec<[f64; 3]>,
        vals: &mut Vec<f64>,
    ) -> (f64, bool) {
        let (dim, m) = (self.s.frame.dim(), self.m);
        let h = idx
            .iter()
            .map(|&j| dist2(&self.s.pos[j], query))
            .fold(0.0, f64::max)
            .sqrt();
        let h = if h > 0.0 { h } else { 1.0 };
        offsets.clear();
        vals.clear();
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for &j in idx {
            let x = self.s.pos[j];
            let mut s = [0.0; 3];
            for a in 0..dim {
                s[a] = (x[a] - query[a]) / h;
                lo[a] = lo[a].min(s[a]);
                hi[a] = hi[a].max(s[a]);
            }
            offsets.push(s);
            // Element by element: a call to memcpy for m values cost 7 % of a fit.
            vals.extend(self.s.values[j * m..(j + 1) * m].iter().copied());
        }
        let inside = (0..dim).all(|a| lo[a] <= 0.0 && hi[a] >= 0.0);
        (h, inside)
    }

    /// Stores a point's fit (`coef`: `[k * m + c]`) and counts it.
    fn store(
        &self,
        i: usize,
        h: f64,
        inside: bool,
        grown: bool,
        coef: impl Iterator<Item = f64>,
        out: &mut Out,
    ) {
        let n = out.hinv.len();
        let (p_all, m) = (self.exps.len(), self.m);
        out.counts[0] += 1;
        out.counts[1] += usize::from(!inside);
        out.counts[2] += usize::from(grown);
        out.hinv[i] = 1.0 / (h * self.s.frame.scale);
        for (j, v) in coef.enumerate().take(p_all * m) {
            let (kk, c) = (j / m, j % m);
            out.coef[(c * p_all + kk) * n + i] = v;
        }
    }
}
