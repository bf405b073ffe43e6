//! Differential operators as choices of cotangents on the core's vector-Jacobian products.
//!
//! Every function here works on one batch of points recorded on a [`Tape`]: the
//! coordinates are columns `x[0], x[1], …` (`N × 1` leaves) and a field is a list of
//! `N × 1` components (see [`crate::field::Field`]). The batch Jacobian is
//! block-diagonal — point p's outputs depend only on point p's coordinates — so the
//! cotangent `1` over all points yields every point's derivative in one backward pass.
//!
//! Index convention, stated once: the **Jacobian** is `J[i][j] = ∂uᵢ/∂xⱼ` (row i is the
//! gradient of component i). OpenFOAM's `grad(U)` is its transpose, `(∇U)ᵢⱼ = ∂uⱼ/∂xᵢ`;
//! [`crate::eval::Operator::Grad`] writes that one for vector fields, so arrays named
//! `grad(U)` mean what they mean in OpenFOAM.
//!
//! Costs are counted in backward passes over the batch; `d` is the number of coordinates
//! and `m` the number of components. Apart from [`grad`] and [`jacobian`], which take a
//! `create_graph` flag, every operator records its passes (create_graph), so its result
//! can be differentiated again: `div(curl F)`, or a PDE residual's gradient with respect
//! to network weights.
//!
//! ```
//! use nabla::autodiff::{Tape, Tensor};
//! use nabla::operators;
//! let tape = Tape::new();
//! let x = tape.var(Tensor::column(vec![0.5, 1.0]));
//! let y = tape.var(Tensor::column(vec![2.0, -1.0]));
//! let f = x * x * y; // f = x²y: ∇f = (2xy, x²), ∇²f = 2y
//! let g = operators::grad(f, &[x, y], true).unwrap();
//! assert_eq!(g[0].value().unwrap().as_slice(), &[2.0, -2.0]);
//! assert_eq!(g[1].value().unwrap().as_slice(), &[0.25, 1.0]);
//! let lap = operators::laplacian(f, &[x, y]).unwrap();
//! assert_eq!(lap.value().unwrap().as_slice(), &[4.0, -2.0]);
//! ```

pub mod flow;

use crate::autodiff::{self, GradOptions, Tape, Var};
use crate::error::{Error, Result};

fn options(create_graph: bool) -> GradOptions {
    GradOptions {
        retain_graph: Some(true),
        create_graph,
        allow_unused: true,
    }
}

fn ones<'t>(f: Var<'t>) -> Var<'t> {
    let (r, c) = f.shape();
    f.tape().full(r, c, 1.0)
}

fn tape_of<'t>(x: &[Var<'t>], op: &str) -> Result<&'t Tape> {
    x.first().map(|v| v.tape()).ok_or_else(|| Error::Operator {
        op: op.into(),
        message: "no coordinates given".into(),
    })
}

/// Gradient `∇f` of a scalar field: `[∂f/∂x₀, ∂f/∂x₁, …]`.
///
/// Contraction: cotangent `v = 1` over all points on `f`. Cost: 1 backward pass.
/// With `create_graph` the result can be differentiated again.
pub fn grad<'t>(f: Var<'t>, x: &[Var<'t>], create_graph: bool) -> Result<Vec<Var<'t>>> {
    tape_of(x, "grad")?;
    if f.cols() != 1 {
        return Err(Error::Operator {
            op: "grad".into(),
            message: format!(
                "needs a scalar component (N x 1), got shape {:?}",
                f.shape()
            ),
        });
    }
    autodiff::grad(&[f], x, &[ones(f)], options(create_graph))
}

/// Jacobian `J[i][j] = ∂uᵢ/∂xⱼ` of a field with components `u`.
///
/// Contraction: cotangent `eᵢ ⊗ 1` — the ones cotangent on component i — for each i.
/// Cost: `m` backward passes.
pub fn jacobian<'t>(u: &[Var<'t>], x: &[Var<'t>], create_graph: bool) -> Result<Vec<Vec<Var<'t>>>> {
    u.iter().map(|&ui| grad(ui, x, create_graph)).collect()
}

fn check_square(op: &str, m: usize, d: usize) -> Result<()> {
    if m != d {
        return Err(Error::Operator {
            op: op.into(),
            message: format!(
                "needs a field with as many components as coordinates, got {m} components in {d}-D"
            ),
        });
    }
    Ok(())
}

/// Divergence `∇·u = Σᵢ ∂uᵢ/∂xᵢ`: the trace of the Jacobian.
///
/// Contraction: for each i the ones cotangent on `uᵢ`, keeping only `∂/∂xᵢ` (the pass
/// skips every other coordinate). Cost: `m` backward passes (`m = d`).
pub fn div<'t>(u: &[Var<'t>], x: &[Var<'t>]) -> Result<Var<'t>> {
    check_square("div", u.len(), x.len())?;
    diagonal_sum("div", u, x)
}

/// `Σ_d ∂v_d/∂x_d`, one pass per d restricted to its own coordinate.
fn diagonal_sum<'t>(op: &str, v: &[Var<'t>], x: &[Var<'t>]) -> Result<Var<'t>> {
    if v.len() != x.len() {
        return Err(Error::Operator {
            op: op.into(),
            message: format!(
                "{} components for {} coordinates; expected as many",
                v.len(),
                x.len()
            ),
        });
    }
    let mut terms = v
        .iter()
        .zip(x)
        .map(|(&vd, &xd)| grad(vd, &[xd], true).map(|g| g[0]));
    let first = terms.next().ok_or_else(|| Error::Operator {
        op: op.into(),
        message: "no coordinates given".into(),
    })??;
    terms.try_fold(first, |acc, t| Ok(acc + t?))
}

/// Curl `∇×u` from the antisymmetric part of the Jacobian: three components in 3-D,
/// and in 2-D the scalar vorticity `∂v/∂x − ∂u/∂y`.
///
/// Contraction: the ones cotangent on each component, keeping the off-diagonal
/// derivatives. Cost: `m` backward passes.
pub fn curl<'t>(u: &[Var<'t>], x: &[Var<'t>]) -> Result<Vec<Var<'t>>> {
    check_square("curl", u.len(), x.len())?;
    match x.len() {
        2 => {
            let dv_dx = grad(u[1], &[x[0]], true)?[0];
            let du_dy = grad(u[0], &[x[1]], true)?[0];
            Ok(vec![dv_dx - du_dy])
        }
        3 => {
            let gu = grad(u[0], &[x[1], x[2]], true)?; // ∂u/∂y, ∂u/∂z
            let gv = grad(u[1], &[x[0], x[2]], true)?; // ∂v/∂x, ∂v/∂z
            let gw = grad(u[2], &[x[0], x[1]], true)?; // ∂w/∂x, ∂w/∂y
            Ok(vec![gw[1] - gv[1], gu[1] - gw[0], gv[0] - gu[0]])
        }
        d => Err(Error::Operator {
            op: "curl".into(),
            message: format!("is defined in 2-D and 3-D, not {d}-D"),
        }),
    }
}

/// Laplacian `∇²f = Σ_d ∂²f/∂x_d²` of a scalar field: the trace of the Hessian.
///
/// Contraction: `g = ∇f` with create_graph (1 pass), then for each d the ones cotangent
/// on `g_d`, keeping only `∂/∂x_d`. Cost: `1 + d` backward passes. (The ones cotangent on
/// all of `g` would give the Hessian's row sums — the Laplacian only when the Hessian is
/// diagonal.)
pub fn laplacian<'t>(f: Var<'t>, x: &[Var<'t>]) -> Result<Var<'t>> {
    let g = grad(f, x, true)?;
    laplacian_from_grad(&g, x)
}

/// The Laplacian from a gradient recorded with create_graph (`d` passes): lets callers
/// that already have `∇f` (a Jacobian row) share its pass.
pub fn laplacian_from_grad<'t>(g: &[Var<'t>], x: &[Var<'t>]) -> Result<Var<'t>> {
    diagonal_sum("lap", g, x)
}

/// Vector Laplacian `∇²u = (∇²u₀, ∇²u₁, …)`, componentwise in Cartesian coordinates.
/// Cost: `m (1 + d)` backward passes.
pub fn vector_laplacian<'t>(u: &[Var<'t>], x: &[Var<'t>]) -> Result<Vec<Var<'t>>> {
    u.iter().map(|&ui| laplacian(ui, x)).collect()
}

/// Hessian `H[a][b] = ∂²f/∂x_a∂x_b` of a scalar field.
///
/// Contraction: `g = ∇f` with create_graph, then the ones cotangent on each `g_a`.
/// Cost: `1 + d` backward passes (the same as the Laplacian, which is its trace).
pub fn hessian<'t>(f: Var<'t>, x: &[Var<'t>]) -> Result<Vec<Vec<Var<'t>>>> {
    let g = grad(f, x, true)?;
    g.iter().map(|&gd| grad(gd, x, true)).collect()
}

/// Hessian-vector product `H·w = ∇(∇f · w)` for a direction field `w` (one `N × 1` or
/// `1 × 1` column per coordinate).
///
/// Contraction: `g = ∇f` with create_graph, then the ones cotangent on `g · w`.
/// Cost: 2 backward passes, whatever `d` is.
pub fn hvp<'t>(f: Var<'t>, x: &[Var<'t>], w: &[Var<'t>]) -> Result<Vec<Var<'t>>> {
    if w.len() != x.len() {
        return Err(Error::Operator {
            op: "hvp".into(),
            message: format!(
                "direction has {} components for {} coordinates",
                w.len(),
                x.len()
            ),
        });
    }
    let g = grad(f, x, true)?;
    let gw = g
        .iter()
        .zip(w)
        .map(|(&a, &b)| a * b)
        .reduce(|a, b| a + b)
        .expect("internal: d > 0");
    let gw = gw.expand(f.rows(), 1);
    grad(gw, x, true)
}

/// Convective term `(u·∇)u`, component i: `Σⱼ uⱼ ∂uᵢ/∂xⱼ` — the Jacobian applied to u.
/// Cost: `m` backward passes.
pub fn advection<'t>(u: &[Var<'t>], x: &[Var<'t>]) -> Result<Vec<Var<'t>>> {
    check_square("advection", u.len(), x.len())?;
    let j = jacobian(u, x, true)?;
    Ok(j.iter()
        .map(|row| {
            row.iter()
                .zip(u)
                .map(|(&dj, &uj)| uj * dj)
                .reduce(|a, b| a + b)
                .expect("internal: d > 0")
        })
        .collect())
}
