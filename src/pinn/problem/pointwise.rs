//! A term's residual point by point, at points of the caller's choosing: what
//! residual-based refinement ranks its candidate points by.

use rayon::prelude::*;

use super::chunk::{TAPE, residuals};
use super::{Equations, Loss, Term, check_columns};
use crate::autodiff::{Tape, Var};
use crate::error::{Error, Result};
use crate::pinn::mlp::Mlp;
use crate::pinn::sampling::sample_in;

impl Loss {
    /// The squared residual of term `k` at each of `points` (one column per input): the
    /// sum over the residual's components of their squares, each component scaled as in
    /// the loss (the term's weight left out). Evaluated chunk by chunk in parallel, in
    /// chunks of [`Loss::chunk_size`] points, each point's value computed from its chunk
    /// alone: bit-identical for any number of threads.
    ///
    /// ```
    /// use nabla::pinn::{Activation, ExprResidual, Loss, Mlp, Names, Term};
    /// let names = Names::new(&["x"], &["u"]);
    /// // The residual u − 2x, whatever the points the term trains on.
    /// let r = ExprResidual::new(&["u - 2*x"], &names, None).unwrap();
    /// let loss = Loss::new(1, 1, vec![Term::new("eq", vec![vec![0.0]], r).unwrap()]).unwrap();
    /// let net = Mlp::new(1, &[4], 1, Activation::Tanh, 1).unwrap();
    /// let xs = vec![0.0, 0.5, 1.0];
    /// let sq = loss.squared_residuals(0, &net, &[], &[xs.clone()]).unwrap();
    /// let u = &net.predict(&[xs.clone()]).unwrap()[0];
    /// for i in 0..3 {
    ///     assert!((sq[i] - (u[i] - 2.0 * xs[i]).powi(2)).abs() < 1e-15);
    /// }
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] for a term that does not exist, reads data columns or has
    /// partners (which belong to its own points), points that [`Term::new`] would refuse or of the wrong
    /// dimension, a network or coefficients that do not fit the loss; errors of the
    /// residual and the autodiff core.
    pub fn squared_residuals(
        &self,
        k: usize,
        mlp: &Mlp,
        coefficients: &[f64],
        points: &[Vec<f64>],
    ) -> Result<Vec<f64>> {
        let Some(term) = self.terms.get(k) else {
            return Err(Error::config("terms", format!("no term {k}")));
        };
        if !term.data.is_empty() || !term.partners.is_empty() {
            return Err(Error::config(
                term.name.clone(),
                "a term with data columns or partners has residuals at its own points only",
            ));
        }
        if points.len() != self.inputs {
            return Err(Error::config(
                format!("{}.points", term.name),
                format!(
                    "points with {} coordinates for a network of {} inputs",
                    points.len(),
                    self.inputs
                ),
            ));
        }
        check_columns(&term.name, "points", points, None)?;
        self.check(mlp, coefficients)?;
        let n = points[0].len();
        let cs = self.chunk_size;
        let starts: Vec<usize> = (0..n).step_by(cs).collect();
        let parts = starts
            .par_iter()
            .map(|&s| {
                TAPE.with(|t| {
                    let mut tape = t.borrow_mut();
                    tape.clear();
                    chunk(&tape, term, mlp, coefficients, points, s, (s + cs).min(n))
                })
            })
            .collect::<Vec<Result<Vec<f64>>>>();
        let mut out = Vec::with_capacity(n);
        for p in parts {
            out.extend(p?);
        }
        Ok(out)
    }
}

/// The squared residual of `term` at `points[..][s..e]`, on `tape`.
fn chunk(
    tape: &Tape,
    term: &Term,
    mlp: &Mlp,
    coefficients: &[f64],
    points: &[Vec<f64>],
    s: usize,
    e: usize,
) -> Result<Vec<f64>> {
    let n = e - s;
    let coefs: Vec<Var<'_>> = coefficients
        .iter()
        .map(|&c| tape.constant(crate::autodiff::Tensor::scalar(c)))
        .collect();
    let (mut res, _) = residuals(tape, mlp, &[term], points, &coefs, s, e, false)?;
    let res = res.pop().unwrap_or_default();
    let mut sq = vec![0.0; n];
    for r in res {
        let v = r.value()?;
        let v = v.as_slice();
        match v.len() {
            1 => sq.iter_mut().for_each(|q| *q += v[0] * v[0]),
            m if m == n => sq.iter_mut().zip(v).for_each(|(q, r)| *q += r * r),
            m => {
                return Err(Error::config(
                    term.name.clone(),
                    format!(
                        "a residual component of {m} values; expected one per point ({n}) \
                         or a constant"
                    ),
                ));
            }
        }
    }
    tape.check()?;
    Ok(sq)
}

impl Equations {
    /// Refinement round `round`'s `n` candidate points: drawn in the box of the
    /// equations' points by their sampler, with the seed `seed ^ round · 0xD1B54A32D192ED03`
    /// (a new set for every round ≥ 1, none of them the equations' own).
    ///
    /// # Errors
    /// [`Error::Config`] for `n` outside `1..=10⁸`.
    pub fn candidates(&self, n: usize, round: usize) -> Result<Vec<Vec<f64>>> {
        let (lo, hi, _, sampler, seed) = &self.interior;
        sample_in(lo, hi, n, *sampler, candidate_seed(*seed, round))
    }

    /// The same problem with `added` (one column per input) appended to the equations'
    /// points; the conditions and data keep theirs. Nothing added, the problem itself.
    ///
    /// # Errors
    /// [`Error::Config`] for columns that are not one per input, of different lengths,
    /// or hold a non-finite value.
    pub fn with_added(&self, added: &[Vec<f64>]) -> Result<Equations> {
        let mut e = self.clone();
        if added.iter().all(Vec::is_empty) {
            return Ok(e);
        }
        let own = self.loss.terms()[0].points();
        if added.len() != own.len() {
            return Err(Error::config(
                "points.refine",
                format!(
                    "{} columns of added points for {} inputs",
                    added.len(),
                    own.len()
                ),
            ));
        }
        let cols: Vec<Vec<f64>> = own
            .iter()
            .zip(added)
            .map(|(a, b)| a.iter().chain(b).copied().collect())
            .collect();
        e.loss = e.loss.with_points(0, cols)?;
        Ok(e)
    }
}

/// The seed of refinement round `round`'s candidates, from the points' seed.
pub(crate) fn candidate_seed(seed: u64, round: usize) -> u64 {
    seed ^ (round as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)
}
