//! The entry points a case runner calls: [`train`] a configured network and write its
//! files, [`evaluate`] a checkpoint, and the errors against an exact solution.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::adam::Adam;
use super::checkpoint::Checkpoint;
use super::config::Objective;
use super::config::{PinnConfig, Problem};
use super::fit::{FitOptions, LbfgsOutcome, fit_lbfgs, fit_objective};
use super::history::{LossRecord, history_csv_with, learning_warning};
use super::io_error;
use super::lbfgs::Lbfgs;
use super::loss::{LossTerms, sample};
use super::mlp::Mlp;
use super::objective::Evaluate;
use super::plot::plot_history;
use super::refine::MovingPoints;
use super::resume::resume_differences;
use crate::error::{Error, Result};
use crate::parallel::Ranks;

/// How [`train`] runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrainOptions {
    /// Hide the progress bar.
    pub quiet: bool,
    /// Continue from `checkpoint.json` in the output directory if it exists.
    pub resume: bool,
    /// The name the loss plot's title carries (a case's name); empty for none.
    pub name: String,
}

/// The relative L2 error of one output against the exact solution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldError {
    /// The output's name (`u`, `v`, `w`, `p`).
    pub name: String,
    /// `‖û − u‖₂ / ‖u‖₂` over the validation points. For the Navier–Stokes pressure,
    /// which the equations fix only up to a constant, both means are removed first (and
    /// for the outputs of `[pinn.validation] up_to_constant`).
    pub relative_l2: f64,
}

/// What [`train`] returns.
#[derive(Clone, Debug)]
pub struct TrainReport {
    /// The trained network.
    pub mlp: Mlp,
    /// How the L-BFGS phase ended, when there was one.
    pub lbfgs: Option<LbfgsOutcome>,
    /// The unknowns of an equations problem as trained, by name (empty otherwise).
    pub unknowns: Vec<(String, f64)>,
    /// The loss history (including steps of a resumed run).
    pub history: Vec<LossRecord>,
    /// Relative L2 errors per output, when validation was asked for.
    pub errors: Vec<FieldError>,
    /// The loss after the last step.
    pub final_loss: LossTerms,
    /// The collocation points residual-based refinement added to the equations' (0
    /// without `[pinn.points] refine`).
    pub refined_points: usize,
    /// Wall-clock seconds of this call's training.
    pub seconds: f64,
    /// The files written: `checkpoint.json`, `loss.csv`, `loss.png`, `loss.svg`.
    pub files: Vec<PathBuf>,
    /// What the caller should warn about: a training whose final loss did not fall below
    /// its first by the factor `min_loss_reduction` (see [`learning_warning`]).
    pub warnings: Vec<String>,
}

/// Trains the network a [`PinnConfig`] describes and writes into `out_dir`:
/// `checkpoint.json` (network, optimiser state, history), `loss.csv`, and the plot of
/// the history as `loss.png` and `loss.svg` (see [`plot_history`]). Prints nothing: a
/// training that did not learn is reported in [`TrainReport::warnings`].
///
/// # Errors
/// [`Error::Config`] for every setting that cannot be used (see [`PinnConfig::problem`]),
/// or a checkpoint that does not fit the configuration when resuming; [`Error::Io`] if
/// the files cannot be written; errors of the loss.
pub fn train(config: &PinnConfig, opts: &TrainOptions, out_dir: &Path) -> Result<TrainReport> {
    let ckpt = out_dir.join("checkpoint.json");
    let from = (opts.resume && ckpt.exists()).then_some(ckpt.as_path());
    train_from(config, opts, from, out_dir)
}

/// [`train`], resuming from the checkpoint `resume_from` when given (which may lie outside
/// `out_dir`: a case stages its new files apart from its previous ones) and writing the
/// files into `out_dir`. The checkpoint must hold the network, the optimiser settings and
/// (when it records them) the `[pinn]` settings of `config`, except the number of
/// iterations, the checkpoint interval, the validation and `min_loss_reduction`;
/// otherwise it is refused with every difference named.
///
/// # Errors
/// As [`train`]; [`Error::Config`] naming the differences when the checkpoint was
/// trained with other settings, or holds a non-finite parameter.
pub fn train_from(
    config: &PinnConfig,
    opts: &TrainOptions,
    resume_from: Option<&Path>,
    out_dir: &Path,
) -> Result<TrainReport> {
    train_on(config, opts, resume_from, out_dir, &Ranks::single())
}

/// [`train_from`] over `ranks` (collective: every rank calls it with the same arguments;
/// `out_dir` is shared by all). The collocation points are drawn from the configured
/// seeds, the same on every rank; each rank computes its share of the loss's chunks per
/// step ([`fit_on`](crate::pinn::fit_on)), and every rank ends with the same network, history and errors,
/// bit-identical to one rank's. Only rank 0 writes the files (and shows the progress
/// bar); the other ranks' [`TrainReport::files`] is empty. The validation errors are
/// computed by every rank alike (no collective depends on them).
///
/// # Errors
/// As [`train_from`], on the lowest failing rank up to the end of the training;
/// [`Error::OtherRank`] on the others. Errors of writing the files after the training
/// are rank 0's alone (the caller agrees on them).
pub fn train_on(
    config: &PinnConfig,
    opts: &TrainOptions,
    resume_from: Option<&Path>,
    out_dir: &Path,
    ranks: &Ranks,
) -> Result<TrainReport> {
    let (problem, mut mlp, mut adam, mut history, mut unknowns, saved_lbfgs, refined) =
        ranks.agree(start(config, resume_from, out_dir, ranks.is_root()))?;
    // The same on every rank: built from the settings and the checkpoint alone.
    let mut moving = match problem.loss.equations() {
        Some(e) => Some(MovingPoints::new(
            e,
            config.points.resample_every,
            config.points.refine,
            refined,
        )?),
        None => None,
    };
    let ckpt = out_dir.join("checkpoint.json");
    let t0 = Instant::now();
    fit_objective(
        &mut mlp,
        &mut unknowns,
        &mut adam,
        problem.loss.evaluator(),
        moving.as_mut(),
        &FitOptions {
            iterations: config.optimizer.iterations,
            schedule: config.optimizer.schedule,
            quiet: opts.quiet || !ranks.is_root(),
            checkpoint: Some(ckpt.clone()),
            checkpoint_every: config.optimizer.checkpoint_every,
        },
        &mut history,
        ranks,
    )?;
    // L-BFGS, the final loss and the checkpoint: on the points refinement added too.
    let settled: &dyn Evaluate = match &moving {
        Some(m) => m.settled(),
        None => problem.loss.evaluator(),
    };
    let refined = moving.as_ref().map_or(&[][..], MovingPoints::added);
    let refined_points = refined.first().map_or(0, Vec::len);
    let mut lbfgs = None;
    let mut lbfgs_outcome = None;
    if let Some(cfg) = &config.lbfgs {
        let mut state = match saved_lbfgs {
            Some(s) => s,
            None => Lbfgs::new(*cfg)?,
        };
        let opts = FitOptions {
            iterations: config.optimizer.iterations,
            schedule: config.optimizer.schedule,
            quiet: opts.quiet || !ranks.is_root(),
            checkpoint: Some(ckpt.clone()),
            checkpoint_every: config.optimizer.checkpoint_every,
        };
        lbfgs_outcome = Some(fit_lbfgs(
            &mut mlp,
            &mut unknowns,
            &adam,
            &mut state,
            settled,
            refined,
            &opts,
            &mut history,
            ranks,
        )?);
        lbfgs = Some(state);
    }
    let seconds = t0.elapsed().as_secs_f64();
    let final_loss = settled.eval(&mlp, &unknowns, false, ranks)?.0;
    // No collective from here on: what follows is rank-local.
    let errors = problem.errors(&mlp)?;
    let names = problem.loss.unknown_names();
    let warnings = learning_warning(&history, final_loss.total, config.min_loss_reduction)
        .into_iter()
        .collect();
    let files = if ranks.is_root() {
        write_files(
            config,
            opts,
            out_dir,
            (&mlp, &adam, lbfgs.as_ref()),
            &history,
            (&unknowns, refined),
            names,
        )?
    } else {
        Vec::new()
    };
    Ok(TrainReport {
        lbfgs: lbfgs_outcome,
        unknowns: names.iter().cloned().zip(unknowns).collect(),
        mlp,
        history,
        errors,
        final_loss,
        refined_points,
        seconds,
        files,
        warnings,
    })
}

/// What a training starts from: the problem, and the network, optimiser, history,
/// unknowns, L-BFGS state and points added by refinement, fresh or from the checkpoint
/// `resume_from`.
type Start = (
    Problem,
    Mlp,
    Adam,
    Vec<LossRecord>,
    Vec<f64>,
    Option<Lbfgs>,
    Vec<Vec<f64>>,
);

/// [`train_on`]'s preparation, on one rank (no collectives); `out_dir` is made when
/// `make_dir`.
fn start(
    config: &PinnConfig,
    resume_from: Option<&Path>,
    out_dir: &Path,
    make_dir: bool,
) -> Result<Start> {
    let problem = config.problem()?;
    if make_dir {
        std::fs::create_dir_all(out_dir).map_err(|e| io_error(out_dir, e))?;
    }
    let n_out = config.outputs();
    let (mlp, adam, history, unknowns, lbfgs, refined) = if let Some(from) = resume_from {
        let (c, settings) = Checkpoint::load_with_settings(from)?;
        let fresh = Mlp::new(
            config.dim(),
            &config.network.hidden,
            n_out,
            problem.activation,
            0,
        )?;
        let diffs = resume_differences(config, &c, &fresh, settings.as_ref());
        if !diffs.is_empty() {
            return Err(Error::config(
                "checkpoint",
                format!(
                    "cannot resume: {} was trained with other settings than the case has \
                     now: {}; restore them, or run without --resume to train afresh",
                    from.display(),
                    diffs.join("; ")
                ),
            ));
        }
        if c.mlp.params().iter().any(|p| !p.is_finite()) {
            return Err(Error::config(
                "checkpoint",
                format!(
                    "cannot resume: {} holds a network with non-finite parameters (a \
                     diverged training)",
                    from.display()
                ),
            ));
        }
        if c.unknowns.len() != problem.loss.unknowns().len() {
            return Err(Error::config(
                "checkpoint",
                format!(
                    "cannot resume: {} holds {} unknowns, the case has {}",
                    from.display(),
                    c.unknowns.len(),
                    problem.loss.unknowns().len()
                ),
            ));
        }
        if c.lbfgs.is_some() && (c.adam.steps() as usize) < config.optimizer.iterations {
            return Err(Error::config(
                "checkpoint",
                format!(
                    "cannot resume: {} has gone on to L-BFGS after {} Adam steps; more Adam \
                     steps (optimizer.iterations = {}) cannot follow it; restore the number, \
                     or run without --resume to train afresh",
                    from.display(),
                    c.adam.steps(),
                    config.optimizer.iterations
                ),
            ));
        }
        if !c.refined.is_empty() && config.points.refine.is_none() {
            return Err(Error::config(
                "checkpoint",
                format!(
                    "cannot resume: {} holds points added by refinement and the case has no \
                     points.refine; restore it, or run without --resume to train afresh",
                    from.display()
                ),
            ));
        }
        let state = match (&config.lbfgs, c.lbfgs) {
            // A resume may ask for more steps than the saved phase had.
            (Some(cfg), Some(s)) => Some(s.with_steps(cfg.steps)),
            _ => None,
        };
        (c.mlp, c.adam, c.history, c.unknowns, state, c.refined)
    } else {
        let mlp = Mlp::new(
            config.dim(),
            &config.network.hidden,
            n_out,
            problem.activation,
            config.network.seed,
        )?;
        let unknowns = problem.loss.unknowns().to_vec();
        let adam = Adam::new(config.optimizer.adam(), mlp.num_params() + unknowns.len())?;
        (mlp, adam, Vec::new(), unknowns, None, Vec::new())
    };
    Ok((problem, mlp, adam, history, unknowns, lbfgs, refined))
}

/// Rank 0's files of a finished training, in `out_dir`: the checkpoint (saved again by
/// [`fit_on`]'s rule, with the settings, so that a resume can compare them), `loss.csv`
/// and the plots.
#[allow(clippy::too_many_arguments)]
fn write_files(
    config: &PinnConfig,
    opts: &TrainOptions,
    out_dir: &Path,
    (mlp, adam, lbfgs): (&Mlp, &Adam, Option<&Lbfgs>),
    history: &[LossRecord],
    (unknowns, refined): (&[f64], &[Vec<f64>]),
    names: &[String],
) -> Result<Vec<PathBuf>> {
    let ckpt = out_dir.join("checkpoint.json");
    Checkpoint {
        mlp: mlp.clone(),
        adam: adam.clone(),
        history: history.to_vec(),
        unknowns: unknowns.to_vec(),
        lbfgs: lbfgs.cloned(),
        refined: if refined.iter().all(Vec::is_empty) {
            Vec::new()
        } else {
            refined.to_vec()
        },
    }
    .save_with(&ckpt, Some(config))?;
    let csv = out_dir.join("loss.csv");
    crate::io::write_atomically(&csv, history_csv_with(history, names).as_bytes())?;
    let (png, svg) = (out_dir.join("loss.png"), out_dir.join("loss.svg"));
    plot_history(history, &opts.name, &png, &svg)?;
    Ok(vec![ckpt, csv, png, svg])
}

/// Evaluates a checkpoint without training: the loss on the configuration's points (with
/// those refinement added, which the checkpoint holds) and the errors against the exact
/// solution (when validation is configured).
///
/// # Errors
/// As [`PinnConfig::problem`] and [`Checkpoint::load`]; [`Error::Config`] if the
/// checkpoint's network does not fit the problem.
pub fn evaluate(config: &PinnConfig, checkpoint: &Path) -> Result<(LossTerms, Vec<FieldError>)> {
    let problem = config.problem()?;
    let c = Checkpoint::load(checkpoint)?;
    if c.unknowns.len() != problem.loss.unknowns().len() {
        return Err(Error::config(
            "checkpoint",
            format!(
                "{} holds {} unknowns, the case has {}",
                checkpoint.display(),
                c.unknowns.len(),
                problem.loss.unknowns().len()
            ),
        ));
    }
    // On the points the network was trained on, those refinement added included.
    let loss = match problem.loss.equations() {
        Some(e) if !c.refined.is_empty() => {
            e.with_added(&c.refined)?
                .eval(&c.mlp, &c.unknowns, false, &Ranks::single())?
                .0
        }
        _ => problem
            .loss
            .value_on(&c.mlp, &c.unknowns, &Ranks::single())?,
    };
    Ok((loss, problem.errors(&c.mlp)?))
}

impl Problem {
    /// Relative L2 errors of every output on the validation points (empty without
    /// validation).
    ///
    /// # Errors
    /// Errors of evaluating the network or the exact solution.
    pub fn errors(&self, mlp: &Mlp) -> Result<Vec<FieldError>> {
        let (pred, truth) = match &self.loss {
            Objective::Equations(e) => {
                let (Some(r), Some(cols)) = (&e.reference, &e.validation) else {
                    return Ok(Vec::new());
                };
                (mlp.predict(cols)?, r.values(cols)?)
            }
            Objective::Builtin(_) => {
                let (Some(exact), Some(pts)) = (&self.exact, &self.validation) else {
                    return Ok(Vec::new());
                };
                (sample(mlp, pts)?, sample(exact, pts)?)
            }
        };
        Ok(self
            .output_names
            .iter()
            .enumerate()
            .map(|(k, name)| FieldError {
                name: name.clone(),
                relative_l2: relative_l2(&pred[k], &truth[k], self.up_to_constant[k]),
            })
            .collect())
    }
}

/// `‖a − b‖₂ / ‖b‖₂`, after removing both means when `centred`.
pub fn relative_l2(a: &[f64], b: &[f64], centred: bool) -> f64 {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (ma, mb) = if centred {
        (mean(a), mean(b))
    } else {
        (0.0, 0.0)
    };
    let (mut num, mut den) = (0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        num += ((x - ma) - (y - mb)).powi(2);
        den += (y - mb).powi(2);
    }
    (num / den).sqrt()
}
