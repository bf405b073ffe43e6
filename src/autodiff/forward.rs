//! Forward mode: Jacobian-vector products and second-order jets, by one sweep over the
//! recorded graph.
//!
//! A field is written once, as tape ops. Forward mode does not re-run it: it walks the
//! nodes the field recorded, in order, and for every node that depends on the inputs
//! records its tangents (one per direction) with the op's tangent rule, and — for jets —
//! its second-order entries with the op's second-order rule (both in the op table, beside
//! the VJP rule). Every rule is written with tape ops, so the tangents and jets are
//! ordinary nodes: reverse mode over them gives their gradients with respect to anything
//! else on the tape (the weights of a network), and they can be swept again.
//!
//! The forward Laplacian (Li et al., 2023) is the jet `(u, ∇u, Δu)`: a linear op maps all
//! three linearly, an elementwise `σ` gives `∇σ(h) = σ′(h)∇h` and
//! `Δσ(h) = σ′(h)Δh + σ″(h)|∇h|²`. One sweep gives every first derivative of every output
//! and its Laplacian, with far fewer nodes than reverse-over-reverse.

use super::ops::Forms;
use super::tape::{Tape, Var};
use crate::error::{Error, Result};

/// The second-order entries a [jet](jets) carries besides the value and gradient.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SecondOrder {
    /// None: the jet is the value and the gradient (forward-mode first derivatives).
    #[default]
    None,
    /// The Laplacian `Σₖ ∂²/∂xₖ²`: one entry (the forward Laplacian).
    Laplacian,
    /// The unmixed second derivatives `∂²/∂xₖ²`, one entry per input.
    Diagonal,
    /// Every second derivative `∂²/∂xₐ∂x_b` (`a ≤ b` computed, the rest by symmetry).
    Hessian,
}

impl SecondOrder {
    /// The entries as sums of pairs of directions, for `d` inputs.
    fn entries(self, d: usize) -> Vec<Vec<(usize, usize)>> {
        match self {
            SecondOrder::None => Vec::new(),
            SecondOrder::Laplacian => vec![(0..d).map(|k| (k, k)).collect()],
            SecondOrder::Diagonal => (0..d).map(|k| vec![(k, k)]).collect(),
            SecondOrder::Hessian => (0..d)
                .flat_map(|a| (a..d).map(move |b| vec![(a, b)]))
                .collect(),
        }
    }
}

/// The jet of one output: its value, its derivative along every input, and the
/// second-order entries asked for.
#[derive(Clone, Debug)]
pub struct Jet<'t> {
    /// The output itself.
    pub value: Var<'t>,
    /// `grad[k] = ∂value/∂inputs[k]` (with the ones tangent, so per point for a batch).
    pub grad: Vec<Var<'t>>,
    /// The second-order entries: `[Δ]` for [`SecondOrder::Laplacian`], `[∂²/∂xₖ²]` for
    /// [`SecondOrder::Diagonal`], the `d × d` Hessian row-major for
    /// [`SecondOrder::Hessian`], empty for [`SecondOrder::None`].
    pub second: Vec<Var<'t>>,
}

/// Jacobian-vector products `J·v` of `outputs` with respect to `inputs`, for several
/// tangents at once, in one forward sweep (`jax.jvp`, `torch.func.jvp`).
///
/// `tangents[k]` holds one tangent per input, of the input's shape; the result's entry
/// `[k][o]` is output `o`'s tangent in direction `k`, of the output's shape — zeros where
/// the output does not depend on the inputs. The tangents are recorded with tape ops, so
/// they can be differentiated again, in either mode (forward-over-reverse Hessians are
/// JVPs of a gradient recorded with `create_graph`).
///
/// Inputs are treated as independent: a tangent flows from an input only, not from the
/// nodes it was computed from. An input listed more than once is one variable: its
/// tangent is the sum of its listings' tangents, so that `J·v` is what reverse mode's
/// Jacobian (the whole derivative for every listing) gives.
///
/// # Errors
/// [`Error::Operator`] for a tangent list whose length is not the number of inputs or a
/// tangent whose shape is not its input's; [`Error::ForeignVar`] for variables of several
/// tapes; and the tape's first recorded misuse, if any.
///
/// # Example
/// ```
/// use nabla::autodiff::{Tape, Tensor, jvp};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::column(vec![1.0, 2.0]));
/// let y = tape.var(Tensor::column(vec![3.0, 4.0]));
/// let f = x * x * y; // ∂f/∂x = 2xy, ∂f/∂y = x²
/// let ones = tape.full(2, 1, 1.0);
/// let zeros = tape.full(2, 1, 0.0);
/// let t = jvp(&[f], &[x, y], &[vec![ones, zeros], vec![zeros, ones]]).unwrap();
/// assert_eq!(t[0][0].value().unwrap().as_slice(), &[6.0, 16.0]);
/// assert_eq!(t[1][0].value().unwrap().as_slice(), &[1.0, 4.0]);
/// ```
pub fn jvp<'t>(
    outputs: &[Var<'t>],
    inputs: &[Var<'t>],
    tangents: &[Vec<Var<'t>>],
) -> Result<Vec<Vec<Var<'t>>>> {
    let Some(tape) = common_tape(outputs, inputs, tangents.iter().flatten())? else {
        return Ok(vec![Vec::new(); tangents.len()]);
    };
    for (k, t) in tangents.iter().enumerate() {
        if t.len() != inputs.len() {
            return Err(Error::Operator {
                op: "jvp".into(),
                message: format!(
                    "tangent {k} has {} entries for {} inputs",
                    t.len(),
                    inputs.len()
                ),
            });
        }
        for (i, (v, x)) in t.iter().zip(inputs).enumerate() {
            if v.shape() != x.shape() {
                return Err(Error::Operator {
                    op: "jvp".into(),
                    message: format!(
                        "tangent {k} of input {i} has shape {:?}, the input has shape {:?}",
                        v.shape(),
                        x.shape()
                    ),
                });
            }
        }
    }
    let seeds: Vec<Vec<Option<Var<'t>>>> = (0..inputs.len())
        .map(|i| tangents.iter().map(|t| Some(t[i])).collect())
        .collect();
    let table = sweep(tape, outputs, inputs, &seeds, &[])?;
    Ok((0..tangents.len())
        .map(|k| {
            outputs
                .iter()
                .map(|o| table.tangent(o.id, k).unwrap_or_else(|| zeros_like(*o)))
                .collect()
        })
        .collect())
}

/// The jets of `outputs` with respect to `inputs` in one forward sweep: every output's
/// derivative along each input (seeded with the ones tangent, which over a batch of points
/// gives every point's derivative at once, as the ones cotangent does in reverse mode) and
/// the second-order entries `second` asks for.
///
/// With [`SecondOrder::Laplacian`] this is the forward Laplacian: the gradient and the
/// Laplacian of every output from one sweep, recorded with tape ops so that reverse mode
/// over the result gives, for example, a PDE residual's gradient with respect to a
/// network's weights.
///
/// # Errors
/// [`Error::ForeignVar`] for variables of several tapes, and the tape's first recorded
/// misuse, if any.
///
/// # Example
/// `f = x²y + sin y`: `∇f = (2xy, x² + cos y)`, `Δf = 2y − sin y`.
/// ```
/// use nabla::autodiff::{Tape, Tensor, jets, SecondOrder};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::column(vec![1.5]));
/// let y = tape.var(Tensor::column(vec![0.5]));
/// let f = x * x * y + y.sin();
/// let j = jets(&[f], &[x, y], SecondOrder::Laplacian).unwrap();
/// assert_eq!(j[0].grad[0].item().unwrap(), 2.0 * 1.5 * 0.5);
/// assert_eq!(j[0].grad[1].item().unwrap(), 1.5 * 1.5 + 0.5f64.cos());
/// assert!((j[0].second[0].item().unwrap() - (1.0 - 0.5f64.sin())).abs() < 1e-15);
/// ```
pub fn jets<'t>(
    outputs: &[Var<'t>],
    inputs: &[Var<'t>],
    second: SecondOrder,
) -> Result<Vec<Jet<'t>>> {
    let d = inputs.len();
    let mut jets = jets_with(outputs, inputs, &second.entries(d))?;
    if second == SecondOrder::Hessian {
        // The entries are the upper triangle row by row; (a, b), a ≤ b, is at this index.
        let index = |a: usize, b: usize| a * d - a * (a + 1) / 2 + b;
        for j in &mut jets {
            let upper = std::mem::take(&mut j.second);
            j.second = (0..d * d)
                .map(|ab| {
                    let (a, b) = (ab / d, ab % d);
                    upper[index(a.min(b), a.max(b))]
                })
                .collect();
        }
    }
    Ok(jets)
}

/// The jets of `outputs` with chosen second-order entries: `entries[e]` is a sum of
/// second derivatives `Σ ∂²/∂x_a∂x_b` over its pairs `(a, b)` of input indices, and
/// `Jet::second[e]` holds it. `[(0, 0)]` is `∂²/∂x₀²`, `[(0, 1)]` the mixed derivative,
/// `[(0, 0), (1, 1)]` the Laplacian over the first two inputs only (the spatial one of a
/// space-time problem). Only what is asked is propagated, in one forward sweep.
///
/// # Errors
/// As [`jets`]; [`Error::Operator`] for a pair naming an input that does not exist.
///
/// # Example
/// `f = x²t`: `∂²f/∂x² = 2t`, `∂²f/∂x∂t = 2x`.
/// ```
/// use nabla::autodiff::{Tape, Tensor, jets_with};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::column(vec![3.0]));
/// let t = tape.var(Tensor::column(vec![0.5]));
/// let f = x * x * t;
/// let j = jets_with(&[f], &[x, t], &[vec![(0, 0)], vec![(0, 1)]]).unwrap();
/// assert_eq!(j[0].second[0].item().unwrap(), 1.0);
/// assert_eq!(j[0].second[1].item().unwrap(), 6.0);
/// ```
pub fn jets_with<'t>(
    outputs: &[Var<'t>],
    inputs: &[Var<'t>],
    entries: &[Vec<(usize, usize)>],
) -> Result<Vec<Jet<'t>>> {
    let d = inputs.len();
    if let Some(&(a, b)) = entries.iter().flatten().find(|&&(a, b)| a >= d || b >= d) {
        return Err(Error::Operator {
            op: "jets".into(),
            message: format!("second derivative along inputs ({a}, {b}) of {d} inputs"),
        });
    }
    let Some(tape) = common_tape(outputs, inputs, std::iter::empty())? else {
        return Ok(Vec::new());
    };
    let mut ones = OnesCache::default();
    let seeds: Vec<Vec<Option<Var<'t>>>> = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let one = ones.get(*x);
            (0..d).map(|k| (k == i).then_some(one)).collect()
        })
        .collect();
    let table = sweep(tape, outputs, inputs, &seeds, entries)?;
    Ok(outputs
        .iter()
        .map(|&o| Jet {
            value: o,
            grad: (0..d)
                .map(|k| table.tangent(o.id, k).unwrap_or_else(|| zeros_like(o)))
                .collect(),
            second: (0..entries.len())
                .map(|e| table.second(o.id, e).unwrap_or_else(|| zeros_like(o)))
                .collect(),
        })
        .collect())
}

/// Tangents of `outputs` along input `dir` alone (the ones tangent on it, zero on the
/// others, which are never recorded): one column of a Jacobian by forward mode.
pub(crate) fn jvp_along<'t>(
    outputs: &[Var<'t>],
    inputs: &[Var<'t>],
    dir: usize,
) -> Result<Vec<Var<'t>>> {
    let Some(tape) = common_tape(outputs, inputs, std::iter::empty())? else {
        return Ok(Vec::new());
    };
    let seeds: Vec<Vec<Option<Var<'t>>>> = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let (r, c) = x.shape();
            vec![(i == dir).then(|| tape.full(r, c, 1.0))]
        })
        .collect();
    let table = sweep(tape, outputs, inputs, &seeds, &[])?;
    Ok(outputs
        .iter()
        .map(|&o| table.tangent(o.id, 0).unwrap_or_else(|| zeros_like(o)))
        .collect())
}

/// One ones tensor per shape, shared by the seeds of every input of that shape.
#[derive(Default)]
struct OnesCache<'t> {
    made: Vec<Var<'t>>,
}

impl<'t> OnesCache<'t> {
    fn get(&mut self, like: Var<'t>) -> Var<'t> {
        let shape = like.shape();
        if let Some(v) = self.made.iter().find(|v| v.shape() == shape) {
            return *v;
        }
        let v = like.tape.full(shape.0, shape.1, 1.0);
        self.made.push(v);
        v
    }
}

/// The tape all variables live on (`None` when there are none), after checking that it
/// is one tape and has recorded no misuse.
fn common_tape<'t, 'v>(
    outputs: &'v [Var<'t>],
    inputs: &'v [Var<'t>],
    more: impl Iterator<Item = &'v Var<'t>>,
) -> Result<Option<&'t Tape>> {
    let Some(tape) = outputs.first().or(inputs.first()).map(|v| v.tape) else {
        return Ok(None);
    };
    if outputs
        .iter()
        .chain(inputs)
        .chain(more)
        .any(|v| !std::ptr::eq(v.tape, tape))
    {
        return Err(Error::ForeignVar { op: "jvp" });
    }
    tape.check()?;
    Ok(Some(tape))
}

fn zeros_like<'t>(v: Var<'t>) -> Var<'t> {
    let (r, c) = v.shape();
    v.tape.full(r, c, 0.0)
}

/// Tangents and second-order entries of the nodes `lo..=hi`, flat: slot
/// `(node − lo)·width + k`.
struct Table<'t> {
    tape: &'t Tape,
    lo: usize,
    dirs: usize,
    entries: usize,
    tangents: Vec<Option<usize>>,
    seconds: Vec<Option<usize>>,
}

impl<'t> Table<'t> {
    fn tangent(&self, node: usize, k: usize) -> Option<Var<'t>> {
        let i = node.checked_sub(self.lo)?;
        let id = (*self.tangents.get(i * self.dirs + k)?)?;
        Some(Var {
            tape: self.tape,
            id,
        })
    }

    fn second(&self, node: usize, e: usize) -> Option<Var<'t>> {
        let i = node.checked_sub(self.lo)?;
        let id = (*self.seconds.get(i * self.entries + e)?)?;
        Some(Var {
            tape: self.tape,
            id,
        })
    }
}

/// The forward sweep: `seeds[i][k]` is input i's tangent in direction k (`None` = zero);
/// `entries[e]` lists the direction pairs summed in second-order entry e (inputs start
/// with zero second-order entries).
fn sweep<'t>(
    tape: &'t Tape,
    outputs: &[Var<'t>],
    inputs: &[Var<'t>],
    seeds: &[Vec<Option<Var<'t>>>],
    entries: &[Vec<(usize, usize)>],
) -> Result<Table<'t>> {
    let dirs = seeds.first().map_or(0, Vec::len);
    let n_entries = entries.len();
    let lo = inputs.iter().map(|v| v.id).min().unwrap_or(0);
    let hi = outputs.iter().map(|v| v.id).max().unwrap_or(0);
    let mut table = Table {
        tape,
        lo,
        dirs,
        entries: n_entries,
        tangents: Vec::new(),
        seconds: Vec::new(),
    };
    if inputs.is_empty() || hi < lo || dirs == 0 {
        return Ok(table);
    }
    let span = hi - lo + 1;
    let too_large = || Error::Operator {
        op: "jvp".into(),
        message: format!("the tangents of {span} nodes do not fit in memory"),
    };
    let slots = |w: usize| span.checked_mul(w).ok_or_else(too_large);
    let (nt, ns) = (slots(dirs)?, slots(n_entries)?);
    table
        .tangents
        .try_reserve_exact(nt)
        .map_err(|_| too_large())?;
    table
        .seconds
        .try_reserve_exact(ns)
        .map_err(|_| too_large())?;
    table.tangents.resize(nt, None);
    table.seconds.resize(ns, None);

    // Which nodes to sweep: those that depend on an input (forward) and that an output
    // depends on (backward). `seed_of[i]` indexes node lo + i's seeds in `combined`: an
    // input listed several times is one variable, whose tangent in each direction is the
    // sum of its listings' tangents (as reverse mode gives each listing the whole
    // derivative, J·v then sums them).
    let mut seed_of: Vec<Option<usize>> = vec![None; span];
    let mut combined: Vec<Vec<Option<Var<'t>>>> = Vec::new();
    for (k, x) in inputs.iter().enumerate() {
        if x.id > hi {
            continue;
        }
        match seed_of[x.id - lo] {
            None => {
                seed_of[x.id - lo] = Some(combined.len());
                combined.push(seeds[k].clone());
            }
            Some(j) => {
                for (dir, s) in seeds[k].iter().enumerate() {
                    let sum = match (combined[j][dir], *s) {
                        (Some(a), Some(b)) => Some(a + b),
                        (a, b) => a.or(b),
                    };
                    combined[j][dir] = sum;
                }
            }
        }
    }
    let mut live = vec![false; span];
    {
        let inner = tape.inner.borrow();
        for i in 0..span {
            live[i] = seed_of[i].is_some()
                || inner.nodes[lo + i]
                    .op
                    .parents(&inner.arena)
                    .any(|p| p >= lo && live[p - lo]);
        }
        let mut needed = vec![false; span];
        for o in outputs {
            if o.id >= lo {
                needed[o.id - lo] = true;
            }
        }
        for i in (0..span).rev() {
            if needed[i] && live[i] && seed_of[i].is_none() {
                for p in inner.nodes[lo + i].op.parents(&inner.arena) {
                    if p >= lo {
                        needed[p - lo] = true;
                    }
                }
            }
            live[i] &= needed[i];
        }
    }

    for i in 0..span {
        if !live[i] {
            continue;
        }
        let id = lo + i;
        if let Some(k) = seed_of[i] {
            for (dir, seed) in combined[k].iter().enumerate() {
                table.tangents[i * dirs + dir] = seed.map(|v| v.id);
            }
            continue;
        }
        let node = tape.node(id);
        let y = Var { tape, id };
        for dir in 0..dirs {
            let t = node.op.jvp(tape, y, &|p| table.tangent(p, dir));
            table.tangents[i * dirs + dir] = fit(t, node.shape()).map(|v| v.id);
        }
        for (e, pairs) in entries.iter().enumerate() {
            let tan = |p: usize, k: usize| table.tangent(p, k);
            let forms = Forms { pairs, tan: &tan };
            let s = node.op.second(tape, y, &forms, &|p| table.second(p, e));
            table.seconds[i * n_entries + e] = fit(s, node.shape()).map(|v| v.id);
        }
    }
    tape.check()?;
    Ok(table)
}

/// A tangent brought to its node's shape (a rule may return a broadcastable one).
fn fit<'t>(t: Option<Var<'t>>, (r, c): (usize, usize)) -> Option<Var<'t>> {
    t.map(|t| {
        if t.shape() == (r, c) {
            t
        } else {
            t.expand(r, c)
        }
    })
}
