//! A general physics-informed problem: a list of terms, each a set of points, a residual
//! and a weight — PDE residuals on collocation points, boundary and initial conditions on
//! theirs, data misfits on measured points — with trainable scalar coefficients (an
//! unknown viscosity) beside the network's parameters.
//!
//! [`Loss`] evaluates `L = Σ_terms w · mean(r²)` and its gradient with respect to the
//! network's parameters and the coefficients, chunk by chunk in parallel and added in
//! chunk order, as [`PinnLoss`](super::PinnLoss) does: bit-identical for any number of
//! threads and of MPI ranks.
//!
//! ```
//! use nabla::pinn::{Activation, Derivative, FnResidual, Loss, Mlp, Term};
//! // u'' = −u on [0, π] (a 1-D problem), u(0) = 0, u'(0) = 1: u = sin x.
//! let ode = FnResidual::new(vec![Derivative::second(0, 0, 0)], |at| {
//!     Ok(vec![at.derivatives[0] + at.outputs[0]])
//! });
//! let value = FnResidual::new(vec![], |at| Ok(vec![at.outputs[0]]));
//! let slope = FnResidual::new(vec![Derivative::first(0, 0)], |at| {
//!     Ok(vec![at.derivatives[0] - 1.0])
//! });
//! let xs: Vec<f64> = (0..32).map(|i| i as f64 * std::f64::consts::PI / 31.0).collect();
//! let loss = Loss::new(1, 1, vec![
//!     Term::new("ode", vec![xs], ode).unwrap(),
//!     Term::new("u(0)", vec![vec![0.0]], value).unwrap(),
//!     Term::new("u'(0)", vec![vec![0.0]], slope).unwrap(),
//! ]).unwrap();
//! let mut net = Mlp::new(1, &[16], 1, Activation::Tanh, 7).unwrap();
//! let (before, grad) = loss.value_and_grad(&net, &[]).unwrap();
//! // One small gradient step lowers the loss.
//! let p: Vec<f64> = net.params().iter().zip(&grad).map(|(p, g)| p - 1e-3 * g).collect();
//! net.set_params(&p).unwrap();
//! assert!(loss.value(&net, &[]).unwrap().total < before.total);
//! ```

mod build;
mod chunk;
mod conditions;
mod config;
mod data;
mod equations;
mod pointwise;
mod region;
mod residual;

use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::mlp::Mlp;
use super::ranks::{ChunkOut, add_in_order, gather_sums};
use crate::error::{Error, Result};
use crate::parallel::Ranks;

pub use build::Reference;
pub use conditions::{ConditionConfig, Faces};
pub use config::{DataConfig, Equations};
pub use equations::{ExprResidual, Names};
pub use residual::{At, Derivative, FnResidual, Residual};

/// One term of a [`Loss`]: points (one column per network input), the residual enforced
/// there, its weight, data columns the residual reads at the same points, and optionally
/// a partner for each point (a periodic pair), the residual then being the difference of
/// its values at the two.
#[derive(Clone)]
pub struct Term {
    name: String,
    points: Vec<Vec<f64>>,
    data: Vec<Vec<f64>>,
    partners: Vec<Vec<f64>>,
    residual: Arc<dyn Residual>,
    weight: f64,
}

impl Term {
    /// A term of weight 1 named `name` enforcing `residual` at `points` (`points[k][i]` is
    /// input `k` of point `i`).
    ///
    /// # Errors
    /// [`Error::Config`] (setting the term's name) for no columns, columns of different
    /// lengths, no points, or a non-finite coordinate.
    pub fn new(
        name: impl Into<String>,
        points: Vec<Vec<f64>>,
        residual: impl Residual + 'static,
    ) -> Result<Term> {
        let name = name.into();
        check_columns(&name, "points", &points, None)?;
        Ok(Term {
            name,
            points,
            data: Vec::new(),
            partners: Vec::new(),
            residual: Arc::new(residual),
            weight: 1.0,
        })
    }

    /// The same term with weight `w`.
    ///
    /// # Errors
    /// [`Error::Config`] for a negative or non-finite weight.
    pub fn with_weight(mut self, w: f64) -> Result<Term> {
        if !(w.is_finite() && w >= 0.0) {
            return Err(Error::config(
                format!("{}.weight", self.name),
                format!("a loss weight must be finite and non-negative, got {w}"),
            ));
        }
        self.weight = w;
        Ok(self)
    }

    /// The same term with data columns (`data[k][i]`: column `k` at point `i`), handed to
    /// the residual as [`At::data`].
    ///
    /// # Errors
    /// [`Error::Config`] for a column whose length is not the number of points, or a
    /// non-finite value.
    pub fn with_data(mut self, data: Vec<Vec<f64>>) -> Result<Term> {
        check_columns(&self.name, "data", &data, Some(self.len()))?;
        self.data = data;
        Ok(self)
    }

    /// The same term enforced between pairs of points: its residual at each point minus
    /// its residual at that point's partner (`partners[k][i]`: input `k` of the partner
    /// of point `i`). A periodic condition `u(−1, t) = u(1, t)` is the residual `u` on
    /// points of `x = −1` paired with the same points moved to `x = 1`; add `d(u, x)` as a
    /// second component to match the slopes too. Data columns, if any, are read at both.
    ///
    /// ```
    /// use nabla::pinn::{Activation, ExprResidual, Loss, Mlp, Names, Term};
    /// let names = Names::new(&["x", "t"], &["u"]);
    /// let r = ExprResidual::new(&["u"], &names, None).unwrap();
    /// let ts = vec![0.0, 0.5, 1.0];
    /// let term = Term::new("periodic", vec![vec![-1.0; 3], ts.clone()], r).unwrap()
    ///     .with_partners(vec![vec![1.0; 3], ts.clone()]).unwrap();
    /// let loss = Loss::new(2, 1, vec![term]).unwrap();
    /// let net = Mlp::new(2, &[8], 1, Activation::Tanh, 3).unwrap();
    /// let u = net.predict(&[vec![-1.0, -1.0, -1.0, 1.0, 1.0, 1.0], [ts.clone(), ts].concat()])
    ///     .unwrap().remove(0);
    /// let want = (0..3).map(|i| (u[i] - u[i + 3]).powi(2)).sum::<f64>() / 3.0;
    /// assert!((loss.value(&net, &[]).unwrap().total - want).abs() < 1e-15);
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] for partners not one column per coordinate of the points, of
    /// another length, or with a non-finite coordinate.
    pub fn with_partners(mut self, partners: Vec<Vec<f64>>) -> Result<Term> {
        check_columns(&self.name, "partners", &partners, Some(self.len()))?;
        if partners.len() != self.points.len() {
            return Err(Error::config(
                format!("{}.partners", self.name),
                format!(
                    "{} columns for points of {} coordinates",
                    partners.len(),
                    self.points.len()
                ),
            ));
        }
        self.partners = partners;
        Ok(self)
    }

    /// The partner points, one column per input (empty for a term of single points).
    pub fn partners(&self) -> &[Vec<f64>] {
        &self.partners
    }

    /// The term's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number of points.
    pub fn len(&self) -> usize {
        self.points[0].len()
    }

    /// Whether the term has no points (never: [`Term::new`] refuses it).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The points, one column per input.
    pub fn points(&self) -> &[Vec<f64>] {
        &self.points
    }

    /// The data columns, one value per point each.
    pub fn data(&self) -> &[Vec<f64>] {
        &self.data
    }

    /// The weight.
    pub fn weight(&self) -> f64 {
        self.weight
    }
}

fn check_columns(name: &str, what: &str, cols: &[Vec<f64>], n: Option<usize>) -> Result<()> {
    let bad = |m: String| Err(Error::config(format!("{name}.{what}"), m));
    if n.is_none() && cols.is_empty() {
        return bad("no columns; give one per network input".into());
    }
    let n = n.unwrap_or_else(|| cols[0].len());
    if n == 0 {
        return bad("no points".into());
    }
    for (k, c) in cols.iter().enumerate() {
        if c.len() != n {
            return bad(format!("column {k} has {} values, expected {n}", c.len()));
        }
        if let Some(i) = c.iter().position(|v| !v.is_finite()) {
            return bad(format!("column {k} holds {} at point {i}", c[i]));
        }
    }
    Ok(())
}

/// The loss and its unweighted terms, each a mean of squares over points and components.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TermLosses {
    /// `Σ w · term`.
    pub total: f64,
    /// The mean squared residual of each term, in the order of the loss's terms.
    pub terms: Vec<f64>,
}

/// A physics-informed loss over [`Term`]s for a network of `inputs → outputs` and
/// `coefficients` trainable scalars: `L = Σ_terms w · mean(r²)`, evaluated chunk by chunk.
#[derive(Clone)]
pub struct Loss {
    terms: Vec<Term>,
    inputs: usize,
    outputs: usize,
    coefficients: usize,
    chunk_size: usize,
}

impl Loss {
    /// The loss of `terms` for a network with `inputs` inputs and `outputs` outputs.
    ///
    /// # Errors
    /// [`Error::Config`] for no terms, a term whose points do not have `inputs`
    /// coordinates, or a residual asking for a derivative of an output or along an input
    /// that does not exist.
    pub fn new(inputs: usize, outputs: usize, terms: Vec<Term>) -> Result<Loss> {
        if terms.is_empty() {
            return Err(Error::config("terms", "a loss needs at least one term"));
        }
        for t in &terms {
            if t.points.len() != inputs {
                return Err(Error::config(
                    format!("{}.points", t.name),
                    format!(
                        "points with {} coordinates for a network of {inputs} inputs",
                        t.points.len()
                    ),
                ));
            }
            for d in t.residual.derivatives() {
                if d.output() >= outputs || d.inputs().iter().any(|&k| k >= inputs) {
                    return Err(Error::config(
                        t.name.clone(),
                        format!(
                            "the residual asks for {d:?} of a network with {inputs} inputs and {outputs} outputs"
                        ),
                    ));
                }
                if d.inputs().is_empty() || d.order() > 2 {
                    return Err(Error::config(
                        t.name.clone(),
                        format!("the residual asks for {d:?}: expected one or two inputs"),
                    ));
                }
            }
        }
        Ok(Loss {
            terms,
            inputs,
            outputs,
            coefficients: 0,
            chunk_size: 256,
        })
    }

    /// The same loss with `n` trainable coefficients, handed to the residuals as
    /// [`At::coefficients`]; their values are given with the network's at each call.
    pub fn with_coefficients(mut self, n: usize) -> Loss {
        self.coefficients = n;
        self
    }

    /// The same loss cut into chunks of `n` points (default 256).
    ///
    /// # Errors
    /// [`Error::Config`] for `n = 0`.
    pub fn with_chunk_size(mut self, n: usize) -> Result<Loss> {
        if n == 0 {
            return Err(Error::config("chunk_size", "must be at least 1"));
        }
        self.chunk_size = n;
        Ok(self)
    }

    /// The same loss with term `k`'s points replaced by `points` (as many columns as
    /// inputs; the term must have no data columns or partners, which belong to its old
    /// points).
    ///
    /// # Errors
    /// [`Error::Config`] for a term that does not exist, has data, or points that
    /// [`Term::new`] would refuse or of the wrong dimension.
    pub fn with_points(mut self, k: usize, points: Vec<Vec<f64>>) -> Result<Loss> {
        let Some(t) = self.terms.get_mut(k) else {
            return Err(Error::config("terms", format!("no term {k}")));
        };
        if !t.data.is_empty() || !t.partners.is_empty() || points.len() != self.inputs {
            return Err(Error::config(
                t.name.clone(),
                "new points need one column per input and a term without data or partners",
            ));
        }
        check_columns(&t.name, "points", &points, None)?;
        t.points = points;
        Ok(self)
    }

    /// The terms.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// The number of network inputs.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The number of network outputs.
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// The number of trainable coefficients.
    pub fn coefficients(&self) -> usize {
        self.coefficients
    }

    /// Points per chunk.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    fn check(&self, mlp: &Mlp, coefficients: &[f64]) -> Result<()> {
        if mlp.input_dim() != self.inputs || mlp.outputs() != self.outputs {
            return Err(Error::config(
                "network",
                format!(
                    "the loss needs a network of {} inputs → {} outputs, got {} → {}",
                    self.inputs,
                    self.outputs,
                    mlp.input_dim(),
                    mlp.outputs()
                ),
            ));
        }
        if coefficients.len() != self.coefficients {
            return Err(Error::config(
                "unknowns",
                format!(
                    "the loss has {} trainable coefficients, got {} values",
                    self.coefficients,
                    coefficients.len()
                ),
            ));
        }
        if let Some(c) = coefficients.iter().find(|c| !c.is_finite()) {
            return Err(Error::config("unknowns", format!("a coefficient is {c}")));
        }
        Ok(())
    }

    /// The loss without its gradient.
    ///
    /// # Errors
    /// [`Error::Config`] for a network or coefficients that do not fit the loss; errors
    /// of the residuals and the autodiff core.
    pub fn value(&self, mlp: &Mlp, coefficients: &[f64]) -> Result<TermLosses> {
        self.run(mlp, coefficients, false, &Ranks::single())
            .map(|(t, _)| t)
    }

    /// The loss and its gradient: the network's parameters in the order of
    /// [`Mlp::params`], then the coefficients.
    ///
    /// # Errors
    /// As [`Loss::value`].
    pub fn value_and_grad(
        &self,
        mlp: &Mlp,
        coefficients: &[f64],
    ) -> Result<(TermLosses, Vec<f64>)> {
        self.run(mlp, coefficients, true, &Ranks::single())
    }

    /// [`Loss::value_and_grad`] over `ranks` (collective: every rank calls it with the
    /// same arguments), bit-identical to one rank's.
    ///
    /// # Errors
    /// As [`Loss::value`], on the lowest failing rank; [`Error::OtherRank`] on the others.
    pub fn value_and_grad_on(
        &self,
        mlp: &Mlp,
        coefficients: &[f64],
        ranks: &Ranks,
    ) -> Result<(TermLosses, Vec<f64>)> {
        self.run(mlp, coefficients, true, ranks)
    }

    /// [`Loss::value`] over `ranks`.
    ///
    /// # Errors
    /// As [`Loss::value_and_grad_on`].
    pub fn value_on(&self, mlp: &Mlp, coefficients: &[f64], ranks: &Ranks) -> Result<TermLosses> {
        self.run(mlp, coefficients, false, ranks).map(|(t, _)| t)
    }

    /// The terms of positive weight in groups that share one pass of the network per
    /// chunk: terms on the same points with the same partners (a case file's equations,
    /// one term each, on the same collocation points), in the order of their first terms.
    fn groups(&self) -> Vec<Vec<usize>> {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (k, t) in self.terms.iter().enumerate() {
            if t.weight <= 0.0 {
                continue;
            }
            // Bit for bit: −0.0 and 0.0 are different points to a residual that reads them.
            let same_bits = |a: &[Vec<f64>], b: &[Vec<f64>]| {
                a.len() == b.len()
                    && a.iter().zip(b).all(|(a, b)| {
                        a.len() == b.len()
                            && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
                    })
            };
            let same = |g: &&mut Vec<usize>| {
                let u = &self.terms[g[0]];
                same_bits(&u.points, &t.points) && same_bits(&u.partners, &t.partners)
            };
            match groups.iter_mut().find(same) {
                Some(g) => g.push(k),
                None => groups.push(vec![k]),
            }
        }
        groups
    }

    fn run(
        &self,
        mlp: &Mlp,
        coefficients: &[f64],
        want_grad: bool,
        ranks: &Ranks,
    ) -> Result<(TermLosses, Vec<f64>)> {
        let shared = ranks.size() > 1;
        if shared {
            ranks.agree(self.check(mlp, coefficients))?;
        } else {
            self.check(mlp, coefficients)?;
        }
        let cs = self.chunk_size;
        let groups = self.groups();
        // (group, start, end) in the order of the groups.
        let chunks: Vec<(usize, usize, usize)> = groups
            .iter()
            .enumerate()
            .flat_map(|(g, terms)| {
                let n = self.terms[terms[0]].len();
                (0..n)
                    .step_by(cs)
                    .map(move |s| (g, s, s.saturating_add(cs).min(n)))
            })
            .collect();
        let nt = self.terms.len();
        let params = if want_grad {
            mlp.num_params() + self.coefficients
        } else {
            0
        };
        // The chunk's share of its term's mean square travels at the front of its gradient
        // slot, so that the one ordered reduction adds both.
        let compute = |range: std::ops::Range<usize>| -> Result<Vec<ChunkOut>> {
            chunks[range]
                .par_iter()
                .map(|&(g, s, e)| {
                    chunk::TAPE.with(|t| {
                        let mut tape = t.borrow_mut();
                        tape.clear();
                        let group = &groups[g];
                        let (sums, grad) =
                            chunk::run(&tape, self, mlp, coefficients, group, s, e, want_grad)?;
                        let mut slot = vec![0.0; nt + params];
                        for (&k, sum) in group.iter().zip(sums) {
                            slot[k] = sum;
                        }
                        slot[nt..nt + grad.len()].copy_from_slice(&grad);
                        Ok(ChunkOut {
                            sums: [0.0; 3],
                            grad: slot,
                        })
                    })
                })
                .collect::<Vec<Result<ChunkOut>>>()
                .into_iter()
                .collect()
        };
        let (_, all) = if shared {
            gather_sums(ranks, chunks.len(), nt + params, compute)?
        } else {
            let outs = compute(0..chunks.len())?;
            add_in_order(outs.iter().map(|o| (&o.sums[..], &o.grad[..])), nt + params)
        };
        let terms = all[..nt].to_vec();
        let total = self
            .terms
            .iter()
            .zip(&terms)
            .map(|(t, v)| t.weight * v)
            .sum();
        Ok((TermLosses { total, terms }, all[nt..].to_vec()))
    }
}
