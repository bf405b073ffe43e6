//! L-BFGS with a strong-Wolfe line search, for the phase after Adam (Nocedal & Wright,
//! *Numerical Optimization*, 2nd ed.: alg. 7.4 for the direction, alg. 3.5 and 3.6 with
//! cubic interpolation, eq. 3.59, for the step).
//!
//! Why not `argmin` (0.11): its L-BFGS and line searches ask for the loss and the gradient
//! through two traits (`CostFunction::cost`, `Gradient::gradient`), each call a separate
//! evaluation, and the solver evaluates the gradient again at the point the line search
//! accepted — two or three full passes per point where our loss gives both in one. The
//! line search runs inside its own `Executor` within each iteration, errors are
//! `anyhow::Error`, a failed line search ends the run, and it brings 44 packages (anyhow,
//! argmin-math, paste, rand_xoshiro, web-time, …). One iteration here is a function of
//! plain values, so the training loop keeps its progress bar, history and checkpoints.
//!
//! Deterministic: no threads, no hashing, sums in index order; the same state, point and
//! function values give bit-identical iterates. Over MPI ranks, every rank holds the same
//! reduced loss and gradient (as for [`Adam`](super::Adam)), so every rank takes the very
//! same steps.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod search;

use search::Search;

/// Sufficient-decrease constant of the Wolfe conditions.
const C1: f64 = 1e-4;
/// Curvature constant of the strong Wolfe conditions (the usual value for quasi-Newton).
const C2: f64 = 0.9;

/// L-BFGS settings: a `[pinn.lbfgs]` table of a case file, every key optional.
///
/// ```
/// use nabla::pinn::LbfgsConfig;
/// let c: LbfgsConfig = toml::from_str("steps = 200\nmemory = 20").unwrap();
/// assert_eq!((c.steps, c.memory, c.max_evals), (200, 20, 25));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LbfgsConfig {
    /// Most iterations the training loop runs (each one a [`Lbfgs::step`]); 0 runs none.
    /// Default 1000.
    pub steps: usize,
    /// Number of `(s, y)` pairs kept, at least 1. Default 10.
    pub memory: usize,
    /// Converged when `max |g| ≤ tolerance_grad` at the new point; finite, non-negative.
    /// Default 1e-9.
    pub tolerance_grad: f64,
    /// Converged when one iteration changes the loss by at most
    /// `tolerance_change · max(|f_k|, |f_k+1|, 1)`; finite, non-negative. Default 1e-12.
    pub tolerance_change: f64,
    /// Most evaluations of the loss in one iteration's line search, at least 1.
    /// Default 25.
    pub max_evals: usize,
}

impl Default for LbfgsConfig {
    fn default() -> Self {
        LbfgsConfig {
            steps: 1000,
            memory: 10,
            tolerance_grad: 1e-9,
            tolerance_change: 1e-12,
            max_evals: 25,
        }
    }
}

impl LbfgsConfig {
    /// Checks every setting.
    ///
    /// # Errors
    /// [`Error::Config`] (settings `lbfgs.memory`, `lbfgs.max_evals`,
    /// `lbfgs.tolerance_grad`, `lbfgs.tolerance_change`) for a memory or a number of
    /// evaluations of 0, or a tolerance that is negative or not finite.
    pub fn validate(&self) -> Result<()> {
        if self.memory == 0 {
            return Err(Error::config("lbfgs.memory", "must be at least 1"));
        }
        if self.max_evals == 0 {
            return Err(Error::config("lbfgs.max_evals", "must be at least 1"));
        }
        for (name, v) in [
            ("tolerance_grad", self.tolerance_grad),
            ("tolerance_change", self.tolerance_change),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::config(
                    format!("lbfgs.{name}"),
                    format!("must be finite and non-negative, got {v}"),
                ));
            }
        }
        Ok(())
    }
}

/// Which stopping test held after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LbfgsConvergence {
    /// `max |g| ≤ tolerance_grad` at the point reached.
    Gradient,
    /// The loss changed by at most `tolerance_change · max(|f_k|, |f_k+1|, 1)`.
    Change,
}

/// What a [`Lbfgs::step`] ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LbfgsStatus {
    /// A step decreased the loss sufficiently (`f(x + t·d) ≤ f(x) + c1·t·g·d`; it also
    /// met the strong curvature condition unless the line search ran out of
    /// evaluations) and no stopping test holds: step again.
    Continue,
    /// A stopping test holds at the point reached (possibly without a step, when it
    /// already held at the start).
    Converged(LbfgsConvergence),
    /// The line search found no point of sufficient decrease within `max_evals`
    /// evaluations (or the direction was too small to search along). The point moved to
    /// the lowest loss found if that is below the start's, and stayed otherwise; the
    /// memory was cleared, so another step starts from steepest descent.
    LineSearchFailed,
}

/// The outcome of one [`Lbfgs::step`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LbfgsStep {
    /// The loss at the point the step ended at (never above the loss at its start).
    pub value: f64,
    /// Evaluations of the loss this step made (0 when the start's value and gradient were
    /// known from the previous step and it had already converged).
    pub evaluations: usize,
    /// The accepted multiple `t` of the search direction, `x_new = x + t·d`; 0 when the
    /// point did not move.
    pub step_length: f64,
    /// Whether to step again.
    pub status: LbfgsStatus,
}

/// One curvature pair: `s = x_k+1 − x_k`, `y = g_k+1 − g_k`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pair {
    s: Vec<f64>,
    y: Vec<f64>,
}

/// The point of the last step with its loss and gradient, so that the next step does not
/// evaluate it again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Point {
    x: Vec<f64>,
    value: f64,
    grad: Vec<f64>,
}

/// L-BFGS's state: the settings, the last `memory` curvature pairs, the last point with
/// its loss and gradient, and counters. Serialisable, so a checkpoint resumes bit for bit;
/// it holds `(2·memory + 2)·n` numbers for `n` parameters.
///
/// Each [`Lbfgs::step`] is one iteration: a direction from the two-loop recursion, a
/// strong-Wolfe line search along it (`c1 = 1e-4`, `c2 = 0.9`), and the new point
/// written into `x`. The loss `f` returns the value and the gradient together. The first
/// step (and any step whose `x` is not, bit for bit, where the last one ended) evaluates
/// `f` at `x` first; later steps reuse the value and gradient the line search found.
///
/// ```
/// use nabla::pinn::{Lbfgs, LbfgsConfig, LbfgsStatus};
/// // f(x) = Σ i·(xᵢ − 1)², ∂f/∂xᵢ = 2i·(xᵢ − 1): the minimum is at (1, 1, 1).
/// let mut f = |x: &[f64]| -> nabla::Result<(f64, Vec<f64>)> {
///     let w = |i: usize| (i + 1) as f64;
///     let value = x.iter().enumerate().map(|(i, v)| w(i) * (v - 1.0).powi(2)).sum();
///     let grad = x.iter().enumerate().map(|(i, v)| 2.0 * w(i) * (v - 1.0)).collect();
///     Ok((value, grad))
/// };
/// let mut lbfgs = Lbfgs::new(LbfgsConfig::default()).unwrap();
/// let mut x = vec![0.0, 5.0, -3.0];
/// let mut status = LbfgsStatus::Continue;
/// for _ in 0..50 {
///     status = lbfgs.step(&mut x, &mut f).unwrap().status;
///     if status != LbfgsStatus::Continue {
///         break;
///     }
/// }
/// assert!(matches!(status, LbfgsStatus::Converged(_)));
/// assert!(x.iter().all(|v| (v - 1.0).abs() < 1e-8));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lbfgs {
    config: LbfgsConfig,
    /// Oldest first.
    pairs: VecDeque<Pair>,
    point: Option<Point>,
    iterations: u64,
    evaluations: u64,
}

/// A loss: value and gradient at a point.
type Loss<'a> = dyn FnMut(&[f64]) -> Result<(f64, Vec<f64>)> + 'a;

impl Lbfgs {
    /// A fresh optimiser: no memory, no point yet.
    ///
    /// # Errors
    /// As [`LbfgsConfig::validate`].
    pub fn new(config: LbfgsConfig) -> Result<Lbfgs> {
        config.validate()?;
        Ok(Lbfgs {
            config,
            pairs: VecDeque::new(),
            point: None,
            iterations: 0,
            evaluations: 0,
        })
    }

    /// The same state with its iteration limit set to `steps` (a resumed training may
    /// ask for more steps than the saved one had).
    pub fn with_steps(mut self, steps: usize) -> Lbfgs {
        self.config.steps = steps;
        self
    }

    /// The settings.
    pub fn config(&self) -> LbfgsConfig {
        self.config
    }

    /// Iterations taken: steps that searched along a direction.
    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    /// Evaluations of the loss over all steps.
    pub fn evaluations(&self) -> u64 {
        self.evaluations
    }

    /// One iteration from `x`, which it moves to the new point. `f` returns the loss and
    /// its gradient at a point; it is called at `x` first unless `x` is where the last
    /// step ended, then at the line search's trial points `x + t·d`.
    ///
    /// A direction that is not a descent direction (a memory that no longer fits) clears
    /// the memory and the step goes along `−g`. A trial point where `f` gives a loss or a
    /// gradient that is not finite counts as too far, and the search backs off. `x` is
    /// written only once the step is decided: it is never left at a point worse than the
    /// start, nor changed when an error is returned.
    ///
    /// # Errors
    /// [`Error::Config`] (setting `lbfgs`) for a loss or gradient that is not finite at
    /// `x` itself, a gradient whose length differs from `x`'s, or an `x` whose length
    /// differs from the memory's (a state restored for another problem);
    /// [`LbfgsConfig::validate`]'s errors for a state with bad settings; and any error
    /// of `f`.
    // The loss's type spelled out reads better in the docs than an alias.
    #[allow(clippy::type_complexity)]
    pub fn step(
        &mut self,
        x: &mut [f64],
        f: &mut dyn FnMut(&[f64]) -> Result<(f64, Vec<f64>)>,
    ) -> Result<LbfgsStep> {
        self.config.validate()?;
        let n = x.len();
        if let Some(p) = self.pairs.iter().find(|p| p.s.len() != n || p.y.len() != n) {
            return Err(Error::config(
                "lbfgs",
                format!(
                    "the memory holds pairs of lengths {} and {} for a point of {n} parameters",
                    p.s.len(),
                    p.y.len()
                ),
            ));
        }
        let mut evaluations = 0;
        let start = match self.point.take() {
            Some(p) if same_bits(&p.x, x) && p.grad.len() == n && p.value.is_finite() => p,
            _ => {
                let r = evaluate(f, x, &mut evaluations);
                self.evaluations += evaluations as u64;
                let (value, grad) = r?;
                if let Some(what) = not_finite(value, &grad) {
                    return Err(Error::config(
                        "lbfgs",
                        format!("the {what} at the starting point is not finite"),
                    ));
                }
                Point {
                    x: x.to_vec(),
                    value,
                    grad,
                }
            }
        };
        let f0 = start.value;
        if max_abs(&start.grad) <= self.config.tolerance_grad {
            self.point = Some(start);
            return Ok(LbfgsStep {
                value: f0,
                evaluations,
                step_length: 0.0,
                status: LbfgsStatus::Converged(LbfgsConvergence::Gradient),
            });
        }

        let g0 = &start.grad;
        let mut d = self.direction(g0);
        let mut gtd = dot(g0, &d);
        if !(gtd < 0.0 && gtd.is_finite() && d.iter().all(|v| v.is_finite())) {
            self.pairs.clear();
            d = g0.iter().map(|g| -g).collect();
            gtd = dot(g0, &d);
        }
        if !(gtd < 0.0 && gtd.is_finite()) {
            // −|g|² underflowed or overflowed: nothing to search along.
            self.point = Some(start);
            return Ok(LbfgsStep {
                value: f0,
                evaluations,
                step_length: 0.0,
                status: LbfgsStatus::LineSearchFailed,
            });
        }
        // The first trial of a search along −g moves no parameter by more than 1.
        let t0 = if self.pairs.is_empty() {
            (1.0 / max_abs(g0)).min(1.0)
        } else {
            1.0
        };

        let mut search = Search {
            x,
            d: &d,
            f0,
            gtd0: gtd,
            max_evals: self.config.max_evals,
            evaluations: 0,
            trial_x: vec![0.0; n],
            best: None,
        };
        let outcome = search.run(f, g0, t0);
        evaluations += search.evaluations;
        self.evaluations += search.evaluations as u64;
        let outcome = outcome?;
        self.iterations += 1;
        // Without a strong-Wolfe point, the lowest point found is taken as a step when it
        // decreased the loss sufficiently (against a wall of NaN, say), and otherwise with
        // a failure and a cleared memory; without any lower point nothing moves.
        let (found, status) = match (outcome, search.best.take()) {
            (Some(t), _) => (t, None),
            (None, Some(t)) if search.armijo(&t) => (t, None),
            (None, Some(t)) => {
                self.pairs.clear();
                (t, Some(LbfgsStatus::LineSearchFailed))
            }
            (None, None) => {
                self.pairs.clear();
                self.point = Some(start);
                return Ok(LbfgsStep {
                    value: f0,
                    evaluations,
                    step_length: 0.0,
                    status: LbfgsStatus::LineSearchFailed,
                });
            }
        };

        // The new point, by the very formula of the trial that was evaluated.
        let mut s = vec![0.0; n];
        for ((xi, si), di) in x.iter_mut().zip(&mut s).zip(&d) {
            let new = *xi + found.t * di;
            *si = new - *xi;
            *xi = new;
        }
        let y: Vec<f64> = found.grad.iter().zip(g0).map(|(a, b)| a - b).collect();
        let status = status.unwrap_or_else(|| {
            // Pairs with s·y ≤ ε|y|² would make the inverse Hessian indefinite.
            let (ys, yy) = (dot(&y, &s), dot(&y, &y));
            if ys > f64::EPSILON * yy {
                self.pairs.push_back(Pair { s, y });
            }
            self.stopping(f0, found.value, &found.grad)
        });
        while self.pairs.len() > self.config.memory {
            self.pairs.pop_front();
        }
        let value = found.value;
        self.point = Some(Point {
            x: x.to_vec(),
            value,
            grad: found.grad,
        });
        Ok(LbfgsStep {
            value,
            evaluations,
            step_length: found.t,
            status,
        })
    }

    /// The status after a step from loss `f0` to `f1` with gradient `g1`.
    fn stopping(&self, f0: f64, f1: f64, g1: &[f64]) -> LbfgsStatus {
        let c = &self.config;
        if max_abs(g1) <= c.tolerance_grad {
            LbfgsStatus::Converged(LbfgsConvergence::Gradient)
        } else if (f0 - f1).abs() <= c.tolerance_change * f0.abs().max(f1.abs()).max(1.0) {
            LbfgsStatus::Converged(LbfgsConvergence::Change)
        } else {
            LbfgsStatus::Continue
        }
    }

    /// `d = −H g` by the two-loop recursion, `H₀ = (s·y / y·y) I` from the newest pair
    /// (Nocedal & Wright alg. 7.4, eq. 7.20); `−g` without memory.
    fn direction(&self, g: &[f64]) -> Vec<f64> {
        let mut q: Vec<f64> = g.iter().map(|v| -v).collect();
        let Some(newest) = self.pairs.back() else {
            return q;
        };
        let mut alpha = vec![0.0; self.pairs.len()];
        for (p, a) in self.pairs.iter().zip(&mut alpha).rev() {
            *a = dot(&p.s, &q) / dot(&p.y, &p.s);
            axpy(-*a, &p.y, &mut q);
        }
        let gamma = dot(&newest.s, &newest.y) / dot(&newest.y, &newest.y);
        q.iter_mut().for_each(|v| *v *= gamma);
        for (p, a) in self.pairs.iter().zip(&alpha) {
            let beta = dot(&p.y, &q) / dot(&p.y, &p.s);
            axpy(a - beta, &p.s, &mut q);
        }
        q
    }
}

/// Calls `f` at `x`, counts the call, and checks the gradient's length.
fn evaluate(f: &mut Loss<'_>, x: &[f64], count: &mut usize) -> Result<(f64, Vec<f64>)> {
    let (value, grad) = f(x)?;
    *count += 1;
    if grad.len() != x.len() {
        return Err(Error::config(
            "lbfgs",
            format!(
                "the loss gave a gradient of length {} for {} parameters",
                grad.len(),
                x.len()
            ),
        ));
    }
    Ok((value, grad))
}

/// What is not finite: `"loss"`, `"gradient"`, or nothing.
fn not_finite(value: f64, grad: &[f64]) -> Option<&'static str> {
    if !value.is_finite() {
        Some("loss")
    } else if grad.iter().any(|g| !g.is_finite()) {
        Some("gradient")
    } else {
        None
    }
}

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(u, v)| u.to_bits() == v.to_bits())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| u * v).sum()
}

/// `y ← y + a·x`.
fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// `max |vᵢ|`, 0 for an empty slice.
fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m: f64, x| m.max(x.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_loop_without_memory_is_steepest_descent() {
        let l = Lbfgs::new(LbfgsConfig::default()).unwrap();
        assert_eq!(l.direction(&[1.0, -2.0]), vec![-1.0, 2.0]);
    }

    #[test]
    fn two_loop_with_one_pair_satisfies_the_secant_equation() {
        // H y = s for the newest pair (Nocedal & Wright eq. 6.17), so d(−y) = −H(−y) = s.
        let mut l = Lbfgs::new(LbfgsConfig::default()).unwrap();
        l.pairs.push_back(Pair {
            s: vec![1.0, 0.5],
            y: vec![2.0, 1.5],
        });
        let d = l.direction(&[-2.0, -1.5]);
        assert!(
            (d[0] - 1.0).abs() < 1e-15 && (d[1] - 0.5).abs() < 1e-15,
            "{d:?}"
        );
    }
}
