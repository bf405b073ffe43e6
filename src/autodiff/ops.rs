//! The ops: each op's forward and its vector-Jacobian product (VJP) rule side by side.
//!
//! VJP rules are written with the same differentiable ops that user code calls, never
//! with raw buffers, so a backward pass recorded with `create_graph` can itself be
//! differentiated, to any order. A rule receives the op's inputs, its output `y` and the
//! cotangent `g` of the output, and returns the cotangent of each input that needs one.
//! Broadcasting is undone by the caller ([`super::grad`]), which sums a cotangent back to
//! its input's shape.

use super::tape::{Tape, Var};
use crate::error::{Error, Shape};

/// What produced a node.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Op {
    /// A leaf made by the user (variable or constant).
    Leaf,
    /// A value computed without recording (no grad mode, or no parent requires grad).
    Const,
    /// The result of a misuse; the tape holds the error.
    Invalid,
    Unary(Unary, usize),
    Binary(Binary, usize, usize),
    AddScalar(usize),
    MulScalar(usize, f64),
    PowI(usize, i32),
    PowF(usize, f64),
    /// `r × c → 1 × c`.
    SumRows(usize),
    /// `r × c → r × 1`.
    SumCols(usize),
    /// Broadcast to the node's shape.
    Expand(usize),
    /// Columns `start..start + node.cols` of the parent.
    Cols(usize, usize),
    /// The parent placed at column `start` of zeros with the node's width.
    Pad(usize, usize),
    /// Parents `arena[start..start + len]` side by side.
    Stack {
        start: usize,
        len: usize,
    },
    /// `op(a) · op(b)`, `op` transposing when the flag is set.
    MatMul(usize, usize, bool, bool),
}

impl Op {
    /// A name for error messages.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Op::Leaf => "leaf",
            Op::Const => "constant",
            Op::Invalid => "invalid",
            Op::Unary(..) => "unary",
            Op::Binary(f, ..) => f.name(),
            Op::AddScalar(_) => "add_scalar",
            Op::MulScalar(..) => "scale",
            Op::PowI(..) => "powi",
            Op::PowF(..) => "powf",
            Op::SumRows(_) => "sum_rows",
            Op::SumCols(_) => "sum_cols",
            Op::Expand(_) => "expand",
            Op::Cols(..) => "cols",
            Op::Pad(..) => "pad",
            Op::Stack { .. } => "stack",
            Op::MatMul(..) => "matmul",
        }
    }

    pub(crate) fn parents<'a>(&self, arena: &'a [usize]) -> impl Iterator<Item = usize> + 'a {
        let (two, many): ([Option<usize>; 2], &'a [usize]) = match *self {
            Op::Leaf | Op::Const | Op::Invalid => ([None, None], &[]),
            Op::Unary(_, a)
            | Op::AddScalar(a)
            | Op::MulScalar(a, _)
            | Op::PowI(a, _)
            | Op::PowF(a, _)
            | Op::SumRows(a)
            | Op::SumCols(a)
            | Op::Expand(a)
            | Op::Cols(a, _)
            | Op::Pad(a, _) => ([Some(a), None], &[]),
            Op::Binary(_, a, b) | Op::MatMul(a, b, _, _) => ([Some(a), Some(b)], &[]),
            Op::Stack { start, len } => ([None, None], &arena[start..start + len]),
        };
        two.into_iter().flatten().chain(many.iter().copied())
    }
}

// ---------------------------------------------------------------------------------------
// Elementwise unary ops: one table row per op for the forward, one for the VJP.

/// Elementwise functions of one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unary {
    Neg,
    Sqrt,
    Exp,
    Ln,
    Sin,
    Cos,
    Tan,
    Tanh,
    Sinh,
    Cosh,
    Abs,
    Recip,
    /// `ln(1 + eˣ)`, computed without overflow.
    Softplus,
    /// `1 / (1 + e⁻ˣ)`, softplus′, computed without overflow.
    Sigmoid,
    /// `1 − x²`, tanh′ in terms of tanh's output. Memoised like every unary op, so the
    /// many backward passes through one tanh compute it once and share its node.
    TanhDeriv,
}

impl Unary {
    /// `y = f(x)`, elementwise.
    fn forward(self, x: &[f64], out: &mut Vec<f64>) {
        fn map(x: &[f64], out: &mut Vec<f64>, f: impl Fn(f64) -> f64) {
            out.extend(x.iter().map(|&v| f(v)));
        }
        match self {
            Unary::Neg => map(x, out, |v| -v),
            Unary::Sqrt => map(x, out, f64::sqrt),
            Unary::Exp => map(x, out, f64::exp),
            Unary::Ln => map(x, out, f64::ln),
            Unary::Sin => map(x, out, f64::sin),
            Unary::Cos => map(x, out, f64::cos),
            Unary::Tan => map(x, out, f64::tan),
            Unary::Tanh => map(x, out, f64::tanh),
            Unary::Sinh => map(x, out, f64::sinh),
            Unary::Cosh => map(x, out, f64::cosh),
            Unary::Abs => map(x, out, f64::abs),
            Unary::Recip => map(x, out, |v| 1.0 / v),
            Unary::Softplus => map(x, out, |v| v.max(0.0) + (-v.abs()).exp().ln_1p()),
            Unary::Sigmoid => map(x, out, |v| {
                if v >= 0.0 {
                    1.0 / (1.0 + (-v).exp())
                } else {
                    let e = v.exp();
                    e / (1.0 + e)
                }
            }),
            // Rounds as `-(v * v) + 1` would: negation is exact, addition commutes.
            Unary::TanhDeriv => map(x, out, |v| 1.0 - v * v),
        }
    }

    /// `(f(x), g(x))` for a function and its companion, in one loop so that sin and cos
    /// (or sinh and cosh) share their argument reduction.
    fn forward_pair(f: Unary, g: Unary, x: &[f64], fo: &mut Vec<f64>, go: &mut Vec<f64>) {
        fn both(
            x: &[f64],
            fo: &mut Vec<f64>,
            go: &mut Vec<f64>,
            f: impl Fn(f64) -> f64,
            g: impl Fn(f64) -> f64,
        ) {
            // Both calls in one straight-line body, so that sin and cos fuse into sincos.
            fo.resize(x.len(), 0.0);
            go.resize(x.len(), 0.0);
            for ((&v, a), b) in x.iter().zip(fo.iter_mut()).zip(go.iter_mut()) {
                *a = f(v);
                *b = g(v);
            }
        }
        match (f, g) {
            (Unary::Sin, Unary::Cos) => both(x, fo, go, f64::sin, f64::cos),
            (Unary::Cos, Unary::Sin) => both(x, fo, go, f64::cos, f64::sin),
            (Unary::Sinh, Unary::Cosh) => both(x, fo, go, f64::sinh, f64::cosh),
            (Unary::Cosh, Unary::Sinh) => both(x, fo, go, f64::cosh, f64::sinh),
            _ => {
                f.forward(x, fo);
                g.forward(x, go);
            }
        }
    }

    /// `x̄ = ḡ · f′(x)`, written with tape ops.
    fn vjp<'t>(self, x: Var<'t>, y: Var<'t>, g: Var<'t>) -> Var<'t> {
        match self {
            Unary::Neg => -g,
            Unary::Sqrt => (g / y).scale(0.5), // (√x)′ = 1 / (2√x)
            Unary::Exp => g * y,               // (eˣ)′ = eˣ
            Unary::Ln => g / x,                // (ln x)′ = 1/x
            Unary::Sin => g * x.cos(),         // cos from the forward pass
            Unary::Cos => g * -x.sin(),        // −sin x, from the forward pass, memoised
            Unary::Tan => g * (y * y + 1.0),   // 1 + tan²
            Unary::Tanh => g * y.tanh_deriv(), // 1 − tanh², memoised per y
            Unary::TanhDeriv => x.neg_two_mul(g), // (1 − x²)′ = −2x
            Unary::Sinh => g * x.cosh(),       // cosh from the forward pass
            Unary::Cosh => g * x.sinh(),       // sinh from the forward pass
            Unary::Abs => g * x.signum(),      // sign is piecewise constant
            Unary::Recip => -(g * (y * y)),    // (1/x)′ = −1/x²
            Unary::Softplus => g * x.sigmoid(), // softplus′ = sigmoid
            Unary::Sigmoid => g * (y * (1.0 - y)), // σ′ = σ(1 − σ)
        }
    }

    /// The function whose values the forward pass computes alongside, because the VJP
    /// needs them: sin ↔ cos, sinh ↔ cosh.
    fn companion(self) -> Option<Unary> {
        match self {
            Unary::Sin => Some(Unary::Cos),
            Unary::Cos => Some(Unary::Sin),
            Unary::Sinh => Some(Unary::Cosh),
            Unary::Cosh => Some(Unary::Sinh),
            _ => None,
        }
    }

    fn key(self) -> u32 {
        self as u32
    }
}

impl<'t> Var<'t> {
    fn unary(self, f: Unary) -> Var<'t> {
        let tape = self.tape;
        if let Some(id) = tape.memo_get(f.key(), self.id) {
            return Var { tape, id };
        }
        let n = tape.node(self.id);
        if matches!(n.op, Op::Invalid) {
            return self;
        }
        let (r, c) = n.shape();
        let x = self.id;
        let y = match f.companion() {
            Some(other) => {
                let [o, y] =
                    tape.record_pair([Op::Unary(other, x), Op::Unary(f, x)], r, c, |v, o, y| {
                        Unary::forward_pair(other, f, &v[x], o, y)
                    });
                tape.memo_put(other.key(), x, o.id);
                y
            }
            None => tape.record(Op::Unary(f, x), r, c, |v, out| f.forward(&v[x], out)),
        };
        tape.memo_put(f.key(), x, y.id);
        y
    }

    /// Square root, elementwise. VJP: ḡ / (2√x).
    pub fn sqrt(self) -> Var<'t> {
        self.unary(Unary::Sqrt)
    }
    /// Exponential. VJP: ḡ·eˣ (the forward value is reused).
    pub fn exp(self) -> Var<'t> {
        self.unary(Unary::Exp)
    }
    /// Natural logarithm. VJP: ḡ / x.
    pub fn ln(self) -> Var<'t> {
        self.unary(Unary::Ln)
    }
    /// Sine. The forward pass also records cos x, which the VJP ḡ·cos x uses.
    pub fn sin(self) -> Var<'t> {
        self.unary(Unary::Sin)
    }
    /// Cosine. The forward pass also records sin x, which the VJP −ḡ·sin x uses.
    pub fn cos(self) -> Var<'t> {
        self.unary(Unary::Cos)
    }
    /// Tangent. VJP: ḡ·(1 + tan²x).
    pub fn tan(self) -> Var<'t> {
        self.unary(Unary::Tan)
    }
    /// Hyperbolic tangent. VJP: ḡ·(1 − tanh²x).
    pub fn tanh(self) -> Var<'t> {
        self.unary(Unary::Tanh)
    }
    /// Hyperbolic sine (records cosh alongside). VJP: ḡ·cosh x.
    pub fn sinh(self) -> Var<'t> {
        self.unary(Unary::Sinh)
    }
    /// Hyperbolic cosine (records sinh alongside). VJP: ḡ·sinh x.
    pub fn cosh(self) -> Var<'t> {
        self.unary(Unary::Cosh)
    }
    /// Absolute value. VJP: ḡ·sign x (zero second derivative).
    pub fn abs(self) -> Var<'t> {
        self.unary(Unary::Abs)
    }
    /// Reciprocal 1/x. VJP: −ḡ/x².
    pub fn recip(self) -> Var<'t> {
        self.unary(Unary::Recip)
    }
    /// Softplus `ln(1 + eˣ)`, without overflow for large |x|. VJP: ḡ·sigmoid x.
    pub fn softplus(self) -> Var<'t> {
        self.unary(Unary::Softplus)
    }
    /// Logistic sigmoid `1 / (1 + e⁻ˣ)`, without overflow. VJP: ḡ·σ(1 − σ).
    pub fn sigmoid(self) -> Var<'t> {
        self.unary(Unary::Sigmoid)
    }

    /// `1 − x²` (tanh′ written with tanh's output). VJP: −2x·ḡ.
    pub(crate) fn tanh_deriv(self) -> Var<'t> {
        self.unary(Unary::TanhDeriv)
    }

    /// Sign of x (−1, 0 or 1; NaN stays NaN) as a constant: its derivative is zero.
    pub fn signum(self) -> Var<'t> {
        let n = self.tape.node(self.id);
        if matches!(n.op, Op::Invalid) {
            return self;
        }
        self.tape.record(Op::Const, n.rows, n.cols, |v, out| {
            out.extend(
                v[self.id]
                    .iter()
                    .map(|&x| if x == 0.0 { 0.0 } else { x.signum() }),
            )
        })
    }
}

// ---------------------------------------------------------------------------------------
// Elementwise binary ops with broadcasting of scalars, rows and columns.

/// Elementwise functions of two arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Atan2,
    /// `−2·a·b`: the VJP of [`Unary::TanhDeriv`], one op instead of a product and a
    /// scaling.
    NegTwoMul,
}

impl Binary {
    fn name(self) -> &'static str {
        match self {
            Binary::Add => "add",
            Binary::Sub => "sub",
            Binary::Mul => "mul",
            Binary::Div => "div",
            Binary::Pow => "pow",
            Binary::Atan2 => "atan2",
            Binary::NegTwoMul => "neg_two_mul",
        }
    }

    fn forward(self, a: &[f64], sa: Shape, b: &[f64], sb: Shape, s: Shape, out: &mut Vec<f64>) {
        match self {
            Binary::Add => zip(a, sa, b, sb, s, out, |x, y| x + y),
            Binary::Sub => zip(a, sa, b, sb, s, out, |x, y| x - y),
            Binary::Mul => zip(a, sa, b, sb, s, out, |x, y| x * y),
            Binary::Div => zip(a, sa, b, sb, s, out, |x, y| x / y),
            Binary::Pow => zip(a, sa, b, sb, s, out, f64::powf),
            Binary::Atan2 => zip(a, sa, b, sb, s, out, f64::atan2),
            Binary::NegTwoMul => zip(a, sa, b, sb, s, out, |x, y| -2.0 * (x * y)),
        }
    }

    /// Cotangents of `(a, b)`, each only if `need` says so.
    fn vjp<'t>(
        self,
        a: Var<'t>,
        b: Var<'t>,
        y: Var<'t>,
        g: Var<'t>,
        need: [bool; 2],
    ) -> [Option<Var<'t>>; 2] {
        let [na, nb] = need;
        match self {
            Binary::Add => [na.then_some(g), nb.then_some(g)],
            Binary::Sub => [na.then_some(g), nb.then(|| -g)],
            Binary::Mul => [na.then(|| g * b), nb.then(|| g * a)],
            // ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −a/b² = −y/b
            Binary::Div => [na.then(|| g / b), nb.then(|| -(g * y / b))],
            // ∂(aᵇ)/∂a = b·aᵇ⁻¹, ∂(aᵇ)/∂b = aᵇ·ln a
            Binary::Pow => [
                na.then(|| g * b * a.pow(b - 1.0)),
                nb.then(|| g * y * a.ln()),
            ],
            // atan2(a, b) = angle of (b, a): ∂/∂a = b/(a²+b²), ∂/∂b = −a/(a²+b²)
            Binary::Atan2 => {
                let r2 = a * a + b * b;
                [na.then(|| g * b / r2), nb.then(|| -(g * a / r2))]
            }
            // y = −2ab: ∂y/∂a = −2b, ∂y/∂b = −2a.
            Binary::NegTwoMul => [na.then(|| b.neg_two_mul(g)), nb.then(|| a.neg_two_mul(g))],
        }
    }
}

/// The shape two operands broadcast to, if they do.
pub(crate) fn broadcast(sa: Shape, sb: Shape) -> Option<Shape> {
    let dim = |x: usize, y: usize| match (x, y) {
        _ if x == y => Some(x),
        (1, _) => Some(y),
        (_, 1) => Some(x),
        _ => None,
    };
    Some((dim(sa.0, sb.0)?, dim(sa.1, sb.1)?))
}

/// `out = f(a, b)` elementwise over the broadcast shape `s` (column-major).
#[inline]
fn zip(
    a: &[f64],
    sa: Shape,
    b: &[f64],
    sb: Shape,
    s: Shape,
    out: &mut Vec<f64>,
    f: impl Fn(f64, f64) -> f64,
) {
    if sa == s && sb == s {
        out.extend(a.iter().zip(b).map(|(&x, &y)| f(x, y)));
        return;
    }
    let (r, c) = s;
    for j in 0..c {
        let ja = if sa.1 == 1 { 0 } else { j };
        let jb = if sb.1 == 1 { 0 } else { j };
        let ca = &a[ja * sa.0..(ja + 1) * sa.0];
        let cb = &b[jb * sb.0..(jb + 1) * sb.0];
        match (sa.0 == r, sb.0 == r) {
            (true, true) => out.extend(ca.iter().zip(cb).map(|(&x, &y)| f(x, y))),
            (true, false) => out.extend(ca.iter().map(|&x| f(x, cb[0]))),
            (false, true) => out.extend(cb.iter().map(|&y| f(ca[0], y))),
            (false, false) => out.extend(std::iter::repeat_n(f(ca[0], cb[0]), r)),
        }
    }
}

impl<'t> Var<'t> {
    /// Checks that `other` is on this tape and neither operand is invalid.
    fn pair(self, other: Var<'t>, op: &'static str) -> Result<(), Var<'t>> {
        if !std::ptr::eq(self.tape, other.tape) {
            return Err(self.tape.invalid(Error::ForeignVar { op }));
        }
        let invalid = |v: Var<'t>| matches!(v.tape.node(v.id).op, Op::Invalid);
        if invalid(self) {
            return Err(self);
        }
        if invalid(other) {
            return Err(other);
        }
        Ok(())
    }

    fn binary(self, other: Var<'t>, f: Binary) -> Var<'t> {
        if let Err(bad) = self.pair(other, f.name()) {
            return bad;
        }
        let (sa, sb) = (self.shape(), other.shape());
        let Some(s) = broadcast(sa, sb) else {
            return self.tape.invalid(Error::ShapeMismatch {
                op: f.name(),
                lhs: sa,
                rhs: sb,
            });
        };
        if f == Binary::Mul
            && let Some(same) = self.times_ones(other, s)
        {
            return same;
        }
        let (ia, ib) = (self.id, other.id);
        self.tape.record(Op::Binary(f, ia, ib), s.0, s.1, |v, out| {
            f.forward(&v[ia], sa, &v[ib], sb, s, out)
        })
    }

    /// `a · 1 = a` exactly, so a product with a constant of ones (the usual cotangent) is
    /// the other factor itself — unless that would hand a recorded node to a computation
    /// that must not be recorded.
    fn times_ones(self, other: Var<'t>, s: Shape) -> Option<Var<'t>> {
        let (na, nb) = (self.tape.node(self.id), self.tape.node(other.id));
        let keep = |ones: &super::tape::Node, other: &super::tape::Node| {
            ones.ones && other.shape() == s && (self.tape.grad_enabled() || !other.requires_grad)
        };
        if keep(&nb, &na) {
            Some(self)
        } else if keep(&na, &nb) {
            Some(other)
        } else {
            None
        }
    }

    /// `selfᵉ` elementwise with a variable exponent (broadcasting).
    /// VJPs: ḡ·e·selfᵉ⁻¹ and ḡ·selfᵉ·ln self.
    pub fn pow(self, e: Var<'t>) -> Var<'t> {
        self.binary(e, Binary::Pow)
    }

    /// `atan2(self, x)`: the angle of the point `(x, self)`, as `f64::atan2`.
    pub fn atan2(self, x: Var<'t>) -> Var<'t> {
        self.binary(x, Binary::Atan2)
    }

    /// `−2·self·other`, elementwise. VJPs: `−2·other·ḡ` and `−2·self·ḡ`.
    pub(crate) fn neg_two_mul(self, other: Var<'t>) -> Var<'t> {
        self.binary(other, Binary::NegTwoMul)
    }
}

// ---------------------------------------------------------------------------------------
// Ops with a constant parameter.

impl<'t> Var<'t> {
    fn map_const(self, op: Op, f: impl Fn(f64) -> f64) -> Var<'t> {
        let n = self.tape.node(self.id);
        if matches!(n.op, Op::Invalid) {
            return self;
        }
        let id = self.id;
        self.tape.record(op, n.rows, n.cols, |v, out| {
            out.extend(v[id].iter().map(|&x| f(x)))
        })
    }

    /// `self + c`. VJP: ḡ.
    pub fn add_scalar(self, c: f64) -> Var<'t> {
        self.map_const(Op::AddScalar(self.id), |x| x + c)
    }

    /// `c · self`. VJP: c·ḡ.
    pub fn scale(self, c: f64) -> Var<'t> {
        self.map_const(Op::MulScalar(self.id, c), |x| c * x)
    }

    /// `selfⁿ` for an integer n. VJP: ḡ·n·selfⁿ⁻¹ (and none for n = 0, a constant 1).
    pub fn powi(self, n: i32) -> Var<'t> {
        if n == 0 {
            return self.map_const(Op::Const, |_| 1.0);
        }
        self.map_const(Op::PowI(self.id, n), |x| x.powi(n))
    }

    /// `selfᵖ` for a real constant p. VJP: ḡ·p·selfᵖ⁻¹.
    pub fn powf(self, p: f64) -> Var<'t> {
        self.map_const(Op::PowF(self.id, p), |x| x.powf(p))
    }
}

fn vjp_powi<'t>(x: Var<'t>, n: i32, g: Var<'t>) -> Var<'t> {
    // (xⁿ)′ = n·xⁿ⁻¹; n − 1 below i32's range falls back to a real exponent.
    let d = match n.checked_sub(1) {
        Some(m) => x.powi(m),
        None => x.powf(n as f64 - 1.0),
    };
    (g * d).scale(n as f64)
}

fn vjp_powf<'t>(x: Var<'t>, p: f64, g: Var<'t>) -> Var<'t> {
    // (xᵖ)′ = p·xᵖ⁻¹
    (g * x.powf(p - 1.0)).scale(p)
}

// ---------------------------------------------------------------------------------------
// Reductions, broadcasting and column manipulation.

impl<'t> Var<'t> {
    fn structural(
        self,
        op: Op,
        rows: usize,
        cols: usize,
        fill: impl FnOnce(&[f64], Shape, &mut Vec<f64>),
    ) -> Var<'t> {
        let n = self.tape.node(self.id);
        if matches!(n.op, Op::Invalid) {
            return self;
        }
        let id = self.id;
        self.tape
            .record(op, rows, cols, |v, out| fill(&v[id], n.shape(), out))
    }

    /// Sum over rows (over the points of a batch): `r × c → 1 × c`. VJP: ḡ broadcast
    /// back over the rows.
    pub fn sum_rows(self) -> Var<'t> {
        let (_, c) = self.shape();
        self.structural(Op::SumRows(self.id), 1, c, |x, (r, c), out| {
            out.extend((0..c).map(|j| x[j * r..(j + 1) * r].iter().sum::<f64>()))
        })
    }

    /// Sum over columns (over the components of each point): `r × c → r × 1`. VJP: ḡ
    /// broadcast back over the columns.
    pub fn sum_cols(self) -> Var<'t> {
        let (r, _) = self.shape();
        self.structural(Op::SumCols(self.id), r, 1, |x, (r, c), out| {
            out.extend_from_slice(&x[..r]);
            for j in 1..c {
                for (o, &v) in out.iter_mut().zip(&x[j * r..(j + 1) * r]) {
                    *o += v;
                }
            }
        })
    }

    /// Mean over rows: `r × c → 1 × c`.
    pub fn mean_rows(self) -> Var<'t> {
        let r = self.rows();
        self.sum_rows() / self.tape.scalar(r as f64)
    }

    /// Mean over columns: `r × c → r × 1`.
    pub fn mean_cols(self) -> Var<'t> {
        let c = self.cols();
        self.sum_cols() / self.tape.scalar(c as f64)
    }

    /// Sum of all elements: `1 × 1`.
    pub fn sum(self) -> Var<'t> {
        self.sum_rows().sum_cols()
    }

    /// Mean of all elements: `1 × 1`.
    pub fn mean(self) -> Var<'t> {
        let n = self.rows() * self.cols();
        self.sum() / self.tape.scalar(n as f64)
    }

    /// Broadcast to `rows × cols` (each dimension must equal the target or be 1).
    /// VJP: ḡ summed back over the broadcast dimensions.
    pub fn expand(self, rows: usize, cols: usize) -> Var<'t> {
        let s = self.shape();
        if broadcast(s, (rows, cols)) != Some((rows, cols)) {
            return self.tape.invalid(Error::ShapeMismatch {
                op: "expand",
                lhs: s,
                rhs: (rows, cols),
            });
        }
        if s == (rows, cols) {
            return self;
        }
        self.structural(Op::Expand(self.id), rows, cols, |x, sx, out| {
            let ones = [0.0];
            zip(x, sx, &ones, (1, 1), (rows, cols), out, |a, _| a)
        })
    }

    /// Columns `start..start + len`. VJP: ḡ placed back at those columns of zeros.
    pub fn cols_range(self, start: usize, len: usize) -> Var<'t> {
        let (r, c) = self.shape();
        let Some(end) = start.checked_add(len).filter(|&end| end <= c) else {
            return self.column_range_error("cols", start, start.saturating_add(len), (r, c));
        };
        self.structural(Op::Cols(self.id, start), r, len, |x, _, out| {
            // end ≤ c, so end·r ≤ c·r = x.len(): no overflow, in range.
            out.extend_from_slice(&x[start * r..end * r])
        })
    }

    /// An invalid variable for columns `start..end` outside `shape` (or `self` itself when
    /// it is already invalid: the first error is the one that counts).
    fn column_range_error(
        self,
        op: &'static str,
        start: usize,
        end: usize,
        shape: Shape,
    ) -> Var<'t> {
        if matches!(self.tape.node(self.id).op, Op::Invalid) {
            return self;
        }
        self.tape.invalid(Error::ColumnRange {
            op,
            start,
            end,
            shape,
        })
    }

    /// Column `j` (component `j` of every point): `r × 1`.
    pub fn col(self, j: usize) -> Var<'t> {
        self.cols_range(j, 1)
    }

    /// This tensor placed at column `start` of a zero tensor `cols` wide.
    /// VJP: the same columns of ḡ.
    pub fn pad_cols(self, start: usize, cols: usize) -> Var<'t> {
        let (r, c) = self.shape();
        if start.checked_add(c).is_none_or(|end| end > cols) {
            return self.column_range_error("pad", start, start.saturating_add(c), (r, cols));
        }
        // `record` checks that r·cols fits before `fill` runs; start ≤ cols, so start·r
        // fits too.
        self.structural(Op::Pad(self.id, start), r, cols, |x, _, out| {
            out.resize(start * r, 0.0);
            out.extend_from_slice(x);
            out.resize(r * cols, 0.0);
        })
    }

    /// Side by side; `parts` is not empty (see [`Tape::stack`]).
    fn stack_nonempty(first: Var<'t>, parts: &[Var<'t>]) -> Var<'t> {
        for p in parts {
            if let Err(bad) = first.pair(*p, "stack") {
                return bad;
            }
        }
        let rows = first.rows();
        let mut cols: usize = 0;
        for p in parts {
            if p.rows() != rows {
                return first.tape.invalid(Error::ShapeMismatch {
                    op: "stack",
                    lhs: first.shape(),
                    rhs: p.shape(),
                });
            }
            let Some(sum) = cols.checked_add(p.cols()) else {
                return first.tape.invalid(Error::Operator {
                    op: "stack".into(),
                    message: "the total number of columns overflows".into(),
                });
            };
            cols = sum;
        }
        let tape = first.tape;
        let start = {
            let mut inner = tape.inner.borrow_mut();
            let start = inner.arena.len();
            inner.arena.extend(parts.iter().map(|p| p.id));
            start
        };
        tape.record(
            Op::Stack {
                start,
                len: parts.len(),
            },
            rows,
            cols,
            |v, out| {
                for p in parts {
                    out.extend_from_slice(&v[p.id]);
                }
            },
        )
    }
}

impl Tape {
    /// Places variables side by side (`torch.cat(dim = 1)`); all must have the same number
    /// of rows. VJP: each part gets its columns of ḡ. An empty list is an error
    /// ([`Error::ShapeMismatch`] with shapes `(0, 0)`), returned as an invalid variable.
    pub fn stack<'t>(&'t self, parts: &[Var<'t>]) -> Var<'t> {
        match parts.first() {
            None => self.invalid(Error::ShapeMismatch {
                op: "stack",
                lhs: (0, 0),
                rhs: (0, 0),
            }),
            Some(&first) if !std::ptr::eq(first.tape, self) => {
                self.invalid(Error::ForeignVar { op: "stack" })
            }
            Some(&first) => Var::stack_nonempty(first, parts),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Matrix products (a batch times a parameter matrix, and the transposes its VJP needs).

impl<'t> Var<'t> {
    /// Matrix product `self · w`: a batch `N × k` by a parameter `k × m` gives `N × m`.
    /// VJPs: ḡ·wᵀ and selfᵀ·ḡ.
    pub fn matmul(self, w: Var<'t>) -> Var<'t> {
        self.matmul_t(w, false, false)
    }

    /// `op(self) · op(w)`, where `op` transposes when its flag is set.
    pub fn matmul_t(self, w: Var<'t>, ta: bool, tb: bool) -> Var<'t> {
        if let Err(bad) = self.pair(w, "matmul") {
            return bad;
        }
        let (sa, sb) = (self.shape(), w.shape());
        let (m, k1) = if ta { (sa.1, sa.0) } else { sa };
        let (k2, n) = if tb { (sb.1, sb.0) } else { sb };
        if k1 != k2 {
            return self.tape.invalid(Error::ShapeMismatch {
                op: "matmul",
                lhs: (m, k1),
                rhs: (k2, n),
            });
        }
        let (ia, ib) = (self.id, w.id);
        self.tape
            .record(Op::MatMul(ia, ib, ta, tb), m, n, |v, out| {
                gemm(&v[ia], sa, ta, &v[ib], sb, tb, out);
            })
    }
}

/// `c = op(a) · op(b)` for column-major `a` (shape `sa`) and `b` (shape `sb`), where `op`
/// transposes by swapping strides: matrixmultiply's blocked kernel (the one nalgebra uses),
/// called directly because nalgebra's views cannot express a transposed column-major slice.
/// `c` is an empty buffer; the product is written into its spare capacity (with β = 0
/// matrixmultiply never reads C, so zero-filling it first would be a wasted pass).
fn gemm(a: &[f64], sa: Shape, ta: bool, b: &[f64], sb: Shape, tb: bool, c: &mut Vec<f64>) {
    // (rows, cols, row stride, column stride) of op(x).
    let strided = |s: Shape, t: bool| {
        if t {
            (s.1, s.0, s.0, 1)
        } else {
            (s.0, s.1, 1, s.0)
        }
    };
    let (m, k, rsa, csa) = strided(sa, ta);
    let (k2, n, rsb, csb) = strided(sb, tb);
    // Every node's length is rows·cols, checked (never wrapped) when it was created;
    // the shapes are checked again here because the unsafe call below relies on them.
    assert!(
        k == k2
            && Some(a.len()) == sa.0.checked_mul(sa.1)
            && Some(b.len()) == sb.0.checked_mul(sb.1)
            && c.is_empty()
            && c.capacity() >= m.saturating_mul(n),
        "internal: gemm shapes"
    );
    if m == 0 || n == 0 || k == 0 {
        // An empty product or an empty inner dimension: zeros (and C must be written).
        // m·n ≤ capacity, checked above. Strides of a dimension up to usize::MAX need
        // not fit in isize when the product has no elements, so dgemm is not called.
        c.resize(m * n, 0.0);
        return;
    }
    // Every dimension is now positive and each operand holds its elements, so every
    // stride (at most a dimension) is below isize::MAX / 8.
    // SAFETY: the assert above guarantees that every index i·rs + j·cs with i < rows and
    // j < cols lies inside its slice, for a (m × k) and b (k × n); c has capacity for
    // m × n (column-major) and dgemm with β = 0 writes every element without reading it.
    unsafe {
        matrixmultiply::dgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            rsa as isize,
            csa as isize,
            b.as_ptr(),
            rsb as isize,
            csb as isize,
            0.0,
            c.as_mut_ptr(),
            1,
            m as isize,
        );
        // matrixmultiply has written all m·n elements of C (β = 0, k > 0).
        c.set_len(m * n);
    }
}

fn vjp_matmul<'t>(
    a: Var<'t>,
    b: Var<'t>,
    ta: bool,
    tb: bool,
    g: Var<'t>,
    need: [bool; 2],
) -> [Option<Var<'t>>; 2] {
    // C = op(A)·op(B). For C = A·B: Ā = Ḡ·Bᵀ, B̄ = Aᵀ·Ḡ; the transposed cases follow.
    let [na, nb] = need;
    match (ta, tb) {
        (false, false) => [
            na.then(|| g.matmul_t(b, false, true)),
            nb.then(|| a.matmul_t(g, true, false)),
        ],
        (false, true) => [
            na.then(|| g.matmul_t(b, false, false)),
            nb.then(|| g.matmul_t(a, true, false)),
        ],
        (true, false) => [
            na.then(|| b.matmul_t(g, false, true)),
            nb.then(|| a.matmul_t(g, false, false)),
        ],
        (true, true) => [
            na.then(|| b.matmul_t(g, true, true)),
            nb.then(|| g.matmul_t(a, true, true)),
        ],
    }
}

// ---------------------------------------------------------------------------------------
// The dispatcher used by the backward pass.

impl Op {
    /// Calls `emit(parent, cotangent)` for every parent `p` with `need(p)`, given the
    /// node's output `y` and its cotangent `g`. Cotangents may still have the node's
    /// (broadcast) shape; the caller sums them back to the parent's shape.
    pub(crate) fn vjp<'t>(
        self,
        tape: &'t Tape,
        y: Var<'t>,
        g: Var<'t>,
        need: impl Fn(usize) -> bool,
        mut emit: impl FnMut(usize, Var<'t>),
    ) {
        let v = |id| Var { tape, id };
        match self {
            Op::Leaf | Op::Const | Op::Invalid => {}
            Op::Unary(f, a) => emit(a, f.vjp(v(a), y, g)),
            Op::Binary(f, a, b) => {
                let [ga, gb] = f.vjp(v(a), v(b), y, g, [need(a), need(b)]);
                // `a` and `b` may be the same node (x * x): emit both contributions.
                ga.into_iter().for_each(|c| emit(a, c));
                gb.into_iter().for_each(|c| emit(b, c));
            }
            Op::AddScalar(a) => emit(a, g),
            Op::MulScalar(a, c) => emit(a, g.scale(c)),
            Op::PowI(a, n) => emit(a, vjp_powi(v(a), n, g)),
            Op::PowF(a, p) => emit(a, vjp_powf(v(a), p, g)),
            Op::SumRows(a) => {
                let (r, c) = tape.node(a).shape();
                emit(a, g.expand(r, c))
            }
            Op::SumCols(a) => {
                let (r, c) = tape.node(a).shape();
                emit(a, g.expand(r, c))
            }
            Op::Expand(a) => emit(a, g), // the caller sums back to a's shape
            Op::Cols(a, start) => emit(a, g.pad_cols(start, tape.node(a).cols)),
            Op::Pad(a, start) => emit(a, g.cols_range(start, tape.node(a).cols)),
            Op::Stack { start, len } => {
                let mut off = 0;
                for k in 0..len {
                    let p = tape.inner.borrow().arena[start + k];
                    let c = tape.node(p).cols;
                    if need(p) {
                        emit(p, g.cols_range(off, c));
                    }
                    off += c;
                }
            }
            Op::MatMul(a, b, ta, tb) => {
                let [ga, gb] = vjp_matmul(v(a), v(b), ta, tb, g, [need(a), need(b)]);
                ga.into_iter().for_each(|c| emit(a, c));
                gb.into_iter().for_each(|c| emit(b, c));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Operator overloading: `(x + y) * (y + 3.0)` reads like the math.

macro_rules! binary_operator {
    ($trait:ident, $method:ident, $op:expr, $scalar:expr, $rscalar:expr) => {
        impl<'t> std::ops::$trait<Var<'t>> for Var<'t> {
            type Output = Var<'t>;
            fn $method(self, rhs: Var<'t>) -> Var<'t> {
                self.binary(rhs, $op)
            }
        }
        impl<'t> std::ops::$trait<f64> for Var<'t> {
            type Output = Var<'t>;
            fn $method(self, rhs: f64) -> Var<'t> {
                #[allow(clippy::redundant_closure_call)]
                ($scalar)(self, rhs)
            }
        }
        impl<'t> std::ops::$trait<Var<'t>> for f64 {
            type Output = Var<'t>;
            fn $method(self, rhs: Var<'t>) -> Var<'t> {
                #[allow(clippy::redundant_closure_call)]
                ($rscalar)(self, rhs)
            }
        }
    };
}

binary_operator!(
    Add,
    add,
    Binary::Add,
    |v: Var<'t>, c| v.add_scalar(c),
    |c, v: Var<'t>| v.add_scalar(c)
);
binary_operator!(
    Sub,
    sub,
    Binary::Sub,
    |v: Var<'t>, c: f64| v.add_scalar(-c),
    |c, v: Var<'t>| (-v).add_scalar(c)
);
binary_operator!(
    Mul,
    mul,
    Binary::Mul,
    |v: Var<'t>, c| v.scale(c),
    |c, v: Var<'t>| v.scale(c)
);
binary_operator!(
    Div,
    div,
    Binary::Div,
    |v: Var<'t>, c| v / v.tape.scalar(c),
    |c, v: Var<'t>| v.tape.scalar(c) / v
);

impl<'t> std::ops::Neg for Var<'t> {
    type Output = Var<'t>;
    fn neg(self) -> Var<'t> {
        self.unary(Unary::Neg)
    }
}
