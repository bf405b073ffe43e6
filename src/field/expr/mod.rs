//! Formula expressions: fields written as strings in a case file, parsed once, bound to
//! variable slots and built onto the autodiff tape at every evaluation.
//!
//! The parser is a small hand-written Pratt parser (precedence climbing) rather than a
//! parser crate: the grammar is a dozen tokens, a hand-written parser gives the precise
//! column-carrying error messages a case file needs, and the AST maps one-to-one onto
//! tape ops, so nothing stands between the formula and the derivative.
//! (evalexpr is AGPL; exmex would give an AST too, but with its own operator set and
//! error type to translate.)
//!
//! # Grammar
//!
//! * numbers in the usual float syntaxes: `2`, `.5`, `2.`, `1.5e-3`, `1E5`;
//! * identifiers (`[A-Za-z_][A-Za-z0-9_]*`) naming variables, constants or functions;
//!   `pi` is built in;
//! * `+ - * /` (left-associative), unary `-` and `+`, and `^` for powers, which is
//!   right-associative and binds tighter than unary minus: `-x^2` is −(x²), `2^3^2` is
//!   2⁹ and `x^-2` is x⁻²;
//! * parentheses and function calls: `sqrt exp ln log sin cos tan tanh sinh cosh abs`
//!   of one argument (`log` is the natural logarithm, like `ln`), `atan2(y, x)` and
//!   `pow(a, b)` of two;
//! * whitespace anywhere between tokens.
//!
//! # Semantics
//!
//! [`Expr::bind`] resolves identifiers to variable slots and folds every sub-expression
//! that holds no variable into a constant. A power whose exponent is constant becomes
//! `powi` when the exponent is an integer and `powf` otherwise; a variable exponent uses
//! `pow`. [`Bound::eval`] (tape) and [`Bound::eval_f64`] (plain numbers) follow exactly
//! these rules, so both give the same numbers bit for bit.
//!
//! # Example
//!
//! ```
//! use nabla::autodiff::{GradOptions, Tape, Tensor, grad};
//! use nabla::field::expr::Expr;
//!
//! let e = Expr::parse("x^2 * sin(y) + 2*pi").unwrap();
//! let f = e.bind(&["x", "y"]).unwrap();
//! assert_eq!(f.eval_f64(&[3.0, 0.0]), 2.0 * std::f64::consts::PI);
//!
//! // The same expression on the tape, differentiated exactly.
//! let tape = Tape::new();
//! let x = tape.var(Tensor::scalar(3.0));
//! let y = tape.var(Tensor::scalar(0.0));
//! let v = f.eval(&tape, &[x, y]);
//! let g = grad(&[v], &[x, y], &[], GradOptions::default()).unwrap();
//! assert_eq!(g[0].item().unwrap(), 0.0); // ∂/∂x = 2x sin y = 0 at y = 0
//! assert_eq!(g[1].item().unwrap(), 9.0); // ∂/∂y = x² cos y = 9
//!
//! // Errors carry a column and can point at it.
//! let err = Expr::parse("sin(x +").unwrap_err();
//! assert_eq!(err.column(), 8);
//! assert_eq!(
//!     err.caret(),
//!     "sin(x +\n       ^ unexpected end of expression; expected a number, a name or '('"
//! );
//! ```

use super::Field;
use crate::autodiff::{Tape, Var};
use crate::error::Error;

/// The deepest nesting the parser accepts (parentheses, operators, calls; a flat sum of
/// n terms nests n − 1 deep). Beyond this an expression is rejected with an error instead
/// of risking the stack: binding and evaluation recurse once per level, and evaluation
/// may run on rayon's worker threads with their 2 MiB stacks.
pub const MAX_DEPTH: usize = 1024;

// ---------------------------------------------------------------------------------------
// Errors

/// A parse or bind error: where in the expression (a 1-based column, counted in
/// characters) and what was expected there.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ExprError {
    expression: String,
    column: usize,
    message: String,
}

impl ExprError {
    fn new(expression: &str, column: usize, message: impl Into<String>) -> Self {
        ExprError {
            expression: expression.to_owned(),
            column,
            message: message.into(),
        }
    }

    /// 1-based column, in characters, of the place the error points at. One past the
    /// last character for errors at the end of the expression.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What went wrong and what was expected, without the position.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The expression the error is about.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Two lines: the expression, and a caret under the error's column followed by the
    /// message. Tabs and line breaks of the expression are shown as spaces so that the
    /// caret lines up.
    ///
    /// ```
    /// let err = nabla::field::expr::Expr::parse("1 + sine(x)").unwrap_err();
    /// assert_eq!(err.caret().lines().nth(1).unwrap().find('^'), Some(4));
    /// ```
    pub fn caret(&self) -> String {
        let line: String = self
            .expression
            .chars()
            .map(|c| if c.is_whitespace() { ' ' } else { c })
            .collect();
        let pad = " ".repeat(self.column.saturating_sub(1));
        format!("{line}\n{pad}^ {}", self.message)
    }
}

// ---------------------------------------------------------------------------------------
// Functions

/// Functions of one argument, each the tape op of the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Func1 {
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
}

impl Func1 {
    fn f64(self, x: f64) -> f64 {
        match self {
            Func1::Sqrt => x.sqrt(),
            Func1::Exp => x.exp(),
            Func1::Ln => x.ln(),
            Func1::Sin => x.sin(),
            Func1::Cos => x.cos(),
            Func1::Tan => x.tan(),
            Func1::Tanh => x.tanh(),
            Func1::Sinh => x.sinh(),
            Func1::Cosh => x.cosh(),
            Func1::Abs => x.abs(),
        }
    }

    fn var(self, x: Var<'_>) -> Var<'_> {
        match self {
            Func1::Sqrt => x.sqrt(),
            Func1::Exp => x.exp(),
            Func1::Ln => x.ln(),
            Func1::Sin => x.sin(),
            Func1::Cos => x.cos(),
            Func1::Tan => x.tan(),
            Func1::Tanh => x.tanh(),
            Func1::Sinh => x.sinh(),
            Func1::Cosh => x.cosh(),
            Func1::Abs => x.abs(),
        }
    }
}

/// A function as written in an expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Func {
    One(Func1),
    Atan2,
    Pow,
}

/// Every function name, in the order error messages list them.
const FUNCTIONS: [(&str, Func); 13] = [
    ("sqrt", Func::One(Func1::Sqrt)),
    ("exp", Func::One(Func1::Exp)),
    ("ln", Func::One(Func1::Ln)),
    ("log", Func::One(Func1::Ln)),
    ("sin", Func::One(Func1::Sin)),
    ("cos", Func::One(Func1::Cos)),
    ("tan", Func::One(Func1::Tan)),
    ("tanh", Func::One(Func1::Tanh)),
    ("sinh", Func::One(Func1::Sinh)),
    ("cosh", Func::One(Func1::Cosh)),
    ("abs", Func::One(Func1::Abs)),
    ("atan2", Func::Atan2),
    ("pow", Func::Pow),
];

impl Func {
    fn lookup(name: &str) -> Option<Func> {
        FUNCTIONS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
    }

    fn arity(self) -> usize {
        match self {
            Func::One(_) => 1,
            Func::Atan2 | Func::Pow => 2,
        }
    }
}

/// The names of all functions an expression may call, comma-separated.
pub fn function_names() -> String {
    FUNCTIONS
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------
// Lexer

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Ident,
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    LParen,
    RParen,
    Comma,
    End,
}

#[derive(Clone, Copy, Debug)]
struct Token {
    tok: Tok,
    /// 1-based column of the first character.
    col: usize,
    /// Length in characters.
    len: usize,
}

fn lex(src: &str, chars: &[char]) -> Result<Vec<Token>, ExprError> {
    let mut toks = Vec::new();
    let mut i = 0;
    let digits = |mut i: usize| {
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let tok = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '+' => Tok::Plus,
            '-' => Tok::Minus,
            '*' => Tok::Star,
            '/' => Tok::Slash,
            '^' => Tok::Caret,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            c if c.is_ascii_alphabetic() || c == '_' => {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                toks.push(Token {
                    tok: Tok::Ident,
                    col: start + 1,
                    len: i - start,
                });
                continue;
            }
            c if c.is_ascii_digit()
                || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                i = digits(i);
                if chars.get(i) == Some(&'.') {
                    i = digits(i + 1);
                }
                if matches!(chars.get(i), Some('e' | 'E')) {
                    let mut j = i + 1;
                    if matches!(chars.get(j), Some('+' | '-')) {
                        j += 1;
                    }
                    if !chars.get(j).is_some_and(char::is_ascii_digit) {
                        let text: String = chars[start..j].iter().collect();
                        let msg = format!(
                            "malformed number '{text}': expected digits after the exponent"
                        );
                        return Err(ExprError::new(src, start + 1, msg));
                    }
                    i = digits(j);
                }
                if chars.get(i) == Some(&'.') {
                    while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                        i += 1;
                    }
                    let text: String = chars[start..i].iter().collect();
                    let msg = format!("malformed number '{text}': a number has at most one '.'");
                    return Err(ExprError::new(src, start + 1, msg));
                }
                let text: String = chars[start..i].iter().collect();
                let v: f64 = text
                    .parse()
                    .expect("internal: lexed number is valid f64 syntax");
                if v.is_infinite() {
                    let msg = format!("number '{text}' is too large for a 64-bit float");
                    return Err(ExprError::new(src, start + 1, msg));
                }
                toks.push(Token {
                    tok: Tok::Num(v),
                    col: start + 1,
                    len: i - start,
                });
                continue;
            }
            c => {
                let msg = format!("unexpected character '{c}'");
                return Err(ExprError::new(src, start + 1, msg));
            }
        };
        i += 1;
        toks.push(Token {
            tok,
            col: start + 1,
            len: 1,
        });
    }
    toks.push(Token {
        tok: Tok::End,
        col: chars.len() + 1,
        len: 0,
    });
    Ok(toks)
}

// ---------------------------------------------------------------------------------------
// Parser

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Atan2,
}

impl BinOp {
    fn f64(self, a: f64, b: f64) -> f64 {
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
fn integer_exponent(p: f64) -> Option<i32> {
    (p.fract() == 0.0 && p.abs() <= i32::MAX as f64).then_some(p as i32)
}

#[derive(Clone, Debug)]
enum AstKind {
    Num(f64),
    Ident(String),
    Neg(Box<Ast>),
    Bin(BinOp, Box<Ast>, Box<Ast>),
    Call(Func, Vec<Ast>),
}

#[derive(Clone, Debug)]
struct Ast {
    kind: AstKind,
    /// Column the node is reported at (an operator, a name, a function name).
    col: usize,
    /// Height of the tree below and including this node.
    depth: usize,
}

/// Binding powers: `+ -` < `* /` < unary minus < `^`.
const PREFIX_BP: u8 = 30;

struct Parser<'a> {
    src: &'a str,
    chars: &'a [char],
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Token {
        self.toks[self.pos]
    }

    fn bump(&mut self) -> Token {
        let t = self.toks[self.pos];
        if t.tok != Tok::End {
            self.pos += 1;
        }
        t
    }

    fn text(&self, t: Token) -> String {
        self.chars[t.col - 1..t.col - 1 + t.len].iter().collect()
    }

    fn describe(&self, t: Token) -> String {
        match t.tok {
            Tok::End => "end of expression".into(),
            Tok::Num(_) => format!("number '{}'", self.text(t)),
            _ => format!("'{}'", self.text(t)),
        }
    }

    fn error(&self, col: usize, msg: impl Into<String>) -> ExprError {
        ExprError::new(self.src, col, msg)
    }

    fn too_deep(&self, col: usize) -> ExprError {
        self.error(
            col,
            format!("expression is nested too deeply (more than {MAX_DEPTH} levels); split it up"),
        )
    }

    fn node(&self, kind: AstKind, col: usize) -> Result<Ast, ExprError> {
        let below = match &kind {
            AstKind::Num(_) | AstKind::Ident(_) => 0,
            AstKind::Neg(a) => a.depth,
            AstKind::Bin(_, a, b) => a.depth.max(b.depth),
            AstKind::Call(_, args) => args.iter().map(|a| a.depth).max().unwrap_or(0),
        };
        if below >= MAX_DEPTH {
            return Err(self.too_deep(col));
        }
        Ok(Ast {
            kind,
            col,
            depth: below + 1,
        })
    }

    /// An expression whose operators all bind tighter than `min_bp`.
    fn expr(&mut self, min_bp: u8) -> Result<Ast, ExprError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.too_deep(self.peek().col));
        }
        self.depth += 1;
        let r = self.expr_inner(min_bp);
        self.depth -= 1;
        r
    }

    fn expr_inner(&mut self, min_bp: u8) -> Result<Ast, ExprError> {
        let mut lhs = self.prefix()?;
        loop {
            let t = self.peek();
            // (operator, left binding power, binding power of its right operand)
            let (op, lbp, rbp) = match t.tok {
                Tok::Plus => (BinOp::Add, 10, 10),
                Tok::Minus => (BinOp::Sub, 10, 10),
                Tok::Star => (BinOp::Mul, 20, 20),
                Tok::Slash => (BinOp::Div, 20, 20),
                // right-associative: the right operand may contain another '^'
                Tok::Caret => (BinOp::Pow, 40, 39),
                _ => break,
            };
            if lbp <= min_bp {
                break;
            }
            self.bump();
            let rhs = self.expr(rbp)?;
            lhs = self.node(AstKind::Bin(op, Box::new(lhs), Box::new(rhs)), t.col)?;
        }
        Ok(lhs)
    }

    fn prefix(&mut self) -> Result<Ast, ExprError> {
        let prev = self.pos.checked_sub(1).map(|p| self.toks[p].tok);
        let t = self.bump();
        match t.tok {
            Tok::Num(v) => self.node(AstKind::Num(v), t.col),
            Tok::Ident if self.peek().tok == Tok::LParen => self.call(t),
            Tok::Ident => self.node(AstKind::Ident(self.text(t)), t.col),
            Tok::Minus => {
                let a = self.expr(PREFIX_BP)?;
                self.node(AstKind::Neg(Box::new(a)), t.col)
            }
            Tok::Plus => self.expr(PREFIX_BP),
            Tok::LParen => {
                let e = self.expr(0)?;
                let close = self.peek();
                if close.tok != Tok::RParen {
                    let msg = format!(
                        "expected ')' to close '(' at column {}, found {}",
                        t.col,
                        self.describe(close)
                    );
                    return Err(self.error(close.col, msg));
                }
                self.bump();
                Ok(e)
            }
            Tok::End => Err(self.error(
                t.col,
                "unexpected end of expression; expected a number, a name or '('",
            )),
            _ => {
                let mut msg = format!(
                    "expected a number, a name or '(', found {}",
                    self.describe(t)
                );
                if t.tok == Tok::Star && prev == Some(Tok::Star) {
                    msg.push_str("; use '^' for powers");
                }
                Err(self.error(t.col, msg))
            }
        }
    }

    /// A call `name(args…)`; `name` has been consumed and `(` is next.
    fn call(&mut self, name: Token) -> Result<Ast, ExprError> {
        let fname = self.text(name);
        let Some(f) = Func::lookup(&fname) else {
            let msg = format!(
                "unknown function '{fname}'; valid functions are: {}",
                function_names()
            );
            return Err(self.error(name.col, msg));
        };
        let open = self.bump();
        let mut args = Vec::new();
        if self.peek().tok == Tok::RParen {
            self.bump();
        } else {
            loop {
                args.push(self.expr(0)?);
                let t = self.peek();
                match t.tok {
                    Tok::Comma => {
                        self.bump();
                    }
                    Tok::RParen => {
                        self.bump();
                        break;
                    }
                    _ => {
                        let msg = format!(
                            "expected ',' or ')' to close '(' at column {}, found {}",
                            open.col,
                            self.describe(t)
                        );
                        return Err(self.error(t.col, msg));
                    }
                }
            }
        }
        if args.len() != f.arity() {
            let n = f.arity();
            let s = if n == 1 { "" } else { "s" };
            let msg = format!("{fname} takes {n} argument{s}, got {}", args.len());
            return Err(self.error(name.col, msg));
        }
        self.node(AstKind::Call(f, args), name.col)
    }
}

// ---------------------------------------------------------------------------------------
// Expr: a parsed expression

/// A parsed expression, not yet bound to variables.
///
/// ```
/// use nabla::field::expr::Expr;
/// let e = Expr::parse("-2^2 + 2^3^2").unwrap();
/// assert_eq!(e.bind(&[]).unwrap().eval_f64(&[]), -4.0 + 512.0);
/// ```
#[derive(Clone, Debug)]
pub struct Expr {
    source: String,
    ast: Ast,
}

impl Expr {
    /// Parses `src` (see the [module docs](self) for the grammar).
    ///
    /// # Errors
    /// An [`ExprError`] at the column of the first problem: an unexpected character, a
    /// malformed number, an unknown function, a wrong number of arguments, an unclosed
    /// or unmatched parenthesis, a missing operand, trailing input, an empty string, or
    /// nesting deeper than [`MAX_DEPTH`].
    pub fn parse(src: &str) -> Result<Expr, ExprError> {
        let chars: Vec<char> = src.chars().collect();
        let toks = lex(src, &chars)?;
        if toks.len() == 1 {
            return Err(ExprError::new(
                src,
                1,
                "empty expression; expected a number, a name or '('",
            ));
        }
        let mut p = Parser {
            src,
            chars: &chars,
            toks,
            pos: 0,
            depth: 0,
        };
        let ast = p.expr(0)?;
        let t = p.peek();
        match t.tok {
            Tok::End => Ok(Expr {
                source: src.to_owned(),
                ast,
            }),
            Tok::RParen => Err(p.error(t.col, "unmatched ')' without an opening '('")),
            tok => {
                let mut msg = format!(
                    "expected an operator or end of expression, found {}",
                    p.describe(t)
                );
                if matches!(tok, Tok::Num(_) | Tok::Ident | Tok::LParen) {
                    msg.push_str("; write '*' for a product");
                }
                Err(p.error(t.col, msg))
            }
        }
    }

    /// The text the expression was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Binds identifiers to variable slots: `names[i]` becomes slot `i` of the `vars`
    /// handed to [`Bound::eval`]. `pi` is π unless `names` holds it.
    ///
    /// # Errors
    /// An identifier that is neither in `names` nor `pi`, at its column, listing the
    /// valid names.
    pub fn bind(&self, names: &[&str]) -> Result<Bound, ExprError> {
        self.bind_with(names, &[])
    }

    /// Like [`Expr::bind`], with named constants that are replaced by their values and
    /// folded into the expression. A name is looked up in `names` first, then in
    /// `constants`, then `pi`.
    ///
    /// ```
    /// use nabla::field::expr::Expr;
    /// let e = Expr::parse("exp(-2*nu*t) * x").unwrap();
    /// let b = e.bind_with(&["x"], &[("t", 0.5), ("nu", 1.0)]).unwrap();
    /// assert_eq!(b.eval_f64(&[2.0]), (-1.0f64).exp() * 2.0);
    /// ```
    ///
    /// # Errors
    /// As [`Expr::bind`]; the list of valid names includes the constants.
    pub fn bind_with(&self, names: &[&str], constants: &[(&str, f64)]) -> Result<Bound, ExprError> {
        let root = self.bind_ast(&self.ast, names, constants)?;
        Ok(Bound {
            root,
            vars: names.len(),
        })
    }

    fn bind_ast(
        &self,
        ast: &Ast,
        names: &[&str],
        constants: &[(&str, f64)],
    ) -> Result<Node, ExprError> {
        let bind = |a: &Ast| self.bind_ast(a, names, constants);
        Ok(match &ast.kind {
            AstKind::Num(v) => Node::Const(*v),
            AstKind::Ident(name) => {
                if let Some(i) = names.iter().position(|n| n == name) {
                    Node::Var(i)
                } else if let Some(&(_, v)) = constants.iter().find(|(n, _)| n == name) {
                    Node::Const(v)
                } else if name == "pi" {
                    Node::Const(std::f64::consts::PI)
                } else if Func::lookup(name).is_some() {
                    let msg = format!("'{name}' is a function; call it as {name}(...)");
                    return Err(ExprError::new(&self.source, ast.col, msg));
                } else {
                    let mut valid: Vec<&str> = Vec::new();
                    for n in names
                        .iter()
                        .chain(constants.iter().map(|(n, _)| n))
                        .chain(&["pi"])
                    {
                        if !valid.contains(n) {
                            valid.push(n);
                        }
                    }
                    let msg = format!(
                        "unknown variable '{name}'; valid names are: {}",
                        valid.join(", ")
                    );
                    return Err(ExprError::new(&self.source, ast.col, msg));
                }
            }
            AstKind::Neg(a) => match bind(a)? {
                Node::Const(c) => Node::Const(-c),
                a => Node::Neg(Box::new(a)),
            },
            AstKind::Bin(op, a, b) => Node::bin(*op, bind(a)?, bind(b)?),
            AstKind::Call(Func::One(f), args) => match bind(&args[0])? {
                Node::Const(c) => Node::Const(f.f64(c)),
                a => Node::Call(*f, Box::new(a)),
            },
            AstKind::Call(Func::Atan2, args) => {
                Node::bin(BinOp::Atan2, bind(&args[0])?, bind(&args[1])?)
            }
            AstKind::Call(Func::Pow, args) => {
                Node::bin(BinOp::Pow, bind(&args[0])?, bind(&args[1])?)
            }
        })
    }
}

impl std::str::FromStr for Expr {
    type Err = ExprError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Expr::parse(s)
    }
}

impl std::fmt::Display for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

// ---------------------------------------------------------------------------------------
// Bound: an expression with variable slots, ready to evaluate

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Const(f64),
    Var(usize),
    Neg(Box<Node>),
    Bin(BinOp, Box<Node>, Box<Node>),
    PowI(Box<Node>, i32),
    PowF(Box<Node>, f64),
    Call(Func1, Box<Node>),
}

impl Node {
    /// `a op b`, folded when both are constants; a power with a constant exponent
    /// becomes `PowI` or `PowF`.
    fn bin(op: BinOp, a: Node, b: Node) -> Node {
        match (op, a, b) {
            (op, Node::Const(x), Node::Const(y)) => Node::Const(op.f64(x, y)),
            (BinOp::Pow, a, Node::Const(p)) => match integer_exponent(p) {
                Some(n) => Node::PowI(Box::new(a), n),
                None => Node::PowF(Box::new(a), p),
            },
            (op, a, b) => Node::Bin(op, Box::new(a), Box::new(b)),
        }
    }

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

    fn uses(&self, slot: usize) -> bool {
        match self {
            Node::Const(_) => false,
            Node::Var(i) => *i == slot,
            Node::Neg(a) | Node::PowI(a, _) | Node::PowF(a, _) | Node::Call(_, a) => a.uses(slot),
            Node::Bin(_, a, b) => a.uses(slot) || b.uses(slot),
        }
    }
}

/// An expression bound to variable slots, with its constant parts folded: evaluate it
/// on a tape with [`Bound::eval`] or on plain numbers with [`Bound::eval_f64`].
#[derive(Clone, Debug, PartialEq)]
pub struct Bound {
    root: Node,
    vars: usize,
}

impl Bound {
    /// Number of variable slots (the length of `names` it was bound with).
    pub fn num_vars(&self) -> usize {
        self.vars
    }

    /// The value, when the expression depends on no variable (`"0"`, `"2*pi"`).
    pub fn constant_value(&self) -> Option<f64> {
        match self.root {
            Node::Const(c) => Some(c),
            _ => None,
        }
    }

    /// Whether the expression depends on variable slot `slot`.
    pub fn uses(&self, slot: usize) -> bool {
        self.root.uses(slot)
    }

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

// ---------------------------------------------------------------------------------------
// ExprField

/// Why an [`ExprField`] could not be built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ExprFieldError {
    /// A component failed to parse or bind.
    #[error("component {index} \"{}\": {error}", .error.expression())]
    Component {
        /// Index of the component, from 0.
        index: usize,
        /// The parse or bind error.
        error: ExprError,
    },
    /// A constant whose name cannot be used.
    #[error("constant '{name}': {reason}")]
    Constant {
        /// The constant's name.
        name: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A number of coordinates other than 1, 2 or 3.
    #[error("an expression field needs 1, 2 or 3 coordinates, got {0}")]
    Dimension(usize),
    /// No component expressions.
    #[error("an expression field needs at least one component")]
    Empty,
}

impl ExprFieldError {
    /// The caret display of the failing component's [`ExprError`], if that is the error.
    pub fn caret(&self) -> Option<String> {
        match self {
            ExprFieldError::Component { error, .. } => Some(error.caret()),
            _ => None,
        }
    }
}

const COORDINATES: [&str; 3] = ["x", "y", "z"];

/// A scalar or vector field given by one expression per component, over the coordinates
/// `x, y, z` (or `x, y` in 2-D, `x` in 1-D), the time `t` and named constants. `t` and
/// the constants are fixed when the field is built and folded into the expressions.
///
/// ```
/// use nabla::autodiff::{Tape, Tensor};
/// use nabla::field::{Field, expr::ExprField};
/// // The Taylor–Green vortex, decaying in time.
/// let u = ExprField::new(
///     &["sin(x)*cos(y)*cos(z)*exp(-2*nu*t)", "-cos(x)*sin(y)*cos(z)*exp(-2*nu*t)", "0"],
///     3,
///     0.0,
///     &[("nu", 0.01)],
/// )
/// .unwrap();
/// assert_eq!(u.components(), 3);
/// let tape = Tape::new();
/// let x: Vec<_> = (0..3).map(|_| tape.var(Tensor::column(vec![0.5, 1.0]))).collect();
/// let v = u.eval(&tape, &x);
/// assert_eq!(v[2].shape(), (2, 1)); // the constant component is a column too
/// assert_eq!(v[0].value().unwrap().get(0, 0), 0.5f64.sin() * 0.5f64.cos() * 0.5f64.cos());
/// ```
#[derive(Clone, Debug)]
pub struct ExprField {
    exprs: Vec<Expr>,
    bound: Vec<Bound>,
    dim: usize,
    t: f64,
    constants: Vec<(String, f64)>,
}

impl ExprField {
    /// A field with one component per expression in `components`, over `dim`
    /// coordinates, at time `t`, with `constants` (name → value).
    ///
    /// # Errors
    /// [`ExprFieldError::Component`] naming the component that fails to parse or bind
    /// (an unknown name lists the valid ones); [`ExprFieldError::Constant`] for a
    /// constant that is not an identifier or clashes with a coordinate, `t`, `pi` or a
    /// function; [`ExprFieldError::Dimension`] and [`ExprFieldError::Empty`].
    pub fn new<S: AsRef<str>>(
        components: &[S],
        dim: usize,
        t: f64,
        constants: &[(&str, f64)],
    ) -> Result<ExprField, ExprFieldError> {
        if !(1..=3).contains(&dim) {
            return Err(ExprFieldError::Dimension(dim));
        }
        if components.is_empty() {
            return Err(ExprFieldError::Empty);
        }
        for (i, &(name, _)) in constants.iter().enumerate() {
            let bad = |reason: &str| {
                Err(ExprFieldError::Constant {
                    name: name.to_owned(),
                    reason: reason.to_owned(),
                })
            };
            let mut chars = name.chars();
            let ident = chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ident {
                return bad(
                    "a name starts with a letter or '_' and holds only letters, digits and '_'",
                );
            }
            if COORDINATES.contains(&name) || name == "t" {
                return bad("the name is taken by a coordinate or the time t");
            }
            if name == "pi" || Func::lookup(name).is_some() {
                return bad("the name is taken by a built-in constant or function");
            }
            if constants[..i].iter().any(|(n, _)| *n == name) {
                return bad("given twice");
            }
        }
        let exprs = components
            .iter()
            .enumerate()
            .map(|(index, s)| {
                Expr::parse(s.as_ref()).map_err(|error| ExprFieldError::Component { index, error })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let constants = constants.iter().map(|&(n, v)| (n.to_owned(), v)).collect();
        let mut field = ExprField {
            exprs,
            bound: Vec::new(),
            dim,
            t,
            constants,
        };
        field.bound = field.bind_all()?;
        Ok(field)
    }

    fn bind_all(&self) -> Result<Vec<Bound>, ExprFieldError> {
        let mut consts: Vec<(&str, f64)> = vec![("t", self.t)];
        consts.extend(self.constants.iter().map(|(n, v)| (n.as_str(), *v)));
        let names = &COORDINATES[..self.dim];
        self.exprs
            .iter()
            .enumerate()
            .map(|(index, e)| {
                e.bind_with(names, &consts)
                    .map_err(|error| ExprFieldError::Component { index, error })
            })
            .collect()
    }

    /// The same field at another time.
    pub fn at_time(&self, t: f64) -> ExprField {
        let mut f = ExprField { t, ..self.clone() };
        f.bound = f
            .bind_all()
            .expect("internal: names unchanged since construction");
        f
    }

    /// Number of coordinates.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The time the field is evaluated at.
    pub fn time(&self) -> f64 {
        self.t
    }

    /// The component expressions as given.
    pub fn sources(&self) -> Vec<&str> {
        self.exprs.iter().map(Expr::source).collect()
    }

    /// The bound component expressions, with coordinate slots `x, y, z`.
    pub fn bound(&self) -> &[Bound] {
        &self.bound
    }

    /// The components at one point, in plain f64 (for comparisons with exact answers).
    ///
    /// # Panics
    /// If `point` has fewer than [`ExprField::dim`] coordinates.
    pub fn eval_f64(&self, point: &[f64]) -> Vec<f64> {
        self.bound.iter().map(|b| b.eval_f64(point)).collect()
    }
}

impl Field for ExprField {
    fn components(&self) -> usize {
        self.bound.len()
    }

    /// Every component as an `N × 1` column (constant components are expanded). With a
    /// number of coordinate columns other than [`ExprField::dim`] the components are
    /// invalid variables and the tape records an [`Error::Operator`].
    fn eval<'t>(&self, tape: &'t Tape, x: &[Var<'t>]) -> Vec<Var<'t>> {
        if x.len() != self.dim {
            let message = format!(
                "the field has {} coordinates, got {} columns",
                self.dim,
                x.len()
            );
            let e = Error::Operator {
                op: "expression field".into(),
                message,
            };
            return self.bound.iter().map(|_| tape.invalid(e.clone())).collect();
        }
        let rows = x[0].rows();
        self.bound
            .iter()
            .map(|b| b.eval(tape, x).expand(rows, 1))
            .collect()
    }
}
