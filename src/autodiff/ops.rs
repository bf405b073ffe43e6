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

    /// `ẏ = f′(x)·ẋ`, the tangent rule. An elementwise op's Jacobian is diagonal, so it
    /// is the VJP rule with the tangent in place of the cotangent (and shares its nodes:
    /// the cos that sin's forward pass recorded, tanh's memoised `1 − y²`).
    fn jvp<'t>(self, x: Var<'t>, y: Var<'t>, t: Var<'t>) -> Var<'t> {
        self.vjp(x, y, t)
    }

    /// `f″(x)·q`, the second-order term of a jet (`q` = the quadratic form of the
    /// input's tangents, `|∇x|²` for a Laplacian); `None` where f″ = 0.
    fn curvature<'t>(self, x: Var<'t>, y: Var<'t>, q: Var<'t>) -> Option<Var<'t>> {
        Some(match self {
            Unary::Neg | Unary::Abs => return None, // linear (Abs: almost everywhere)
            Unary::Sqrt => {
                let fp = y.recip().scale(0.5); // f′ = 1/(2√x), f″ = −f′²/√x
                -(fp * fp * q / y)
            }
            Unary::Exp | Unary::Sinh | Unary::Cosh => q * y, // f″ = f
            Unary::Ln => -(q / (x * x)),                     // f″ = −1/x²
            Unary::Sin | Unary::Cos => -(q * y),             // f″ = −f
            Unary::Tan => (q * y * (y * y + 1.0)).scale(2.0), // f″ = 2 tan (1 + tan²)
            Unary::Tanh => y.neg_two_mul(q) * y.tanh_deriv(), // f″ = −2 tanh (1 − tanh²)
            Unary::TanhDeriv => q.scale(-2.0),               // (1 − x²)″ = −2
            Unary::Recip => (q * y * y * y).scale(2.0),      // (1/x)″ = 2/x³
            Unary::Softplus => {
                let s = x.sigmoid(); // softplus″ = σ(1 − σ)
                q * (s * (1.0 - s))
            }
            Unary::Sigmoid => q * (y * (1.0 - y)) * (1.0 - y.scale(2.0)), // σ″ = σ′(1 − 2σ)
        })
    }

    /// The second-order part of a jet: `f′(x)·s + f″(x)·q` for the input's second-order
    /// entry `s` and tangent form `q`. tanh, the usual activation, is written
    /// `f′·(s − 2y·q)`: three nodes instead of five.
    fn second<'t>(
        self,
        x: Var<'t>,
        y: Var<'t>,
        s: Option<Var<'t>>,
        q: Option<Var<'t>>,
    ) -> Option<Var<'t>> {
        if self == Unary::Tanh {
            let inner = match (s, q) {
                (s, Some(q)) => s.map_or_else(|| y.neg_two_mul(q), |s| s + y.neg_two_mul(q)),
                (Some(s), None) => s,
                (None, None) => return None,
            };
            return Some(inner * y.tanh_deriv());
        }
        add_opt(
            s.map(|s| self.jvp(x, y, s)),
            q.and_then(|q| self.curvature(x, y, q)),
        )
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

impl Binary {
    /// `ẏ = ∂ₐf·ȧ + ∂_bf·ḃ`. Elementwise, so each term is the VJP rule with the tangent as
    /// cotangent. Terms may have a broadcastable shape; the sweep expands the sum.
    fn jvp<'t>(
        self,
        a: Var<'t>,
        b: Var<'t>,
        y: Var<'t>,
        ta: Option<Var<'t>>,
        tb: Option<Var<'t>>,
    ) -> Option<Var<'t>> {
        let from_a = ta.and_then(|t| self.vjp(a, b, y, t, [true, false])[0]);
        let from_b = tb.and_then(|t| self.vjp(a, b, y, t, [false, true])[1]);
        add_opt(from_a, from_b)
    }

    /// The second-order term `f_aa·Q(ȧ,ȧ) + f_ab·C(ȧ,ḃ) + f_bb·Q(ḃ,ḃ)`, given the quadratic
    /// forms `qaa = Q(ȧ,ȧ)`, `cab = C(ȧ,ḃ)` (the symmetrised cross form, `2ȧ·ḃ` for a
    /// Laplacian) and `qbb = Q(ḃ,ḃ)`; `None` for the linear ops.
    fn curvature<'t>(
        self,
        a: Var<'t>,
        b: Var<'t>,
        y: Var<'t>,
        [qaa, cab, qbb]: [Option<Var<'t>>; 3],
    ) -> Option<Var<'t>> {
        match self {
            Binary::Add | Binary::Sub => None,
            Binary::Mul => cab,                              // f_ab = 1
            Binary::NegTwoMul => cab.map(|c| c.scale(-2.0)), // f_ab = −2
            Binary::Div => {
                // f_aa = 0, f_ab = −1/b², f_bb = 2a/b³ = 2y/b²
                let num = add_opt(qbb.map(|q| (q * y).scale(2.0)), cab.map(|c| -c))?;
                Some(num / (b * b))
            }
            Binary::Pow => {
                // f_aa = b(b−1)a^(b−2), f_ab = a^(b−1)(1 + b ln a), f_bb = y ln²a
                let faa = qaa.map(|q| q * b * (b - 1.0) * a.pow(b - 2.0));
                let fab = cab.map(|c| c * a.pow(b - 1.0) * (b * a.ln() + 1.0));
                let fbb = qbb.map(|q| {
                    let l = a.ln();
                    q * y * l * l
                });
                add_opt(add_opt(faa, fab), fbb)
            }
            Binary::Atan2 => {
                // r² = a² + b²: f_aa = −2ab/r⁴, f_ab = (a² − b²)/r⁴, f_bb = 2ab/r⁴
                let r2 = a * a + b * b;
                let ab2 = (a * b).scale(2.0);
                let diag = match (qaa, qbb) {
                    (Some(qa), Some(qb)) => Some(ab2 * (qb - qa)),
                    (Some(qa), None) => Some(-(ab2 * qa)),
                    (None, Some(qb)) => Some(ab2 * qb),
                    (None, None) => None,
                };
                let num = add_opt(diag, cab.map(|c| c * (a * a - b * b)))?;
                Some(num / (r2 * r2))
            }
        }
    }
}

/// `a + b` where either may be absent (a zero).
pub(crate) fn add_opt<'t>(a: Option<Var<'t>>, b: Option<Var<'t>>) -> Option<Var<'t>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, None) => a,
        (None, b) => b,
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
        let tape = self.tape;
        if let Some(id) = tape.memo2_get(f as u32, ia, ib) {
            return Var { tape, id };
        }
        let y = tape.record(Op::Binary(f, ia, ib), s.0, s.1, |v, out| {
            f.forward(&v[ia], sa, &v[ib], sb, s, out)
        });
        tape.memo2_put(f as u32, ia, ib, y.id);
        y
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
pub(crate) fn gemm(
    a: &[f64],
    sa: Shape,
    ta: bool,
    b: &[f64],
    sb: Shape,
    tb: bool,
    c: &mut Vec<f64>,
) {
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
// The dispatchers used by forward mode (see `super::forward`): tangents and jets.

/// The quadratic forms of one second-order entry of a jet: the entry is
/// `Σ_{(p,r) ∈ pairs} ∂²/∂x_p∂x_r` (the Laplacian sums `(k, k)` over k; a Hessian entry is
/// one pair), and `tan(node, k)` is node's tangent in direction k (`None` for zero).
pub(crate) struct Forms<'a, 't> {
    pub(crate) pairs: &'a [(usize, usize)],
    pub(crate) tan: &'a dyn Fn(usize, usize) -> Option<Var<'t>>,
}

impl<'t> Forms<'_, 't> {
    /// `Q(u, u) = Σ u_p·u_r` over the pairs, for the tangents `u` of node `a`.
    fn sq(&self, a: usize, prod: &dyn Fn(Var<'t>, Var<'t>) -> Var<'t>) -> Option<Var<'t>> {
        let mut acc = None;
        for &(p, r) in self.pairs {
            let term = match ((self.tan)(a, p), (self.tan)(a, r)) {
                (Some(u), _) if p == r => prod(u, u),
                (Some(u), Some(v)) => prod(u, v),
                _ => continue,
            };
            acc = add_opt(acc, Some(term));
        }
        acc
    }

    /// `C(u, v) = Σ (u_p·v_r + u_r·v_p)` over the pairs (`2Σ u_k·v_k` for a Laplacian), for
    /// the tangents `u` of node `a` and `v` of node `b`.
    fn cross(
        &self,
        a: usize,
        b: usize,
        prod: &dyn Fn(Var<'t>, Var<'t>) -> Var<'t>,
    ) -> Option<Var<'t>> {
        let (mut diag, mut off) = (None, None);
        let term = |p: usize, r: usize| match ((self.tan)(a, p), (self.tan)(b, r)) {
            (Some(u), Some(v)) => Some(prod(u, v)),
            _ => None,
        };
        for &(p, r) in self.pairs {
            if p == r {
                diag = add_opt(diag, term(p, p));
            } else {
                off = add_opt(off, add_opt(term(p, r), term(r, p)));
            }
        }
        add_opt(diag.map(|d| d.scale(2.0)), off)
    }
}

fn elementwise<'t>(u: Var<'t>, v: Var<'t>) -> Var<'t> {
    u * v
}

impl Op {
    /// The tangent of the node `y` (whose op this is), given its parents' tangents
    /// `tan(parent)` (`None` for zero): the JVP rule, written with tape ops so that it can
    /// be differentiated again in either mode. `None` when every parent's tangent is zero.
    pub(crate) fn jvp<'t>(
        self,
        tape: &'t Tape,
        y: Var<'t>,
        tan: &dyn Fn(usize) -> Option<Var<'t>>,
    ) -> Option<Var<'t>> {
        let v = |id| Var { tape, id };
        let (rows, cols) = y.shape();
        match self {
            Op::Leaf | Op::Const | Op::Invalid => None,
            Op::Unary(f, a) => tan(a).map(|t| f.jvp(v(a), y, t)),
            Op::Binary(f, a, b) => f.jvp(v(a), v(b), y, tan(a), tan(b)),
            Op::AddScalar(a) => tan(a),
            Op::MulScalar(a, c) => tan(a).map(|t| t.scale(c)),
            Op::PowI(a, n) => tan(a).map(|t| vjp_powi(v(a), n, t)),
            Op::PowF(a, p) => tan(a).map(|t| vjp_powf(v(a), p, t)),
            Op::SumRows(a) => tan(a).map(Var::sum_rows),
            Op::SumCols(a) => tan(a).map(Var::sum_cols),
            Op::Expand(a) => tan(a).map(|t| t.expand(rows, cols)),
            Op::Cols(a, start) => tan(a).map(|t| t.cols_range(start, cols)),
            Op::Pad(a, start) => tan(a).map(|t| t.pad_cols(start, cols)),
            Op::Stack { start, len } => {
                let ids: Vec<usize> = tape.inner.borrow().arena[start..start + len].to_vec();
                let tans: Vec<Option<Var<'t>>> = ids.iter().map(|&p| tan(p)).collect();
                if tans.iter().all(Option::is_none) {
                    return None;
                }
                let parts: Vec<Var<'t>> = ids
                    .iter()
                    .zip(tans)
                    .map(|(&p, t)| {
                        t.unwrap_or_else(|| {
                            let (r, c) = tape.node(p).shape();
                            tape.full(r, c, 0.0)
                        })
                    })
                    .collect();
                Some(tape.stack(&parts))
            }
            Op::MatMul(a, b, ta, tb) => add_opt(
                tan(a).map(|t| t.matmul_t(v(b), ta, tb)),
                tan(b).map(|t| v(a).matmul_t(t, ta, tb)),
            ),
        }
    }

    /// One second-order entry of the jet of node `y`: the linear part (the tangent rule
    /// applied to the parents' entries `sec(parent)`) plus the op's curvature applied to the
    /// quadratic forms of the parents' tangents. `None` when it is zero.
    pub(crate) fn second<'t>(
        self,
        tape: &'t Tape,
        y: Var<'t>,
        forms: &Forms<'_, 't>,
        sec: &dyn Fn(usize) -> Option<Var<'t>>,
    ) -> Option<Var<'t>> {
        let v = |id| Var { tape, id };
        match self {
            Op::Unary(f, a) => f.second(v(a), y, sec(a), forms.sq(a, &elementwise)),
            Op::Binary(f, a, b) => {
                let [qa, cab, qb] = f.forms_needed();
                let q = [
                    qa.then(|| forms.sq(a, &elementwise)).flatten(),
                    cab.then(|| forms.cross(a, b, &elementwise)).flatten(),
                    qb.then(|| forms.sq(b, &elementwise)).flatten(),
                ];
                let curvature = if q.iter().any(Option::is_some) {
                    f.curvature(v(a), v(b), y, q)
                } else {
                    None
                };
                add_opt(f.jvp(v(a), v(b), y, sec(a), sec(b)), curvature)
            }
            Op::PowI(a, n) => {
                // (xⁿ)″ = n(n − 1)·xⁿ⁻²
                let curv = forms.sq(a, &elementwise).and_then(|q| {
                    let k = n as f64 * (n as f64 - 1.0);
                    (k != 0.0).then(|| {
                        let d = match n.checked_sub(2) {
                            Some(m) => v(a).powi(m),
                            None => v(a).powf(n as f64 - 2.0),
                        };
                        (q * d).scale(k)
                    })
                });
                add_opt(sec(a).map(|s| vjp_powi(v(a), n, s)), curv)
            }
            Op::PowF(a, p) => {
                // (xᵖ)″ = p(p − 1)·xᵖ⁻²
                let curv = forms.sq(a, &elementwise).and_then(|q| {
                    let k = p * (p - 1.0);
                    (k != 0.0).then(|| (q * v(a).powf(p - 2.0)).scale(k))
                });
                add_opt(sec(a).map(|s| vjp_powf(v(a), p, s)), curv)
            }
            Op::MatMul(a, b, ta, tb) => {
                let lin = self.jvp(tape, y, sec);
                let curv = forms.cross(a, b, &|u, w| u.matmul_t(w, ta, tb));
                add_opt(lin, curv)
            }
            // Linear ops: the tangent rule on the second-order entries.
            _ => self.jvp(tape, y, sec),
        }
    }
}

impl Binary {
    /// Which quadratic forms the curvature uses: `[Q(ȧ,ȧ), C(ȧ,ḃ), Q(ḃ,ḃ)]`.
    fn forms_needed(self) -> [bool; 3] {
        match self {
            Binary::Add | Binary::Sub => [false; 3],
            Binary::Mul | Binary::NegTwoMul => [false, true, false],
            Binary::Div => [false, true, true],
            Binary::Pow | Binary::Atan2 => [true; 3],
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
