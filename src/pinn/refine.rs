//! Collocation points that change during the Adam phase of an equations problem:
//! resampling (`[pinn.points] resample_every`: the equations' points drawn afresh every k
//! steps) and residual-based adaptive refinement (`[pinn.points] refine`: points added
//! where the equations' residual is largest, RAR of Lu et al. 2021).
//!
//! Both are deterministic: the points drawn depend on the seeds alone, and the points
//! added on the network at the step of their round, evaluated chunk by chunk
//! (bit-identical for any number of threads and ranks) and ranked with ties broken by
//! index. The added points travel in the checkpoint, so that a resumed run trains on the
//! same points as an uninterrupted one.

use serde::{Deserialize, Serialize};

use super::mlp::Mlp;
use super::problem::Equations;
use super::sample::MAX_POINTS;
use crate::error::{Error, Result};

/// Residual-based adaptive refinement, `[pinn.points] refine = { every = 2000, add = 100,
/// candidates = 10000 }`: before every `every`-th Adam step (steps `every`, `2·every`,
/// ... below `optimizer.iterations`), the residual of the equations is evaluated on
/// `candidates` new points (drawn by the points' sampler, round `j` with the seed
/// `seed ^ j · 0xD1B54A32D192ED03`), and the `add` points of largest squared residual
/// (summed over the equations; ties to the lower index) join the equations' points for
/// the rest of the training, L-BFGS included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RefineConfig {
    /// Adam steps between rounds.
    pub every: usize,
    /// Points added per round.
    pub add: usize,
    /// Candidate points per round, of which the `add` of largest residual are kept.
    pub candidates: usize,
}

impl RefineConfig {
    /// The number of rounds in `iterations` Adam steps: one before each step `j · every`,
    /// `j ≥ 1`, below `iterations`.
    pub fn rounds(&self, iterations: usize) -> usize {
        iterations.saturating_sub(1) / self.every.max(1)
    }

    /// Checks the settings against the Adam phase of `iterations` steps and `interior`
    /// equations points, with resampling every `resample_every` steps (0: none).
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting (`points.refine.every`, `.add`, `.candidates`
    /// or `points.refine`): a zero, more points added than candidates, a period that
    /// leaves no round in the Adam phase, more points in the end than the trainer holds,
    /// or refinement with resampling (which would throw the added points away).
    pub fn validate(
        &self,
        resample_every: usize,
        iterations: usize,
        interior: usize,
    ) -> Result<()> {
        let key = |k: &str| format!("points.refine.{k}");
        for (k, v) in [
            ("every", self.every),
            ("add", self.add),
            ("candidates", self.candidates),
        ] {
            if v == 0 {
                return Err(Error::config(key(k), "must be at least 1"));
            }
        }
        if self.add > self.candidates {
            return Err(Error::config(
                key("add"),
                format!(
                    "adds {} of {} candidates; at most as many as there are candidates",
                    self.add, self.candidates
                ),
            ));
        }
        if self.candidates > MAX_POINTS {
            return Err(Error::config(
                key("candidates"),
                format!("more than the {MAX_POINTS} points this trainer holds in memory"),
            ));
        }
        if resample_every != 0 {
            return Err(Error::config(
                "points.refine",
                "cannot be combined with points.resample_every: resampling replaces the \
                 equations' points, refinement adds to a fixed set; choose one",
            ));
        }
        let rounds = self.rounds(iterations);
        if rounds == 0 {
            return Err(Error::config(
                key("every"),
                format!(
                    "{} leaves no round in the {iterations} Adam steps (optimizer.iterations); \
                     refinement happens before steps every, 2·every, ... below it",
                    self.every
                ),
            ));
        }
        let total = rounds
            .checked_mul(self.add)
            .and_then(|a| a.checked_add(interior));
        if total.is_none_or(|t| t > MAX_POINTS) {
            return Err(Error::config(
                key("add"),
                format!(
                    "{rounds} rounds of {} points would make more than the {MAX_POINTS} \
                     points this trainer holds in memory",
                    self.add
                ),
            ));
        }
        Ok(())
    }
}

/// The `add` indices of largest `scores`, ties to the lower index, in increasing order.
///
/// # Errors
/// [`Error::Config`] (setting `points.refine`) for a score that is not finite.
pub(crate) fn largest(scores: &[f64], add: usize) -> Result<Vec<usize>> {
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(Error::config(
            "points.refine",
            format!(
                "the squared residual is {} at candidate {i}; the training has diverged: \
                 lower the learning rate",
                scores[i]
            ),
        ));
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    let order = |&a: &usize, &b: &usize| scores[b].total_cmp(&scores[a]).then(a.cmp(&b));
    if add < idx.len() {
        idx.select_nth_unstable_by(add, order);
        idx.truncate(add);
    }
    idx.sort_unstable();
    Ok(idx)
}

/// The equations' points as the Adam phase changes them, step by step.
pub(crate) struct MovingPoints<'a> {
    /// The problem as built, on its own points.
    base: &'a Equations,
    resample_every: usize,
    refine: Option<RefineConfig>,
    /// The points refinement added so far, one column per input.
    added: Vec<Vec<f64>>,
    /// `base` with the added points, once there are some.
    refined: Option<Equations>,
    /// The resampled set of the current step, once there is one.
    drawn: Option<Equations>,
}

impl<'a> MovingPoints<'a> {
    /// The points of `base` with `added` (from a checkpoint; empty for a fresh run).
    ///
    /// # Errors
    /// [`Error::Config`] (setting `checkpoint`) for added points without refinement, or
    /// not a whole number of rounds, or not one column per input.
    pub(crate) fn new(
        base: &'a Equations,
        resample_every: usize,
        refine: Option<RefineConfig>,
        added: Vec<Vec<f64>>,
    ) -> Result<MovingPoints<'a>> {
        let d = base.loss.inputs();
        let n = added.first().map_or(0, Vec::len);
        let whole = match refine {
            Some(r) => n.is_multiple_of(r.add),
            None => n == 0,
        };
        if !(added.is_empty() || added.len() == d) || !whole {
            return Err(Error::config(
                "checkpoint",
                format!(
                    "cannot resume: the checkpoint holds {n} points added by refinement in \
                     {} columns, which points.refine ({}) with {d} inputs cannot have added",
                    added.len(),
                    refine.map_or("absent".into(), |r| format!("add = {}", r.add)),
                ),
            ));
        }
        let refined = if n > 0 {
            Some(base.with_added(&added)?)
        } else {
            None
        };
        Ok(MovingPoints {
            base,
            resample_every,
            refine,
            added: if n > 0 { added } else { vec![Vec::new(); d] },
            refined,
            drawn: None,
        })
    }

    /// The points added so far, one column per input (empty columns for none).
    pub(crate) fn added(&self) -> &[Vec<f64>] {
        &self.added
    }

    /// The rounds of refinement done.
    fn rounds(&self) -> usize {
        match self.refine {
            Some(r) => self.added[0].len() / r.add,
            None => 0,
        }
    }

    /// Before Adam step `k` of a loop that started at step `start`: a round of
    /// refinement, with the network `mlp` and the unknowns as they are, when `k` is
    /// one's; the resampled set of the step, when it changes.
    ///
    /// # Errors
    /// [`Error::Config`] for a checkpoint whose added points miss a round before `k`;
    /// errors of the sampling and of the residual.
    pub(crate) fn before_step(
        &mut self,
        k: usize,
        start: usize,
        mlp: &Mlp,
        unknowns: &[f64],
    ) -> Result<()> {
        if let Some(r) = self.refine {
            let (due, done) = (k / r.every, self.rounds());
            if done + 1 < due || done > due {
                return Err(Error::config(
                    "checkpoint",
                    format!(
                        "cannot resume: the checkpoint holds {done} rounds of refinement at \
                         Adam step {k}, where points.refine.every = {} makes {due}",
                        r.every
                    ),
                ));
            }
            if done < due {
                let cand = self.base.candidates(r.candidates, due)?;
                let scores = self.base.loss.squared_residuals(0, mlp, unknowns, &cand)?;
                let pick = largest(&scores, r.add)?;
                for (col, c) in self.added.iter_mut().zip(&cand) {
                    col.extend(pick.iter().map(|&i| c[i]));
                }
                self.refined = Some(self.base.with_added(&self.added)?);
            }
        }
        let every = self.resample_every;
        if every > 0 && k / every > 0 && (k == start || k.is_multiple_of(every)) {
            self.drawn = Some(self.base.resampled(k / every)?);
        }
        Ok(())
    }

    /// What Adam's step trains on: the resampled set, or the refined one, or the
    /// problem's own.
    pub(crate) fn current(&self) -> &Equations {
        self.drawn
            .as_ref()
            .or(self.refined.as_ref())
            .unwrap_or(self.base)
    }

    /// What L-BFGS trains on after Adam: the refined set, or the problem's own (after
    /// resampling too: the first set).
    pub(crate) fn settled(&self) -> &Equations {
        self.refined.as_ref().unwrap_or(self.base)
    }
}
