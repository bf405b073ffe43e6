//! The parser: tokens into an AST, by precedence climbing (a Pratt parser).

use super::func::{Func, function_names};
use super::lex::{Tok, Token, lex};
use super::{ExprError, MAX_DEPTH};

/// A binary operation, written as an operator or as a function of two arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Atan2,
}

/// What an AST node is.
#[derive(Clone, Debug)]
pub(super) enum AstKind {
    Num(f64),
    Ident(String),
    Neg(Box<Ast>),
    Bin(BinOp, Box<Ast>, Box<Ast>),
    Call(Func, Vec<Ast>),
}

/// A node of the parsed expression.
#[derive(Clone, Debug)]
pub(super) struct Ast {
    pub(super) kind: AstKind,
    /// Column the node is reported at (an operator, a name, a function name).
    pub(super) col: usize,
    /// Height of the tree below and including this node.
    depth: usize,
}

/// Parses `src` into its AST (see [`super::Expr::parse`] for the errors). With
/// `derivatives`, the calls `d(u, x[, y])` and `lap(u)` are read as names (see
/// [`super::Expr::parse_with_derivatives`]).
pub(super) fn parse(src: &str, derivatives: bool) -> Result<Ast, ExprError> {
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
        derivatives,
    };
    let ast = p.expr(0)?;
    let t = p.peek();
    match t.tok {
        Tok::End => Ok(ast),
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

/// Binding powers: `+ -` < `* /` < unary minus < `^`.
const PREFIX_BP: u8 = 30;

/// The parser's state: the tokens, the next one's index, and the current nesting.
struct Parser<'a> {
    src: &'a str,
    chars: &'a [char],
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    /// Whether `d(...)` and `lap(...)` are derivative names.
    derivatives: bool,
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
        if self.derivatives && (fname == "d" || fname == "lap") {
            return self.derivative(name, &fname);
        }
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

    /// A derivative `d(u, x)`, `d(u, x, y)` or `lap(u)`: `name` has been consumed and `(`
    /// is next. Its arguments are names; the node is the name `d(u,x,y)` (no spaces), which
    /// cannot clash with an identifier.
    fn derivative(&mut self, name: Token, fname: &str) -> Result<Ast, ExprError> {
        let open = self.bump();
        let usage = if fname == "d" {
            "d(u, x) or d(u, x, y): an output, then one or two inputs"
        } else {
            "lap(u): one output"
        };
        let mut args = Vec::new();
        loop {
            let t = self.bump();
            if t.tok != Tok::Ident || self.peek().tok == Tok::LParen {
                let msg = format!("expected a name in {usage}, found {}", self.describe(t));
                return Err(self.error(t.col, msg));
            }
            args.push(self.text(t));
            let t = self.bump();
            match t.tok {
                Tok::Comma => {}
                Tok::RParen => break,
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
        let ok = if fname == "d" {
            (2..=3).contains(&args.len())
        } else {
            args.len() == 1
        };
        if !ok {
            let msg = format!(
                "{fname} takes {usage}; got {} arguments (derivatives up to the second order)",
                args.len()
            );
            return Err(self.error(name.col, msg));
        }
        self.node(
            AstKind::Ident(format!("{fname}({})", args.join(","))),
            name.col,
        )
    }
}
