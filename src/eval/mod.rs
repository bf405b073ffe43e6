//! The batched executor: a field and a list of operators over a set of points, cut into
//! chunks, one tape per chunk, chunks in parallel with rayon, each writing its own
//! disjoint slice of preallocated outputs.
//!
//! Requests share backward passes: the Jacobian (`m` passes) is computed once for every
//! first-derivative operator (grad, div, curl, Q, λ2, …), and once with create_graph when
//! a Laplacian or Hessian is also asked for, whose `m·d` further passes serve both.
//!
//! Every point's results depend only on that point (no sums across points), so results
//! are bit-identical for any thread count and any chunk size.
//!
//! ```
//! use nabla::eval::{Operator, Points, evaluate, EvalOptions};
//! use nabla::field::FnField;
//! let f = FnField::new(1, |x| vec![x[0] * x[0] + x[1] * x[1] * x[1]]);
//! let pts = Points::from_rows(2, &[[1.0, 2.0, 0.0], [3.0, -1.0, 0.0]]).unwrap();
//! let out = evaluate(&f, &pts, &[Operator::Grad, Operator::Lap], &EvalOptions::default()).unwrap();
//! // ∇f = (2x, 3y²), ∇²f = 2 + 6y, point-major.
//! assert_eq!(out[0].values, vec![2.0, 12.0, 6.0, 3.0]);
//! assert_eq!(out[1].values, vec![14.0, -4.0]);
//! ```

use nalgebra::{Matrix3, Vector3};
use rayon::prelude::*;

use crate::autodiff::{Tape, Var};
use crate::error::{Error, Result};
use crate::field::Field;
use crate::operators::flow;

mod operator;
mod plan;
mod points;

pub use operator::Operator;
pub use plan::Derivatives;
pub use points::Points;

use plan::{Derived, Plan};

/// One output array: `values[p * components + c]` is component c at point p.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// Name, e.g. `curl(U)`.
    pub name: String,
    /// Components per point.
    pub components: usize,
    /// Point-major values.
    pub values: Vec<f64>,
}

/// How [`evaluate`] cuts and reports the work.
#[derive(Clone, Copy)]
pub struct EvalOptions<'a> {
    /// Points per chunk (one tape each); a few thousand keeps a tape in cache.
    pub chunk_size: usize,
    /// Called with the number of points finished after each chunk (from any thread).
    pub progress: Option<&'a (dyn Fn(usize) + Sync)>,
    /// Name of the field in array names.
    pub field_name: &'a str,
    /// How derivatives are computed (default: the cheapest plan for the request).
    pub derivatives: Derivatives,
}

impl Default for EvalOptions<'_> {
    fn default() -> Self {
        EvalOptions {
            chunk_size: 2048,
            progress: None,
            field_name: "U",
            derivatives: Derivatives::Auto,
        }
    }
}

/// Evaluates `field` and the operators `ops` at every point, in parallel. Returns one
/// array per operator, in the order asked, named by [`Operator::array_name`].
///
/// # Errors
/// [`Error::Operator`] when an operator does not fit the field's shape (curl of a
/// 2-component field in 3-D, a Hessian of a vector field, a field returning the wrong
/// number of components), [`Error::Operator`] for a chunk size of 0, and any error of the
/// autodiff core (a field whose ops do not fit together).
pub fn evaluate(
    field: &dyn Field,
    points: &Points,
    ops: &[Operator],
    opts: &EvalOptions<'_>,
) -> Result<Vec<Array>> {
    let mut arrays = Vec::new();
    evaluate_into(field, points, ops, opts, &mut arrays)?;
    Ok(arrays)
}

/// What each plan records for this request, in per-point values (of nodes as long as the
/// chunk) per chunk of `chunk_size` points (the first chunk of `points`): the measure
/// [`Derivatives::Auto`] minimises, for reports and benches. The field is evaluated once
/// more on that chunk.
///
/// # Errors
/// As [`evaluate`].
pub fn plan_costs(
    field: &dyn Field,
    points: &Points,
    ops: &[Operator],
    chunk_size: usize,
) -> Result<Vec<(Derivatives, usize)>> {
    let (m, d) = (field.components(), points.dim());
    let len = chunk_size.clamp(1, points.len());
    for op in ops {
        op.components(m, d)?;
    }
    let plan = Plan {
        m,
        d,
        first: true,
        second: ops.iter().any(|o| o.needs_second()),
        full_hessian: ops.contains(&Operator::Hessian),
    };
    let tape = Tape::new();
    let x: Vec<Var> = (0..d)
        .map(|k| tape.var_from_slice(len, 1, &points.col(k)[..len]))
        .collect();
    let u = field.eval(&tape, &x);
    tape.check()?;
    if u.len() != m {
        return Err(Error::Operator {
            op: "field".into(),
            message: format!("declared {m} components but returned {}", u.len()),
        });
    }
    plan::cheapest(&tape, &x, &u, plan)
}

/// [`evaluate`] into arrays the caller keeps: `arrays` is reshaped to the request
/// (reusing its buffers where they are large enough), so evaluating the same request again —
/// the next time of a series, the next check of a training run — allocates no output.
///
/// # Errors
/// As [`evaluate`]. On an error the arrays' contents are unspecified.
pub fn evaluate_into(
    field: &dyn Field,
    points: &Points,
    ops: &[Operator],
    opts: &EvalOptions<'_>,
    arrays: &mut Vec<Array>,
) -> Result<()> {
    let (m, d, n) = (field.components(), points.dim(), points.len());
    if opts.chunk_size == 0 {
        return Err(Error::Operator {
            op: "evaluate".into(),
            message: "chunk size must be positive".into(),
        });
    }
    // A chunk never holds more than every point; this also keeps `cs * k` and
    // `start + cs` below from overflowing for chunk sizes up to usize::MAX.
    let cs = opts.chunk_size.min(n);
    if m == 0 {
        return Err(Error::Operator {
            op: "evaluate".into(),
            message: "the field has no components".into(),
        });
    }
    let widths: Vec<usize> = ops
        .iter()
        .map(|op| op.components(m, d))
        .collect::<Result<_>>()?;
    let plan = Plan {
        m,
        d,
        first: ops.iter().any(|o| o.needs_first()),
        second: ops.iter().any(|o| o.needs_second()),
        full_hessian: ops.contains(&Operator::Hessian),
    };
    arrays.truncate(ops.len());
    arrays.resize_with(ops.len(), || Array {
        name: String::new(),
        components: 0,
        values: Vec::new(),
    });
    let too_large = |what: String| Error::Operator {
        op: "evaluate".into(),
        message: format!("{what} for {n} points do not fit in memory"),
    };
    // The scratch of a chunk holds m·d·d values per point (second derivatives).
    if m.checked_mul(d)
        .and_then(|md| md.checked_mul(d))
        .and_then(|mdd| mdd.checked_mul(cs))
        .is_none_or(|len| len > isize::MAX as usize / 8)
    {
        return Err(too_large(format!("the derivatives of {m} components")));
    }
    for ((a, op), &k) in arrays.iter_mut().zip(ops).zip(&widths) {
        a.name = op.array_name(opts.field_name);
        a.components = k;
        let len = n
            .checked_mul(k)
            .filter(|&len| len <= isize::MAX as usize / 8)
            .ok_or_else(|| too_large(format!("{k} components of {}", a.name)))?;
        if a.values.capacity() >= len {
            a.values.resize(len, 0.0);
        } else {
            // Zeroed pages from the allocator: touched first by the workers, in parallel.
            a.values = vec![0.0; len];
        }
    }

    // Cut every array into the chunks' disjoint slices: chunk c gets slices[c][a].
    let n_chunks = n.div_ceil(cs);
    let mut slices: Vec<Vec<&mut [f64]>> = (0..n_chunks)
        .map(|_| Vec::with_capacity(ops.len()))
        .collect();
    for (a, &k) in arrays.iter_mut().zip(&widths) {
        for (c, s) in a.values.chunks_mut(cs * k).enumerate() {
            slices[c].push(s);
        }
    }

    // One chunk by `method`, reporting progress; returns the plan it used.
    let run = |tape: &mut Tape,
               scratch: &mut Scratch,
               c: usize,
               outs: &mut Vec<&mut [f64]>,
               method: Derivatives| {
        // c < n_chunks = ⌈n / cs⌉, so start < n and start + cs < n + cs ≤ 2n.
        let (start, end) = (c * cs, ((c + 1) * cs).min(n));
        let used = eval_chunk(
            tape,
            scratch,
            field,
            points,
            start..end,
            ops,
            plan,
            method,
            outs,
        )?;
        if let Some(p) = opts.progress {
            p(end - start);
        }
        Ok::<_, Error>(used)
    };
    // With `Auto`, the first chunk records every candidate plan and picks the cheapest;
    // the other chunks then use that plan.
    let mut chunks = slices.into_iter().enumerate();
    let mut method = opts.derivatives;
    if method == Derivatives::Auto
        && plan.first
        && let Some((c, mut outs)) = chunks.next()
    {
        method = run(
            &mut Tape::new(),
            &mut Scratch::default(),
            c,
            &mut outs,
            method,
        )?;
    }
    let rest: Vec<_> = chunks.collect();
    rest.into_par_iter().try_for_each_init(
        || (Tape::new(), Scratch::default()),
        |(tape, scratch), (c, mut outs)| run(tape, scratch, c, &mut outs, method).map(drop),
    )?;
    Ok(())
}

/// Per-worker buffers, reused from chunk to chunk.
#[derive(Default)]
struct Scratch {
    /// Field values, `[i][p]` (only for flow quantities).
    u: Vec<f64>,
    /// Jacobian values, `[(i * d + j)][p]` (only for flow quantities).
    jac: Vec<f64>,
    /// One column being summed (divergence, Laplacians).
    acc: Vec<f64>,
}

/// `out[p·k + c] = v[p]` for every point p (a `1 × 1` value is broadcast).
fn column(v: Var<'_>, out: &mut [f64], len: usize, k: usize, c: usize) -> Result<()> {
    let dst = out[c..].iter_mut().step_by(k).take(len);
    v.with_values(|r, cc, src| {
        if r * cc == 1 {
            dst.for_each(|o| *o = src[0]);
        } else {
            dst.zip(src).for_each(|(o, &x)| *o = x);
        }
    })
}

/// `acc = 0 + t₀ + t₁ + …`, summing the terms in order (one term is copied as it is).
fn sum_into(acc: &mut [f64], terms: &[Var<'_>]) -> Result<()> {
    if let [t] = terms {
        return column(*t, acc, acc.len(), 1, 0);
    }
    acc.fill(0.0);
    for t in terms {
        t.with_values(|r, c, v| {
            if r * c == 1 {
                acc.iter_mut().for_each(|o| *o += v[0]);
            } else {
                acc.iter_mut().zip(v).for_each(|(o, &x)| *o += x);
            }
        })?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn eval_chunk(
    tape: &mut Tape,
    s: &mut Scratch,
    field: &dyn Field,
    points: &Points,
    range: std::ops::Range<usize>,
    ops: &[Operator],
    plan: Plan,
    method: Derivatives,
    outs: &mut [&mut [f64]],
) -> Result<Derivatives> {
    let Plan { d, .. } = plan;
    let m = plan.m;
    let len = range.len();
    tape.clear();
    let tape = &*tape;
    let x: Vec<Var> = (0..d)
        .map(|k| tape.var_from_slice(len, 1, &points.col(k)[range.clone()]))
        .collect();
    let u = field.eval(tape, &x);
    if u.len() != m {
        return Err(Error::Operator {
            op: "field".into(),
            message: format!("declared {m} components but returned {}", u.len()),
        });
    }
    tape.check()?;
    for (i, &ui) in u.iter().enumerate() {
        if ui.cols() != 1 || (ui.rows() != len && ui.rows() != 1) {
            return Err(Error::Operator {
                op: "field".into(),
                message: format!(
                    "component {i} has shape {:?}, expected ({len}, 1)",
                    ui.shape()
                ),
            });
        }
    }
    // ∂u/∂t where a time operator asks for it: the field's own, recorded on this tape.
    let dt = if ops.iter().any(|o| o.in_time()) {
        let Some(dt) = field.eval_ddt(tape, &x) else {
            return Err(Error::Operator {
                op: "ddt".into(),
                message: "the field does not know its time derivative; ddt and DDt take \
                          formula fields (of t) and the data fields of a series of times"
                    .into(),
            });
        };
        tape.check()?;
        for (i, di) in dt.iter().enumerate() {
            if di.cols() != 1 || (di.rows() != len && di.rows() != 1) {
                return Err(Error::Operator {
                    op: "ddt".into(),
                    message: format!(
                        "component {i} of the time derivative has shape {:?}, expected \
                         ({len}, 1)",
                        di.shape()
                    ),
                });
            }
        }
        if dt.len() != m {
            return Err(Error::Operator {
                op: "ddt".into(),
                message: format!("{} components of the time derivative for {m}", dt.len()),
            });
        }
        dt
    } else {
        Vec::new()
    };
    let mut method = method;
    if method == Derivatives::Auto && plan.first {
        let costs = plan::cheapest(tape, &x, &u, plan)?;
        method = costs
            .iter()
            .fold(None::<(Derivatives, usize)>, |best, &(p, c)| match best {
                Some((_, b)) if b <= c => best,
                _ => Some((p, c)),
            })
            .map_or(Derivatives::Reverse, |(p, _)| p);
    }
    let dv = plan::derive(tape, &x, &u, plan, method)?;
    assemble(s, ops, plan, len, &u, &dt, &dv, outs)?;
    Ok(method)
}

/// Assembly: every output straight from the tape's columns (contiguous reads, one strided
/// write each); the flow quantities point by point from one 3 × 3 Jacobian. `dt` holds
/// `∂u/∂t` where a time operator is asked for.
#[allow(clippy::too_many_arguments)]
fn assemble(
    s: &mut Scratch,
    ops: &[Operator],
    plan: Plan,
    len: usize,
    u: &[Var<'_>],
    dt: &[Var<'_>],
    dv: &Derived<'_>,
    outs: &mut [&mut [f64]],
) -> Result<()> {
    let Plan { m, d, .. } = plan;
    let mut flow_ops = Vec::new();
    for (&op, out) in ops.iter().zip(outs.iter_mut()) {
        let k = out.len() / len;
        match op {
            Operator::Value => {
                for (i, &ui) in u.iter().enumerate() {
                    column(ui, out, len, k, i)?;
                }
            }
            Operator::Jacobian => {
                for (ij, &g) in dv.jac.iter().enumerate() {
                    column(g, out, len, k, ij)?;
                }
            }
            // OpenFOAM order: (∇U)ᵢⱼ = ∂uⱼ/∂xᵢ; for a scalar field just ∇f.
            Operator::Grad => {
                for i in 0..m {
                    for j in 0..d {
                        column(dv.jac[i * d + j], out, len, k, j * m + i)?;
                    }
                }
            }
            Operator::Div => {
                let diag: Vec<Var<'_>> = (0..d).map(|i| dv.jac[i * d + i]).collect();
                sum_into(out, &diag)?;
            }
            Operator::Lap if m == 1 => sum_into(out, &dv.lap[0])?,
            Operator::Lap => {
                s.acc.resize(len, 0.0);
                for (i, terms) in dv.lap.iter().enumerate() {
                    sum_into(&mut s.acc, terms)?;
                    for (o, &v) in out[i..].iter_mut().step_by(k).zip(&s.acc) {
                        *o = v;
                    }
                }
            }
            Operator::Hessian => {
                for (ab, &h) in dv.hess.iter().enumerate() {
                    column(h, out, len, k, ab)?;
                }
            }
            Operator::Ddt => {
                for (i, &di) in dt.iter().enumerate() {
                    column(di, out, len, k, i)?;
                }
            }
            _ => flow_ops.push((op, k, out)),
        }
    }
    if flow_ops.is_empty() {
        return Ok(());
    }
    // The flow quantities read u and J point by point: gathered into columns first.
    s.u.resize(m * len, 0.0);
    s.jac.resize(m * d * len, 0.0);
    for (i, &ui) in u.iter().enumerate() {
        column(ui, &mut s.u[i * len..(i + 1) * len], len, 1, 0)?;
    }
    for (ij, &g) in dv.jac.iter().enumerate() {
        column(g, &mut s.jac[ij * len..(ij + 1) * len], len, 1, 0)?;
    }
    let (uc, jac) = (&s.u, &s.jac);
    for p in 0..len {
        let mut j3 = Matrix3::zeros();
        let mut u3 = Vector3::zeros();
        for i in 0..d {
            u3[i] = uc[i * len + p];
            for j in 0..d {
                j3[(i, j)] = jac[(i * d + j) * len + p];
            }
        }
        for (op, k, out) in flow_ops.iter_mut() {
            flow_quantity(*op, d, &u3, &j3, &mut out[p * *k..(p + 1) * *k]);
        }
    }
    // DDt = ∂u/∂t + (u·∇)u: the time derivative added to the advection just written.
    for (op, k, out) in flow_ops.iter_mut() {
        if *op == Operator::DDt {
            for (i, &di) in dt.iter().enumerate() {
                s.acc.resize(len, 0.0);
                column(di, &mut s.acc, len, 1, 0)?;
                for (o, &v) in out[i..].iter_mut().step_by(*k).zip(&s.acc) {
                    *o += v;
                }
            }
        }
    }
    Ok(())
}

/// The flow quantities, pointwise from the Jacobian.
fn flow_quantity(op: Operator, d: usize, u: &Vector3<f64>, j: &Matrix3<f64>, o: &mut [f64]) {
    let row_major =
        |m: Matrix3<f64>, o: &mut [f64]| (0..9).for_each(|ij| o[ij] = m[(ij / 3, ij % 3)]);
    match op {
        Operator::Curl | Operator::Vorticity => {
            let w = flow::vorticity(j);
            if d == 3 {
                o.copy_from_slice(w.as_slice());
            } else {
                o[0] = w.z;
            }
        }
        Operator::StrainRate => row_major(flow::strain_rate(j), o),
        Operator::RotationRate => row_major(flow::rotation_rate(j), o),
        Operator::Q => o[0] = flow::q_criterion(j),
        Operator::QOpenfoam => o[0] = flow::q_openfoam(j),
        Operator::Lambda2 => o[0] = flow::lambda2(j),
        Operator::LambdaCi => o[0] = flow::swirling_strength(j),
        Operator::Helicity => o[0] = flow::helicity(u, j),
        Operator::Enstrophy => o[0] = flow::enstrophy(j),
        Operator::Advection | Operator::DDt => {
            o.copy_from_slice(&flow::advection(u, j).as_slice()[..d])
        }
        Operator::Value
        | Operator::Ddt
        | Operator::Grad
        | Operator::Jacobian
        | Operator::Div
        | Operator::Lap
        | Operator::Hessian => {
            unreachable!("internal: {op:?} is assembled in eval_chunk")
        }
    }
}
