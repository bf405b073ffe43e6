//! The reconstruction on the tape: at each evaluation point, the fitted polynomial in the
//! scaled offsets from the point, recorded with per-point coefficient columns, so that the
//! autodiff core differentiates it like any formula.

use super::DataField;
use crate::autodiff::{Tape, Tensor, Var};
use crate::error::Error;
use crate::field::Field;

/// `x, y, z` for the coordinates `axes`.
fn names(axes: &[usize]) -> String {
    let n: Vec<&str> = axes.iter().map(|&a| ["x", "y", "z"][a.min(2)]).collect();
    n.join(", ")
}

impl Field for DataField {
    fn components(&self) -> usize {
        self.m
    }

    fn eval<'t>(&self, tape: &'t Tape, x: &[Var<'t>]) -> Vec<Var<'t>> {
        let need = self.s.frame.axes.iter().copied().max().unwrap_or(0) + 1;
        if x.len() < need {
            let bad = tape.invalid(Error::Operator {
                op: "data field".into(),
                message: format!(
                    "the data varies along {} (it is fitted in {}), but the points have only {}: \
                     evaluate it on {}-D points (a lattice with {} counts, a CSV file with a z \
                     column), or fit it in x and y (`reconstruction.dim = 2`) if it does not \
                     vary along {}",
                    ["x", "y", "z"][need - 1],
                    names(&self.s.frame.axes),
                    names(&(0..x.len()).collect::<Vec<_>>()),
                    need,
                    need,
                    ["x", "y", "z"][need - 1],
                ),
            });
            return vec![bad; self.m];
        }
        let n = x[0].rows();
        let frame = &self.s.frame;
        let q: Vec<Vec<f64>> = frame
            .axes
            .iter()
            .map(|&a| x[a].with_values(|_, _, v| v.to_vec()).unwrap_or_default())
            .collect();
        if q.iter().any(|c| c.len() != n) {
            let bad = tape.invalid(Error::Operator {
                op: "data field".into(),
                message: "coordinates of different lengths".into(),
            });
            return vec![bad; self.m];
        }
        let (coef, hinv) = self.fit_batch(&q, n);
        let p_all = self.exps.len();
        // Offsets x − q along the frame's directions d_a (t_a = d_a · (x − q): exactly 0 at
        // the point; a coordinate axis is one term, no product, so the derivatives along the
        // other axes are exactly 0), then the fit's coordinates s_a = t_a / h.
        let diff: Vec<Var<'t>> = frame
            .axes
            .iter()
            .zip(&q)
            .map(|(&b, qb)| x[b] - tape.constant_from_slice(n, 1, qb))
            .collect();
        let t: Vec<Var<'t>> = frame
            .dirs
            .iter()
            .map(|dir| {
                let mut terms = frame
                    .axes
                    .iter()
                    .zip(&diff)
                    .filter(|(b, _)| dir[**b] != 0.0);
                let term = |(&b, &d): (&usize, &Var<'t>)| {
                    if dir[b] == 1.0 { d } else { d.scale(dir[b]) }
                };
                let first = terms
                    .next()
                    .map(term)
                    .expect("internal: a direction is not 0");
                terms.map(term).fold(first, |acc, t| acc + t)
            })
            .collect();
        let hinv = tape.constant(Tensor::column(hinv));
        let s: Vec<Var<'t>> = t.into_iter().map(|ta| ta * hinv).collect();
        let mut phi: Vec<Var<'t>> = Vec::with_capacity(p_all);
        phi.push(tape.full(n, 1, 1.0));
        for &(q, a) in &self.pred[1..] {
            phi.push(phi[q] * s[a]);
        }
        let phi = tape.stack(&phi);
        (0..self.m)
            .map(|c| {
                let cc =
                    tape.constant_from_slice(n, p_all, &coef[c * p_all * n..(c + 1) * p_all * n]);
                (phi * cc).sum_cols()
            })
            .collect()
    }
}
