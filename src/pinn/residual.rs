//! PDE residuals written with the operators, so that their derivatives with respect to
//! network parameters come from differentiating the operators' recorded passes again.

use crate::autodiff::{self, SecondOrder, Var};
use crate::error::{Error, Result};
use crate::eval::Derivatives;
use crate::operators;

/// The first derivatives and Laplacians of the network outputs that PDE residuals use.
struct Derivs<'t> {
    /// `jac[i][j] = ∂outᵢ/∂xⱼ`.
    jac: Vec<Vec<Var<'t>>>,
    /// `lap[i] = ∇²outᵢ` for the first `lap.len()` outputs.
    lap: Vec<Var<'t>>,
}

/// Every first derivative of `out` and the Laplacians of its first `n_lap` components,
/// by `plan`: forward jets (`Auto` and `Jets`: one sweep), reverse-over-reverse, or the
/// Jacobian by reverse mode with the Laplacians as forward tangents of it.
fn derivatives<'t>(
    out: &[Var<'t>],
    x: &[Var<'t>],
    n_lap: usize,
    plan: Derivatives,
) -> Result<Derivs<'t>> {
    let d = x.len();
    match plan {
        Derivatives::Auto | Derivatives::Jets => {
            let second = if n_lap > 0 {
                SecondOrder::Laplacian
            } else {
                SecondOrder::None
            };
            let jets = autodiff::jets(out, x, second)?;
            Ok(Derivs {
                lap: jets[..n_lap].iter().map(|j| j.second[0]).collect(),
                jac: jets.into_iter().map(|j| j.grad).collect(),
            })
        }
        Derivatives::Reverse => {
            let jac = operators::jacobian(out, x, true)?;
            let lap = jac[..n_lap]
                .iter()
                .map(|row| operators::laplacian_from_grad(row, x))
                .collect::<Result<_>>()?;
            Ok(Derivs { jac, lap })
        }
        Derivatives::ForwardOverReverse => {
            let jac = operators::jacobian(out, x, true)?;
            let mut lap = Vec::with_capacity(n_lap);
            for row in &jac[..n_lap] {
                let mut sum: Option<Var<'t>> = None;
                for a in 0..d {
                    let h = autodiff::jvp_along(&row[a..=a], x, a)?[0];
                    sum = Some(sum.map_or(h, |s| s + h));
                }
                lap.push(sum.expect("internal: d > 0"));
            }
            Ok(Derivs { jac, lap })
        }
    }
}

/// Poisson residual `−∇²u − f` at every point of the batch.
///
/// Cost: the Laplacian's `1 + d` backward passes, recorded (create_graph) so that the
/// residual can be differentiated with respect to the network's parameters.
///
/// ```
/// use nabla::autodiff::{Tape, Tensor};
/// use nabla::pinn::poisson_residual;
/// let tape = Tape::new();
/// let x = tape.var(Tensor::column(vec![0.5, 1.0]));
/// let y = tape.var(Tensor::column(vec![2.0, -1.0]));
/// let u = x * x * y; // ∇²u = 2y, so with f = −2y the residual vanishes
/// let f = y.scale(-2.0);
/// let r = poisson_residual(u, &[x, y], f).unwrap();
/// assert_eq!(r.value().unwrap().as_slice(), &[0.0, 0.0]);
/// ```
pub fn poisson_residual<'t>(u: Var<'t>, x: &[Var<'t>], f: Var<'t>) -> Result<Var<'t>> {
    poisson_residual_by(u, x, f, Derivatives::Reverse)
}

/// [`poisson_residual`] with the Laplacian computed by `plan`: `Auto` and `Jets` use the
/// forward Laplacian (one sweep of jets, `(u, ∇u, ∇²u)`, recorded), `Reverse` the
/// reverse-over-reverse passes, `ForwardOverReverse` forward tangents of the gradient.
/// The plans agree to round-off.
///
/// # Errors
/// Errors of the autodiff core.
pub fn poisson_residual_by<'t>(
    u: Var<'t>,
    x: &[Var<'t>],
    f: Var<'t>,
    plan: Derivatives,
) -> Result<Var<'t>> {
    let lap = derivatives(&[u], x, 1, plan)?.lap[0];
    Ok(-lap - f)
}

/// Steady incompressible Navier–Stokes residuals of `out = (u, v, [w], p)` over `d = 2`
/// or `3` coordinates: the `d` momentum components `(u·∇)u + ∇p − ν∇²u` followed by the
/// continuity residual `∇·u`.
///
/// Cost: the velocity Jacobian (`d` passes, giving the advection and the divergence),
/// `d` more passes per component for the Laplacians (sharing the Jacobian's passes as
/// their first), and 1 for `∇p`: `d + d² + 1` backward passes, all recorded.
///
/// # Errors
/// [`Error::Operator`] if `out` does not hold `d + 1` components.
pub fn navier_stokes_residuals<'t>(
    out: &[Var<'t>],
    x: &[Var<'t>],
    nu: f64,
) -> Result<Vec<Var<'t>>> {
    navier_stokes_residuals_by(out, x, nu, Derivatives::Reverse)
}

/// [`navier_stokes_residuals`] with the derivatives computed by `plan`. With `Auto` or
/// `Jets`, one forward sweep of jets over the network's graph gives every first
/// derivative of every output and the velocity Laplacians (the forward Laplacian): far
/// fewer recorded nodes than the `d + d² + 1` backward passes of `Reverse`, and reverse
/// mode over the jets gives the parameter gradient.
///
/// # Errors
/// As [`navier_stokes_residuals`].
pub fn navier_stokes_residuals_by<'t>(
    out: &[Var<'t>],
    x: &[Var<'t>],
    nu: f64,
    plan: Derivatives,
) -> Result<Vec<Var<'t>>> {
    let d = x.len();
    if out.len() != d + 1 || !(2..=3).contains(&d) {
        return Err(Error::Operator {
            op: "navier_stokes".into(),
            message: format!(
                "needs velocity and pressure (d + 1 components) over 2 or 3 coordinates, got {} components over {d}",
                out.len()
            ),
        });
    }
    let vel = &out[..d];
    let Derivs { jac, lap } = derivatives(out, x, d, plan)?; // jac[i][j] = ∂outᵢ/∂xⱼ
    let grad_p = &jac[d];
    let mut res = Vec::with_capacity(d + 1);
    for i in 0..d {
        let adv = (0..d)
            .map(|j| vel[j] * jac[i][j])
            .reduce(|a, b| a + b)
            .expect("internal: d > 0");
        res.push(adv + grad_p[i] - lap[i].scale(nu));
    }
    let div = (1..d).fold(jac[0][0], |acc, i| acc + jac[i][i]);
    res.push(div);
    Ok(res)
}
