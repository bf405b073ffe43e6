//! Weighted least-squares polynomial fits in scaled offsets, one stencil per vector lane.
//!
//! For an evaluation point `q` and its stencil of samples `xᵢ` with values `fᵢ`, the fit
//! finds the coefficients `c` of a polynomial `Σₖ cₖ φₖ(s)` of total degree ≤ p in the
//! scaled offsets `s = (x − q)/h` (h: the stencil's radius) that minimise
//! `Σᵢ wᵢ (Σₖ cₖ φₖ(sᵢ) − fᵢ)²`. The weighted Vandermonde matrix is equilibrated (each
//! column scaled to unit length) and solved by Householder QR; the Frobenius condition
//! number `‖R‖ ‖R⁻¹‖` of R estimates its condition number, which tells the caller whether
//! the stencil's geometry supports the degree.

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

/// Per-worker buffers and the results of the last fits, `N` stencils at a time: every
/// entry holds one number per lane (`[f64; N]`), and each lane runs exactly the
/// operations of a fit alone, in the same order (no fused multiply-adds, branches as
/// selects), so a stencil's coefficients have the same bits whichever lane, and however
/// many lanes, fitted it. Four lanes fill an AVX2 register (chosen at run time), and the
/// sums of a fit, each a chain of dependent additions, run side by side across stencils.
#[derive(Default)]
pub(crate) struct Fit<const N: usize> {
    /// The weighted Vandermonde matrix, column-major `k × p`, then R in its upper triangle.
    a: Vec<[f64; N]>,
    /// The weighted values, column-major `k × m`, then Qᵀ times them.
    b: Vec<[f64; N]>,
    /// One Householder vector.
    v: Vec<[f64; N]>,
    scale: Vec<[f64; N]>,
    /// R⁻¹, column-major `p × p`.
    inv: Vec<[f64; N]>,
    /// The monomials at one sample.
    phi: Vec<[f64; N]>,
    /// Coefficients `[k * m + c]` of the last fits (monomial k, component c), for the
    /// monomials in the order of [`exponents`]; zero in a lane whose fit failed.
    pub coef: Vec<[f64; N]>,
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

/// One stencil: its scaled offsets `s = (x − q)/h` in the fitted coordinates and its
/// values, `m` per sample, sample-major.
pub(crate) type Stencil<'a> = (&'a [[f64; 3]], &'a [f64]);

impl<const N: usize> Fit<N> {
    /// Fits, in each lane, a polynomial with the `p` first monomials through that lane's
    /// stencil (`m` values per sample; every stencil has the same number of samples);
    /// `pred` from [`predecessors`], `all` the number of monomials of the full degree.
    /// Returns each lane's condition-number estimate of its equilibrated weighted
    /// Vandermonde matrix (infinite when a column vanishes, the estimate is not finite, or
    /// the stencil has fewer samples than monomials; in every lane when the stencils'
    /// sizes differ or a lane has fewer than `m` values per sample); `self.coef` holds the
    /// coefficients, zero beyond the `p` first monomials and in a lane whose fit failed.
    ///
    /// Householder QR on scratch buffers: nothing is allocated once they are warm. (The
    /// normal equations by Cholesky were measured 15 % faster over a whole evaluation, but
    /// they square the condition number: a quadratic's Laplacian was then reproduced only
    /// to 4.5e-10.)
    pub fn solve(
        &mut self,
        pred: &[(usize, usize)],
        p: usize,
        all: usize,
        stencils: [Stencil<'_>; N],
        m: usize,
        weights: Weights,
    ) -> [f64; N] {
        #[cfg(target_arch = "x86_64")]
        if N > 1 && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, checked just above.
            return unsafe { self.solve_avx2(pred, p, all, stencils, m, weights) };
        }
        self.solve_lanes(pred, p, all, stencils, m, weights)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn solve_avx2(
        &mut self,
        pred: &[(usize, usize)],
        p: usize,
        all: usize,
        stencils: [Stencil<'_>; N],
        m: usize,
        weights: Weights,
    ) -> [f64; N] {
        self.solve_lanes(pred, p, all, stencils, m, weights)
    }

    #[inline(always)]
    fn solve_lanes(
        &mut self,
        pred: &[(usize, usize)],
        p: usize,
        all: usize,
        stencils: [Stencil<'_>; N],
        m: usize,
        weights: Weights,
    ) -> [f64; N] {
        let k = stencils[0].0.len();
        self.coef.clear();
        self.coef.resize(all * m, [0.0; N]);
        let same = stencils
            .iter()
            .all(|(s, f)| s.len() == k && f.len() >= k * m);
        if k < p || p == 0 || !same {
            return [f64::INFINITY; N];
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
        a.resize(k * p, [0.0; N]);
        b.clear();
        b.resize(k * m, [0.0; N]);
        for i in 0..k {
            let s: [[f64; 3]; N] = std::array::from_fn(|l| stencils[l].0[i]);
            let sw: [f64; N] = std::array::from_fn(|l| {
                let s = s[l];
                weights
                    .weight(s[0] * s[0] + s[1] * s[1] + s[2] * s[2])
                    .sqrt()
            });
            phi.clear();
            phi.push(sw);
            for &(q, d) in &pred[1..p] {
                let next = std::array::from_fn(|l| phi[q][l] * s[l][d]);
                phi.push(next);
            }
            for (j, &v) in phi.iter().enumerate() {
                a[j * k + i] = v;
            }
            for c in 0..m {
                b[c * k + i] = std::array::from_fn(|l| sw[l] * stencils[l].1[i * m + c]);
            }
        }
        // Equilibrate: unit columns, so that the estimate measures geometry, not scale.
        let mut dead = [false; N];
        scale.clear();
        for col in a.chunks_exact_mut(k) {
            let norm = sum_squares(col).map(f64::sqrt);
            for l in 0..N {
                dead[l] |= norm[l] == 0.0 || !norm[l].is_finite();
            }
            for x in col.iter_mut() {
                *x = std::array::from_fn(|l| x[l] / norm[l]);
            }
            scale.push(norm.map(|n| 1.0 / n));
        }
        for j in 0..p {
            let col = &a[j * k + j..(j + 1) * k];
            let norm = sum_squares(col).map(f64::sqrt);
            let alpha: [f64; N] =
                std::array::from_fn(|l| if col[0][l] > 0.0 { -norm[l] } else { norm[l] });
            v.clear();
            v.extend_from_slice(col);
            v[0] = std::array::from_fn(|l| v[0][l] - alpha[l]);
            let vv = sum_squares(v);
            // A lane with a zero vector skips the reflection, as a fit alone does: its
            // vector and factor are made exactly 0, so that `y − 0·0` leaves every y as it
            // was (−0.0 and NaN included) without a masked store.
            let live = vv.map(|x| x > 0.0);
            if live.contains(&false) {
                for x in v.iter_mut() {
                    *x = std::array::from_fn(|l| if live[l] { x[l] } else { 0.0 });
                }
            }
            reflect(v, &vv, &live, &mut a[(j + 1) * k..p * k], k, j);
            reflect(v, &vv, &live, &mut b[..m * k], k, j);
            a[j * k + j] = alpha;
        }
        let mut cond = triangular_condition(a, k, p, inv);
        for l in 0..N {
            dead[l] |= !cond[l].is_finite();
        }
        // Back substitution R x = (Qᵀ b)[..p], then undo the column scaling.
        for c in 0..m {
            for j in (0..p).rev() {
                let mut t = b[c * k + j];
                for l in j + 1..p {
                    let (r, x) = (a[l * k + j], coef[l * m + c]);
                    t = std::array::from_fn(|e| t[e] - r[e] * x[e]);
                }
                let d = a[j * k + j];
                coef[j * m + c] = std::array::from_fn(|e| t[e] / d[e]);
            }
        }
        for j in 0..p {
            for c in 0..m {
                let x = &mut coef[j * m + c];
                *x = std::array::from_fn(|l| if dead[l] { 0.0 } else { x[l] * scale[j][l] });
            }
        }
        for l in 0..N {
            if dead[l] {
                cond[l] = f64::INFINITY;
            }
        }
        cond
    }
}

/// `Σ x²` per lane, in the order of the rows, from −0.0 (as `Iterator::sum` starts).
#[inline(always)]
fn sum_squares<const N: usize>(col: &[[f64; N]]) -> [f64; N] {
    let mut t = [-0.0; N];
    for x in col {
        for l in 0..N {
            t[l] += x[l] * x[l];
        }
    }
    t
}

/// Reflects the columns of `cols` (column-major, `k` rows each) in their rows `j..` by
/// the Householder vector `v` (`v·v = vv`): `a −= (2 v·a / vv) v`; a lane that is not
/// `live` (its vector zeroed by the caller) gets the factor 0. Four columns at a time, so
/// that their sums over the rows run side by side (each in the order of the rows, as it
/// would alone: the same bits).
#[inline(always)]
fn reflect<const N: usize>(
    v: &[[f64; N]],
    vv: &[f64; N],
    live: &[bool; N],
    cols: &mut [[f64; N]],
    k: usize,
    j: usize,
) {
    let factor = |d: [f64; N]| -> [f64; N] {
        std::array::from_fn(|l| if live[l] { 2.0 * d[l] / vv[l] } else { 0.0 })
    };
    let update = |y: &mut [f64; N], t: &[f64; N], x: &[f64; N]| {
        for l in 0..N {
            y[l] -= t[l] * x[l];
        }
    };
    let mut quads = cols.chunks_exact_mut(4 * k);
    for q in &mut quads {
        let (c0, rest) = q.split_at_mut(k);
        let (c1, rest) = rest.split_at_mut(k);
        let (c2, c3) = rest.split_at_mut(k);
        let (c0, c1, c2, c3) = (&mut c0[j..], &mut c1[j..], &mut c2[j..], &mut c3[j..]);
        let mut t = [[-0.0f64; N]; 4];
        for ((((x, y0), y1), y2), y3) in v.iter().zip(&*c0).zip(&*c1).zip(&*c2).zip(&*c3) {
            for l in 0..N {
                t[0][l] += x[l] * y0[l];
                t[1][l] += x[l] * y1[l];
                t[2][l] += x[l] * y2[l];
                t[3][l] += x[l] * y3[l];
            }
        }
        let t = t.map(factor);
        for ((((x, y0), y1), y2), y3) in v.iter().zip(c0).zip(c1).zip(c2).zip(c3) {
            update(y0, &t[0], x);
            update(y1, &t[1], x);
            update(y2, &t[2], x);
            update(y3, &t[3], x);
        }
    }
    for col in quads.into_remainder().chunks_exact_mut(k) {
        let col = &mut col[j..];
        let mut d = [-0.0f64; N];
        for (x, y) in v.iter().zip(col.iter()) {
            for l in 0..N {
                d[l] += x[l] * y[l];
            }
        }
        let t = factor(d);
        col.iter_mut()
            .zip(v.iter())
            .for_each(|(y, x)| update(y, &t, x));
    }
}

/// The Frobenius condition number `‖R‖ ‖R⁻¹‖` of the upper triangle R stored in the first
/// `p` rows of the column-major `k × p` matrix `a` (an upper bound of the 2-norm condition
/// number; the ratio of R's diagonal entries alone can miss near-dependent columns).
#[inline(always)]
fn triangular_condition<const N: usize>(
    a: &[[f64; N]],
    k: usize,
    p: usize,
    inv: &mut Vec<[f64; N]>,
) -> [f64; N] {
    inv.clear();
    inv.resize(p * p, [0.0; N]);
    let r = |i: usize, j: usize| a[j * k + i];
    let mut norm_r = [0.0; N];
    for j in 0..p {
        for i in 0..=j {
            let x = r(i, j);
            norm_r = std::array::from_fn(|l| norm_r[l] + x[l] * x[l]);
        }
    }
    // Column j of R⁻¹ solves R x = e_j (zero below row j).
    let mut norm_inv = [0.0; N];
    for j in 0..p {
        for i in (0..=j).rev() {
            let mut t = [if i == j { 1.0 } else { 0.0 }; N];
            for l in i + 1..=j {
                let (x, y) = (r(i, l), inv[j * p + l]);
                t = std::array::from_fn(|e| t[e] - x[e] * y[e]);
            }
            let d = r(i, i);
            let x: [f64; N] = std::array::from_fn(|e| t[e] / d[e]);
            inv[j * p + i] = x;
            norm_inv = std::array::from_fn(|e| norm_inv[e] + x[e] * x[e]);
        }
    }
    std::array::from_fn(|l| (norm_r[l] * norm_inv[l]).sqrt())
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
        let mut fit = Fit::<1>::default();
        let pred = predecessors(&exps);
        let cond = fit.solve(
            &pred,
            3,
            exps.len(),
            [(&offsets, &values)],
            1,
            Weights::Gaussian,
        );
        assert!(cond[0] == f64::INFINITY);
    }

    /// Four stencils fitted side by side give, lane by lane, the bits of each fitted alone,
    /// with and without AVX2 (the lanes take it where the processor has it), including a
    /// lane whose fit fails (collinear samples) beside lanes that succeed.
    #[test]
    fn lanes_give_the_bits_of_single_fits() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        };
        for (dim, degree, k, m) in [(3, 2, 20, 3), (2, 2, 12, 1), (3, 3, 60, 2), (2, 1, 7, 4)] {
            let exps = exponents(dim, degree);
            let pred = predecessors(&exps);
            let p = exps.len();
            let mut stencils: Vec<(Vec<[f64; 3]>, Vec<f64>)> = Vec::new();
            for lane in 0..4 {
                let offsets: Vec<[f64; 3]> = (0..k)
                    .map(|i| {
                        let mut s = [0.0; 3];
                        for x in s.iter_mut().take(dim) {
                            *x = rand();
                        }
                        if lane == 2 {
                            // Collinear: every degree ≥ 1 fit fails.
                            s = [i as f64 / k as f64, 0.0, 0.0];
                        }
                        s
                    })
                    .collect();
                let values: Vec<f64> = (0..k * m).map(|_| rand()).collect();
                stencils.push((offsets, values));
            }
            let lanes: [Stencil<'_>; 4] =
                std::array::from_fn(|l| (&stencils[l].0[..], &stencils[l].1[..]));
            for weights in [Weights::Gaussian, Weights::Uniform] {
                let mut four = Fit::<4>::default();
                let cond = four.solve(&pred, p, p, lanes, m, weights);
                assert!(cond[2] == f64::INFINITY);
                for (l, stencil) in lanes.iter().enumerate() {
                    let mut one = Fit::<1>::default();
                    let alone = one.solve(&pred, p, p, [*stencil], m, weights)[0];
                    assert_eq!(cond[l].to_bits(), alone.to_bits(), "lane {l}");
                    if l != 2 {
                        assert!(alone.is_finite() && alone >= 1.0, "lane {l}: {alone}");
                    }
                    let a: Vec<u64> = four.coef.iter().map(|c| c[l].to_bits()).collect();
                    let b: Vec<u64> = one.coef.iter().map(|c| c[0].to_bits()).collect();
                    assert_eq!(a, b, "lane {l}, dim {dim}, degree {degree}");
                }
            }
        }
    }

    /// A quadratic is reproduced by a degree-2 fit in every lane.
    #[test]
    fn lanes_reproduce_a_quadratic() {
        let exps = exponents(3, 2);
        let pred = predecessors(&exps);
        let stencil = |shift: f64| -> (Vec<[f64; 3]>, Vec<f64>) {
            let offsets: Vec<[f64; 3]> = (0..27)
                .map(|i| {
                    let c = [(i % 3) as f64, ((i / 3) % 3) as f64, (i / 9) as f64];
                    c.map(|x| (x - 1.0) * 0.5 + shift * 0.01)
                })
                .collect();
            let values = offsets
                .iter()
                .map(|s| 1.0 + 2.0 * s[0] - s[1] + 0.5 * s[0] * s[2] + 3.0 * s[1] * s[1])
                .collect();
            (offsets, values)
        };
        let st: Vec<_> = (0..4).map(|l| stencil(l as f64)).collect();
        let lanes: [Stencil<'_>; 4] = std::array::from_fn(|l| (&st[l].0[..], &st[l].1[..]));
        let mut fit = Fit::<4>::default();
        let cond = fit.solve(&pred, 10, 10, lanes, 1, Weights::Gaussian);
        for l in 0..4 {
            assert!(cond[l] < 1e3, "{cond:?}");
            let c = |e: [u8; 3]| fit.coef[exps.iter().position(|x| *x == e).unwrap()][l];
            approx::assert_abs_diff_eq!(c([0, 0, 0]), 1.0, epsilon = 1e-13);
            approx::assert_abs_diff_eq!(c([1, 0, 0]), 2.0, epsilon = 1e-13);
            approx::assert_abs_diff_eq!(c([0, 1, 0]), -1.0, epsilon = 1e-13);
            approx::assert_abs_diff_eq!(c([1, 0, 1]), 0.5, epsilon = 1e-13);
            approx::assert_abs_diff_eq!(c([0, 2, 0]), 3.0, epsilon = 1e-13);
            approx::assert_abs_diff_eq!(c([2, 0, 0]), 0.0, epsilon = 1e-13);
        }
    }
}
