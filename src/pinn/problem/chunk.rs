//! One chunk of one term: the network on the chunk's points, the derivatives its residual
//! asks for from one sweep of jets, the residual, its share of the term's mean square and
//! that share's gradient.

use std::cell::RefCell;

use super::residual::{At, Derivative};
use super::{Loss, Term};
use crate::autodiff::{self, GradOptions, Tape, Tensor, Var};
use crate::error::{Error, Result};
use crate::pinn::mlp::{Mlp, MlpVars};

thread_local! {
    /// One tape per worker thread, cleared and reused chunk after chunk.
    pub(super) static TAPE: RefCell<Tape> = RefCell::new(Tape::new());
}

/// The derivatives `wanted` of `out` with respect to `x`, from one sweep of jets that
/// carries only the second-order entries asked for (none at all when no derivative is).
pub(crate) fn derivatives<'t>(
    out: &[Var<'t>],
    x: &[Var<'t>],
    wanted: &[Derivative],
) -> Result<Vec<Var<'t>>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut entries: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut at_entry = Vec::with_capacity(wanted.len());
    for d in wanted {
        at_entry.push(d.entry().map(|e| {
            entries.iter().position(|f| *f == e).unwrap_or_else(|| {
                entries.push(e);
                entries.len() - 1
            })
        }));
    }
    // Only the outputs differentiated (their jets share the network's sweep).
    let mut used: Vec<usize> = wanted.iter().map(Derivative::output).collect();
    used.sort_unstable();
    used.dedup();
    let outs: Vec<Var<'t>> = used.iter().map(|&o| out[o]).collect();
    let jets = autodiff::jets_with(&outs, x, &entries)?;
    wanted
        .iter()
        .zip(at_entry)
        .map(|(d, e)| {
            let j = &jets[used.binary_search(&d.output()).map_err(|_| internal())?];
            Ok(match (d.normalized(), e) {
                (_, Some(e)) => j.second[e],
                (Derivative::Partial { wrt, .. }, None) => j.grad[wrt[0]],
                (Derivative::Laplacian { .. }, None) => return Err(internal()),
            })
        })
        .collect()
}

fn internal() -> Error {
    Error::Operator {
        op: "pinn".into(),
        message: "internal: a derivative without its jet".into(),
    }
}

/// The residual components of `term` at `points[..][s..e]` (with the data columns `data`,
/// empty for none) on `tape`, for the network recorded as `net` and the coefficients
/// `coefs`: the inputs are differentiable where the residual reads derivatives.
#[allow(clippy::too_many_arguments)]
pub(super) fn residuals<'t>(
    tape: &'t Tape,
    net: &MlpVars<'t>,
    term: &Term,
    points: &[Vec<f64>],
    data: &[Vec<f64>],
    coefs: &[Var<'t>],
    s: usize,
    e: usize,
) -> Result<Vec<Var<'t>>> {
    let n = e - s;
    let wanted = term.residual.derivatives();
    let differentiated = !wanted.is_empty();
    let x: Vec<Var<'t>> = points
        .iter()
        .map(|c| {
            if differentiated {
                tape.var_from_slice(n, 1, &c[s..e])
            } else {
                tape.constant_from_slice(n, 1, &c[s..e])
            }
        })
        .collect();
    let data: Vec<Var<'t>> = data
        .iter()
        .map(|c| tape.constant_from_slice(n, 1, &c[s..e]))
        .collect();
    let out = net.forward(&x);
    let ders = derivatives(&out, &x, &wanted)?;
    term.residual.residuals(&At {
        inputs: &x,
        outputs: &out,
        derivatives: &ders,
        coefficients: coefs,
        data: &data,
    })
}

/// Term `k`'s points `s..e` on `tape`: their share of the term's mean square, and when
/// `want_grad` its gradient (weighted by the term's weight) with respect to the
/// network's parameters and then the coefficients.
#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    tape: &Tape,
    loss: &Loss,
    mlp: &Mlp,
    coefficients: &[f64],
    k: usize,
    s: usize,
    e: usize,
    want_grad: bool,
) -> Result<(f64, Vec<f64>)> {
    let term: &Term = &loss.terms[k];
    let n = e - s;
    let net = mlp.on_tape(tape, want_grad);
    let coefs: Vec<Var<'_>> = coefficients
        .iter()
        .map(|&c| {
            if want_grad {
                tape.var(Tensor::scalar(c))
            } else {
                tape.constant(Tensor::scalar(c))
            }
        })
        .collect();
    let mut res = residuals(tape, &net, term, &term.points, &term.data, &coefs, s, e)?;
    if !term.partners.is_empty() {
        let other = residuals(tape, &net, term, &term.partners, &term.data, &coefs, s, e)?;
        res = res.into_iter().zip(other).map(|(a, b)| a - b).collect();
    }
    if res.is_empty() {
        return Err(Error::config(
            term.name.clone(),
            "the residual has no components",
        ));
    }
    if let Some(r) = res
        .iter()
        .find(|r| r.shape() != (n, 1) && r.shape() != (1, 1))
    {
        return Err(Error::config(
            term.name.clone(),
            format!(
                "a residual component of shape {:?}; expected a column of the {n} points \
                 (or a 1 × 1 constant)",
                r.shape()
            ),
        ));
    }
    let sq = res
        .iter()
        .map(|&r| {
            let r = if r.shape() == (n, 1) {
                r
            } else {
                // A constant residual (a condition that does not read the network):
                // broadcast to the points.
                r + tape.full(n, 1, 0.0)
            };
            (r * r).sum()
        })
        .reduce(|a, b| a + b)
        .expect("internal: at least one residual");
    tape.check()?;
    let mean = 1.0 / (term.len() * res.len()) as f64;
    let share = sq.item()? * mean;
    let mut grad = Vec::new();
    if want_grad {
        grad.reserve(mlp.num_params() + coefs.len());
        let mut wrt = net.params();
        wrt.extend_from_slice(&coefs);
        let l = sq.scale(term.weight * mean);
        let g = autodiff::grad(&[l], &wrt, &[], GradOptions::default().allow_unused())?;
        for v in g {
            v.with_values(|_, _, vals| grad.extend_from_slice(vals))?;
        }
    }
    Ok((share, grad))
}
