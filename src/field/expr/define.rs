//! Definitions: named sub-expressions of the coordinates, the time and the constants
//! (`r2 = "x^2 + y^2"`), written out in place wherever an expression uses them.
//!
//! A definition may use other definitions, in any order, as long as no definition uses
//! itself through others. Binding an expression replaces each definition's name by the
//! definition's own tree, exactly as if its text had been written there in parentheses:
//! the numbers are those of the long-hand expression bit for bit, and so are its exact
//! derivatives (the written-out tree goes onto the tape like any other).

use std::collections::HashMap;

use super::bind::{self, check_constant_name};
use super::parse::{Ast, AstKind};
use super::{Expr, ExprError, MAX_DEPTH};

/// The most operations an expression may have once its definitions are written out.
/// Every operation is a node of each chunk's tape, and definitions of definitions can
/// double the size at every level, so that a few lines could ask for billions.
pub const MAX_WRITTEN_OUT: usize = 100_000;

/// The variables a definition may use besides constants and other definitions.
const VARIABLES: [&str; 4] = ["x", "y", "z", "t"];

/// One definition, checked, with the depth and size of its tree written out.
#[derive(Clone, Debug)]
pub(super) struct Definition {
    name: String,
    expr: Expr,
    depth: usize,
    size: usize,
}

impl Definition {
    pub(super) fn source(&self) -> &str {
        self.expr.source()
    }

    pub(super) fn ast(&self) -> &Ast {
        &self.expr.ast
    }
}

/// Named sub-expressions, checked and ordered so that each uses only those before it.
///
/// ```
/// use nabla::field::expr::{Definitions, ExprField};
/// let defs = Definitions::new(&[("g", "exp(-r2)"), ("r2", "x^2 + y^2")], &[]).unwrap();
/// let f = ExprField::with_definitions(&["g*r2"], 2, 0.0, &[], &defs).unwrap();
/// let long = ExprField::new(&["exp(-(x^2 + y^2))*(x^2 + y^2)"], 2, 0.0, &[]).unwrap();
/// assert_eq!(f.eval_f64(&[0.3, 0.4]), long.eval_f64(&[0.3, 0.4]));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Definitions {
    defs: Vec<Definition>,
    /// Where each name is in `defs`.
    index: HashMap<String, usize>,
}

/// Why definitions could not be used; `index` is the definition's place in the list
/// given to [`Definitions::new`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DefinitionError {
    /// A name that cannot be defined.
    #[error("definition '{name}': {reason}")]
    Name {
        /// Place in the list.
        index: usize,
        /// The name.
        name: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// An expression that does not parse, uses an unknown name, or is too large once
    /// its definitions are written out.
    #[error("definition '{name}': {error}")]
    Expr {
        /// Place in the list.
        index: usize,
        /// The name.
        name: String,
        /// The error, with its column in the definition's expression.
        error: ExprError,
    },
    /// Definitions that use each other in a circle (or one that uses itself).
    #[error("definition '{name}': {}", cycle_message(.cycle))]
    Cycle {
        /// Place in the list of the definition whose use closes the circle.
        index: usize,
        /// Its name.
        name: String,
        /// Column, in that definition's expression, of the name that closes the circle.
        column: usize,
        /// The definitions around the circle, from the first back to itself.
        cycle: Vec<String>,
    },
}

fn cycle_message(cycle: &[String]) -> String {
    if cycle.len() == 2 {
        format!("'{}' uses itself; a definition cannot", cycle[0])
    } else {
        format!(
            "the definitions use each other in a circle, {}; a definition cannot use itself, \
             even through others",
            cycle.join(" -> ")
        )
    }
}

impl DefinitionError {
    /// Place, in the list given to [`Definitions::new`], of the definition at fault.
    pub fn index(&self) -> usize {
        match self {
            DefinitionError::Name { index, .. }
            | DefinitionError::Expr { index, .. }
            | DefinitionError::Cycle { index, .. } => *index,
        }
    }

    /// 1-based column in the definition's expression, where the error has one.
    pub fn column(&self) -> Option<usize> {
        match self {
            DefinitionError::Name { .. } => None,
            DefinitionError::Expr { error, .. } => Some(error.column()),
            DefinitionError::Cycle { column, .. } => Some(*column),
        }
    }

    /// What went wrong, without the definition's name and the column.
    pub fn message(&self) -> String {
        match self {
            DefinitionError::Name { reason, .. } => reason.clone(),
            DefinitionError::Expr { error, .. } => error.message().to_owned(),
            DefinitionError::Cycle { cycle, .. } => cycle_message(cycle),
        }
    }
}

impl Definitions {
    /// Checks and orders `defs`, pairs `(name, expression)` in any order. Their
    /// expressions may use `x, y, z, t`, `pi`, the `constants` and each other.
    ///
    /// # Errors
    /// [`DefinitionError::Name`] for a name that is not an identifier, is given twice,
    /// or is taken by a coordinate, `t`, `pi`, a function or a constant;
    /// [`DefinitionError::Expr`] for an expression that does not parse, uses an unknown
    /// name (at its column, listing the valid names), or once written out nests deeper
    /// than [`MAX_DEPTH`] or holds more than [`MAX_WRITTEN_OUT`] operations;
    /// [`DefinitionError::Cycle`] for definitions that use themselves.
    pub fn new<S: AsRef<str>, T: AsRef<str>>(
        defs: &[(S, T)],
        constants: &[(&str, f64)],
    ) -> Result<Definitions, DefinitionError> {
        let names: Vec<&str> = defs.iter().map(|(n, _)| n.as_ref()).collect();
        // Hash maps throughout: the work is linear in the number of definitions and
        // constants (10⁵ of either are read in a fraction of a second).
        let constant_names: std::collections::HashSet<&str> =
            constants.iter().map(|&(c, _)| c).collect();
        let mut position: HashMap<&str, usize> = HashMap::with_capacity(names.len());
        for (index, &name) in names.iter().enumerate() {
            let reason = check_constant_name(name)
                .err()
                .or_else(|| (position.insert(name, index).is_some()).then_some("given twice"))
                .or_else(|| {
                    constant_names
                        .contains(name)
                        .then_some("the name is taken by a constant")
                });
            if let Some(reason) = reason {
                return Err(DefinitionError::Name {
                    index,
                    name: name.to_owned(),
                    reason: reason.to_owned(),
                });
            }
        }
        let exprs = defs
            .iter()
            .enumerate()
            .map(|(index, (name, src))| {
                Expr::parse(src.as_ref()).map_err(|error| DefinitionError::Expr {
                    index,
                    name: name.as_ref().to_owned(),
                    error,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Which definitions each one uses, with the column of the use.
        let uses: Vec<Vec<(usize, usize)>> = exprs
            .iter()
            .map(|e| {
                let mut out = Vec::new();
                identifiers(&e.ast, &mut |n, col| {
                    if let Some(&j) = position.get(n) {
                        out.push((j, col));
                    }
                });
                out
            })
            .collect();
        let order = order(&names, &uses)?;
        let constants = bind::Constants::new(constants);
        let mut done = Definitions::default();
        for i in order {
            let bad = |error| DefinitionError::Expr {
                index: i,
                name: names[i].to_owned(),
                error,
            };
            let e = &exprs[i];
            // Checked without writing out the definitions it uses (they were checked
            // before it): binding each in full would cost the size of everything below it.
            bind::check(e.source(), &e.ast, &VARIABLES, &constants, &done).map_err(bad)?;
            let (depth, size) = done.written_out(&e.ast);
            done.index.insert(names[i].to_owned(), done.defs.len());
            done.defs.push(Definition {
                name: names[i].to_owned(),
                expr: e.clone(),
                depth,
                size,
            });
        }
        Ok(done)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    /// The names, each after those it uses.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.defs.iter().map(|d| d.name.as_str())
    }

    /// The definition named `name`.
    pub(super) fn get(&self, name: &str) -> Option<&Definition> {
        self.defs.get(*self.index.get(name)?)
    }

    /// Whether one is named `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Depth and number of operations of `ast` with every definition written out
    /// (saturating).
    fn written_out(&self, ast: &Ast) -> (usize, usize) {
        let sub = |a: &Ast| self.written_out(a);
        let (depth, size) = match &ast.kind {
            AstKind::Ident(n) => match self.get(n) {
                Some(d) => return (d.depth, d.size),
                None => (0, 0),
            },
            AstKind::Num(_) => (0, 0),
            AstKind::Neg(a) => sub(a),
            AstKind::Bin(_, a, b) => {
                let ((da, sa), (db, sb)) = (sub(a), sub(b));
                (da.max(db), sa.saturating_add(sb))
            }
            AstKind::Call(_, args) => args
                .iter()
                .map(sub)
                .fold((0, 0), |(d, s): (usize, usize), (da, sa)| {
                    (d.max(da), s.saturating_add(sa))
                }),
        };
        (depth + 1, size.saturating_add(1))
    }

    /// Checks that `ast` (parsed from `source`) with its definitions written out nests
    /// no deeper than [`MAX_DEPTH`] and holds at most [`MAX_WRITTEN_OUT`] operations.
    pub(super) fn check_size(&self, source: &str, ast: &Ast) -> Result<(), ExprError> {
        let (depth, size) = self.written_out(ast);
        let why = if depth > MAX_DEPTH {
            format!("nests more than {MAX_DEPTH} levels deep")
        } else if size > MAX_WRITTEN_OUT {
            format!("has more than {MAX_WRITTEN_OUT} operations")
        } else {
            return Ok(());
        };
        Err(ExprError::new(
            source,
            1,
            format!(
                "with its definitions written out, the expression {why}; use fewer levels of \
                 definitions of definitions"
            ),
        ))
    }
}

/// Calls `f` with every identifier of `ast` and its column.
pub(super) fn identifiers(ast: &Ast, f: &mut dyn FnMut(&str, usize)) {
    match &ast.kind {
        AstKind::Ident(n) => f(n, ast.col),
        AstKind::Num(_) => {}
        AstKind::Neg(a) => identifiers(a, f),
        AstKind::Bin(_, a, b) => {
            identifiers(a, f);
            identifiers(b, f);
        }
        AstKind::Call(_, args) => args.iter().for_each(|a| identifiers(a, f)),
    }
}

/// An order of the definitions in which each comes after those it uses (`uses[i]`:
/// the definitions `i` uses, with columns), or the first circle found, visiting the
/// definitions in the order given.
fn order(names: &[&str], uses: &[Vec<(usize, usize)>]) -> Result<Vec<usize>, DefinitionError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; names.len()];
    let mut out = Vec::with_capacity(names.len());
    for root in 0..names.len() {
        if mark[root] != Mark::New {
            continue;
        }
        // Depth-first, without recursion: (definition, next use to follow).
        let mut stack = vec![(root, 0usize)];
        mark[root] = Mark::Open;
        while let Some(&mut (i, ref mut next)) = stack.last_mut() {
            let Some(&(j, column)) = uses[i].get(*next) else {
                mark[i] = Mark::Done;
                out.push(i);
                stack.pop();
                continue;
            };
            *next += 1;
            match mark[j] {
                Mark::Done => {}
                Mark::New => {
                    mark[j] = Mark::Open;
                    stack.push((j, 0));
                }
                Mark::Open => {
                    let from = stack.iter().position(|&(k, _)| k == j).unwrap_or(0);
                    let mut cycle: Vec<String> = stack[from..]
                        .iter()
                        .map(|&(k, _)| names[k].into())
                        .collect();
                    cycle.push(names[j].into());
                    return Err(DefinitionError::Cycle {
                        index: i,
                        name: names[i].into(),
                        column,
                        cycle,
                    });
                }
            }
        }
    }
    Ok(out)
}
