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
/// whole evaluation, the one that recorded the fewest values; the choice is made once, so
/// every point is computed by the same plan whatever the number of threads.
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

/// Where a chunk's derivatives go: column-major blocks of `len` values.
pub(super) struct Sink<'a> {
    pub(super) len: usize,
    /// Jacobian, block `i·d + j` = `∂uᵢ/∂xⱼ`.
    pub(super) jac: &'a mut [f64],
    /// Hessians, block `(i·d + a)·d + b` (only with `full_hessian`).
    pub(super) hess: &'a mut [f64],
    /// Laplacians, block `i`.
    pub(super) lap: &'a mut [f64],
}

fn copy_into(v: Var<'_>, dst: &mut [f64]) -> Result<()> {
    v.with_values(|r, c, src| {
        if r * c == 1 {
            dst.fill(src[0]);
        } else {
            dst.copy_from_slice(src);
        }
    })
}

/// `out = 0 + t₀ + t₁ + …`, summing the terms in order.
fn trace(out: &mut [f64], terms: &[Var<'_>]) -> Result<()> {
    out.fill(0.0);
    for t in terms {
        t.with_values(|r, c, v| {
            if r * c == 1 {
                out.iter_mut().for_each(|o| *o += v[0]);
            } else {
                out.iter_mut().zip(v).for_each(|(o, &x)| *o += x);
            }
        })?;
    }
    Ok(())
}

/// The plan `Auto` picks for this request: each candidate recorded on `tape` (after the
/// field's own nodes), the one with the fewest values kept. Ties go to the earlier plan
/// of [`Derivatives::PLANS`].
pub(super) fn cheapest(
    tape: &Tape,
    x: &[Var<'_>],
    u: &[Var<'_>],
    plan: Plan,
    scratch: &mut Vec<f64>,
) -> Result<Vec<(Derivatives, usize)>> {
    let len = x.first().map_or(0, |v| v.rows());
    let (m, d) = (plan.m, plan.d);
    let too_large = || crate::error::Error::Operator {
        op: "evaluate".into(),
        message: format!("the derivatives of {m} components for {len} points do not fit in memory"),
    };
    // m·d + m·d·d + m = m·(d + 1)² − m·d ≤ m·(d + 1)², values per point.
    let per_point = m
        .checked_mul((d + 1) * (d + 1))
        .and_then(|v| v.checked_mul(len))
        .filter(|&v| v <= isize::MAX as usize / 8)
        .ok_or_else(too_large)?;
    scratch.clear();
    scratch.try_reserve(per_point).map_err(|_| too_large())?;
    let mut costs = Vec::new();
    for method in Derivatives::PLANS {
        if !plan.second && method == Derivatives::ForwardOverReverse {
            continue; // the same as Reverse without second derivatives
        }
        let start = tape.len();
        scratch.clear();
        scratch.resize(len * (m * d + m * d * d + m), 0.0);
        let (jac, rest) = scratch.split_at_mut(len * m * d);
        let (hess, lap) = rest.split_at_mut(len * m * d * d);
        let mut sink = Sink {
            len,
            jac,
            hess,
            lap,
        };
        derive(tape, x, u, plan, method, &mut sink)?;
        costs.push((method, tape.values_since(start)));
    }
    Ok(costs)
}

/// Records the derivatives `plan` asks for by `method` (not `Auto`) and copies them into
/// `sink`.
pub(super) fn derive(
    tape: &Tape,
    x: &[Var<'_>],
    u: &[Var<'_>],
    plan: Plan,
    method: Derivatives,
    sink: &mut Sink<'_>,
) -> Result<()> {
    if !plan.first {
        return Ok(());
    }
    let Plan { d, .. } = plan;
    let len = sink.len;
    let u: Vec<Var<'_>> = u.iter().map(|ui| ui.expand(len, 1)).collect();
    match method {
        Derivatives::Jets => {
            let second = if plan.full_hessian {
                SecondOrder::Hessian
            } else if plan.second {
                SecondOrder::Laplacian
            } else {
                SecondOrder::None
            };
            let jets = autodiff::jets(&u, x, second)?;
            for (i, jet) in jets.iter().enumerate() {
                for (j, &g) in jet.grad.iter().enumerate() {
                    copy_into(g, &mut sink.jac[(i * d + j) * len..][..len])?;
                }
                match second {
                    SecondOrder::Laplacian => {
                        copy_into(jet.second[0], &mut sink.lap[i * len..][..len])?
                    }
                    SecondOrder::Hessian => {
                        for (ab, &h) in jet.second.iter().enumerate() {
                            copy_into(h, &mut sink.hess[(i * d * d + ab) * len..][..len])?;
                        }
                        let diag: Vec<Var<'_>> = (0..d).map(|a| jet.second[a * d + a]).collect();
                        trace(&mut sink.lap[i * len..][..len], &diag)?;
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
            for (i, &ui) in u.iter().enumerate() {
                let row = autodiff::grad(&[ui], x, &[ones], opts)?;
                for (j, &g) in row.iter().enumerate() {
                    copy_into(g, &mut sink.jac[(i * d + j) * len..][..len])?;
                }
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
                        for (b, &hb) in h.iter().enumerate() {
                            copy_into(hb, &mut sink.hess[((i * d + a) * d + b) * len..][..len])?;
                        }
                        diag.push(h[a]);
                    } else {
                        diag.push(h[0]);
                    }
                }
                trace(&mut sink.lap[i * len..][..len], &diag)?;
            }
        }
    }
    Ok(())
}
