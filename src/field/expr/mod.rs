//! Formula expressions: fields written as strings in a case file.
//!
//! An expression is parsed once, bound to variable slots and built onto the autodiff
//! tape at every evaluation.
//!
//! The parser is a small hand-written Pratt parser (precedence climbing) rather than a
//! parser crate: the grammar is a dozen tokens, a hand-written parser gives the precise
//! column-carrying error messages a case file needs, and the AST maps one-to-one onto
//! tape ops, so nothing stands between the formula and the derivative.
//! (evalexpr is AGPL; exmex would give an AST too, but with its own operator set and
//! error type to translate.)
//!
//! # Stages
//!
//! An expression goes through four stages, one file each:
//!
//! 1. **lex** (`lex.rs`): the characters become tokens that carry their columns;
//! 2. **parse** (`parse.rs`): the tokens become an AST by precedence climbing, checking
//!    function names and arities (the function table is in `func.rs`) and the nesting
//!    depth against [`MAX_DEPTH`]; the result is an [`Expr`];
//! 3. **bind** (`bind.rs`): names become variable slots or constant values, the names of
//!    [`Definitions`] (`define.rs`) are replaced by their own trees, and constant
//!    sub-expressions are folded, giving a [`Bound`];
//! 4. **eval** (`eval.rs`): a [`Bound`] is evaluated in plain f64 or compiled onto the
//!    autodiff tape.
//!
//! Errors of the first three stages are [`ExprError`]s (`error.rs`), which carry the
//! column they point at. [`ExprField`] puts the stages together for a field of one
//! expression per component.
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

mod bind;
mod define;
mod error;
mod eval;
mod func;
mod lex;
mod number;
mod parse;

pub use bind::Bound;
pub use define::{DefinitionError, Definitions, MAX_WRITTEN_OUT};
pub use error::{ExprError, ExprFieldError};
pub use func::function_names;
pub use number::Number;

use super::Field;
use crate::autodiff::{Tape, Var};
use crate::error::Error;
use bind::{COORDINATES, check_constant_name};
use parse::Ast;

/// The deepest nesting the parser accepts (parentheses, operators, calls; a flat sum of
/// n terms nests n − 1 deep). Beyond this an expression is rejected with an error instead
/// of risking the stack: binding and evaluation recurse once per level, and evaluation
/// may run on rayon's worker threads with their 2 MiB stacks.
pub const MAX_DEPTH: usize = 1024;

/// Checks a name for a constant or a definition: an identifier (a letter or `_`, then
/// letters, digits and `_`) that is not a coordinate, `t`, `pi` or a function. The error
/// says why the name cannot be used.
///
/// ```
/// use nabla::field::expr::check_name;
/// assert!(check_name("nu").is_ok());
/// assert!(check_name("sin").is_err() && check_name("2a").is_err() && check_name("t").is_err());
/// ```
pub fn check_name(name: &str) -> Result<(), &'static str> {
    check_constant_name(name)
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
        Ok(Expr {
            source: src.to_owned(),
            ast: parse::parse(src, false)?,
        })
    }

    /// Parses `src` as [`Expr::parse`] does, with derivatives of named quantities: the
    /// calls `d(u, x)` (∂u/∂x), `d(u, x, y)` (∂²u/∂x∂y) and `lap(u)` (the Laplacian), whose
    /// arguments are names, become names themselves, written without spaces (`d(u,x,y)`,
    /// `lap(u)`), which [`Expr::names`] lists and [`Expr::bind`] binds like any other. The
    /// caller gives them their meaning (a physics-informed residual computes them).
    ///
    /// ```
    /// use nabla::field::expr::Expr;
    /// let e = Expr::parse_with_derivatives("d(u, t) + u*d(u, x) - nu*d(u, x, x)").unwrap();
    /// let names: Vec<String> = e.names().into_iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["d(u,t)", "u", "d(u,x)", "nu", "d(u,x,x)"]);
    /// let b = e.bind(&["d(u,t)", "u", "d(u,x)", "nu", "d(u,x,x)"]).unwrap();
    /// assert_eq!(b.eval_f64(&[1.0, 2.0, 3.0, 0.5, 4.0]), 1.0 + 6.0 - 2.0);
    /// // Without the derivative syntax `d` is an unknown function.
    /// assert!(Expr::parse("d(u, t)").is_err());
    /// ```
    ///
    /// # Errors
    /// As [`Expr::parse`]; also a derivative whose arguments are not names, or that has
    /// too few or too many of them (order above 2).
    pub fn parse_with_derivatives(src: &str) -> Result<Expr, ExprError> {
        Ok(Expr {
            source: src.to_owned(),
            ast: parse::parse(src, true)?,
        })
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
        self.bind_defined(names, constants, &Definitions::default())
    }

    /// Like [`Expr::bind_with`], with [`Definitions`] looked up after the constants: each
    /// one used is written out in place (its tree bound where its name stands).
    ///
    /// ```
    /// use nabla::field::expr::{Definitions, Expr};
    /// let defs = Definitions::new(&[("r2", "x^2 + y^2")], &[]).unwrap();
    /// let b = Expr::parse("exp(-r2)").unwrap().bind_defined(&["x", "y"], &[], &defs).unwrap();
    /// assert_eq!(b.eval_f64(&[0.5, 1.0]), (-(0.5f64.powi(2) + 1.0f64.powi(2))).exp());
    /// ```
    ///
    /// # Errors
    /// As [`Expr::bind`], also for a name unknown inside a definition (at the column of
    /// the definition's name, quoting the definition), and for an expression whose
    /// definitions written out nest deeper than [`MAX_DEPTH`] or hold more than
    /// [`MAX_WRITTEN_OUT`] operations.
    pub fn bind_defined(
        &self,
        names: &[&str],
        constants: &[(&str, f64)],
        definitions: &Definitions,
    ) -> Result<Bound, ExprError> {
        bind::bind(
            &self.source,
            &self.ast,
            names,
            &bind::Constants::new(constants),
            definitions,
        )
    }

    /// Every name the expression uses (variables, constants, definitions, `pi`), with
    /// its 1-based column, in the order written; function names are not included.
    pub fn names(&self) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        define::identifiers(&self.ast, &mut |n, col| out.push((n.to_owned(), col)));
        out
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
// ExprField

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
/// assert_eq!(v[0].value().unwrap()[(0, 0)], 0.5f64.sin() * 0.5f64.cos() * 0.5f64.cos());
/// ```
#[derive(Clone, Debug)]
pub struct ExprField {
    exprs: Vec<Expr>,
    bound: Vec<Bound>,
    /// The expressions bound with `t` as one more variable (after the coordinates), for
    /// the exact time derivative.
    bound_t: Vec<Bound>,
    dim: usize,
    t: f64,
    constants: Vec<(String, f64)>,
    definitions: Definitions,
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
        Self::with_definitions(components, dim, t, constants, &Definitions::default())
    }

    /// Like [`ExprField::new`], with [`Definitions`] the expressions may use (of the
    /// coordinates, `t` and the constants); each one used is written out in place.
    ///
    /// # Errors
    /// As [`ExprField::new`]; also [`ExprFieldError::Constant`] for a constant named
    /// like a definition, and [`ExprFieldError::Component`] for a definition that uses a
    /// coordinate the field does not have (`z` in 2-D).
    pub fn with_definitions<S: AsRef<str>>(
        components: &[S],
        dim: usize,
        t: f64,
        constants: &[(&str, f64)],
        definitions: &Definitions,
    ) -> Result<ExprField, ExprFieldError> {
        if !(1..=3).contains(&dim) {
            return Err(ExprFieldError::Dimension(dim));
        }
        if components.is_empty() {
            return Err(ExprFieldError::Empty);
        }
        let mut seen = std::collections::HashSet::with_capacity(constants.len());
        for &(name, _) in constants {
            check_constant_name(name)
                .and_then(|()| {
                    if seen.insert(name) {
                        Ok(())
                    } else {
                        Err("given twice")
                    }
                })
                .map_err(|reason| ExprFieldError::Constant {
                    name: name.to_owned(),
                    reason: reason.to_owned(),
                })?;
            if definitions.contains(name) {
                return Err(ExprFieldError::Constant {
                    name: name.to_owned(),
                    reason: "the name is taken by a definition".to_owned(),
                });
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
            bound_t: Vec::new(),
            dim,
            t,
            constants,
            definitions: definitions.clone(),
        };
        field.bound = field.bind_all()?;
        field.bound_t = field.bind_in_time()?;
        Ok(field)
    }

    /// The expressions with `t` as the variable after the coordinates.
    fn bind_in_time(&self) -> Result<Vec<Bound>, ExprFieldError> {
        let consts: Vec<(&str, f64)> = (self.constants.iter())
            .map(|(n, v)| (n.as_str(), *v))
            .collect();
        let mut names = COORDINATES[..self.dim].to_vec();
        names.push("t");
        self.exprs
            .iter()
            .enumerate()
            .map(|(index, e)| {
                e.bind_defined(&names, &consts, &self.definitions)
                    .map_err(|error| ExprFieldError::Component { index, error })
            })
            .collect()
    }

    fn bind_all(&self) -> Result<Vec<Bound>, ExprFieldError> {
        let mut consts: Vec<(&str, f64)> = vec![("t", self.t)];
        consts.extend(self.constants.iter().map(|(n, v)| (n.as_str(), *v)));
        let names = &COORDINATES[..self.dim];
        let consts = bind::Constants::new(&consts);
        self.exprs
            .iter()
            .enumerate()
            .map(|(index, e)| {
                bind::bind(e.source(), &e.ast, names, &consts, &self.definitions)
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

    /// The exact `∂u/∂t`: the expressions recorded with `t` as a tape input (one value,
    /// broadcast over the points), differentiated in forward mode along `t` (one sweep
    /// for every component). Constant folding in `t` is off in this recording, so the
    /// derivative is the expression's own, term by term.
    fn eval_ddt<'t>(&self, tape: &'t Tape, x: &[Var<'t>]) -> Option<Vec<Var<'t>>> {
        if x.len() != self.dim {
            return Some(self.eval(tape, x));
        }
        let rows = x[0].rows();
        let t = tape.var(crate::autodiff::Tensor::scalar(self.t));
        let mut vars = x.to_vec();
        vars.push(t);
        let u: Vec<Var<'t>> = self.bound_t.iter().map(|b| b.eval(tape, &vars)).collect();
        let du = match crate::autodiff::jvp(&u, &[t], &[vec![tape.scalar(1.0)]]) {
            Ok(mut d) => d.swap_remove(0),
            Err(e) => return Some(u.iter().map(|_| tape.invalid(e.clone())).collect()),
        };
        Some(du.into_iter().map(|v| v.expand(rows, 1)).collect())
    }
}
