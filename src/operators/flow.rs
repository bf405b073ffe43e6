//! Flow quantities of a velocity field, pointwise functions of its Jacobian
//! `J[i][j] = ∂uᵢ/∂xⱼ` (which the backward passes deliver, `d` of them for `d`
//! components). A 2-D Jacobian is embedded in 3-D with zero third row and column.
//!
//! ```
//! use nabla::operators::flow;
//! use nalgebra::Matrix3;
//! // Solid-body rotation u = (−y, x, 0): pure rotation, Q = 1, λ2 = −1.
//! let j = Matrix3::new(0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0);
//! assert_eq!(flow::q_criterion(&j), 1.0);
//! assert_eq!(flow::lambda2(&j), -1.0);
//! assert_eq!(flow::vorticity(&j).z, 2.0);
//! ```

use nalgebra::{Matrix3, Schur, SymmetricEigen, Vector3};

/// Entries above this size go through the eigen solvers with a bounded number of
/// iterations: their squares could overflow inside the iteration, which without a bound
/// never stops. Below it, the unbounded solvers are used as before (bit for bit the same
/// results).
const LARGE: f64 = 1e100;

/// Iteration bound of the eigen solvers for large entries; a 3×3 matrix that has not
/// converged by then never will (NaN is returned).
const MAX_ITERATIONS: usize = 1000;

/// Whether every entry is finite, and the largest magnitude.
fn finite_max(m: &Matrix3<f64>) -> Option<f64> {
    m.iter()
        .try_fold(0.0f64, |acc, &x| x.is_finite().then(|| acc.max(x.abs())))
}

/// Strain-rate tensor `S = ½(J + Jᵀ)`.
pub fn strain_rate(j: &Matrix3<f64>) -> Matrix3<f64> {
    (j + j.transpose()) * 0.5
}

/// Rotation-rate (spin) tensor `Ω = ½(J − Jᵀ)`.
pub fn rotation_rate(j: &Matrix3<f64>) -> Matrix3<f64> {
    (j - j.transpose()) * 0.5
}

/// Vorticity `ω = ∇×u = (J₂₁ − J₁₂, J₀₂ − J₂₀, J₁₀ − J₀₁)`.
pub fn vorticity(j: &Matrix3<f64>) -> Vector3<f64> {
    Vector3::new(
        j[(2, 1)] - j[(1, 2)],
        j[(0, 2)] - j[(2, 0)],
        j[(1, 0)] - j[(0, 1)],
    )
}

/// Q-criterion `½(‖Ω‖² − ‖S‖²)` (Frobenius norms; Hunt, Wray & Moin 1988). Positive where
/// rotation dominates strain. NaN where `J` has a NaN or infinite entry.
pub fn q_criterion(j: &Matrix3<f64>) -> f64 {
    if finite_max(j).is_none() {
        return f64::NAN;
    }
    0.5 * (rotation_rate(j).norm_squared() - strain_rate(j).norm_squared())
}

/// OpenFOAM's `Q` function object: `½(tr(∇u)² − tr(∇u·∇u))`, the second invariant of
/// the velocity gradient. It equals [`q_criterion`] plus `½(∇·u)²`, so the two agree only
/// for divergence-free fields. NaN where `J` has a NaN or infinite entry.
pub fn q_openfoam(j: &Matrix3<f64>) -> f64 {
    if finite_max(j).is_none() {
        return f64::NAN;
    }
    0.5 * (j.trace().powi(2) - (j * j).trace())
}

/// λ2 (Jeong & Hussain 1995): the middle eigenvalue of `S² + Ω²` (symmetric, so real).
/// A vortex core is where λ2 < 0. NaN where `J` (or `S² + Ω²`) has a NaN or infinite
/// entry: the eigen solver never runs on such a matrix (it would not return).
pub fn lambda2(j: &Matrix3<f64>) -> f64 {
    let s = strain_rate(j);
    let w = rotation_rate(j);
    let m = s * s + w * w;
    let (Some(_), Some(max)) = (finite_max(j), finite_max(&m)) else {
        return f64::NAN;
    };
    let values = if max <= LARGE {
        m.symmetric_eigenvalues()
    } else {
        match SymmetricEigen::try_new(m, f64::EPSILON, MAX_ITERATIONS) {
            Some(e) => e.eigenvalues,
            None => return f64::NAN,
        }
    };
    let mut e: [f64; 3] = values.into();
    e.sort_by(f64::total_cmp);
    e[1]
}

/// Swirling strength λci (Zhou et al. 1999): the imaginary part of the complex-conjugate
/// eigenvalue pair of J, and 0 where all eigenvalues are real. NaN where `J` has a NaN or
/// infinite entry: the complex eigenvalue solve never runs on such a matrix (it would not
/// return).
pub fn swirling_strength(j: &Matrix3<f64>) -> f64 {
    let Some(max) = finite_max(j) else {
        return f64::NAN;
    };
    let values = if max <= LARGE {
        j.complex_eigenvalues()
    } else {
        match Schur::try_new(*j, f64::EPSILON, MAX_ITERATIONS) {
            Some(s) => s.complex_eigenvalues(),
            None => return f64::NAN,
        }
    };
    values.iter().map(|e| e.im.abs()).fold(0.0, f64::max)
}

/// Helicity density `u·ω`.
pub fn helicity(u: &Vector3<f64>, j: &Matrix3<f64>) -> f64 {
    u.dot(&vorticity(j))
}

/// Enstrophy density `½|ω|²`.
pub fn enstrophy(j: &Matrix3<f64>) -> f64 {
    0.5 * vorticity(j).norm_squared()
}

/// Convective term `(u·∇)u = J·u`.
pub fn advection(u: &Vector3<f64>, j: &Matrix3<f64>) -> Vector3<f64> {
    j * u
}
