//! The loss history: one record per step, written as CSV, and the check that a training
//! learnt (its loss fell by a factor the case asks for).

use serde::{Deserialize, Serialize};

use super::loss::LossTerms;
use crate::error::{Error, Result};

/// One row of the loss history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossRecord {
    /// Iteration (from 0): the loss of the parameters before step `iteration`.
    pub iteration: usize,
    /// The learning rate of that step.
    pub learning_rate: f64,
    /// The loss and its terms.
    pub loss: LossTerms,
    /// Seconds since the (possibly resumed) run started.
    pub seconds: f64,
    /// The unknowns of an equations problem at that step (empty for the built-in kinds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknowns: Vec<f64>,
}

/// The loss history as CSV: `iteration,learning_rate,loss,pde,continuity,boundary,seconds`.
pub fn history_csv(history: &[LossRecord]) -> String {
    history_csv_with(history, &[])
}

/// [`history_csv`] with a column per unknown after `seconds`, named `unknowns` (the
/// values of each record's [`LossRecord::unknowns`]).
pub fn history_csv_with(history: &[LossRecord], unknowns: &[String]) -> String {
    let mut s = String::from("iteration,learning_rate,loss,pde,continuity,boundary,seconds");
    for n in unknowns {
        s.push(',');
        s.push_str(n);
    }
    s.push('\n');
    for r in history {
        s.push_str(&format!(
            "{},{:e},{:e},{:e},{:e},{:e},{:.3}",
            r.iteration,
            r.learning_rate,
            r.loss.total,
            r.loss.pde,
            r.loss.continuity,
            r.loss.boundary,
            r.seconds
        ));
        for k in 0..unknowns.len() {
            match r.unknowns.get(k) {
                Some(v) => s.push_str(&format!(",{v:e}")),
                None => s.push(','),
            }
        }
        s.push('\n');
    }
    s
}

/// The default of `min_loss_reduction`: a training should end with a loss at least ten
/// times below its first.
pub const DEFAULT_MIN_LOSS_REDUCTION: f64 = 10.0;

pub(super) fn default_min_loss_reduction() -> f64 {
    DEFAULT_MIN_LOSS_REDUCTION
}

/// Checks a `min_loss_reduction` setting: finite and not negative (0 turns the check off).
///
/// # Errors
/// [`Error::Config`] (setting `min_loss_reduction`) otherwise.
pub(super) fn check_min_loss_reduction(factor: f64) -> Result<()> {
    if factor.is_finite() && factor >= 0.0 {
        return Ok(());
    }
    Err(Error::config(
        "min_loss_reduction",
        format!(
            "must be a finite number, 0 or more (the factor by which the final loss must fall \
             below the first; 0 turns the check off), got {factor:?}"
        ),
    ))
}

/// A warning when a training did not learn: its final total loss `final_loss` is not
/// below the first one of `history` divided by `min_reduction`. `None` when it is, when
/// `min_reduction` is 0 (the check is off) or when the history is empty.
pub fn learning_warning(
    history: &[LossRecord],
    final_loss: f64,
    min_reduction: f64,
) -> Option<String> {
    let first = history.first()?;
    let start = first.loss.total;
    // A first loss of 0 (or not finite) leaves nothing to compare with.
    if min_reduction <= 0.0 || !(start > 0.0 && start.is_finite()) {
        return None;
    }
    if final_loss * min_reduction < start {
        return None;
    }
    let steps = history.len();
    let how = if !final_loss.is_finite() {
        format!("went from {start:.3e} to {final_loss}")
    } else if final_loss > start {
        format!("rose from {start:.3e} to {final_loss:.3e}")
    } else {
        format!(
            "fell only by a factor {:.3} (from {start:.3e} to {final_loss:.3e})",
            start / final_loss
        )
    };
    Some(format!(
        "the training did not learn: its loss {how} over {steps} steps, which is not the \
         factor min_loss_reduction = {min_reduction} below the first; try a smaller \
         optimizer.learning_rate or more optimizer.iterations (or lower \
         pinn.min_loss_reduction)"
    ))
}
