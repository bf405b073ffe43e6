//! The physics-informed network of a case: its settings checked before anything runs,
//! then trained, resumed, or read from its checkpoint.

use std::path::{Path, PathBuf};

use super::RunOptions;
use super::load::{Case, Input};
use crate::error::{Error, Result};
use crate::parallel::Ranks;
use crate::pinn::{self, FieldError, Mlp, PinnConfig, TrainOptions};

/// Checks the network's configuration and its output operators before training, and
/// returns an untrained network of the configured shape (for checking names).
pub(super) fn check(case: &Case, cfg: &PinnConfig, d: usize) -> Result<Mlp> {
    let input = &case.input;
    let problem = cfg.problem().map_err(|e| input.pinn_error(e))?;
    let series = cfg.time_input().is_some() && case.spec.times.is_some();
    if series && d + 1 < cfg.dim() {
        return Err(input.error_key(
            "pinn.domain",
            format!(
                "the network's inputs other than t are {}-D but the points are {d}-D; with \
                 `times`, the network is written at each time on points of its other inputs",
                cfg.dim() - 1
            ),
        ));
    }
    if !series && cfg.dim() != d {
        let hint = if cfg.time_input().is_some() && d + 1 == cfg.dim() {
            " (to write a network of space and time at chosen times, give `times = [...]`)"
        } else {
            ""
        };
        return Err(input.error_key(
            "pinn.domain",
            format!(
                "pinn.domain is {}-D but the points are {d}-D{hint}",
                cfg.dim()
            ),
        ));
    }
    let equations = matches!(cfg.pde, pinn::PdeConfig::Equations { .. });
    let ns = cfg.outputs() > 1 && !equations;
    let out = &case.spec.pinn_output;
    let m = if ns { d } else { 1 };
    for op in &out.operators {
        op.components(m, d).map_err(|e| {
            input.error_key(
                "pinn_output.operators",
                format!("pinn_output.operators: {e}"),
            )
        })?;
    }
    if !ns && !out.pressure_operators.is_empty() {
        return Err(input.error_key(
            "pinn_output.pressure_operators",
            "pinn_output.pressure_operators: only a Navier-Stokes network has a pressure (an equations problem applies pinn_output.operators to each output)".into(),
        ));
    }
    for op in &out.pressure_operators {
        op.components(1, d).map_err(|e| {
            input.error_key(
                "pinn_output.pressure_operators",
                format!("pinn_output.pressure_operators: {e}"),
            )
        })?;
    }
    Mlp::new(
        cfg.dim(),
        &cfg.network.hidden,
        cfg.outputs(),
        problem.activation,
        0,
    )
    .map_err(|e| input.pinn_error(e))
}

/// A network ready to evaluate, with what its training or evaluation says.
pub(super) struct Trained {
    pub(super) mlp: Mlp,
    /// Lines for the summary: the training and its relative L2 errors.
    pub(super) notes: Vec<String>,
    /// The names of the training's files, written into the staging folder.
    pub(super) files: Vec<String>,
    /// Warnings for the summary and stderr: a training that did not learn.
    pub(super) warnings: Vec<String>,
}

/// The trained network: trained now (or resumed from the checkpoint in `vtk_dir`) with
/// its files written into the staging folder `stage` (the loss plot titled with the case
/// `name`), or read from the checkpoint in `vtk_dir` with `evaluate_only`. A training
/// whose loss did not fall by `min_loss_reduction` is a warning, and with `--strict` an
/// error (so that nothing is written).
///
/// Over several ranks the training is collective (see [`pinn::train_on`]): every rank
/// trains the same network on its share of the loss's chunks, and only rank 0 writes the
/// training's files. Reading a checkpoint (`evaluate_only`) is rank-local.
pub(super) fn train(
    input: &Input,
    name: &str,
    cfg: &PinnConfig,
    (vtk_dir, stage): (&Path, &Path),
    opts: &RunOptions,
    ranks: &Ranks,
) -> Result<Trained> {
    let ckpt = vtk_dir.join("checkpoint.json");
    if opts.evaluate_only {
        return from_checkpoint(input, cfg, ckpt);
    }
    // Agreed, as the training that follows is collective.
    ranks.agree(if opts.resume && !ckpt.exists() {
        Err(Error::Io {
            path: ckpt.clone(),
            message: "no checkpoint to resume from; run the case without --resume first".into(),
        })
    } else {
        Ok(())
    })?;
    let topts = TrainOptions {
        quiet: opts.quiet,
        resume: opts.resume,
        name: name.to_owned(),
    };
    let from = opts.resume.then_some(ckpt.as_path());
    let report =
        pinn::train_on(cfg, &topts, from, stage, ranks).map_err(|e| input.pinn_error(e))?;
    if opts.strict
        && let Some(w) = report.warnings.first()
    {
        return Err(Error::Operator {
            op: "--strict".into(),
            message: format!("{w}; nothing is written (run without --strict to keep the files)"),
        });
    }
    let lbfgs = report.lbfgs.map(|l| {
        let how = match l.status {
            pinn::LbfgsStatus::Continue => "all steps taken".to_owned(),
            pinn::LbfgsStatus::Converged(c) => format!("converged ({c:?})").to_lowercase(),
            pinn::LbfgsStatus::LineSearchFailed => {
                "stopped: the line search found no lower loss".to_owned()
            }
        };
        format!(
            " and {} L-BFGS iterations ({} evaluations of the loss, {how})",
            l.iterations, l.evaluations
        )
    });
    let mut notes = vec![format!(
        "trained {} Adam steps{} in {:.1} s, final loss {:.3e}",
        cfg.optimizer.iterations,
        lbfgs.unwrap_or_default(),
        report.seconds,
        report.final_loss.total
    )];
    if report.refined_points > 0 {
        notes.push(format!(
            "refinement added {} collocation points where the residual was largest",
            report.refined_points
        ));
    }
    for (n, v) in &report.unknowns {
        let first = cfg.unknowns.get(n).copied().unwrap_or(f64::NAN);
        notes.push(format!("unknown {n} = {v:.6e} (initial guess {first})"));
    }
    notes.extend(error_notes(&report.errors));
    Ok(Trained {
        mlp: report.mlp,
        notes,
        files: report
            .files
            .iter()
            .filter_map(|f| Some(f.file_name()?.to_str()?.to_owned()))
            .collect(),
        warnings: report.warnings,
    })
}

/// The network of the checkpoint `ckpt`, which must fit the case, evaluated without
/// training.
fn from_checkpoint(input: &Input, cfg: &PinnConfig, ckpt: PathBuf) -> Result<Trained> {
    let mlp = pinn::Checkpoint::load(&ckpt)
        .map_err(|e| input.pinn_error(e))?
        .mlp;
    if mlp.input_dim() != cfg.dim() || mlp.outputs() != cfg.outputs() {
        return Err(Error::Input {
            path: ckpt,
            line: None,
            column: None,
            message: format!(
                "the checkpoint holds a network {} -> {}, the case needs {} -> {}",
                mlp.input_dim(),
                mlp.outputs(),
                cfg.dim(),
                cfg.outputs()
            ),
        });
    }
    let refuse = |message: String| Error::Input {
        path: ckpt.clone(),
        line: None,
        column: None,
        message,
    };
    let params = mlp.params();
    if let Some(k) = params.iter().position(|p| !p.is_finite()) {
        return Err(refuse(format!(
            "the checkpoint's network has a non-finite parameter ({} at index {k} of {}): it \
             comes from a diverged training; nothing is evaluated from it",
            params[k],
            params.len()
        )));
    }
    let (loss, errors) = pinn::evaluate(cfg, &ckpt).map_err(|e| input.pinn_error(e))?;
    if !loss.total.is_finite() {
        return Err(refuse(format!(
            "the checkpoint's network gives the loss {} on the case's points: it comes from \
             a diverged training; nothing is evaluated from it",
            loss.total
        )));
    }
    let mut notes = vec![format!(
        "evaluated {} (no training), loss {:.3e}",
        ckpt.display(),
        loss.total
    )];
    notes.extend(error_notes(&errors));
    Ok(Trained {
        mlp,
        notes,
        files: Vec::new(),
        warnings: Vec::new(),
    })
}

/// One line per relative L2 error.
fn error_notes(errors: &[FieldError]) -> impl Iterator<Item = String> + '_ {
    errors
        .iter()
        .map(|e| format!("relative L2 error {}: {:.3e}", e.name, e.relative_l2))
}
