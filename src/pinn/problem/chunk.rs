//! One chunk of one term: the network on the chunk's points with the derivatives its
//! residual asks for (one fused pass, [`crate::pinn::jets`]), the residual on a tape, its
//! share of the term's mean square and that share's gradient (reverse mode over the
//! residual, then the fused backward pass through the network).

use std::cell::RefCell;

use super::residual::{At, Derivative};
use super::{Loss, Term};
use crate::autodiff::{self, GradOptions, Tape, Tensor, Var};
use crate::error::{Error, Result};
use crate::pinn::jets::{self, Jets, Plan};
use crate::pinn::mlp::Mlp;

thread_local! {
    /// One tape per worker thread, cleared and reused chunk after chunk.
    pub(super) static TAPE: RefCell<Tape> = RefCell::new(Tape::new());
}

/// The network's outputs and derivatives at one batch of points as leaves of a tape,
/// from one fused pass ([`jets::forward`]), and where each leaf's cotangent goes.
pub(super) struct Recorded<'t> {
    plan: Plan,
    jets: Jets,
    /// Each leaf and the offset of its block in `jets.out`.
    leaves: Vec<(Var<'t>, usize)>,
}

impl Recorded<'_> {
    /// Adds to `grad` (the network's parameters) the gradient of a function of the leaves
    /// whose cotangents `cot` are (in the order of the leaves).
    fn backward(&self, mlp: &Mlp, cot: &[Var<'_>], grad: &mut [f64]) -> Result<()> {
        let mut g = vec![0.0; self.jets.out.len()];
        for ((_, at), c) in self.leaves.iter().zip(cot) {
            c.with_values(|_, _, vals| {
                g[*at..*at + vals.len()]
                    .iter_mut()
                    .zip(vals)
                    .for_each(|(t, v)| *t += v)
            })?;
        }
        jets::backward(mlp, &self.plan, &self.jets, g, grad);
        Ok(())
    }
}

/// The residual components of each of `terms` (terms on the same points) at their
/// points `s..e`, or at their partners' when `partners`, on `tape`, for the network `mlp`
/// and the coefficients `coefs`: the network's outputs and the derivatives the residuals
/// read come from one fused pass and are leaves of the tape, differentiable when
/// `trainable`.
#[allow(clippy::too_many_arguments)]
pub(super) fn residuals<'t>(
    tape: &'t Tape,
    mlp: &Mlp,
    terms: &[&Term],
    points: &[Vec<f64>],
    coefs: &[Var<'t>],
    s: usize,
    e: usize,
    trainable: bool,
) -> Result<(Vec<Vec<Var<'t>>>, Recorded<'t>)> {
    let n = e - s;
    let wanted: Vec<Vec<Derivative>> = terms.iter().map(|t| t.residual.derivatives()).collect();
    let mut entries: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut firsts = Vec::new();
    for d in wanted.iter().flatten() {
        match d.entry() {
            Some(e) if !entries.contains(&e) => entries.push(e),
            Some(_) => {}
            None => firsts.push(*d.inputs().first().ok_or_else(internal)?),
        }
    }
    let plan = Plan::new(&firsts, &entries);
    let cols: Vec<&[f64]> = points.iter().map(|c| &c[s..e]).collect();
    let jets = jets::forward(mlp, &plan, &cols, trainable)?;
    let put = |v: &[f64]| {
        if trainable {
            tape.var_from_slice(n, 1, v)
        } else {
            tape.constant_from_slice(n, 1, v)
        }
    };
    let mut leaves: Vec<(Var<'t>, usize)> = Vec::new();
    let mut leaf = |output: usize, block: usize| {
        let at = output * jets.rows + block * n;
        if let Some((v, _)) = leaves.iter().find(|(_, a)| *a == at) {
            return *v;
        }
        let v = put(&jets.out[at..at + n]);
        leaves.push((v, at));
        v
    };
    let outputs: Vec<Var<'t>> = (0..mlp.outputs()).map(|o| leaf(o, 0)).collect();
    let x: Vec<Var<'t>> = cols
        .iter()
        .map(|c| tape.constant_from_slice(n, 1, c))
        .collect();
    let mut all = Vec::with_capacity(terms.len());
    for (term, wanted) in terms.iter().zip(&wanted) {
        let mut ders = Vec::with_capacity(wanted.len());
        for d in wanted {
            let block = match d.entry() {
                Some(e) => {
                    plan.entry_block(entries.iter().position(|f| *f == e).ok_or_else(internal)?)
                }
                None => plan.direction_block(d.inputs()[0]).ok_or_else(internal)?,
            };
            if d.output() >= mlp.outputs() {
                return Err(internal());
            }
            ders.push(leaf(d.output(), block));
        }
        let data: Vec<Var<'t>> = term
            .data
            .iter()
            .map(|c| tape.constant_from_slice(n, 1, &c[s..e]))
            .collect();
        all.push(term.residual.residuals(&At {
            inputs: &x,
            outputs: &outputs,
            derivatives: &ders,
            coefficients: coefs,
            data: &data,
        })?);
    }
    Ok((all, Recorded { plan, jets, leaves }))
}

fn internal() -> Error {
    Error::Operator {
        op: "pinn".into(),
        message: "internal: a term or derivative without its network pass".into(),
    }
}

/// The points `s..e` of the terms `group` of `loss` (terms on the same points, which share
/// one pass of the network) on `tape`: each term's share of its mean square, and when
/// `want_grad` the gradient of their weighted sum with respect to the network's
/// parameters and then the coefficients.
#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    tape: &Tape,
    loss: &Loss,
    mlp: &Mlp,
    coefficients: &[f64],
    group: &[usize],
    s: usize,
    e: usize,
    want_grad: bool,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let terms: Vec<&Term> = group.iter().map(|&k| &loss.terms[k]).collect();
    let first = terms.first().ok_or_else(internal)?;
    let n = e - s;
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
    let (mut res, own) = residuals(tape, mlp, &terms, &first.points, &coefs, s, e, want_grad)?;
    let mut recorded = vec![own];
    if !first.partners.is_empty() {
        let (other, rec) = residuals(tape, mlp, &terms, &first.partners, &coefs, s, e, want_grad)?;
        for (r, o) in res.iter_mut().zip(other) {
            *r = r.iter().zip(o).map(|(&a, b)| a - b).collect();
        }
        recorded.push(rec);
    }
    let mut shares = Vec::with_capacity(terms.len());
    let mut total: Option<Var<'_>> = None;
    for (term, res) in terms.iter().zip(&res) {
        let (sq, mean) = mean_square(tape, term, res, n)?;
        shares.push(sq.item()? * mean);
        let l = sq.scale(term.weight * mean);
        total = Some(total.map_or(l, |t| t + l));
    }
    tape.check()?;
    let mut grad = Vec::new();
    if want_grad {
        let mut wrt: Vec<Var<'_>> = recorded
            .iter()
            .flat_map(|r| r.leaves.iter().map(|(v, _)| *v))
            .collect();
        wrt.extend_from_slice(&coefs);
        let l = total.ok_or_else(internal)?;
        let g = autodiff::grad(&[l], &wrt, &[], GradOptions::default().allow_unused())?;
        grad = vec![0.0; mlp.num_params()];
        let mut at = 0;
        for r in &recorded {
            r.backward(mlp, &g[at..at + r.leaves.len()], &mut grad)?;
            at += r.leaves.len();
        }
        for v in &g[at..] {
            v.with_values(|_, _, vals| grad.extend_from_slice(vals))?;
        }
    }
    Ok((shares, grad))
}

/// The sum of squares of `term`'s residual components `res` over `n` points, and the
/// factor that makes it the term's share of its mean square.
fn mean_square<'t>(
    tape: &'t Tape,
    term: &Term,
    res: &[Var<'t>],
    n: usize,
) -> Result<(Var<'t>, f64)> {
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
        .ok_or_else(internal)?;
    Ok((sq, 1.0 / (term.len() * res.len()) as f64))
}
