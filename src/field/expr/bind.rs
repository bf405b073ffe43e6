//! Binding: names to variable slots or constants, constant parts folded, into a [`Bound`].

use std::collections::HashMap;

use super::ExprError;
use super::define::Definitions;
use super::eval::integer_exponent;
use super::func::{Func, Func1};
use super::lex::is_ident;
use super::parse::{Ast, AstKind, BinOp};

/// The names of an [`ExprField`](super::ExprField)'s coordinates, slot by slot.
pub(super) const COORDINATES: [&str; 3] = ["x", "y", "z"];

/// A node of a bound expression: names resolved, constant parts folded.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Node {
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

    fn uses(&self, slot: usize) -> bool {
        match self {
            Node::Const(_) => false,
            Node::Var(i) => *i == slot,
            Node::Neg(a) | Node::PowI(a, _) | Node::PowF(a, _) | Node::Call(_, a) => a.uses(slot),
            Node::Bin(_, a, b) => a.uses(slot) || b.uses(slot),
        }
    }
}

/// Binds `ast`, parsed from `source`, as [`super::Expr::bind_with`] describes: a name is
/// looked up in `names` (its slot) first, then in `constants`, then in `definitions`
/// (whose expression is bound in its place), then `pi`.
pub(super) fn bind(
    source: &str,
    ast: &Ast,
    names: &[&str],
    constants: &Constants<'_>,
    definitions: &Definitions,
) -> Result<Bound, ExprError> {
    if !definitions.is_empty() {
        definitions.check_size(source, ast)?;
    }
    let binder = Binder {
        source,
        names,
        constants,
        definitions,
        write_out: true,
    };
    Ok(Bound {
        root: binder.node(ast)?,
        vars: names.len(),
    })
}

/// Checks `ast` as [`bind`] would bind it (every name known, the size with the
/// definitions written out within the limits), without writing the definitions out: the
/// cost is the size of `ast` alone.
pub(super) fn check(
    source: &str,
    ast: &Ast,
    names: &[&str],
    constants: &Constants<'_>,
    definitions: &Definitions,
) -> Result<(), ExprError> {
    if !definitions.is_empty() {
        definitions.check_size(source, ast)?;
    }
    let binder = Binder {
        source,
        names,
        constants,
        definitions,
        write_out: false,
    };
    binder.node(ast).map(|_| ())
}

/// Constants by name: the list (for messages that list the valid names) and, for more
/// than a few, a hash map, so that binding is linear in the expression whatever the
/// number of constants. The first of two equal names wins, as in a search of the list.
pub(super) struct Constants<'a> {
    list: &'a [(&'a str, f64)],
    map: Option<HashMap<&'a str, f64>>,
}

impl<'a> Constants<'a> {
    /// The lookup of `list`; build it once for many bindings.
    pub(super) fn new(list: &'a [(&'a str, f64)]) -> Self {
        let map = (list.len() > 16).then(|| {
            let mut m = HashMap::with_capacity(list.len());
            for &(n, v) in list {
                m.entry(n).or_insert(v);
            }
            m
        });
        Constants { list, map }
    }

    fn get(&self, name: &str) -> Option<f64> {
        match &self.map {
            Some(m) => m.get(name).copied(),
            None => self.list.iter().find(|(n, _)| *n == name).map(|&(_, v)| v),
        }
    }
}

/// What names resolve to, and the source that errors point into.
struct Binder<'a> {
    source: &'a str,
    names: &'a [&'a str],
    constants: &'a Constants<'a>,
    definitions: &'a Definitions,
    /// Whether a definition's name is replaced by its tree; when not (a check), by 0.
    write_out: bool,
}

impl Binder<'_> {
    fn node(&self, ast: &Ast) -> Result<Node, ExprError> {
        let (names, constants) = (self.names, self.constants);
        let bind = |a: &Ast| self.node(a);
        Ok(match &ast.kind {
            AstKind::Num(v) => Node::Const(*v),
            AstKind::Ident(name) => {
                if let Some(i) = names.iter().position(|n| n == name) {
                    Node::Var(i)
                } else if let Some(v) = constants.get(name) {
                    Node::Const(v)
                } else if !self.write_out && self.definitions.contains(name) {
                    Node::Const(0.0)
                } else if let Some(def) = self.definitions.get(name) {
                    // Written out in place: the same tree as the definition's text in
                    // parentheses, so the same numbers and exact derivatives.
                    let inner = Binder {
                        source: def.source(),
                        ..*self
                    };
                    inner.node(def.ast()).map_err(|e| {
                        let msg = format!(
                            "in the definition {name} = \"{}\", column {}: {}",
                            def.source(),
                            e.column(),
                            e.message()
                        );
                        ExprError::new(self.source, ast.col, msg)
                    })?
                } else if name == "pi" {
                    Node::Const(std::f64::consts::PI)
                } else if Func::lookup(name).is_some() {
                    let msg = format!("'{name}' is a function; call it as {name}(...)");
                    return Err(ExprError::new(self.source, ast.col, msg));
                } else {
                    let mut valid: Vec<&str> = Vec::new();
                    let mut seen = std::collections::HashSet::new();
                    for n in names
                        .iter()
                        .copied()
                        .chain(constants.list.iter().map(|&(n, _)| n))
                        .chain(self.definitions.names())
                        .chain(["pi"])
                    {
                        if seen.insert(n) {
                            valid.push(n);
                        }
                    }
                    let msg = format!(
                        "unknown variable '{name}'; valid names are: {}",
                        valid.join(", ")
                    );
                    return Err(ExprError::new(self.source, ast.col, msg));
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

/// Checks a name for a constant of an [`ExprField`](super::ExprField) (or a definition);
/// the error is the reason it cannot be used. Whether it is given twice is the caller's
/// to check (with a set, as lists of names may be long).
pub(super) fn check_constant_name(name: &str) -> Result<(), &'static str> {
    if !is_ident(name) {
        return Err("a name starts with a letter or '_' and holds only letters, digits and '_'");
    }
    if COORDINATES.contains(&name) || name == "t" {
        return Err("the name is taken by a coordinate or the time t");
    }
    if name == "pi" || Func::lookup(name).is_some() {
        return Err("the name is taken by a built-in constant or function");
    }
    Ok(())
}

/// An expression bound to variable slots, with its constant parts folded: evaluate it
/// on a tape with [`Bound::eval`] or on plain numbers with [`Bound::eval_f64`].
#[derive(Clone, Debug, PartialEq)]
pub struct Bound {
    pub(super) root: Node,
    pub(super) vars: usize,
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
}
