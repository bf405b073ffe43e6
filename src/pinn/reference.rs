//! Reference solutions to check a trained network against: the viscous Burgers equation
//! by the Cole–Hopf transform, evaluated by Gauss–Hermite quadrature.
//!
//! The problem is the benchmark of Raissi, Perdikaris and Karniadakis (2019), after
//! Basdevant et al. (1986):
//!
//! ```text
//! u_t + u u_x = ν u_xx,   x ∈ [−1, 1],   u(0, x) = −sin(πx),   u(t, ±1) = 0.
//! ```
//!
//! The Cole–Hopf transform `u = −2ν φ_x / φ` turns it into the heat equation `φ_t = ν
//! φ_xx` with `φ(0, y) = f(y) = exp(−cos(πy) / (2πν))`, solved by the heat kernel:
//!
//! ```text
//! u(x, t) = − ∫ sin(π(x − η)) f(x − η) exp(−η²/(4νt)) dη / ∫ f(x − η) exp(−η²/(4νt)) dη.
//! ```
//!
//! The initial value is odd and 2-periodic, so the solution on the line is too, and it
//! vanishes at `x = ±1`: the boundary conditions hold without being imposed. With `η =
//! √(4νt)·z` both integrals have the weight `exp(−z²)` of Gauss–Hermite quadrature (how
//! Raissi's `burgers_shock.mat` was made). For `ν = 0.01/π` the factor `1/(2πν)` is 50, so
//! `f` spans `e^±50`: every term is summed relative to the largest exponent
//! (log-sum-exp), with the weights kept as logarithms (the outer weights underflow f64
//! long before their terms stop mattering).

use std::collections::HashMap;
use std::f64::consts::PI;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;

use crate::error::{Error, Result};

/// The Gauss–Hermite nodes [`burgers_cole_hopf`] uses.
///
/// Measured for `ν = 0.01/π` as the largest difference from a 640-node rule over 802
/// points `x` in `[−1, 1]` (half of them within 0.01 of the shock): at `t = 1`, 48 nodes
/// leave 5e-7, 64 nodes 2e-10, 80 nodes 1e-13, and 96 or more agree to rounding (4e-15);
/// at `t = 2` (twice the benchmark's span) 96 nodes leave 2e-10, 128 nodes 7e-14, 160
/// nodes rounding. 160 nodes are converged to rounding for `t ≤ 2`; later times or
/// smaller viscosities (narrower peaks of `exp(−cos(πy)/(2πν))` under a wider kernel) need
/// more, through [`burgers_cole_hopf_nodes`]. `tests/it/reference.rs` repeats the
/// measurement.
pub const BURGERS_NODES: usize = 160;

/// The most Gauss–Hermite nodes [`gauss_hermite`] computes: an eigenproblem of this size
/// takes about 3 s (160 nodes take 3 ms, 640 nodes 0.13 s).
pub const MAX_HERMITE_NODES: usize = 2048;

/// An `n`-point Gauss–Hermite rule: `∫ g(z) e^(−z²) dz ≈ Σ wᵢ g(zᵢ)`, exact for
/// polynomials `g` of degree below `2n`.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussHermite {
    /// The nodes `zᵢ`, increasing and symmetric about 0 (`z[n−1−i] = −z[i]` exactly).
    pub nodes: Vec<f64>,
    /// The natural logarithms of the weights, `ln wᵢ` (the outer weights of large rules
    /// are below the smallest f64).
    pub ln_weights: Vec<f64>,
}

/// The `n`-point Gauss–Hermite rule, computed once per `n` and cached.
///
/// The nodes are the eigenvalues of the Jacobi matrix of the Hermite polynomials (Golub
/// and Welsch: zero diagonal, off-diagonal `√(k/2)`), made exactly symmetric and polished
/// by Newton steps on the orthonormal Hermite polynomial `pₙ`; the weights are `wᵢ = 1 /
/// (n pₙ₋₁(zᵢ)²)`, whose relative accuracy does not degrade for the outer nodes as the
/// eigenvector formula's does.
///
/// # Errors
/// [`Error::Config`] (setting `burgers.nodes`) for `n` outside `1..=MAX_HERMITE_NODES`.
pub fn gauss_hermite(n: usize) -> Result<Arc<GaussHermite>> {
    if n == 0 || n > MAX_HERMITE_NODES {
        return Err(Error::config(
            "burgers.nodes",
            format!(
                "the number of Gauss–Hermite nodes must lie in 1..={MAX_HERMITE_NODES}, got {n}"
            ),
        ));
    }
    static CACHE: OnceLock<Mutex<HashMap<usize, Arc<GaussHermite>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(r) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&n) {
        return Ok(Arc::clone(r));
    }
    // Computed outside the lock: two threads may both compute a rule, with one result.
    let rule = Arc::new(compute_gauss_hermite(n));
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    Ok(Arc::clone(map.entry(n).or_insert(rule)))
}

/// `(ln |p̃ₙ₋₁|, p̃ₙ / p̃ₙ₋₁)` at `z` for the orthonormal Hermite polynomials `pₖ = π^(−1/4)
/// p̃ₖ`, by the three-term recurrence `p̃ₖ₊₁ = √(2/(k+1)) z p̃ₖ − √(k/(k+1)) p̃ₖ₋₁` from
/// `p̃₀ = 1`, rescaled as it goes (the values reach `e^(z²/2)`, beyond f64 for large `n`).
fn hermite_pair(n: usize, z: f64) -> (f64, f64) {
    let (mut prev, mut cur, mut ln_scale) = (0.0_f64, 1.0_f64, 0.0_f64);
    for k in 0..n {
        let kf = k as f64;
        let next = (2.0 / (kf + 1.0)).sqrt() * z * cur - (kf / (kf + 1.0)).sqrt() * prev;
        prev = cur;
        cur = next;
        if cur.abs() > 1e150 {
            prev /= 1e150;
            cur /= 1e150;
            ln_scale += 150.0 * std::f64::consts::LN_10;
        }
    }
    // prev = p̃ₙ₋₁ (times e^−ln_scale), cur = p̃ₙ.
    (prev.abs().ln() + ln_scale, cur / prev)
}

fn compute_gauss_hermite(n: usize) -> GaussHermite {
    let jacobi = nalgebra::DMatrix::from_fn(n, n, |i, j| {
        if i.abs_diff(j) == 1 {
            (i.max(j) as f64 / 2.0).sqrt()
        } else {
            0.0
        }
    });
    let mut z: Vec<f64> = jacobi.symmetric_eigenvalues().iter().copied().collect();
    z.sort_by(f64::total_cmp);
    // Exactly symmetric: the mean of the mirrored pair, 0 in the middle of an odd rule.
    for i in 0..n / 2 {
        let a = 0.5 * (z[n - 1 - i] - z[i]);
        z[i] = -a;
        z[n - 1 - i] = a;
    }
    if n % 2 == 1 {
        z[n / 2] = 0.0;
    }
    let sqrt_2n = (2.0 * n as f64).sqrt();
    let mut ln_w = vec![0.0; n];
    for i in n / 2..n {
        let zi = &mut z[i];
        // Newton on pₙ, pₙ' = √(2n) pₙ₋₁: the eigenvalues are within a few ulps of
        // ‖J‖ ≈ √(2n), so two steps reach the root to rounding.
        if *zi != 0.0 {
            for _ in 0..3 {
                let (_, ratio) = hermite_pair(n, *zi);
                *zi -= ratio / sqrt_2n;
            }
        }
        let (ln_p, _) = hermite_pair(n, *zi);
        // wᵢ = 1/(n pₙ₋₁²), pₙ₋₁ = π^(−1/4) p̃ₙ₋₁.
        ln_w[i] = -(n as f64).ln() - 2.0 * ln_p + 0.5 * PI.ln();
    }
    for i in 0..n / 2 {
        z[i] = -z[n - 1 - i];
        ln_w[i] = ln_w[n - 1 - i];
    }
    GaussHermite {
        nodes: z,
        ln_weights: ln_w,
    }
}

/// Checks the arguments of the Burgers reference.
fn check(x: f64, t: f64, nu: f64) -> Result<()> {
    if !x.is_finite() {
        return Err(Error::config(
            "burgers.x",
            format!("x must be finite, got {x}"),
        ));
    }
    if !(t.is_finite() && t >= 0.0) {
        return Err(Error::config(
            "burgers.t",
            format!("t must be finite and at least 0, got {t}"),
        ));
    }
    if !(nu.is_finite() && nu > 0.0) {
        return Err(Error::config(
            "burgers.nu",
            format!("the viscosity must be finite and positive, got {nu}"),
        ));
    }
    if !(4.0 * nu * t).is_finite() || !(1.0 / (2.0 * PI * nu)).is_finite() {
        return Err(Error::config(
            "burgers.nu",
            format!("ν = {nu} at t = {t} overflows the quadrature's scales"),
        ));
    }
    Ok(())
}

/// `(u, ∂u/∂x)` by the `rule`, for checked arguments with `t > 0`.
fn cole_hopf(x: f64, t: f64, nu: f64, rule: &GaussHermite) -> (f64, f64) {
    let c = (4.0 * nu * t).sqrt();
    let k = 1.0 / (2.0 * PI * nu);
    // Exponents ln wᵢ + g(yᵢ), g(y) = −cos(πy)/(2πν), at yᵢ = x − c zᵢ.
    let terms: Vec<(f64, f64, f64)> = rule
        .nodes
        .iter()
        .zip(&rule.ln_weights)
        .map(|(&z, &lw)| {
            let (s, co) = (PI * (x - c * z)).sin_cos();
            (lw - k * co, s, co)
        })
        .collect();
    let top = terms.iter().map(|e| e.0).fold(f64::NEG_INFINITY, f64::max);
    // Sums of aᵢ = e^(eᵢ − max) times 1, sin, sin² and cos.
    let (mut d, mut s1, mut s2, mut c1) = (0.0, 0.0, 0.0, 0.0);
    for &(e, s, co) in &terms {
        let a = (e - top).exp();
        d += a;
        s1 += a * s;
        s2 += a * s * s;
        c1 += a * co;
    }
    // u = −N/D with N = Σ a sin, D = Σ a. ∂g/∂x = sin/(2ν), ∂sin/∂x = π cos, so
    // ∂N/∂x = Σ a (π cos + sin²/(2ν)) and ∂D/∂x = Σ a sin/(2ν):
    // u_x = −(N'/D) + (N/D)(D'/D) = −π⟨cos⟩ − (⟨sin²⟩ − ⟨sin⟩²)/(2ν).
    let (m1, m2, mc) = (s1 / d, s2 / d, c1 / d);
    (-m1, -PI * mc - (m2 - m1 * m1) / (2.0 * nu))
}

/// `(u, ∂u/∂x)` of the Burgers reference with an `nodes`-point rule.
fn burgers(x: f64, t: f64, nu: f64, nodes: usize) -> Result<(f64, f64)> {
    check(x, t, nu)?;
    let rule = gauss_hermite(nodes)?;
    if t == 0.0 {
        return Ok((-(PI * x).sin(), -PI * (PI * x).cos()));
    }
    Ok(cole_hopf(x, t, nu, &rule))
}

/// The viscous Burgers solution `u(x, t)` of Raissi et al.'s benchmark (`u(0, x) =
/// −sin(πx)` on `[−1, 1]`, `u(t, ±1) = 0`; see the module docs) for the viscosity `nu`,
/// by the Cole–Hopf transform and [`BURGERS_NODES`]-point Gauss–Hermite quadrature. At `t
/// = 0` it is `−sin(πx)` exactly. Outside `[−1, 1]` it is the odd, 2-periodic continuation.
///
/// Accuracy: within a few 1e-15 of the converged quadrature for `ν = 0.01/π`, `t ≤ 2`,
/// everywhere including the shock at `x = 0`; see [`BURGERS_NODES`] for other regimes.
/// Its steepest slope, at `x = 0`, `t = 1.6037/π`, is −152.00516 (Basdevant et al.'s
/// value, reproduced to all the digits they give).
///
/// # Errors
/// [`Error::Config`] for a non-finite `x`, `t` or `nu`, `t < 0`, `nu ≤ 0`, or scales that
/// overflow (`4νt` or `1/(2πν)` beyond f64).
///
/// # Example
/// ```
/// use nabla::pinn::burgers_cole_hopf;
/// let nu = 0.01 / std::f64::consts::PI;
/// // The shock forms at x = 0, where u vanishes by symmetry.
/// assert!(burgers_cole_hopf(0.0, 1.0, nu).unwrap().abs() < 1e-12);
/// // Left of it the flow still moves right, and the boundaries stay at rest.
/// assert!(burgers_cole_hopf(-0.5, 0.5, nu).unwrap() > 0.5);
/// assert!(burgers_cole_hopf(1.0, 0.75, nu).unwrap().abs() < 1e-12);
/// assert!(burgers_cole_hopf(0.5, -1.0, nu).is_err());
/// ```
pub fn burgers_cole_hopf(x: f64, t: f64, nu: f64) -> Result<f64> {
    Ok(burgers(x, t, nu, BURGERS_NODES)?.0)
}

/// [`burgers_cole_hopf`] with a given number of Gauss–Hermite nodes (for measuring the
/// convergence, or for regimes that need more than [`BURGERS_NODES`]).
///
/// # Errors
/// As [`burgers_cole_hopf`], and [`Error::Config`] for `nodes` outside `1..=MAX_HERMITE_NODES`.
pub fn burgers_cole_hopf_nodes(x: f64, t: f64, nu: f64, nodes: usize) -> Result<f64> {
    Ok(burgers(x, t, nu, nodes)?.0)
}

/// The slope `∂u/∂x` of [`burgers_cole_hopf`]'s solution, by differentiating the two
/// integrals under the integral sign (the same quadrature, no finite differences).
///
/// # Errors
/// As [`burgers_cole_hopf`].
pub fn burgers_cole_hopf_dx(x: f64, t: f64, nu: f64) -> Result<f64> {
    Ok(burgers(x, t, nu, BURGERS_NODES)?.1)
}

/// [`burgers_cole_hopf`] at the points `(x[i], t[i])`, in parallel.
///
/// # Errors
/// As [`burgers_cole_hopf`] for the first bad point, and [`Error::Config`] (setting
/// `burgers.t`) when `x` and `t` differ in length.
pub fn burgers_cole_hopf_batch(x: &[f64], t: &[f64], nu: f64) -> Result<Vec<f64>> {
    if x.len() != t.len() {
        return Err(Error::config(
            "burgers.t",
            format!("{} values of x and {} of t", x.len(), t.len()),
        ));
    }
    x.par_iter()
        .zip(t)
        .map(|(&x, &t)| burgers_cole_hopf(x, t, nu))
        .collect()
}
