//! How the evaluator differentiates: the plans, what each records, and the choice of the
//! cheapest.

use serde::{Deserialize, Serialize};

use crate::autodiff::{self, GradOptions, SecondOrder, Tape, Var};
use crate::error::Result;

/// How derivatives are computed. Every plan gives the same derivatives (to round-off; the
/// seed's identities exactly); they differ in what they record.
///
/// | plan | first derivatives | Laplacian | Hessian |
/// |---|---|---|---|
/// | `Reverse` | m backward passes | m·d more passes, one per diagonal entry | m·d passes |
/// | `Jets` | d tangents in one forward sweep | the same sweep (forward Laplacian) | the same sweep, d(d+1)/2 entries |
/// | `ForwardOverReverse` | m backward passes | d forward sweeps of the gradient | d forward sweeps |
///
/// `Auto` (the default) records every candidate on the first chunk and keeps, for the
/// whole evaluation, the one that recorded the fewest per-point values (values of nodes as
/// long as the chunk, which grow in proportion to it); the choice is made once, so every
/// point is computed by the same plan whatever the number of threads, and the same plan
/// for any chunk size of at least 2 points.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Derivatives {
    /// The plan that records the fewest values, chosen on the first chunk.
    #[default]
    Auto,
    /// Reverse-over-reverse: backward passes, recorded for second derivatives (the
    /// reference plan).
    Reverse,
    /// Forward-mode jets: value, gradient and Laplacian (or Hessian) in one sweep.
    Jets,
    /// The Jacobian by reverse mode, second derivatives as forward-mode tangents of it.
    ForwardOverReverse,
}

impl Derivatives {
    /// Every plan that computes (all but `Auto`), in the order `Auto` breaks ties.
    pub const PLANS: [Derivatives; 3] = [
        Derivatives::Reverse,
        Derivatives::Jets,
        Derivatives::ForwardOverReverse,
    ];

    /// The name used in settings (`reverse`, `jets`, …).
    pub fn name(self) -> &'static str {
        match self {
            Derivatives::Auto => "auto",
            Derivatives::Reverse => "reverse",
            Derivatives::Jets => "jets",
            Derivatives::ForwardOverReverse => "forward_over_reverse",
        }
    }
}

/// What the derivatives must deliver for a request.
#[derive(Clone, Copy, Debug)]
pub(super) struct Plan {
    pub(super) m: usize,
    pub(super) d: usize,
    pub(super) first: bool,
    pub(super) second: bool,
    /// Full Hessian rows (all coordinates) rather than only the Laplacian.
    pub(super) full_hessian: bool,
}

/// A chunk's derivatives, as nodes of its tape (read straight into the outputs).
pub(super) struct Derived<'t> {
    /// Jacobian: entry `i·d + j` is `∂uᵢ/∂xⱼ`.
    pub(super) jac: Vec<Var<'t>>,
    /// Hessians: entry `(i·d + a)·d + b` (only with `full_hessian`).
    pub(super) hess: Vec<Var<'t>>,
    /// Laplacians: `lap[i]` holds the terms whose sum (in order, from 0) is `∇²uᵢ`.
    pub(super) lap: Vec<Vec<Var<'t>>>,
}

/// The plan `Auto` picks for this request: each candidate recorded on `tape` (after the
/// field's own nodes), the one with the fewest values kept. Ties go to the earlier plan
/// of [`Derivatives::PLANS`].
pub(super) fn cheapest(
    tape: &Tape,
    x: &[Var<'_>],
    u: &[Var<'_>],
    plan: Plan,
) -> Result<Vec<(Derivatives, usize)>> {
    let len = x.first().map_or(1, |v| v.rows());
    let mut costs = Vec::new();
    for method in Derivatives::PLANS {
        if !plan.second && method == Derivatives::ForwardOverReverse {
            continue; // the same as Reverse without second derivatives
        }
        let start = tape.len();
        derive(tape, x, u, plan, method)?;
        costs.push((method, tape.batch_values_since(start, len)));
    }
    Ok(costs)
}

/// Records the derivatives `plan` asks for by `method` (not `Auto`).
pub(super) fn derive<'t>(
    tape: &'t Tape,
    x: &[Var<'t>],
    u: &[Var<'t>],
    plan: Plan,
    method: Derivatives,
) -> Result<Derived<'t>> {
    let mut out = Derived {
        jac: Vec::new(),
        hess: Vec::new(),
        lap: Vec::new(),
    };
    if !plan.first {
        return Ok(out);
    }
    let Plan { d, .. } = plan;
    let len = x.first().map_or(1, |v| v.rows());
    let u: Vec<Var<'t>> = u.iter().map(|ui| ui.expand(len, 1)).collect();
    match method {
        Derivatives::Jets => {
            let second = if plan.full_hessian {
                SecondOrder::Hessian
            } else if plan.second {
                SecondOrder::Laplacian
            } else {
                SecondOrder::None
            };
            for jet in autodiff::jets(&u, x, second)? {
                out.jac.extend_from_slice(&jet.grad);
                match second {
                    SecondOrder::Laplacian => out.lap.push(vec![jet.second[0]]),
                    SecondOrder::Hessian => {
                        out.lap
                            .push((0..d).map(|a| jet.second[a * d + a]).collect());
                        out.hess.extend_from_slice(&jet.second);
                    }
                    _ => {}
                }
            }
        }
        Derivatives::Reverse | Derivatives::ForwardOverReverse | Derivatives::Auto => {
            let ones = tape.full(len, 1, 1.0);
            let opts = GradOptions {
                retain_graph: Some(true),
                create_graph: plan.second,
                allow_unused: true,
            };
            let second = GradOptions {
                create_graph: false,
                ..opts
            };
            let forward = method == Derivatives::ForwardOverReverse;
            for &ui in &u {
                let row = autodiff::grad(&[ui], x, &[ones], opts)?;
                out.jac.extend_from_slice(&row);
                if !plan.second {
                    continue;
                }
                let mut diag = Vec::with_capacity(d);
                for a in 0..d {
                    // Column a of the Hessian (its row a, by symmetry), or its entry (a, a).
                    let h = match (forward, plan.full_hessian) {
                        (true, true) => autodiff::jvp_along(&row, x, a)?,
                        (true, false) => autodiff::jvp_along(&row[a..=a], x, a)?,
                        (false, true) => {
                            autodiff::grad(&[row[a].expand(len, 1)], x, &[ones], second)?
                        }
                        (false, false) => {
                            autodiff::grad(&[row[a].expand(len, 1)], &x[a..=a], &[ones], second)?
                        }
                    };
                    if plan.full_hessian {
                        diag.push(h[a]);
                        out.hess.extend_from_slice(&h);
                    } else {
                        diag.push(h[0]);
                    }
                }
                out.lap.push(diag);
            }
        }
    }
    Ok(out)
}
