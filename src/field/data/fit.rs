//! Weighted least-squares polynomial fits in scaled offsets, one stencil at a time.
//!
//! For an evaluation point `q` and its stencil of samples `xᵢ` with values `fᵢ`, the fit
//! finds the coefficients `c` of a polynomial `Σₖ cₖ φₖ(s)` of total degree ≤ p in the
//! scaled offsets `s = (x − q)/h` (h: the stencil's radius) that minimise
//! `Σᵢ wᵢ (Σₖ cₖ φₖ(sᵢ) − fᵢ)²`. The weighted Vandermonde matrix is equilibrated (each
//! column scaled to unit length) and solved by Householder QR; the ratio of the largest to
//! the smallest diagonal entry of R (in magnitude) estimates its condition number, which tells the caller
//! whether the stencil's geometry supports the degree.

/// Exponents of the monomials of total degree ≤ `degree` in `dim` (1 to 3) variables,
/// ordered by total degree (the constant first, then the `dim` linear ones, …).
pub(crate) fn exponents(dim: usize, degree: usize) -> Vec<[u8; 3]> {
    let mut out = Vec::new();
    for total in 0..=degree {
        // Within one degree: the first variable's power descending, then the second's.
        if dim == 1 {
            out.push([total as u8, 0, 0]);
            continue;
        }
        for a in (0..=total).rev() {
            if dim == 2 {
                out.push([a as u8, (total - a) as u8, 0]);
                continue;
            }
            for b in (0..=total - a).rev() {
                out.push([a as u8, b as u8, (total - a - b) as u8]);
            }
        }
    }
    out
}

/// Number of monomials of total degree ≤ `degree` in `dim` variables: C(degree + dim, dim).
pub(crate) fn num_monomials(dim: usize, degree: usize) -> usize {
    (1..=dim).fold(1, |acc, k| acc * (degree + k) / k)
}

/// How samples are weighted by their distance from the evaluation point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Weights {
    /// `w = exp(−8 (r/h)²)`: the nearest samples count most, those at the stencil's edge
    /// little (measured on jittered lattices, this local weighting is the most accurate).
    #[default]
    Gaussian,
    /// Every sample of the stencil counts the same (plain least squares).
    Uniform,
}

impl Weights {
    fn weight(self, r2: f64) -> f64 {
        match self {
            Weights::Gaussian => (-8.0 * r2).exp(),
            Weights::Uniform => 1.0,
        }
    }
}

/// Per-worker buffers and the result of the last fit.
#[derive(Default)]
pub(crate) struct Fit {
    /// The weighted Vandermonde matrix, column-major `k × p`, then R in its upper triangle.
    a: Vec<f64>,
    /// The weighted values, column-major `k × m`, then Qᵀ times them.
    b: Vec<f64>,
    /// One Householder vector.
    v: Vec<f64>,
    scale: Vec<f64>,
    /// R⁻¹, column-major `p × p`.
    inv: Vec<f64>,
    /// The monomials at one sample.
    phi: Vec<f64>,
    /// Coefficients `[k * m + c]` of the last successful fit (monomial k, component c),
    /// for the monomials in the order of [`exponents`].
    pub coef: Vec<f64>,
}

/// For each monomial after the constant, a lower one and a variable whose product it is:
/// `φ_j = φ_q · s_a` for `(q, a) = pred[j]` (`pred[0]` is unused).
pub(crate) fn predecessors(exps: &[[u8; 3]]) -> Vec<(usize, usize)> {
    exps.iter()
        .map(|e| {
            let Some(a) = (0..3).find(|&a| e[a] > 0) else {
                return (0, 0);
            };
            let mut lower = *e;
            lower[a] -= 1;
            (exps.iter().position(|f| *f == lower).unwrap_or(0), a)
        })
        .collect()
}

impl Fit {
    /// Fits a polynomial with the `p` first monomials through the stencil `offsets`
    /// (scaled offsets `s = (x − q)/h`, in the fitted coordinates) and `values` (`m` per
    /// sample, sample-major); `pred` from [`predecessors`]. Returns the condition-number
    /// estimate of the equilibrated weighted Vandermonde matrix (infinite when a column
    /// vanishes or the stencil has fewer samples than monomials); `self.coef` holds the
    /// coefficients, zero beyond the `p` first monomials.
    ///
    /// Householder QR on scratch buffers: nothing is allocated once they are warm. (The
    /// normal equations by Cholesky were measured 15 % faster over a whole evaluation, but
    /// they square the condition number: a quadratic's Laplacian was then reproduced only
    /// to 4.5e-10.)
    #[allow(clippy::too_many_arguments)]
    pub fn solve(
        &mut self,
        exps: &[[u8; 3]],
        pred: &[(usize, usize)],
        p: usize,
        offsets: &[[f64; 3]],
        values: &[f64],
        m: usize,
        weights: Weights,
    ) -> f64 {
        let k = offsets.len();
        self.coef.clear();
        self.coef.resize(exps.len() * m, 0.0);
        if k < p || p == 0 {
            return f64::INFINITY;
        }
        let Fit {
            a,
            b,
            v,
            scale,
            inv,
            phi,
            coef,
        } = self;
        a.clear();
        a.resize(k * p, 0.0);
        b.clear();
        b.resize(k * m, 0.0);
        for (i, s) in offsets.iter().enumerate() {
            let sw = weights
                .weight(s[0] * s[0] + s[1] * s[1] + s[2] * s[2])
                .sqrt();
            phi.clear();
            phi.push(sw);
            for &(q, d) in &pred[1..p] {
                phi.push(phi[q] * s[d]);
            }
            for (j, &v) in phi.iter().enumerate() {
                a[j * k + i] = v;
            }
            for c in 0..m {
                b[c * k + i] = sw * values[i * m + c];
            }
        }
        // Equilibrate: unit columns, so that the estimate measures geometry, not scale.
        scale.clear();
        for col in a.chunks_exact_mut(k) {
            let norm = col.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm == 0.0 || !norm.is_finite() {
                return f64::INFINITY;
            }
            col.iter_mut().for_each(|x| *x /= norm);
            scale.push(1.0 / norm);
        }
        for j in 0..p {
            let col = &a[j * k + j..(j + 1) * k];
            let norm = col.iter().map(|x| x * x).sum::<f64>().sqrt();
            let alpha = if col[0] > 0.0 { -norm } else { norm };
            v.clear();
            v.extend_from_slice(col);
            v[0] -= alpha;
            let vv: f64 = v.iter().map(|x| x * x).sum();
            if vv > 0.0 {
                reflect(v, vv, &mut a[(j + 1) * k..p * k], k, j);
                reflect(v, vv, &mut b[..m * k], k, j);
            }
            a[j * k + j] = alpha;
        }
        let cond = triangular_condition(a, k, p, inv);
        if !cond.is_finite() {
            return f64::INFINITY;
        }
        // Back substitution R x = (Qᵀ b)[..p], then undo the column scaling.
        for c in 0..m {
            for j in (0..p).rev() {
                let mut t = b[c * k + j];
                for l in j + 1..p {
                    t -= a[l * k + j] * coef[l * m + c];
                }
                coef[j * m + c] = t / a[j * k + j];
            }
        }
        for j in 0..p {
            for c in 0..m {
                coef[j * m + c] *= scale[j];
            }
        }
        cond
    }
}

/// Reflects the columns of `cols` (column-major, `k` rows each) in their rows `j..` by
/// the Householder vector `v` (`v·v = vv`): `a −= (2 v·a / vv) v`. Four columns at a
/// time, so that their sums over the rows run side by side (each in the order of the rows,
/// as it would alone: the same bits).
fn reflect(v: &[f64], vv: f64, cols: &mut [f64], k: usize, j: usize) {
    let mut quads = cols.chunks_exact_mut(4 * k);
    for q in &mut quads {
        let (c0, rest) = q.split_at_mut(k);
        let (c1, rest) = rest.split_at_mut(k);
        let (c2, c3) = rest.split_at_mut(k);
        let (c0, c1, c2, c3) = (&mut c0[j..], &mut c1[j..], &mut c2[j..], &mut c3[j..]);
        // Sums start at −0.0, as `Iterator::sum` does.
        let mut t = [-0.0f64; 4];
        for ((((&x, &y0), &y1), &y2), &y3) in v.iter().zip(&*c0).zip(&*c1).zip(&*c2).zip(&*c3) {
            t[0] += x * y0;
            t[1] += x * y1;
            t[2] += x * y2;
            t[3] += x * y3;
        }
        let t = t.map(|d| 2.0 * d / vv);
        for ((((&x, y0), y1), y2), y3) in v.iter().zip(c0).zip(c1).zip(c2).zip(c3) {
            *y0 -= t[0] * x;
            *y1 -= t[1] * x;
            *y2 -= t[2] * x;
            *y3 -= t[3] * x;
        }
    }
    for col in quads.into_remainder().chunks_exact_mut(k) {
        let col = &mut col[j..];
        let t = 2.0 * v.iter().zip(col.iter()).map(|(x, y)| x * y).sum::<f64>() / vv;
        col.iter_mut().zip(v.iter()).for_each(|(y, x)| *y -= t * x);
    }
}

/// The Frobenius condition number `‖R‖ ‖R⁻¹‖` of the upper triangle R stored in the first
/// `p` rows of the column-major `k × p` matrix `a` (an upper bound of the 2-norm condition
/// number; the ratio of R's diagonal entries alone can miss near-dependent columns).
fn triangular_condition(a: &[f64], k: usize, p: usize, inv: &mut Vec<f64>) -> f64 {
    inv.clear();
    inv.resize(p * p, 0.0);
    let r = |i: usize, j: usize| a[j * k + i];
    let mut norm_r = 0.0;
    for j in 0..p {
        for i in 0..=j {
            norm_r += r(i, j) * r(i, j);
        }
    }
    // Column j of R⁻¹ solves R x = e_j (zero below row j).
    let mut norm_inv = 0.0;
    for j in 0..p {
        for i in (0..=j).rev() {
            let mut t = if i == j { 1.0 } else { 0.0 };
            for l in i + 1..=j {
                t -= r(i, l) * inv[j * p + l];
            }
            let x = t / r(i, i);
            inv[j * p + i] = x;
            norm_inv += x * x;
        }
    }
    (norm_r * norm_inv).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monomial_counts() {
        for dim in 1..=3 {
            for p in 0..=4 {
                let e = exponents(dim, p);
                assert_eq!(e.len(), num_monomials(dim, p));
                // Ordered by total degree, no duplicates.
                let deg: Vec<u8> = e.iter().map(|e| e[0] + e[1] + e[2]).collect();
                assert!(deg.windows(2).all(|w| w[0] <= w[1]));
                let mut sorted = e.clone();
                sorted.sort();
                sorted.dedup();
                assert_eq!(sorted.len(), e.len());
            }
        }
        assert_eq!(num_monomials(3, 2), 10);
        assert_eq!(num_monomials(2, 2), 6);
        assert_eq!(num_monomials(3, 4), 35);
        assert_eq!(num_monomials(1, 3), 4);
    }

    #[test]
    fn collinear_stencil_is_flagged() {
        let exps = exponents(2, 1);
        let offsets: Vec<[f64; 3]> = (0..6).map(|i| [i as f64 / 5.0, 0.0, 0.0]).collect();
        let values = vec![1.0; 6];
        let mut fit = Fit::default();
        let pred = predecessors(&exps);
        let cond = fit.solve(&exps, &pred, 3, &offsets, &values, 1, Weights::Gaussian);
        assert!(cond == f64::INFINITY);
    }
}
