//! The Adam optimiser and learning-rate schedules.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Adam's hyper-parameters (Kingma & Ba 2015).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamConfig {
    /// Base learning rate (step size), before the schedule.
    pub learning_rate: f64,
    /// Decay of the first-moment estimate, in `[0, 1)`.
    #[serde(default = "default_beta1")]
    pub beta1: f64,
    /// Decay of the second-moment estimate, in `[0, 1)`.
    #[serde(default = "default_beta2")]
    pub beta2: f64,
    /// Added to `√v̂` to avoid dividing by zero; positive.
    #[serde(default = "default_eps")]
    pub eps: f64,
}

fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_eps() -> f64 {
    1e-8
}

impl AdamConfig {
    /// The usual settings (β1 = 0.9, β2 = 0.999, ε = 1e-8) with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        AdamConfig {
            learning_rate: lr,
            beta1: default_beta1(),
            beta2: default_beta2(),
            eps: default_eps(),
        }
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// [`Error::Config`] for a learning rate that is not positive and finite, a β outside
    /// `[0, 1)`, or an ε that is not positive.
    pub fn validate(&self) -> Result<()> {
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(Error::config(
                "optimizer.learning_rate",
                format!("must be positive and finite, got {}", self.learning_rate),
            ));
        }
        for (name, b) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&b) {
                return Err(Error::config(
                    format!("optimizer.{name}"),
                    format!("must lie in [0, 1), got {b}"),
                ));
            }
        }
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(Error::config(
                "optimizer.eps",
                format!("must be positive, got {}", self.eps),
            ));
        }
        Ok(())
    }
}

/// How the learning rate changes with the iteration `k` (from 0) of `K`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// The base rate throughout.
    #[default]
    Constant,
    /// `lr · rate^(k / every)`: smooth exponential decay, by `rate` every `every` steps.
    Exponential {
        /// Factor per `every` iterations, in `(0, 1]`.
        rate: f64,
        /// Iterations over which the rate is applied once.
        every: usize,
    },
    /// `lr · factor^⌊k / every⌋`: piecewise-constant steps.
    Step {
        /// Factor per step, in `(0, 1]`.
        factor: f64,
        /// Iterations between steps.
        every: usize,
    },
    /// Cosine annealing from `lr` at `k = 0` to `min_lr` at `k = K`.
    Cosine {
        /// The final learning rate, in `[0, lr]`.
        min_lr: f64,
    },
}

impl Schedule {
    /// The learning rate at iteration `k` of `total`, from the base rate `lr`.
    ///
    /// # Errors
    /// The errors of [`Schedule::validate`] (a period `every` of 0, a factor outside
    /// `(0, 1]`, `min_lr` outside `[0, lr]`).
    pub fn rate(&self, lr: f64, k: usize, total: usize) -> Result<f64> {
        self.validate(lr)?;
        Ok(match *self {
            Schedule::Constant => lr,
            Schedule::Exponential { rate, every } => lr * rate.powf(k as f64 / every as f64),
            Schedule::Step { factor, every } => {
                // every ≥ 1 (validated). Past i32::MAX steps factor^n has long reached its
                // limit (0 for a factor below 1, 1 for 1), so the exponent saturates.
                let n = k.checked_div(every).unwrap_or(0);
                lr * factor.powi(i32::try_from(n).unwrap_or(i32::MAX))
            }
            Schedule::Cosine { min_lr } => {
                let s = k as f64 / total.max(1) as f64;
                min_lr + 0.5 * (lr - min_lr) * (1.0 + (std::f64::consts::PI * s).cos())
            }
        })
    }

    /// Checks the schedule's settings against the base rate `lr`.
    ///
    /// # Errors
    /// [`Error::Config`] for a factor outside `(0, 1]`, `every = 0`, or `min_lr` outside
    /// `[0, lr]`.
    pub fn validate(&self, lr: f64) -> Result<()> {
        let setting = "optimizer.schedule";
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::Exponential { rate: f, every } | Schedule::Step { factor: f, every } => {
                if !(f > 0.0 && f <= 1.0) {
                    Err(Error::config(
                        setting,
                        format!("the decay factor must lie in (0, 1], got {f}"),
                    ))
                } else if every == 0 {
                    Err(Error::config(setting, "'every' must be at least 1"))
                } else {
                    Ok(())
                }
            }
            Schedule::Cosine { min_lr } => {
                if (0.0..=lr).contains(&min_lr) {
                    Ok(())
                } else {
                    Err(Error::config(
                        setting,
                        format!("min_lr must lie in [0, {lr}], got {min_lr}"),
                    ))
                }
            }
        }
    }
}

/// Adam's state: the moment estimates and the step count, serialisable so that a run can
/// resume exactly.
///
/// ```
/// use nabla::pinn::{Adam, AdamConfig};
/// // Minimise (p − 3)²: the gradient is 2(p − 3).
/// let mut adam = Adam::new(AdamConfig::new(0.1), 1).unwrap();
/// let mut p = [0.0];
/// for _ in 0..500 {
///     let g = [2.0 * (p[0] - 3.0)];
///     adam.step(&mut p, &g, 0.1).unwrap();
/// }
/// assert!((p[0] - 3.0).abs() < 1e-3);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adam {
    config: AdamConfig,
    m: Vec<f64>,
    v: Vec<f64>,
    t: u64,
}

impl Adam {
    /// An optimiser for `n` parameters.
    ///
    /// # Errors
    /// As [`AdamConfig::validate`].
    pub fn new(config: AdamConfig, n: usize) -> Result<Adam> {
        config.validate()?;
        let zeros = || -> Result<Vec<f64>> {
            let mut v = Vec::new();
            v.try_reserve_exact(n).map_err(|_| {
                Error::config(
                    "optimizer",
                    format!("cannot allocate Adam's moments for {n} parameters"),
                )
            })?;
            v.resize(n, 0.0);
            Ok(v)
        };
        Ok(Adam {
            config,
            m: zeros()?,
            v: zeros()?,
            t: 0,
        })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> AdamConfig {
        self.config
    }

    /// Number of steps taken.
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// The first and second moments, as saved in a checkpoint.
    pub(super) fn moments(&self) -> [&[f64]; 2] {
        [&self.m, &self.v]
    }

    /// One step with learning rate `lr` (the schedule's value): `m ← β1 m + (1 − β1) g`,
    /// `v ← β2 v + (1 − β2) g²`, `p ← p − lr · m̂ / (√v̂ + ε)` with the bias corrections
    /// `m̂ = m / (1 − β1ᵗ)`, `v̂ = v / (1 − β2ᵗ)`.
    ///
    /// # Errors
    /// [`Error::Config`] if `params` and `grad` do not have the optimiser's length, or if
    /// `lr` is not positive and finite.
    pub fn step(&mut self, params: &mut [f64], grad: &[f64], lr: f64) -> Result<()> {
        // m and v may come from a file (a checkpoint): their lengths are checked too.
        if params.len() != self.m.len()
            || grad.len() != self.m.len()
            || self.v.len() != self.m.len()
        {
            return Err(Error::config(
                "optimizer",
                format!(
                    "Adam holds {} first and {} second moments, got {} parameters and {} gradients",
                    self.m.len(),
                    self.v.len(),
                    params.len(),
                    grad.len()
                ),
            ));
        }
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::config(
                "optimizer.learning_rate",
                format!("must be positive and finite, got {lr}"),
            ));
        }
        self.config.validate()?;
        let AdamConfig {
            beta1: b1,
            beta2: b2,
            eps,
            ..
        } = self.config;
        let t = self.t.checked_add(1).ok_or_else(|| {
            Error::config("optimizer", "the step count overflows (2^64 steps taken)")
        })?;
        self.t = t;
        // β^t for t past i32::MAX is 0 (β < 1), which the saturated exponent gives too.
        let t = i32::try_from(t).unwrap_or(i32::MAX);
        let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
        let moments = self.m.iter_mut().zip(self.v.iter_mut());
        for ((p, &g), (m, v)) in params.iter_mut().zip(grad).zip(moments) {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            let mh = *m / c1;
            let vh = *v / c2;
            *p -= lr * mh / (vh.sqrt() + eps);
        }
        Ok(())
    }
}
