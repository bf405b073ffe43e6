//! The tape (a Wengert list of nodes) and the variables that point into it.

use std::cell::RefCell;
use std::collections::HashMap;

use super::ops::Op;
use super::tensor::{Tensor, checked_len};
use crate::error::{Error, Result, Shape};

/// A recording of computations on batches of points.
///
/// Every op on a [`Var`] appends one node to the tape: its value (a 2-D tensor) and
/// the op with its parents. Reverse mode ([`super::grad`]) replays the nodes in reverse
/// order. The tape is a plain `Vec`: node `i` only depends on nodes `< i`.
///
/// Misuse that the type system cannot catch (shapes that do not broadcast, a variable
/// from another tape) never panics: the op returns an *invalid* variable and the tape
/// remembers the first error, which [`Var::value`], [`Tape::check`] and
/// [`super::grad`] then return — the way a NaN travels through arithmetic.
///
/// A tape can be [cleared](Tape::clear) and reused: value buffers go back to a pool, so
/// evaluating the same computation on the next chunk of points allocates nothing.
///
/// ```
/// use nabla::autodiff::{Tape, Tensor, grad, GradOptions};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::scalar(1.0));
/// let y = tape.var(Tensor::scalar(2.0));
/// let f = (x + y) * (y + 3.0);
/// let g = grad(&[f], &[x, y], &[], GradOptions::default()).unwrap();
/// assert_eq!(g[0].item().unwrap(), 5.0); // ∂f/∂x = y + 3
/// assert_eq!(g[1].item().unwrap(), 8.0); // ∂f/∂y = 2y + x + 3
/// ```
#[derive(Default)]
pub struct Tape {
    pub(crate) inner: RefCell<Inner>,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) nodes: Vec<Node>,
    pub(crate) values: Vec<Vec<f64>>,
    /// Parent lists of variadic ops (stack), indexed by `Op::Stack { start, len }`.
    pub(crate) arena: Vec<usize>,
    pool: Vec<Vec<f64>>,
    /// Common subexpressions of unary ops: `(op key, input) → node`. This is how the
    /// VJP of `sin` finds the `cos` that the forward pass computed beside it.
    memo: HashMap<(u32, usize), usize>,
    /// Common subexpressions of binary ops: `(op key, a, b) → node` (a jet's tangent and
    /// its second-order entry often need the same product).
    memo2: HashMap<(u32, usize, usize), usize>,
    pub(crate) grad_enabled: bool,
    pub(crate) error: Option<Error>,
    /// Scratch for backward passes, kept to avoid allocating per pass.
    pub(crate) scratch_adj: Vec<Option<usize>>,
    pub(crate) scratch_rel: Vec<bool>,
}

impl Inner {
    /// An empty buffer with room for the values of a `rows × cols` node, from the pool
    /// when it has one; an error when that shape cannot exist or its memory cannot be
    /// allocated (never a panic or an abort).
    fn buffer(&mut self, op: &'static str, rows: usize, cols: usize) -> Result<Vec<f64>> {
        let too_large = || Error::Operator {
            op: op.into(),
            message: format!("a {rows} x {cols} result does not fit in memory"),
        };
        let len = checked_len(rows, cols).ok_or_else(too_large)?;
        let mut buf = self.pool.pop().unwrap_or_default();
        buf.try_reserve(len).map_err(|_| too_large())?;
        Ok(buf)
    }

    /// Records the error (if it is the first) and appends an invalid node.
    fn invalid(&mut self, e: Error) -> usize {
        if self.error.is_none() {
            self.error = Some(e);
        }
        self.nodes.push(Node {
            op: Op::Invalid,
            rows: 0,
            cols: 0,
            requires_grad: false,
            freed: false,
            ones: false,
        });
        self.values.push(Vec::new());
        self.nodes.len() - 1
    }

    /// Appends a computed node holding `buf`; it records its op only when gradients are
    /// enabled and a parent requires them.
    fn push(&mut self, op: Op, rows: usize, cols: usize, buf: Vec<f64>) -> usize {
        debug_assert_eq!(
            buf.len(),
            rows * cols,
            "internal: {op:?} wrote a wrong length"
        );
        let requires_grad =
            self.grad_enabled && op.parents(&self.arena).any(|p| self.nodes[p].requires_grad);
        let op = if requires_grad { op } else { Op::Const };
        self.nodes.push(Node {
            op,
            rows,
            cols,
            requires_grad,
            freed: false,
            ones: false,
        });
        self.values.push(buf);
        self.nodes.len() - 1
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    pub(crate) op: Op,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) requires_grad: bool,
    pub(crate) freed: bool,
    /// A constant known to be all ones (the usual cotangent): multiplying by it is skipped.
    pub(crate) ones: bool,
}

impl Node {
    pub(crate) fn shape(&self) -> Shape {
        (self.rows, self.cols)
    }
}

/// A variable: a node of a [`Tape`]. Cheap to copy; arithmetic on it records new nodes.
#[derive(Clone, Copy)]
pub struct Var<'t> {
    pub(crate) tape: &'t Tape,
    pub(crate) id: usize,
}

impl std::fmt::Debug for Var<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.tape.inner.borrow();
        let n = &inner.nodes[self.id];
        write!(f, "Var(#{} {:?} {}x{})", self.id, n.op, n.rows, n.cols)
    }
}

impl Tape {
    /// An empty tape.
    pub fn new() -> Self {
        let t = Tape::default();
        t.inner.borrow_mut().grad_enabled = true;
        t
    }

    /// A leaf that gradients can be taken with respect to (`requires_grad = true`).
    pub fn var(&self, t: Tensor) -> Var<'_> {
        let (r, c) = t.shape();
        self.leaf(r, c, t.into_vec(), true)
    }

    /// A leaf holding a copy of column-major `data`, without allocating once the tape's
    /// pool is warm. Invalid (with [`Error::DataLength`]) if the length does not match.
    pub fn var_from_slice(&self, rows: usize, cols: usize, data: &[f64]) -> Var<'_> {
        self.leaf_from_slice(rows, cols, data, true)
    }

    /// A constant: a leaf that does not require gradients.
    pub fn constant(&self, t: Tensor) -> Var<'_> {
        let (r, c) = t.shape();
        self.leaf(r, c, t.into_vec(), false)
    }

    /// A constant copy of column-major `data` (see [`Tape::var_from_slice`]).
    pub fn constant_from_slice(&self, rows: usize, cols: usize, data: &[f64]) -> Var<'_> {
        self.leaf_from_slice(rows, cols, data, false)
    }

    /// A constant tensor filled with `v`. Invalid (with [`Error::Operator`]) when
    /// `rows × cols` overflows or cannot be allocated.
    pub fn full(&self, rows: usize, cols: usize, v: f64) -> Var<'_> {
        let buf = self.inner.borrow_mut().buffer("full", rows, cols);
        let mut buf = match buf {
            Ok(buf) => buf,
            Err(e) => return self.invalid(e),
        };
        // `buffer` checked that rows·cols does not overflow and reserved it.
        buf.resize(rows * cols, v);
        let var = self.leaf(rows, cols, buf, false);
        if let Some(node) = self.inner.borrow_mut().nodes.get_mut(var.id) {
            node.ones = v == 1.0;
        }
        var
    }

    /// A constant `1 × 1` tensor.
    pub fn scalar(&self, v: f64) -> Var<'_> {
        self.full(1, 1, v)
    }

    /// Number of nodes recorded so far.
    pub fn len(&self) -> usize {
        self.inner.borrow().nodes.len()
    }

    /// Number of values (`rows × cols`, summed) of the nodes recorded since node `start`:
    /// the size of a computation.
    pub fn values_since(&self, start: usize) -> usize {
        self.values_since_where(start, |_| true)
    }

    /// Number of values of the nodes recorded since `start` that have `rows` rows: over a
    /// batch of `rows` points, the per-point work, which grows exactly in proportion to the
    /// batch (what the evaluator compares between plans, so that its choice does not
    /// depend on the chunk size).
    pub fn batch_values_since(&self, start: usize, rows: usize) -> usize {
        self.values_since_where(start, |n| n.rows == rows)
    }

    fn values_since_where(&self, start: usize, keep: impl Fn(&Node) -> bool) -> usize {
        let inner = self.inner.borrow();
        inner
            .nodes
            .get(start..)
            .unwrap_or_default()
            .iter()
            .filter(|n| keep(n))
            .map(|n| n.rows.saturating_mul(n.cols))
            .fold(0, usize::saturating_add)
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first misuse recorded on this tape, if any.
    pub fn check(&self) -> Result<()> {
        match &self.inner.borrow().error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Forgets every node and error, keeping the value buffers for reuse.
    ///
    /// Variables of this tape must not be used afterwards; the borrow checker enforces
    /// this because `clear` takes `&mut self`.
    pub fn clear(&mut self) {
        let inner = self.inner.get_mut();
        let Inner {
            nodes,
            values,
            pool,
            memo,
            memo2,
            arena,
            error,
            ..
        } = inner;
        nodes.clear();
        arena.clear();
        memo.clear();
        memo2.clear();
        *error = None;
        // As many buffers as the recording just cleared used: enough for the next one
        // like it. Nodes made from a caller's `Tensor` bring buffers of their own, so
        // without this bound the pool grew by those on every reuse (the memory of a
        // training loop grew by 1 MB a step with one trainable coefficient).
        let keep = values.len();
        pool.extend(values.drain(..).map(|mut v| {
            v.clear();
            v
        }));
        let extra = pool.len().saturating_sub(keep);
        pool.drain(..extra);
        inner.grad_enabled = true;
    }

    fn take_buffer(&self) -> Vec<f64> {
        self.inner.borrow_mut().pool.pop().unwrap_or_default()
    }

    fn leaf(&self, rows: usize, cols: usize, data: Vec<f64>, requires_grad: bool) -> Var<'_> {
        let mut inner = self.inner.borrow_mut();
        let id = inner.nodes.len();
        inner.nodes.push(Node {
            op: Op::Leaf,
            rows,
            cols,
            requires_grad,
            freed: false,
            ones: false,
        });
        inner.values.push(data);
        Var { tape: self, id }
    }

    fn leaf_from_slice(&self, rows: usize, cols: usize, data: &[f64], rg: bool) -> Var<'_> {
        // Checked: a shape whose rows·cols wraps around to data.len() must not be accepted.
        if checked_len(rows, cols) != Some(data.len()) {
            return self.invalid(Error::DataLength {
                rows,
                cols,
                len: data.len(),
            });
        }
        let mut buf = self.take_buffer();
        buf.extend_from_slice(data);
        self.leaf(rows, cols, buf, rg)
    }

    /// Records the error (if it is the first) and returns an invalid variable.
    pub(crate) fn invalid(&self, e: Error) -> Var<'_> {
        let id = self.inner.borrow_mut().invalid(e);
        Var { tape: self, id }
    }

    /// Records a node whose value `fill` writes into an empty buffer, given the values
    /// of all nodes so far. When gradients are disabled or no parent requires them, the
    /// node is stored as a constant (no parents), exactly as PyTorch's no-grad mode.
    pub(crate) fn record(
        &self,
        op: Op,
        rows: usize,
        cols: usize,
        fill: impl FnOnce(&[Vec<f64>], &mut Vec<f64>),
    ) -> Var<'_> {
        let mut inner = self.inner.borrow_mut();
        let id = match inner.buffer(op.name(), rows, cols) {
            Ok(mut buf) => {
                fill(&inner.values, &mut buf);
                inner.push(op, rows, cols, buf)
            }
            Err(e) => inner.invalid(e),
        };
        Var { tape: self, id }
    }

    /// Records two nodes of the same shape whose values `fill` computes in one sweep (sin
    /// and cos of the same input, which the compiler turns into one `sincos` call).
    pub(crate) fn record_pair(
        &self,
        ops: [Op; 2],
        rows: usize,
        cols: usize,
        fill: impl FnOnce(&[Vec<f64>], &mut Vec<f64>, &mut Vec<f64>),
    ) -> [Var<'_>; 2] {
        let mut inner = self.inner.borrow_mut();
        let [oa, ob] = ops;
        let a = inner.buffer(oa.name(), rows, cols);
        let b = inner.buffer(ob.name(), rows, cols);
        let ids = match (a, b) {
            (Ok(mut a), Ok(mut b)) => {
                fill(&inner.values, &mut a, &mut b);
                [inner.push(oa, rows, cols, a), inner.push(ob, rows, cols, b)]
            }
            (Err(e), _) | (_, Err(e)) => {
                let id = inner.invalid(e);
                [id, id]
            }
        };
        ids.map(|id| Var { tape: self, id })
    }

    /// Looks up a memoised unary result of `input`, valid for the current grad mode.
    pub(crate) fn memo_get(&self, key: u32, input: usize) -> Option<usize> {
        let inner = self.inner.borrow();
        let &id = inner.memo.get(&(key, input))?;
        let n = &inner.nodes[id];
        let tracked_ok = !inner.grad_enabled || n.requires_grad == inner.nodes[input].requires_grad;
        (tracked_ok && !n.freed).then_some(id)
    }

    pub(crate) fn memo_put(&self, key: u32, input: usize, out: usize) {
        self.inner.borrow_mut().memo.insert((key, input), out);
    }

    /// Looks up a memoised binary result of `(a, b)`, valid for the current grad mode.
    pub(crate) fn memo2_get(&self, key: u32, a: usize, b: usize) -> Option<usize> {
        let inner = self.inner.borrow();
        let &id = inner.memo2.get(&(key, a, b))?;
        let n = &inner.nodes[id];
        let tracked = inner.nodes[a].requires_grad || inner.nodes[b].requires_grad;
        let tracked_ok = !inner.grad_enabled || n.requires_grad == tracked;
        (tracked_ok && !n.freed).then_some(id)
    }

    pub(crate) fn memo2_put(&self, key: u32, a: usize, b: usize, out: usize) {
        self.inner.borrow_mut().memo2.insert((key, a, b), out);
    }

    pub(crate) fn grad_enabled(&self) -> bool {
        self.inner.borrow().grad_enabled
    }

    pub(crate) fn set_grad_enabled(&self, on: bool) -> bool {
        std::mem::replace(&mut self.inner.borrow_mut().grad_enabled, on)
    }

    pub(crate) fn node(&self, id: usize) -> Node {
        self.inner.borrow().nodes[id]
    }
}

impl<'t> Var<'t> {
    /// The tape this variable lives on.
    pub fn tape(&self) -> &'t Tape {
        self.tape
    }

    /// `(rows, cols)`; `(0, 0)` for an invalid variable.
    pub fn shape(&self) -> Shape {
        self.tape.node(self.id).shape()
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.shape().0
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.shape().1
    }

    /// Whether gradients flow to this variable from a leaf created with [`Tape::var`].
    pub fn requires_grad(&self) -> bool {
        self.tape.node(self.id).requires_grad
    }

    /// The value, or the tape's first error if this variable is invalid.
    pub fn value(&self) -> Result<Tensor> {
        self.with_values(|rows, cols, v| {
            Tensor::from_col_major(rows, cols, v.to_vec()).expect("internal: node length")
        })
    }

    /// The value as a nalgebra matrix.
    pub fn matrix(&self) -> Result<nalgebra::DMatrix<f64>> {
        self.with_values(nalgebra::DMatrix::from_column_slice)
    }

    /// The only element of a one-element variable.
    pub fn item(&self) -> Result<f64> {
        self.with_values(|rows, cols, v| (rows * cols == 1).then(|| v[0]))?
            .ok_or_else(|| Error::Operator {
                op: "item".into(),
                message: format!(
                    "needs a tensor with one element, got shape {:?}",
                    self.shape()
                ),
            })
    }

    /// Calls `f(rows, cols, column-major values)` without copying.
    pub fn with_values<R>(&self, f: impl FnOnce(usize, usize, &[f64]) -> R) -> Result<R> {
        let inner = self.tape.inner.borrow();
        let n = &inner.nodes[self.id];
        if matches!(n.op, Op::Invalid) {
            return Err(inner
                .error
                .clone()
                .expect("internal: invalid node without error"));
        }
        Ok(f(n.rows, n.cols, &inner.values[self.id]))
    }

    /// Whether two variables are the same node of the same tape.
    pub fn same(&self, other: &Var<'_>) -> bool {
        std::ptr::eq(self.tape, other.tape) && self.id == other.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::Tensor;

    #[test]
    fn a_reused_tape_keeps_as_many_buffers_as_one_recording_uses() {
        let mut tape = Tape::new();
        let mut sizes = Vec::new();
        for _ in 0..100 {
            tape.clear();
            // A leaf from a caller's tensor brings a buffer not taken from the pool.
            let c = tape.var(Tensor::scalar(2.0));
            let x = tape.var_from_slice(4, 1, &[1.0; 4]);
            let y = (x * c).sum();
            assert_eq!(y.item().unwrap(), 8.0);
            sizes.push(tape.inner.borrow().pool.len() + tape.inner.borrow().values.len());
        }
        // It grew by one buffer per reuse before.
        assert_eq!(sizes[99], sizes[1], "{sizes:?}");
    }
}
