//! The run itself: evaluating every field and its operators at each time, and writing
//! one VTK file per time (and a `.pvd` collection for a series) into `VTK/`.

use std::path::PathBuf;
use std::time::Instant;

use super::load::Case;
use super::mms::Mms;
use super::output::{Output, extension};
use super::points::Geometry;
use super::progress::Bar;
use super::summary::{Recorder, Reference, Row};
use super::{data, fields, network};
use crate::error::Result;
use crate::eval::{Array, EvalOptions, Points, evaluate};
use crate::io;

/// How to run a case.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// No progress bar.
    pub quiet: bool,
    /// Points per chunk of the evaluator.
    pub chunk_size: usize,
    /// Physics-informed cases: continue training from `VTK/checkpoint.json`.
    pub resume: bool,
    /// Physics-informed cases: no training; evaluate the network of `VTK/checkpoint.json`.
    pub evaluate_only: bool,
    /// Any value that is not finite (NaN or infinite) is an error, and nothing is written.
    pub strict: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            quiet: false,
            chunk_size: EvalOptions::default().chunk_size,
            resume: false,
            evaluate_only: false,
            strict: false,
        }
    }
}

/// What a run produced.
pub(super) struct Done {
    /// The summary rows, in output order.
    pub(super) rows: Vec<Row>,
    /// Lines for the summary: the training and its relative L2 errors.
    pub(super) notes: Vec<String>,
    /// Files written, in order: VTK files, `.pvd`, the training's files.
    pub(super) files: Vec<PathBuf>,
}

/// What a run evaluates on and with, prepared by the earlier stages.
pub(super) struct Inputs<'a> {
    pub(super) geometry: &'a Geometry,
    pub(super) points: &'a Points,
    /// The arrays of the points' own file, written beside the results.
    pub(super) carried: &'a [io::PointArray],
    /// The data file of the data fields.
    pub(super) source: Option<&'a data::Source>,
    pub(super) data: &'a [data::Built],
}

/// Trains the network if the case has one, evaluates every field at every time, and
/// writes the results into the case's `VTK/`: every file of the run (the VTK files, the
/// `.pvd`, the training's checkpoint, loss history and plot) is written into a fresh
/// staging folder inside the case and switched into place in one step (see [`Output`]).
/// After an error or a kill, `VTK/` is as it was before the run.
pub(super) fn execute(
    case: &Case,
    inputs: &Inputs<'_>,
    times: &[f64],
    mms: Option<&Mms<'_>>,
    opts: &RunOptions,
) -> Result<Done> {
    let mut output = Output::new(&case.dir)?;
    let (rows, notes) = evaluate_and_write(case, inputs, times, mms, opts, &mut output)?;
    let files = output.commit()?;
    Ok(Done { rows, notes, files })
}

/// [`execute`] up to the switch: everything is written into the staging folder.
fn evaluate_and_write(
    case: &Case,
    inputs: &Inputs<'_>,
    times: &[f64],
    mms: Option<&Mms<'_>>,
    opts: &RunOptions,
    output: &mut Output,
) -> Result<(Vec<Row>, Vec<String>)> {
    let Inputs {
        geometry, points, ..
    } = *inputs;
    let (n, d) = (points.len(), points.dim());
    let trained = match &case.spec.pinn {
        Some(cfg) => Some((
            cfg,
            network::train(&case.input, cfg, &output.vtk, &output.stage, opts)?,
        )),
        None => None,
    };
    // The total is known once the fields are built: one evaluation per array.
    let bar = Bar::new(opts.quiet, 0);
    let mut rec = Recorder::new(points, opts.chunk_size, opts.strict);
    let series = case.spec.times.is_some();
    for (k, &t) in times.iter().enumerate() {
        let mlp = trained.as_ref().map(|(_, tr)| &tr.mlp);
        let built = fields::build(case, d, t, mlp, inputs.data)?;
        if k == 0 {
            let arrays: usize = built.iter().map(|b| b.ops.len()).sum();
            bar.set_total((n * arrays * times.len()) as u64);
        }
        for b in &built {
            let eo = EvalOptions {
                chunk_size: opts.chunk_size,
                progress: Some(&|c| bar.inc(c)),
                field_name: &b.name,
            };
            // Each array is evaluated on its own, so that its row's time is its own: the
            // forward pass and the backward passes that operator needs, no more.
            for op in &b.ops {
                let t0 = Instant::now();
                let a = evaluate(b.field.as_ref(), points, std::slice::from_ref(op), &eo)?
                    .pop()
                    .expect("internal: one array per operator");
                let secs = t0.elapsed().as_secs_f64();
                let reference = match (b.exact.get(op), b.compare.get(op)) {
                    (Some(ex), _) => Some(Reference::Exact(ex)),
                    (None, Some(name)) => Some(compared(case, inputs, name, &a)?),
                    (None, None) => None,
                };
                rec.record(a, reference, t, Some((secs, n as f64 / secs)))?;
            }
        }
        if let Some(mms) = mms {
            mms.record(&mut rec, t, n, d)?;
        }
        let ext = extension(geometry);
        let fname = if series {
            format!("{}_{k}.{ext}", case.name)
        } else {
            format!("{}.{ext}", case.name)
        };
        let mut arrays = rec.take_arrays();
        if case.spec.data.as_ref().and_then(|d| d.carry) != Some(false) {
            carry(&mut arrays, inputs.carried);
        }
        output.stage(geometry, t, fname, arrays)?;
    }
    bar.finish();
    if series {
        output.pvd(&case.name)?;
    }
    let mut notes = std::mem::take(&mut rec.notes);
    for b in inputs.data {
        let s = b.field.stats();
        notes.push(format!(
            "{}; {} of {} evaluations extrapolated (outside their stencil's box), {} with a \
             grown stencil, {} at a lowered degree",
            b.what, s.extrapolated, s.points, s.grown, s.lowered
        ));
    }
    if let Some((_, tr)) = trained {
        output.names.extend(tr.files);
        notes.extend(tr.notes);
    }
    Ok((rec.rows, notes))
}

/// The array `name` of the data file to compare the computed array `a` with: it must be
/// point data with `a`'s shape, so the output points must be the data file's points.
fn compared<'a>(case: &Case, inputs: &Inputs<'a>, name: &str, a: &Array) -> Result<Reference<'a>> {
    let Some(src) = inputs.source else {
        return Err(case.input.error(format!(
            "compare {name}: the case has no data file to take '{name}' from"
        )));
    };
    let Some(r) = src.mesh.point_array(name) else {
        let names: Vec<&str> = src
            .mesh
            .point_data
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        return Err(case.input.error(format!(
            "compare: {} has no point array '{name}'; its point arrays are: {}",
            src.name.display(),
            names.join(", ")
        )));
    };
    if r.components != a.components || r.values.len() != a.values.len() {
        return Err(case.input.error(format!(
            "compare: '{name}' of {} has {} components at {} points, but {} has {} at {} \
             points; expected the same shape (the output points must be the data file's)",
            src.name.display(),
            r.components,
            r.values.len() / r.components.max(1),
            a.name,
            a.components,
            a.values.len() / a.components.max(1)
        )));
    }
    Ok(Reference::Array(r))
}

/// Appends the input arrays; one whose name a result already has is written as
/// `NAME (input)`.
fn carry(arrays: &mut Vec<Array>, carried: &[io::PointArray]) {
    for c in carried {
        let mut name = c.name.clone();
        while arrays.iter().any(|a| a.name == name) {
            name += " (input)";
        }
        arrays.push(Array {
            name,
            components: c.components,
            values: c.values.clone(),
        });
    }
}
