//! Whether a stencil is flat: its extent across one of its principal axes is the
//! round-off of cell centres computed in floating point, not geometry, so it cannot
//! determine the derivatives across it however well its fit's columns condition.

use super::samples;

/// Below this ratio of the smallest to the largest spread of a stencil along its principal
/// axes, the stencil is flat: its extent across is round-off (of cell centres computed in
/// floating point), not geometry.
const FLAT: f64 = 1e-7;

/// Whether the stencil of the samples `idx` around `query` (in the frame's `dim` local
/// coordinates) is flat: the smallest spread along the principal axes of its offsets (the
/// eigenvalues of their second moments) below [`FLAT`] of the largest.
#[inline]
pub(super) fn flat_stencil(
    s: &samples::Samples,
    dim: usize,
    query: &[f64; 3],
    idx: &[usize],
) -> bool {
    let scale = idx
        .iter()
        .map(|&j| dist2(&s.pos[j], query))
        .fold(0.0, f64::max)
        .sqrt();
    if !(scale > 0.0 && scale.is_finite()) {
        return false;
    }
    let mut c = nalgebra::Matrix3::<f64>::zeros();
    for &j in idx {
        let mut d = [0.0; 3];
        for (a, da) in d.iter_mut().enumerate().take(dim) {
            *da = (s.pos[j][a] - query[a]) / scale;
        }
        c += nalgebra::Vector3::from(d) * nalgebra::RowVector3::from(d);
    }
    // The smallest eigenvalue is at least det / λ_max^(dim − 1), and λ_max at most the
    // trace: where det / trace^dim is far above FLAT² (and above its round-off), the
    // stencil is not flat without the eigenvalues (most stencils; a tenth of a fit's time).
    let (tr, det) = match dim {
        3 => (c.trace(), c.determinant()),
        2 => (
            c[(0, 0)] + c[(1, 1)],
            c[(0, 0)] * c[(1, 1)] - c[(0, 1)] * c[(1, 0)],
        ),
        _ => (f64::NAN, f64::NAN),
    };
    if det >= 1e-12 * tr.powi(dim as i32) {
        return false;
    }
    let mut ev: [f64; 3] = nalgebra::SymmetricEigen::new(c).eigenvalues.into();
    ev.sort_by(|a, b| b.total_cmp(a));
    let (big, small) = (ev[0].max(0.0).sqrt(), ev[dim - 1].max(0.0).sqrt());
    small < FLAT * big || small.is_nan()
}

#[inline]
pub(super) fn dist2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    (0..3).map(|d| (a[d] - b[d]) * (a[d] - b[d])).sum()
}
