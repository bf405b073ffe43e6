//! What the training loop minimises: a built-in loss or an equations problem, seen alike
//! as a function of the network's parameters and the unknowns.

use super::config::Objective;
use super::loss::{LossTerms, PinnLoss};
use super::mlp::Mlp;
use super::problem::{Equations, Loss};
use crate::error::Result;
use crate::parallel::Ranks;

/// A loss of a network and trainable coefficients (the unknowns), over ranks.
pub(crate) trait Evaluate: Sync {
    /// The loss, and when `grad` its gradient: the network's parameters, then the
    /// unknowns.
    fn eval(
        &self,
        mlp: &Mlp,
        unknowns: &[f64],
        grad: bool,
        ranks: &Ranks,
    ) -> Result<(LossTerms, Vec<f64>)>;
}

impl Evaluate for PinnLoss {
    fn eval(
        &self,
        mlp: &Mlp,
        _unknowns: &[f64],
        grad: bool,
        ranks: &Ranks,
    ) -> Result<(LossTerms, Vec<f64>)> {
        if grad {
            self.value_and_grad_on(mlp, ranks)
        } else {
            self.value_on(mlp, ranks).map(|t| (t, Vec::new()))
        }
    }
}

impl Evaluate for Loss {
    /// Every term's mean square in `pde` (a library loss does not say which terms are
    /// conditions).
    fn eval(
        &self,
        mlp: &Mlp,
        unknowns: &[f64],
        grad: bool,
        ranks: &Ranks,
    ) -> Result<(LossTerms, Vec<f64>)> {
        folded(self, &[], mlp, unknowns, grad, ranks)
    }
}

impl Evaluate for Equations {
    /// The terms folded into [`LossTerms`]: `pde` the equations' mean squares added,
    /// `boundary` the conditions' and data's, `continuity` 0.
    fn eval(
        &self,
        mlp: &Mlp,
        unknowns: &[f64],
        grad: bool,
        ranks: &Ranks,
    ) -> Result<(LossTerms, Vec<f64>)> {
        folded(&self.loss, &self.on_boundary, mlp, unknowns, grad, ranks)
    }
}

/// `loss` with its terms folded into [`LossTerms`]: those flagged in `on_boundary` added
/// into `boundary`, the others (and any beyond the flags) into `pde`.
fn folded(
    loss: &Loss,
    on_boundary: &[bool],
    mlp: &Mlp,
    unknowns: &[f64],
    grad: bool,
    ranks: &Ranks,
) -> Result<(LossTerms, Vec<f64>)> {
    let (t, g) = if grad {
        loss.value_and_grad_on(mlp, unknowns, ranks)?
    } else {
        (loss.value_on(mlp, unknowns, ranks)?, Vec::new())
    };
    let mut terms = LossTerms {
        total: t.total,
        ..LossTerms::default()
    };
    for (k, v) in t.terms.iter().enumerate() {
        if on_boundary.get(k).copied().unwrap_or(false) {
            terms.boundary += v;
        } else {
            terms.pde += v;
        }
    }
    Ok((terms, g))
}

impl Objective {
    /// The loss as the training loop sees it.
    pub(crate) fn evaluator(&self) -> &dyn Evaluate {
        match self {
            Objective::Builtin(l) => l,
            Objective::Equations(e) => e.as_ref(),
        }
    }

    /// The built-in loss, if this is one.
    pub fn builtin(&self) -> Option<&PinnLoss> {
        match self {
            Objective::Builtin(l) => Some(l),
            Objective::Equations(_) => None,
        }
    }

    /// The equations problem, if this is one.
    pub fn equations(&self) -> Option<&Equations> {
        match self {
            Objective::Builtin(_) => None,
            Objective::Equations(e) => Some(e.as_ref()),
        }
    }

    /// The unknowns' initial values (none for the built-in kinds).
    pub fn unknowns(&self) -> &[f64] {
        match self {
            Objective::Builtin(_) => &[],
            Objective::Equations(e) => &e.unknowns,
        }
    }

    /// The unknowns' names.
    pub fn unknown_names(&self) -> &[String] {
        match self {
            Objective::Builtin(_) => &[],
            Objective::Equations(e) => &e.names.coefficients,
        }
    }

    /// The loss of `mlp` with the unknowns `unknowns`, over `ranks` (collective).
    ///
    /// # Errors
    /// Errors of the loss.
    pub fn value_on(&self, mlp: &Mlp, unknowns: &[f64], ranks: &Ranks) -> Result<LossTerms> {
        self.evaluator()
            .eval(mlp, unknowns, false, ranks)
            .map(|(t, _)| t)
    }
}
