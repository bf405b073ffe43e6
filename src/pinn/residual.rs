//! PDE residuals written with the operators, so that their derivatives with respect to
//! network parameters come from differentiating the operators' recorded passes again.

use crate::autodiff::Var;
use crate::error::{Error, Result};
use crate::operators;

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
    let lap = operators::laplacian(u, x)?;
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
    let (vel, p) = (&out[..d], out[d]);
    let jac = operators::jacobian(vel, x, true)?; // jac[i][j] = ∂uᵢ/∂xⱼ
    let grad_p = operators::grad(p, x, true)?;
    let mut res = Vec::with_capacity(d + 1);
    for i in 0..d {
        let adv = (0..d)
            .map(|j| vel[j] * jac[i][j])
            .reduce(|a, b| a + b)
            .expect("internal: d > 0");
        let lap = operators::laplacian_from_grad(&jac[i], x)?;
        res.push(adv + grad_p[i] - lap.scale(nu));
    }
    let div = (1..d).fold(jac[0][0], |acc, i| acc + jac[i][i]);
    res.push(div);
    Ok(res)
}
