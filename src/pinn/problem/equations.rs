//! Residuals written as text: expressions over the network's inputs and outputs, their
//! derivatives (`d(u, x)`, `d(u, x, x)`, `lap(u)`), trainable coefficients, data columns
//! and constants.

use super::residual::{At, Derivative, Residual};
use crate::autodiff::Var;
use crate::error::{Error, Result};
use crate::field::expr::{Bound, Definitions, Expr};

/// The names an equation may use, each list in the order of its [`At`] slice.
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// The network's inputs (`x`, `t`, ...).
    pub inputs: Vec<String>,
    /// The network's outputs (`u`, `p`, ...).
    pub outputs: Vec<String>,
    /// Trainable coefficients.
    pub coefficients: Vec<String>,
    /// The term's data columns.
    pub data: Vec<String>,
    /// Named constants, folded into the expressions.
    pub constants: Vec<(String, f64)>,
    /// The inputs `lap(u)` sums over (the spatial ones; all inputs but `t` by default).
    pub laplacian_over: Vec<usize>,
}

impl Names {
    /// Names of inputs and outputs, constants none, and the Laplacian over every input
    /// not named `t`.
    pub fn new<S: AsRef<str>>(inputs: &[S], outputs: &[S]) -> Names {
        let inputs: Vec<String> = inputs.iter().map(|s| s.as_ref().to_owned()).collect();
        let laplacian_over = (0..inputs.len()).filter(|&k| inputs[k] != "t").collect();
        Names {
            inputs,
            outputs: outputs.iter().map(|s| s.as_ref().to_owned()).collect(),
            laplacian_over,
            ..Names::default()
        }
    }
}

/// Where a variable slot of a bound expression reads its value.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    Input(usize),
    Output(usize),
    Derivative(usize),
    Coefficient(usize),
    Data(usize),
}

/// What a slot of a condition's left side is multiplied by.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Factor {
    /// A number (the sign of a face's outward normal).
    Number(f64),
    /// A data column (a component of a surface's normal, point by point).
    Data(usize),
}

/// One residual component: `scale · (Σ factor · slot − expr)`, or `scale · expr` alone
/// (an empty sum).
#[derive(Clone, Debug)]
struct Component {
    lhs: Vec<(Factor, Slot)>,
    expr: Bound,
    scale: f64,
}

/// A [`Residual`] of expressions (see [`crate::field::expr::Expr::parse_with_derivatives`]
/// for the derivative syntax).
///
/// ```
/// use nabla::pinn::{ExprResidual, Names, Residual};
/// let mut names = Names::new(&["x", "t"], &["u"]);
/// names.constants.push(("nu".into(), 0.01 / std::f64::consts::PI));
/// let r = ExprResidual::new(&["d(u, t) + u*d(u, x) - nu*d(u, x, x)"], &names, None).unwrap();
/// assert_eq!(r.derivatives().len(), 3);
/// // Errors point at the column.
/// let e = ExprResidual::new(&["d(q, t)"], &names, None).unwrap_err();
/// assert!(e.to_string().contains("'q' is not an output"), "{e}");
/// ```
#[derive(Clone, Debug, Default)]
pub struct ExprResidual {
    components: Vec<Component>,
    derivatives: Vec<Derivative>,
    /// The variable slots of every component's expression, by name.
    names: Vec<String>,
    slots: Vec<Slot>,
}

/// An error about `expression` at `column`, with the expression and a caret.
fn at_column(key: &str, expression: &str, column: usize, message: &str) -> Error {
    let line: String = expression
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let pad = " ".repeat(column.saturating_sub(1));
    Error::config(
        key,
        format!("column {column}: {message}\n{line}\n{pad}^ {message}"),
    )
}

impl ExprResidual {
    /// One component per expression, with `definitions` (of the inputs and constants)
    /// written out where used. Errors are reported against the setting `equations.<i>`.
    ///
    /// # Errors
    /// [`Error::Config`] at the column of the first problem: an expression that does not
    /// parse, a derivative of a name that is not an output or along a name that is not an
    /// input, an unknown name.
    pub fn new<S: AsRef<str>>(
        exprs: &[S],
        names: &Names,
        definitions: Option<&Definitions>,
    ) -> Result<ExprResidual> {
        let mut r = ExprResidual::default();
        for (i, e) in exprs.iter().enumerate() {
            let bound = r.bind(&format!("equations.{i}"), e.as_ref(), names, definitions)?;
            r.components.push(Component {
                lhs: Vec::new(),
                expr: bound,
                scale: 1.0,
            });
        }
        Ok(r)
    }

    /// A condition: component `k` is `sign · d − value_k` where `d` is output `output_k`
    /// itself (`along = None`: a value, Dirichlet) or its derivative along input `a`
    /// (`Some(a)`: a normal derivative with `sign` the outward normal's, Neumann).
    ///
    /// # Errors
    /// As [`ExprResidual::new`], against the setting `key.<output name>`.
    pub fn condition<S: AsRef<str>>(
        key: &str,
        values: &[(usize, S)],
        along: Option<(usize, f64)>,
        names: &Names,
        definitions: Option<&Definitions>,
    ) -> Result<ExprResidual> {
        ExprResidual::conditions(key, values, names, definitions, |r, o| match along {
            None => vec![(Factor::Number(1.0), Slot::Output(o))],
            Some((a, sign)) => vec![(
                Factor::Number(sign),
                Slot::Derivative(r.derivative(Derivative::first(o, a))),
            )],
        })
    }

    /// A normal-derivative condition on a curved surface: component `k` is
    /// `Σ_j n_j · ∂u/∂x_{over_j} − value_k` with `u` output `output_k` and `n_j` the term's
    /// data column `j` (the unit normal's components over the inputs `over`, point by
    /// point).
    ///
    /// # Errors
    /// As [`ExprResidual::new`], against the setting `key.<output name>`.
    pub fn normal_condition<S: AsRef<str>>(
        key: &str,
        values: &[(usize, S)],
        over: &[usize],
        names: &Names,
        definitions: Option<&Definitions>,
    ) -> Result<ExprResidual> {
        ExprResidual::conditions(key, values, names, definitions, |r, o| {
            over.iter()
                .enumerate()
                .map(|(j, &a)| {
                    let d = r.derivative(Derivative::first(o, a));
                    (Factor::Data(j), Slot::Derivative(d))
                })
                .collect()
        })
    }

    /// One component `Σ lhs − value_k` per `(output_k, value_k)`, the left side made by
    /// `lhs` for each output (it may add the derivatives it reads).
    fn conditions<S: AsRef<str>>(
        key: &str,
        values: &[(usize, S)],
        names: &Names,
        definitions: Option<&Definitions>,
        lhs: impl Fn(&mut ExprResidual, usize) -> Vec<(Factor, Slot)>,
    ) -> Result<ExprResidual> {
        let mut r = ExprResidual::default();
        for (o, src) in values {
            let k = format!("{key}.{}", names.outputs[*o]);
            let expr = r.bind(&k, src.as_ref(), names, definitions)?;
            let lhs = lhs(&mut r, *o);
            r.components.push(Component {
                lhs,
                expr,
                scale: 1.0,
            });
        }
        Ok(r)
    }

    /// The same residual with component `i` multiplied by `scales[i]` (components beyond
    /// `scales` keep theirs).
    pub fn with_scales(mut self, scales: &[f64]) -> ExprResidual {
        for (c, &s) in self.components.iter_mut().zip(scales) {
            c.scale = s;
        }
        self
    }

    /// The index of `d` in the derivatives read, added if new.
    fn derivative(&mut self, d: Derivative) -> usize {
        let d = d.normalized();
        match self.derivatives.iter().position(|e| *e == d) {
            Some(i) => i,
            None => {
                self.derivatives.push(d);
                self.derivatives.len() - 1
            }
        }
    }

    /// Parses and binds one expression, growing the slots and derivatives.
    fn bind(
        &mut self,
        key: &str,
        src: &str,
        names: &Names,
        definitions: Option<&Definitions>,
    ) -> Result<Bound> {
        let e = Expr::parse_with_derivatives(src)
            .map_err(|e| at_column(key, src, e.column(), e.message()))?;
        // Every input is a slot, so that a definition written out here may use one that
        // the expression itself does not name.
        for (k, input) in names.inputs.iter().enumerate() {
            if !self.names.contains(input) {
                self.names.push(input.clone());
                self.slots.push(Slot::Input(k));
            }
        }
        for (name, col) in e.names() {
            if self.names.contains(&name) {
                continue;
            }
            let pos = |list: &[String], n: &str| list.iter().position(|s| s == n);
            let slot = if let Some(inner) = name
                .strip_prefix("d(")
                .or_else(|| name.strip_prefix("lap("))
            {
                let args: Vec<&str> = inner.trim_end_matches(')').split(',').collect();
                let Some(o) = pos(&names.outputs, args[0]) else {
                    let msg = format!(
                        "'{}' is not an output; the outputs are {}",
                        args[0],
                        names.outputs.join(", ")
                    );
                    return Err(at_column(key, src, col, &msg));
                };
                let d = if name.starts_with("lap(") {
                    if names.laplacian_over.is_empty() {
                        let msg = "lap() sums over the inputs other than t, and there are none";
                        return Err(at_column(key, src, col, msg));
                    }
                    Derivative::Laplacian {
                        output: o,
                        over: names.laplacian_over.clone(),
                    }
                } else {
                    let mut wrt = Vec::new();
                    for a in &args[1..] {
                        let Some(k) = pos(&names.inputs, a) else {
                            let msg = format!(
                                "'{a}' is not an input; the inputs are {}",
                                names.inputs.join(", ")
                            );
                            return Err(at_column(key, src, col, &msg));
                        };
                        wrt.push(k);
                    }
                    Derivative::Partial { output: o, wrt }
                };
                Slot::Derivative(self.derivative(d))
            } else if let Some(k) = pos(&names.inputs, &name) {
                Slot::Input(k)
            } else if let Some(k) = pos(&names.outputs, &name) {
                Slot::Output(k)
            } else if let Some(k) = pos(&names.coefficients, &name) {
                Slot::Coefficient(k)
            } else if let Some(k) = pos(&names.data, &name) {
                Slot::Data(k)
            } else {
                continue; // a constant, a definition, pi, or unknown: bind says
            };
            self.names.push(name);
            self.slots.push(slot);
        }
        // Bound against every slot so far: earlier expressions keep their slot numbers.
        let refs: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let consts: Vec<(&str, f64)> = names
            .constants
            .iter()
            .map(|(n, v)| (n.as_str(), *v))
            .collect();
        let empty = Definitions::default();
        e.bind_defined(&refs, &consts, definitions.unwrap_or(&empty))
            .map_err(|e| at_column(key, src, e.column(), e.message()))
    }
}

impl Residual for ExprResidual {
    fn derivatives(&self) -> Vec<Derivative> {
        self.derivatives.clone()
    }

    fn residuals<'t>(&self, at: &At<'_, 't>) -> Result<Vec<Var<'t>>> {
        let tape =
            at.inputs.first().map(|v| v.tape).ok_or_else(|| {
                Error::config("equations", "a residual of a network without inputs")
            })?;
        let value = |s: Slot| -> Result<Var<'t>> {
            let got = match s {
                Slot::Input(k) => at.inputs.get(k),
                Slot::Output(k) => at.outputs.get(k),
                Slot::Derivative(k) => at.derivatives.get(k),
                Slot::Coefficient(k) => at.coefficients.get(k),
                Slot::Data(k) => at.data.get(k),
            };
            got.copied().ok_or_else(|| {
                Error::config("equations", format!("internal: {s:?} is not provided"))
            })
        };
        let vars: Vec<Var<'t>> = self
            .slots
            .iter()
            .map(|&s| value(s))
            .collect::<Result<_>>()?;
        self.components
            .iter()
            .map(|c| {
                let e = c.expr.eval(tape, &vars);
                let mut sum: Option<Var<'t>> = None;
                for &(factor, s) in &c.lhs {
                    let l = value(s)?;
                    let term = match factor {
                        Factor::Number(1.0) => l,
                        Factor::Number(f) => l.scale(f),
                        Factor::Data(k) => value(Slot::Data(k))? * l,
                    };
                    sum = Some(match sum {
                        None => term,
                        Some(a) => a + term,
                    });
                }
                let r = match sum {
                    None => e,
                    Some(l) => l - e,
                };
                Ok(if c.scale == 1.0 { r } else { r.scale(c.scale) })
            })
            .collect()
    }
}
