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

use nalgebra::{Matrix3, Vector3};

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
/// rotation dominates strain.
pub fn q_criterion(j: &Matrix3<f64>) -> f64 {
    0.5 * (rotation_rate(j).norm_squared() - strain_rate(j).norm_squared())
}

/// OpenFOAM's `Q` function object: `½(tr(∇u)² − tr(∇u·∇u))`, the second invariant of
/// the velocity gradient. It equals [`q_criterion`] plus `½(∇·u)²`, so the two agree only
/// for divergence-free fields.
pub fn q_openfoam(j: &Matrix3<f64>) -> f64 {
    0.5 * (j.trace().powi(2) - (j * j).trace())
}

/// λ2 (Jeong & Hussain 1995): the middle eigenvalue of `S² + Ω²` (symmetric, so real).
/// A vortex core is where λ2 < 0.
pub fn lambda2(j: &Matrix3<f64>) -> f64 {
    let s = strain_rate(j);
    let w = rotation_rate(j);
    let m = s * s + w * w;
    let mut e: [f64; 3] = m.symmetric_eigenvalues().into();
    e.sort_by(f64::total_cmp);
    e[1]
}

/// Swirling strength λci (Zhou et al. 1999): the imaginary part of the complex-conjugate
/// eigenvalue pair of J, and 0 where all eigenvalues are real.
pub fn swirling_strength(j: &Matrix3<f64>) -> f64 {
    j.complex_eigenvalues()
        .iter()
        .map(|e| e.im.abs())
        .fold(0.0, f64::max)
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
