//! Reverse mode: `grad`, the one primitive every operator is built on.

use super::ops::Op;
use super::tape::{Tape, Var};
use crate::error::{Error, Result};

/// Options of [`grad`], with the meaning of `torch.autograd.grad`'s keyword arguments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GradOptions {
    /// Keep the graph so that another backward pass can go through it. `None` means
    /// "the same as `create_graph`", PyTorch's default.
    pub retain_graph: Option<bool>,
    /// Record the backward pass itself, so that its results can be differentiated again
    /// (second and higher derivatives).
    pub create_graph: bool,
    /// Return zeros for inputs the outputs do not depend on, instead of an error.
    pub allow_unused: bool,
}

impl GradOptions {
    /// `create_graph = true` (and so `retain_graph = true`): for higher derivatives.
    pub fn create_graph() -> Self {
        GradOptions {
            create_graph: true,
            ..Self::default()
        }
    }

    /// `retain_graph = true`: another pass will go through the same graph.
    pub fn retain_graph() -> Self {
        GradOptions {
            retain_graph: Some(true),
            ..Self::default()
        }
    }

    /// The same options with `allow_unused = true`.
    pub fn allow_unused(self) -> Self {
        GradOptions {
            allow_unused: true,
            ..self
        }
    }
}

/// The vector-Jacobian products `Σₖ vₖᵀ ∂outputₖ/∂input` for every input: reverse-mode
/// automatic differentiation with cotangents `v = grad_outputs` chosen by the caller.
///
/// This mirrors `torch.autograd.grad(outputs, inputs, grad_outputs, retain_graph,
/// create_graph, allow_unused)`. `grad_outputs` is either empty — allowed only when every
/// output has one element, whose cotangent is then 1 — or holds one cotangent per output,
/// of the output's shape. The result has one tensor per input, of the input's shape.
///
/// Which derivative comes out is decided by the cotangent: over a batch of points whose
/// Jacobian is block-diagonal, `v = 1` gives every point's gradient in one pass, while
/// the dense Jacobian needs one pass per point (see [`grad_batched`]). Know your Jacobian.
///
/// # Errors
/// [`Error::CotangentCount`], [`Error::CotangentShape`], [`Error::MissingCotangent`] for
/// cotangents that do not fit; [`Error::UnusedInput`] for an input the outputs do not
/// depend on (unless `allow_unused`); [`Error::GraphFreed`] for a second pass through a
/// graph an earlier call did not retain; [`Error::ForeignVar`] for variables of several
/// tapes; and the tape's first recorded misuse, if any.
///
/// # Example
/// The seed article's first example: sin′ = cos and sin″ = −sin, exactly.
/// ```
/// use nabla::autodiff::{Tape, Tensor, grad, GradOptions};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::linspace(0.0, 1.0, 1001));
/// let y = x.sin();
/// let ones = tape.full(1001, 1, 1.0);
/// let dy = grad(&[y], &[x], &[ones], GradOptions::create_graph()).unwrap()[0];
/// let ddy = grad(&[dy], &[x], &[ones], GradOptions::default()).unwrap()[0];
/// let xs = Tensor::linspace(0.0, 1.0, 1001);
/// for (i, &xi) in xs.as_slice().iter().enumerate() {
///     assert_eq!(dy.value().unwrap()[(i, 0)], xi.cos());
///     assert_eq!(ddy.value().unwrap()[(i, 0)], -xi.sin());
/// }
/// ```
pub fn grad<'t>(
    outputs: &[Var<'t>],
    inputs: &[Var<'t>],
    grad_outputs: &[Var<'t>],
    opts: GradOptions,
) -> Result<Vec<Var<'t>>> {
    let Some(tape) = outputs.first().or(inputs.first()).map(|v| v.tape) else {
        return Ok(Vec::new());
    };
    if outputs
        .iter()
        .chain(inputs)
        .chain(grad_outputs)
        .any(|v| !std::ptr::eq(v.tape, tape))
    {
        return Err(Error::ForeignVar { op: "grad" });
    }
    tape.check()?;
    if !grad_outputs.is_empty() && grad_outputs.len() != outputs.len() {
        return Err(Error::CotangentCount {
            outputs: outputs.len(),
            grad_outputs: grad_outputs.len(),
        });
    }
    for (index, out) in outputs.iter().enumerate() {
        let shape = out.shape();
        match grad_outputs.get(index) {
            Some(v) if v.shape() != shape => {
                return Err(Error::CotangentShape {
                    index,
                    expected: shape,
                    got: v.shape(),
                });
            }
            None if shape.0 * shape.1 != 1 => return Err(Error::MissingCotangent { index, shape }),
            _ => {}
        }
    }
    if inputs.is_empty() {
        return Ok(Vec::new());
    }

    let create = opts.create_graph;
    let retain = opts.retain_graph.unwrap_or(create);
    let was_enabled = tape.set_grad_enabled(create);
    let (mut adj, mut rel) = {
        let mut inner = tape.inner.borrow_mut();
        (
            std::mem::take(&mut inner.scratch_adj),
            std::mem::take(&mut inner.scratch_rel),
        )
    };
    let result = backward(
        tape,
        outputs,
        inputs,
        grad_outputs,
        opts,
        retain,
        &mut adj,
        &mut rel,
    );
    tape.set_grad_enabled(was_enabled);
    let mut inner = tape.inner.borrow_mut();
    inner.scratch_adj = adj;
    inner.scratch_rel = rel;
    result
}

#[allow(clippy::too_many_arguments)]
fn backward<'t>(
    tape: &'t Tape,
    outputs: &[Var<'t>],
    inputs: &[Var<'t>],
    grad_outputs: &[Var<'t>],
    opts: GradOptions,
    retain: bool,
    adj: &mut Vec<Option<usize>>,
    rel: &mut Vec<bool>,
) -> Result<Vec<Var<'t>>> {
    let lo = inputs
        .iter()
        .map(|v| v.id)
        .min()
        .expect("internal: inputs not empty");
    let hi = outputs.iter().map(|v| v.id).max().unwrap_or(0).max(lo);

    // Relevance: a node matters if it is an input or depends on one through nodes that
    // record their parents. Everything else is skipped, so asking for ∂/∂x never
    // computes cotangents of parameters, and vice versa.
    rel.clear();
    rel.resize(hi + 1, false);
    for v in inputs {
        if v.id <= hi {
            rel[v.id] = true;
        }
    }
    {
        let inner = tape.inner.borrow();
        for i in lo..=hi {
            if !rel[i] {
                let n = &inner.nodes[i];
                rel[i] = n.requires_grad && n.op.parents(&inner.arena).any(|p| p >= lo && rel[p]);
            }
        }
    }

    adj.clear();
    adj.resize(hi + 1, None);
    let accumulate = |adj: &mut Vec<Option<usize>>, p: usize, c: Var<'t>| {
        let c = unbroadcast(c, tape.node(p).shape());
        adj[p] = Some(match adj[p] {
            None => c.id,
            Some(a) => (Var { tape, id: a } + c).id,
        });
    };
    for (k, out) in outputs.iter().enumerate() {
        if rel[out.id] {
            let (r, c) = out.shape();
            let v = grad_outputs
                .get(k)
                .copied()
                .unwrap_or_else(|| tape.full(r, c, 1.0));
            accumulate(adj, out.id, v);
        }
    }

    for i in (lo..=hi).rev() {
        let Some(g) = adj[i] else { continue };
        if !rel[i] {
            continue;
        }
        let node = tape.node(i);
        if matches!(node.op, Op::Leaf | Op::Const) {
            continue;
        }
        if node.freed {
            return Err(Error::GraphFreed);
        }
        let y = Var { tape, id: i };
        let g = Var { tape, id: g };
        let mut contributions: [Option<(usize, Var<'t>)>; 2] = [None, None];
        let mut extra = Vec::new();
        node.op.vjp(
            tape,
            y,
            g,
            |p| p >= lo && rel[p],
            |p, c| match contributions.iter_mut().find(|s| s.is_none()) {
                Some(slot) => *slot = Some((p, c)),
                None => extra.push((p, c)),
            },
        );
        for (p, c) in contributions.into_iter().flatten().chain(extra) {
            accumulate(adj, p, c);
        }
        if !retain {
            tape.inner.borrow_mut().nodes[i].freed = true;
        }
    }

    tape.check()?;
    inputs
        .iter()
        .enumerate()
        .map(|(index, v)| match adj.get(v.id).copied().flatten() {
            // Without create_graph a result never requires grad, as in PyTorch — even a
            // recorded cotangent that sums passed through unchanged.
            Some(id) if !opts.create_graph && tape.node(id).requires_grad => {
                Ok(tape.constant(Var { tape, id }.value()?))
            }
            Some(id) => Ok(Var { tape, id }),
            None if opts.allow_unused => {
                let (r, c) = v.shape();
                Ok(tape.full(r, c, 0.0))
            }
            None => Err(Error::UnusedInput { index }),
        })
        .collect()
}

/// Sums a cotangent back over the dimensions its input was broadcast along.
fn unbroadcast<'t>(c: Var<'t>, (r, k): (usize, usize)) -> Var<'t> {
    let (cr, ck) = c.shape();
    let c = if r == 1 && cr != 1 { c.sum_rows() } else { c };
    if k == 1 && ck != 1 { c.sum_cols() } else { c }
}

/// Many vector-Jacobian products of the same graph in one call (PyTorch's
/// `is_grads_batched`): `cotangents[k]` is the list of cotangents (one per output) of
/// pass `k`, and the result's entry `k` is that pass's [`grad`].
///
/// With the one-hot cotangents `eₖ` of every element of an output, this is the dense
/// Jacobian `J·I` — one backward pass per element. Over a batch of `N` points that is
/// `N` passes where the block-diagonal structure needs one: the seed article's
/// "know your Jacobian". Use it for checks and teaching, not for operators.
///
/// # Example
/// `∇·∇(x·x) = 6` for `x = ones(3)`, with the cotangents `eye(3)`:
/// ```
/// use nabla::autodiff::{Tape, Tensor, grad, grad_batched, GradOptions};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::ones(3, 1));
/// let f = (x * x).sum();
/// let g = grad(&[f], &[x], &[], GradOptions::create_graph()).unwrap()[0];
/// let eye: Vec<Vec<_>> = (0..3).map(|i| vec![tape.constant(Tensor::one_hot(3, 1, i, 0))]).collect();
/// let rows = grad_batched(&[g], &[x], &eye, GradOptions::default()).unwrap();
/// let trace: f64 = (0..3).map(|i| rows[i][0].value().unwrap()[(i, 0)]).sum();
/// assert_eq!(trace, 6.0);
/// ```
pub fn grad_batched<'t>(
    outputs: &[Var<'t>],
    inputs: &[Var<'t>],
    cotangents: &[Vec<Var<'t>>],
    opts: GradOptions,
) -> Result<Vec<Vec<Var<'t>>>> {
    let last = cotangents.len().saturating_sub(1);
    let retain = opts.retain_graph.unwrap_or(opts.create_graph);
    cotangents
        .iter()
        .enumerate()
        .map(|(k, v)| {
            let retain_graph = Some(retain || k < last);
            grad(
                outputs,
                inputs,
                v,
                GradOptions {
                    retain_graph,
                    ..opts
                },
            )
        })
        .collect()
}
