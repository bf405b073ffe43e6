//! The loss history: one record per step, written as CSV (plotted by `plot`).

use serde::{Deserialize, Serialize};

use super::loss::LossTerms;

/// One row of the loss history.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossRecord {
    /// Iteration (from 0): the loss of the parameters before step `iteration`.
    pub iteration: usize,
    /// The learning rate of that step.
    pub learning_rate: f64,
    /// The loss and its terms.
    pub loss: LossTerms,
    /// Seconds since the (possibly resumed) run started.
    pub seconds: f64,
}

/// The loss history as CSV: `iteration,learning_rate,loss,pde,continuity,boundary,seconds`.
pub fn history_csv(history: &[LossRecord]) -> String {
    let mut s = String::from("iteration,learning_rate,loss,pde,continuity,boundary,seconds\n");
    for r in history {
        s.push_str(&format!(
            "{},{:e},{:e},{:e},{:e},{:e},{:.3}\n",
            r.iteration,
            r.learning_rate,
            r.loss.total,
            r.loss.pde,
            r.loss.continuity,
            r.loss.boundary,
            r.seconds
        ));
    }
    s
}
