//! The training loop: Adam steps on a loss, with a progress bar, the loss history and
//! periodic checkpoints.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::adam::{Adam, Schedule};
use super::checkpoint::save_checkpoint;
use super::history::LossRecord;
use super::lbfgs::{Lbfgs, LbfgsStatus};
use super::loss::PinnLoss;
use super::mlp::Mlp;
use super::objective::Evaluate;
use super::problem::Loss;
use super::refine::MovingPoints;
use crate::error::{Error, Result};
use crate::parallel::Ranks;

/// How [`fit`] reports and saves.
#[derive(Clone, Debug, Default)]
pub struct FitOptions {
    /// Iterations to reach in total (counting steps the optimiser already took).
    pub iterations: usize,
    /// The learning-rate schedule.
    pub schedule: Schedule,
    /// Hide the progress bar (it is hidden anyway when stderr is not a terminal).
    pub quiet: bool,
    /// Save a [`Checkpoint`](super::Checkpoint) at this path every `checkpoint_every`
    /// iterations (and at the end), each time only once the loss of the parameters saved
    /// is known to be finite: a diverged network is never saved.
    pub checkpoint: Option<PathBuf>,
    /// Checkpoint interval (0: only at the end).
    pub checkpoint_every: usize,
}

/// Trains `mlp` with `adam` on `loss` from step `adam.steps()` up to `opts.iterations`,
/// appending one [`LossRecord`] per step to `history`.
///
/// # Errors
/// [`Error::Config`] for zero iterations, a bad schedule, or a non-finite loss (the run
/// diverged: lower the learning rate); errors of the loss or of writing checkpoints.
pub fn fit(
    mlp: &mut Mlp,
    adam: &mut Adam,
    loss: &PinnLoss,
    opts: &FitOptions,
    history: &mut Vec<LossRecord>,
) -> Result<()> {
    fit_on(mlp, adam, loss, opts, history, &Ranks::single())
}

/// [`fit`] over `ranks` (collective: every rank calls it with the same network, optimiser
/// and loss). Each step's loss and gradient come from [`PinnLoss::value_and_grad_on`],
/// bit-identical on every rank and to one rank's, so every rank takes the same Adam steps
/// and ends with the same network and history. Only rank 0 shows the progress bar and
/// saves the checkpoints; the ranks agree on each save, so that a failed save stops them
/// all at the same step. Every other error of a step follows from values every rank
/// holds alike, so all ranks meet it at the same step.
///
/// # Errors
/// As [`fit`], on the lowest failing rank; [`Error::OtherRank`] on the others.
pub fn fit_on(
    mlp: &mut Mlp,
    adam: &mut Adam,
    loss: &PinnLoss,
    opts: &FitOptions,
    history: &mut Vec<LossRecord>,
    ranks: &Ranks,
) -> Result<()> {
    fit_objective(mlp, &mut [], adam, loss, None, opts, history, ranks)
}

/// [`fit`] for a general [`Loss`]: Adam on the network's parameters and the loss's
/// trainable coefficients `unknowns` (updated in place; Adam's state covers both, the
/// parameters first, so `adam` is made for `mlp.num_params() + unknowns.len()` values).
/// Each record of `history` holds the unknowns of its step.
///
/// ```
/// use nabla::pinn::{Activation, Adam, AdamConfig, FitOptions, Loss, Mlp, Names, Term, fit_loss};
/// use nabla::pinn::ExprResidual;
/// // Fit u(x) = a·x to data 3x with an unknown factor a in the equation u − a·x = 0,
/// // and the network to the data.
/// let names = {
///     let mut n = Names::new(&["x"], &["u"]);
///     n.coefficients.push("a".into());
///     n
/// };
/// let xs: Vec<f64> = (0..16).map(|i| i as f64 / 15.0).collect();
/// let data: Vec<f64> = xs.iter().map(|x| 3.0 * x).collect();
/// let eq = ExprResidual::new(&["u - a*x"], &names, None).unwrap();
/// let fit_data = ExprResidual::new(&["u - 3*x"], &names, None).unwrap();
/// let loss = Loss::new(1, 1, vec![
///     Term::new("equation", vec![xs.clone()], eq).unwrap(),
///     Term::new("data", vec![xs], fit_data).unwrap(),
/// ]).unwrap().with_coefficients(1);
/// let mut net = Mlp::new(1, &[8], 1, Activation::Tanh, 1).unwrap();
/// let mut a = vec![1.0];
/// let mut adam = Adam::new(AdamConfig::new(1e-2), net.num_params() + 1).unwrap();
/// let mut history = Vec::new();
/// let opts = FitOptions { iterations: 2000, quiet: true, ..Default::default() };
/// fit_loss(&mut net, &mut a, &mut adam, &loss, &opts, &mut history).unwrap();
/// assert!((a[0] - 3.0).abs() < 0.05, "a = {}", a[0]);
/// assert_eq!(history[0].unknowns, [1.0]);
/// ```
///
/// # Errors
/// As [`fit`].
pub fn fit_loss(
    mlp: &mut Mlp,
    unknowns: &mut [f64],
    adam: &mut Adam,
    loss: &Loss,
    opts: &FitOptions,
    history: &mut Vec<LossRecord>,
) -> Result<()> {
    fit_objective(
        mlp,
        unknowns,
        adam,
        loss,
        None,
        opts,
        history,
        &Ranks::single(),
    )
}

/// [`fit_loss`] over `ranks` (collective, as [`fit_on`]).
///
/// # Errors
/// As [`fit_on`].
pub fn fit_loss_on(
    mlp: &mut Mlp,
    unknowns: &mut [f64],
    adam: &mut Adam,
    loss: &Loss,
    opts: &FitOptions,
    history: &mut Vec<LossRecord>,
    ranks: &Ranks,
) -> Result<()> {
    fit_objective(mlp, unknowns, adam, loss, None, opts, history, ranks)
}

/// [`fit_on`] for any loss, with the `unknowns` trained beside the network's parameters
/// (Adam's state covers both, the parameters first). With `points`, each step trains on
/// the equations' points as they stand at that step (resampled or refined) instead of
/// `loss`, and the checkpoints hold the points refinement added.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit_objective(
    mlp: &mut Mlp,
    unknowns: &mut [f64],
    adam: &mut Adam,
    loss: &dyn Evaluate,
    mut points: Option<&mut MovingPoints<'_>>,
    opts: &FitOptions,
    history: &mut Vec<LossRecord>,
    ranks: &Ranks,
) -> Result<()> {
    let start = adam.steps() as usize;
    let total = opts.iterations;
    if total == 0 {
        return Err(Error::config("optimizer.iterations", "must be at least 1"));
    }
    opts.schedule.validate(adam.config().learning_rate)?;
    // Rank 0 alone saves; the others wait for its result.
    let save = |path: &std::path::Path,
                mlp: &Mlp,
                unknowns: &[f64],
                adam: &Adam,
                history: &[LossRecord],
                refined: &[Vec<f64>]| {
        let saved = if ranks.is_root() {
            save_checkpoint(path, mlp, adam, history, unknowns, None, refined)
        } else {
            Ok(())
        };
        ranks.agree(saved)
    };
    let bar = progress(opts.quiet || !ranks.is_root(), total, start, "");
    let t0 = Instant::now();
    let base_lr = adam.config().learning_rate;
    let np = mlp.num_params();
    let mut params = mlp.params();
    params.extend_from_slice(unknowns);
    for k in start..total {
        if let Some(p) = points.as_deref_mut() {
            p.before_step(k, start, mlp, unknowns)?;
        }
        let current: &dyn Evaluate = match points.as_deref() {
            Some(p) => p.current(),
            None => loss,
        };
        let refined = points.as_deref().map_or(&[][..], MovingPoints::added);
        let (terms, grad) = current.eval(mlp, unknowns, true, ranks)?;
        if !terms.total.is_finite() {
            bar.abandon();
            return Err(Error::config(
                "optimizer.learning_rate",
                format!(
                    "the loss became {} at iteration {k}; lower the learning rate",
                    terms.total
                ),
            ));
        }
        // A checkpoint is saved only for parameters whose loss was just found finite.
        if let Some(path) = &opts.checkpoint
            && opts.checkpoint_every > 0
            && k > start
            && k % opts.checkpoint_every == 0
        {
            save(path, mlp, unknowns, adam, history, refined)?;
        }
        let lr = opts.schedule.rate(base_lr, k, total)?;
        history.push(LossRecord {
            iteration: k,
            learning_rate: lr,
            loss: terms,
            seconds: t0.elapsed().as_secs_f64(),
            unknowns: unknowns.to_vec(),
        });
        adam.step(&mut params, &grad, lr)?;
        mlp.set_params(&params[..np])?;
        unknowns.copy_from_slice(&params[np..]);
        bar.set_message(format!("{:.3e}", terms.total));
        bar.inc(1);
    }
    bar.finish_and_clear();
    // Nothing to save when no step was taken (a resumed run past its Adam phase: the
    // checkpoint holds more, the L-BFGS state, than this loop knows).
    if let Some(path) = opts.checkpoint.as_ref().filter(|_| start < total) {
        let last: &dyn Evaluate = match points.as_deref() {
            Some(p) => p.current(),
            None => loss,
        };
        let end = last.eval(mlp, unknowns, false, ranks)?.0.total;
        if !end.is_finite() {
            return Err(Error::config(
                "optimizer.learning_rate",
                format!(
                    "the loss became {end} after the last step ({total}); the network is not \
                     saved; lower the learning rate"
                ),
            ));
        }
        let refined = points.as_deref().map_or(&[][..], MovingPoints::added);
        save(path, mlp, unknowns, adam, history, refined)?;
    }
    Ok(())
}

/// A progress bar to `total` from `start` on stderr, hidden when `quiet` or when stderr is
/// not a terminal; `what` names the phase.
fn progress(quiet: bool, total: usize, start: usize, what: &str) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    b.set_style(
        ProgressStyle::with_template(&format!(
            "{what}{{bar:30}} {{pos}}/{{len}} loss {{msg}} [{{elapsed_precise}} < {{eta_precise}}]"
        ))
        .expect("internal: progress template"),
    );
    b.set_position(start as u64);
    b
}

/// How an L-BFGS phase ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LbfgsOutcome {
    /// Iterations taken in all (a resumed phase counts the earlier ones).
    pub iterations: u64,
    /// Evaluations of the loss in all.
    pub evaluations: u64,
    /// The last step's status: `Continue` when the phase used all its steps.
    pub status: LbfgsStatus,
}

/// L-BFGS after Adam (the usual recipe): from `state` (fresh, or restored from a
/// checkpoint) up to `state.config().steps` iterations on the network's parameters and
/// the unknowns, stopping early on convergence or a failed line search. One
/// [`LossRecord`] per iteration continues `history` (numbered after its last record):
/// the loss at the iteration's start, with the step length taken from there in
/// `learning_rate`. Checkpoints as [`fit`] saves them, with the L-BFGS state.
/// Deterministic, and over `ranks` every rank takes the same steps (the loss and
/// gradient are bit-identical on every rank). The checkpoints hold `refined`, the points
/// refinement added to the equations' (already in `loss`).
///
/// # Errors
/// The loss's errors; [`Error::Config`] for a loss that is not finite at the start;
/// errors of writing checkpoints.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit_lbfgs(
    mlp: &mut Mlp,
    unknowns: &mut [f64],
    adam: &Adam,
    state: &mut Lbfgs,
    loss: &dyn Evaluate,
    refined: &[Vec<f64>],
    opts: &FitOptions,
    history: &mut Vec<LossRecord>,
    ranks: &Ranks,
) -> Result<LbfgsOutcome> {
    let steps = state.config().steps as u64;
    let np = mlp.num_params();
    let mut x = mlp.params();
    x.extend_from_slice(unknowns);
    let save = |mlp: &Mlp, unknowns: &[f64], state: &Lbfgs, history: &[LossRecord]| {
        let Some(path) = &opts.checkpoint else {
            return Ok(());
        };
        let saved = if ranks.is_root() {
            save_checkpoint(path, mlp, adam, history, unknowns, Some(state), refined)
        } else {
            Ok(())
        };
        ranks.agree(saved)
    };
    let bar = progress(
        opts.quiet || !ranks.is_root(),
        steps as usize,
        state.iterations() as usize,
        "L-BFGS ",
    );
    let t0 = Instant::now();
    let template = mlp.clone();
    let at = |p: &[f64]| -> Result<(super::loss::LossTerms, Vec<f64>)> {
        let mut m = template.clone();
        m.set_params(&p[..np])?;
        loss.eval(&m, &p[np..], true, ranks)
    };
    let mut status = LbfgsStatus::Continue;
    let mut here = at(&x)?.0;
    while state.iterations() < steps {
        if !here.total.is_finite() {
            bar.abandon();
            return Err(Error::config(
                "lbfgs",
                format!("the loss is {} at the start of an L-BFGS step", here.total),
            ));
        }
        let k = history.last().map_or(0, |r| r.iteration + 1);
        let before = x.clone();
        // The terms of every point evaluated, to record the accepted point's.
        let mut seen: Vec<(Vec<f64>, super::loss::LossTerms)> = Vec::new();
        let step = state.step(&mut x, &mut |p: &[f64]| {
            let (t, g) = at(p)?;
            seen.push((p.to_vec(), t));
            Ok((t.total, g))
        })?;
        history.push(LossRecord {
            iteration: k,
            learning_rate: step.step_length,
            loss: here,
            seconds: t0.elapsed().as_secs_f64(),
            unknowns: before[np..].to_vec(),
        });
        here = match seen.iter().rev().find(|(p, _)| *p == x) {
            Some((_, t)) => *t,
            None if x == before => here,
            None => at(&x)?.0,
        };
        mlp.set_params(&x[..np])?;
        unknowns.copy_from_slice(&x[np..]);
        status = step.status;
        bar.set_message(format!("{:.3e}", here.total));
        bar.set_position(state.iterations());
        if opts.checkpoint_every > 0
            && state
                .iterations()
                .is_multiple_of(opts.checkpoint_every as u64)
        {
            save(mlp, unknowns, state, history)?;
        }
        if status != LbfgsStatus::Continue {
            break;
        }
    }
    bar.finish_and_clear();
    save(mlp, unknowns, state, history)?;
    Ok(LbfgsOutcome {
        iterations: state.iterations(),
        evaluations: state.evaluations(),
        status,
    })
}
