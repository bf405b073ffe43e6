//! The strong-Wolfe line search of an L-BFGS step: bracketing, then zooming with cubic
//! interpolation (Nocedal & Wright alg. 3.5 and 3.6, eq. 3.59).

use super::{C1, C2, Loss, dot, evaluate, not_finite};
use crate::error::Result;

/// A point `x + t·d` the line search evaluated. A loss or gradient that is not finite is
/// kept as `value = +∞`, `slope = NaN`: worse than any other point.
#[derive(Clone, Debug)]
pub(super) struct Trial {
    pub(super) t: f64,
    pub(super) value: f64,
    pub(super) grad: Vec<f64>,
    /// `φ'(t) = g·d`.
    pub(super) slope: f64,
}

/// The strong-Wolfe line search along `d` from `x` (Nocedal & Wright alg. 3.5 and 3.6).
pub(super) struct Search<'a> {
    pub(super) x: &'a [f64],
    pub(super) d: &'a [f64],
    pub(super) f0: f64,
    pub(super) gtd0: f64,
    pub(super) max_evals: usize,
    pub(super) evaluations: usize,
    /// Scratch for `x + t·d`.
    pub(super) trial_x: Vec<f64>,
    /// The trial with the lowest finite loss below `f0`, for a search that fails.
    pub(super) best: Option<Trial>,
}

impl Search<'_> {
    /// `Some(trial)` meeting the strong Wolfe conditions, `None` when `max_evals`
    /// evaluations found none.
    pub(super) fn run(&mut self, f: &mut Loss<'_>, g0: &[f64], t0: f64) -> Result<Option<Trial>> {
        let mut prev = Trial {
            t: 0.0,
            value: self.f0,
            grad: g0.to_vec(),
            slope: self.gtd0,
        };
        let mut t = t0;
        let mut first = true;
        // Alg. 3.5: step out until a bracket holds a point meeting the conditions.
        loop {
            if self.evaluations >= self.max_evals || !(t.is_finite() && t > 0.0) {
                return Ok(None);
            }
            let new = self.evaluate(f, t)?;
            if !self.armijo(&new) || (!first && new.value >= prev.value) {
                return self.zoom(f, prev, new);
            }
            if self.curvature(&new) {
                return Ok(Some(new));
            }
            if new.slope >= 0.0 {
                return self.zoom(f, new, prev);
            }
            // Extrapolate: a cubic step, at least a bit past t and at most 10 t.
            let (lo, hi) = (t + 0.01 * (t - prev.t), 10.0 * t);
            t = cubic_min(&prev, &new, lo, hi);
            prev = new;
            first = false;
        }
    }

    /// Alg. 3.6: shrink the bracket `[lo, hi]` (in either order), where `lo` meets the
    /// sufficient decrease with the lowest loss so far and `lo.slope · (hi.t − lo.t) < 0`.
    fn zoom(&mut self, f: &mut Loss<'_>, mut lo: Trial, mut hi: Trial) -> Result<Option<Trial>> {
        while self.evaluations < self.max_evals {
            let (a, b) = (lo.t.min(hi.t), lo.t.max(hi.t));
            if b - a <= f64::EPSILON * b {
                break;
            }
            // The cubic's minimiser, or the midpoint when that is within a tenth of the
            // bracket's ends (slow progress) or not finite (hi not finite: backing off).
            let margin = 0.1 * (b - a);
            let mut t = cubic_min(&lo, &hi, a, b);
            if !(t >= a + margin && t <= b - margin) {
                t = 0.5 * (a + b);
            }
            let new = self.evaluate(f, t)?;
            if !self.armijo(&new) || new.value >= lo.value {
                hi = new;
            } else {
                if self.curvature(&new) {
                    return Ok(Some(new));
                }
                if new.slope * (hi.t - lo.t) >= 0.0 {
                    hi = std::mem::replace(&mut lo, new);
                } else {
                    lo = new;
                }
            }
        }
        Ok(None)
    }

    /// Sufficient decrease: `φ(t) ≤ φ(0) + c1·t·φ'(0)` (false for a loss that is not
    /// finite).
    pub(super) fn armijo(&self, p: &Trial) -> bool {
        p.value <= self.f0 + C1 * p.t * self.gtd0
    }

    /// Strong curvature: `|φ'(t)| ≤ c2·|φ'(0)|`.
    fn curvature(&self, p: &Trial) -> bool {
        p.slope.abs() <= -C2 * self.gtd0
    }

    /// `f` at `x + t·d`.
    fn evaluate(&mut self, f: &mut Loss<'_>, t: f64) -> Result<Trial> {
        for ((xt, x), d) in self.trial_x.iter_mut().zip(self.x).zip(self.d) {
            *xt = *x + t * d;
        }
        let (value, grad) = evaluate(f, &self.trial_x, &mut self.evaluations)?;
        let trial = if not_finite(value, &grad).is_some() {
            Trial {
                t,
                value: f64::INFINITY,
                grad,
                slope: f64::NAN,
            }
        } else {
            let slope = dot(&grad, self.d);
            Trial {
                t,
                value,
                grad,
                slope,
            }
        };
        if trial.value < self.best.as_ref().map_or(self.f0, |b| b.value) {
            self.best = Some(trial.clone());
        }
        Ok(trial)
    }
}

/// The minimiser of the cubic through `(a.t, a.value)` and `(b.t, b.value)` with slopes
/// `a.slope`, `b.slope` (Nocedal & Wright eq. 3.59), clamped to `[lo, hi]`; the middle
/// of `[lo, hi]` when the cubic has no minimiser or the numbers are not finite.
fn cubic_min(a: &Trial, b: &Trial, lo: f64, hi: f64) -> f64 {
    let (a, b) = if a.t <= b.t { (a, b) } else { (b, a) };
    let d1 = a.slope + b.slope - 3.0 * (a.value - b.value) / (a.t - b.t);
    let d2sq = d1 * d1 - a.slope * b.slope;
    let t = if d2sq >= 0.0 {
        let d2 = d2sq.sqrt();
        b.t - (b.t - a.t) * ((b.slope + d2 - d1) / (b.slope - a.slope + 2.0 * d2))
    } else {
        f64::NAN
    };
    if t.is_finite() {
        t.clamp(lo, hi)
    } else {
        0.5 * (lo + hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(t: f64, value: f64, slope: f64) -> Trial {
        Trial {
            t,
            value,
            grad: Vec::new(),
            slope,
        }
    }

    #[test]
    fn cubic_step_is_exact_on_a_quadratic() {
        // φ(t) = (t − 0.3)², φ' = 2(t − 0.3): φ(0) = 0.09, φ'(0) = −0.6, φ(1) = 0.49,
        // φ'(1) = 1.4; the interpolating cubic is φ itself, minimal at 0.3.
        let t = cubic_min(&trial(0.0, 0.09, -0.6), &trial(1.0, 0.49, 1.4), 0.0, 1.0);
        assert!((t - 0.3).abs() < 1e-15, "{t}");
        // The same from the other end first.
        let t = cubic_min(&trial(1.0, 0.49, 1.4), &trial(0.0, 0.09, -0.6), 0.0, 1.0);
        assert!((t - 0.3).abs() < 1e-15, "{t}");
    }

    #[test]
    fn cubic_step_is_exact_on_a_cubic() {
        // φ(t) = t³ − 3t, φ' = 3t² − 3: the local minimum is at t = 1.
        // φ(0) = 0, φ'(0) = −3; φ(2) = 2, φ'(2) = 9.
        let t = cubic_min(&trial(0.0, 0.0, -3.0), &trial(2.0, 2.0, 9.0), 0.0, 2.0);
        assert!((t - 1.0).abs() < 1e-15, "{t}");
    }

    #[test]
    fn cubic_step_clamps_and_falls_back_to_the_middle() {
        // Minimum at 0.3, asked within [0.5, 1]: clamped to 0.5.
        let t = cubic_min(&trial(0.0, 0.09, -0.6), &trial(1.0, 0.49, 1.4), 0.5, 1.0);
        assert_eq!(t, 0.5);
        // A value that is not finite: the middle.
        let t = cubic_min(
            &trial(0.0, 0.0, -1.0),
            &trial(1.0, f64::INFINITY, f64::NAN),
            0.0,
            1.0,
        );
        assert_eq!(t, 0.5);
        // Concave data (no minimiser): the middle.
        // d1 = −2 + 2.7 = 0.7, d1² − φ'(0)φ'(1) = 0.49 − 1 < 0.
        let t = cubic_min(&trial(0.0, 0.0, -1.0), &trial(1.0, -0.9, -1.0), 0.0, 1.0);
        assert_eq!(t, 0.5);
    }
}
