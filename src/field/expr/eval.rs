//! Evaluation of a [`Bound`]: in plain f64, or compiled onto the autodiff tape.

use super::bind::{Bound, Node};
use super::parse::BinOp;
use crate::autodiff::{Tape, Var};
use crate::error::Error;

impl BinOp {
    /// `a op b` on plain numbers.
    pub(super) fn f64(self, a: f64, b: f64) -> f64 {
        match self {
            BinOp::Add => a + b,
            BinOp::Sub => a - b,
            BinOp::Mul => a * b,
            BinOp::Div => a / b,
            BinOp::Pow => match integer_exponent(b) {
                Some(n) => a.powi(n),
                None => a.powf(b),
            },
            BinOp::Atan2 => a.atan2(b),
        }
    }
}

/// `Some(n)` when a constant exponent is an integer that `powi` takes.
pub(super) fn integer_exponent(p: f64) -> Option<i32> {
    (p.fract() == 0.0 && p.abs() <= i32::MAX as f64).then_some(p as i32)
}

impl Node {
    /// The value at plain numbers, `vars[i]` for slot `i`.
    fn f64(&self, vars: &[f64]) -> f64 {
        match self {
            Node::Const(c) => *c,
            Node::Var(i) => vars[*i],
            Node::Neg(a) => -a.f64(vars),
            // A variable exponent is `powf` on the tape too, integer or not.
            Node::Bin(BinOp::Pow, a, b) => a.f64(vars).powf(b.f64(vars)),
            Node::Bin(op, a, b) => op.f64(a.f64(vars), b.f64(vars)),
            Node::PowI(a, n) => a.f64(vars).powi(*n),
            Node::PowF(a, p) => a.f64(vars).powf(*p),
            Node::Call(f, a) => f.f64(a.f64(vars)),
        }
    }

    /// The node recorded on `tape`, `vars[i]` for slot `i`.
    fn var<'t>(&self, tape: &'t Tape, vars: &[Var<'t>]) -> Var<'t> {
        let ev = |n: &Node| n.var(tape, vars);
        match self {
            Node::Const(c) => tape.scalar(*c),
            Node::Var(i) => vars[*i],
            Node::Neg(a) => -ev(a),
            Node::PowI(a, n) => ev(a).powi(*n),
            Node::PowF(a, p) => ev(a).powf(*p),
            Node::Call(f, a) => f.var(ev(a)),
            // A constant operand becomes a scalar op (one node, no constant leaf).
            Node::Bin(op, a, b) => match (op, &**a, &**b) {
                (BinOp::Add, Node::Const(c), b) => ev(b) + *c,
                (BinOp::Add, a, Node::Const(c)) => ev(a) + *c,
                (BinOp::Sub, Node::Const(c), b) => *c - ev(b),
                (BinOp::Sub, a, Node::Const(c)) => ev(a) - *c,
                (BinOp::Mul, Node::Const(c), b) => *c * ev(b),
                (BinOp::Mul, a, Node::Const(c)) => ev(a) * *c,
                (BinOp::Div, Node::Const(c), b) => *c / ev(b),
                (BinOp::Div, a, Node::Const(c)) => ev(a) / *c,
                (BinOp::Add, a, b) => ev(a) + ev(b),
                (BinOp::Sub, a, b) => ev(a) - ev(b),
                (BinOp::Mul, a, b) => ev(a) * ev(b),
                (BinOp::Div, a, b) => ev(a) / ev(b),
                (BinOp::Pow, a, b) => ev(a).pow(ev(b)),
                (BinOp::Atan2, a, b) => ev(a).atan2(ev(b)),
            },
        }
    }
}

impl Bound {
    /// Records the expression on `tape` with `vars[i]` for slot `i`, using the tape's
    /// differentiable ops, and returns the result. Variables may be `N × 1` columns or
    /// `1 × 1` scalars, which broadcast; a constant expression gives a `1 × 1` constant.
    /// Constant operands become scalar ops (`x + c`, `c · x`, `xⁿ`) rather than tape
    /// leaves. Evaluation walks the bound tree: no name lookups, no allocation beyond
    /// the tape's.
    ///
    /// If `vars` has fewer entries than [`Bound::num_vars`], the result is an invalid
    /// variable and the tape records an [`Error::Operator`].
    pub fn eval<'t>(&self, tape: &'t Tape, vars: &[Var<'t>]) -> Var<'t> {
        if vars.len() < self.vars {
            let message = format!("needs {} variables, got {}", self.vars, vars.len());
            return tape.invalid(Error::Operator {
                op: "expression".into(),
                message,
            });
        }
        self.root.var(tape, vars)
    }

    /// The value at plain numbers, `vars[i]` for slot `i`, with the same operations (and
    /// so the same rounding) as [`Bound::eval`].
    ///
    /// # Panics
    /// If `vars` has fewer entries than [`Bound::num_vars`].
    pub fn eval_f64(&self, vars: &[f64]) -> f64 {
        assert!(
            vars.len() >= self.vars,
            "Bound::eval_f64: needs {} variables, got {}",
            self.vars,
            vars.len()
        );
        self.root.f64(vars)
    }
}
