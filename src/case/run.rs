//! The run itself: evaluating every field and its operators at each time, and writing
//! one VTK file per time (and a `.pvd` collection for a series) into `VTK/`.

use std::path::PathBuf;
use std::time::Instant;

use super::compare::compared;
use super::load::Case;
use super::mms::Mms;
use super::output::{Output, extension};
use super::pieces::{self, Slabs};
use super::points::Geometry;
use super::progress::Bar;
use super::summary::{Difference, Recorder, Reference, Row};
use super::{arrays, data, fields, network, series, valid};
use crate::error::Result;
use crate::eval::{Array, EvalOptions, Points, evaluate};
use crate::field::Field;
use crate::io;
use crate::parallel::Ranks;

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
    /// Every warning is an error, and nothing is written: a value that is not finite (NaN
    /// or infinite), or a training that did not reduce its loss by `min_loss_reduction`.
    pub strict: bool,
    /// The output folder, instead of the case's `VTK/` (`--output DIR`); it is replaced as
    /// a whole, like `VTK/`, with the staging folder beside it.
    pub output: Option<PathBuf>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            quiet: false,
            chunk_size: EvalOptions::default().chunk_size,
            resume: false,
            evaluate_only: false,
            strict: false,
            output: None,
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
    /// Warnings about the run itself: a training that did not learn.
    pub(super) warnings: Vec<String>,
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
    /// The series of data files the case runs over: each time's data replaces `source`,
    /// `data` and (for the series' own points) `carried`.
    pub(super) series: Option<&'a series::Series>,
    /// How many of the points (the first ones) this rank owns: all of them with one rank.
    pub(super) owned: usize,
    /// The number of points of all ranks together.
    pub(super) total: usize,
    /// The index among all points of the first point, or of each point (a mesh's piece).
    pub(super) start: usize,
    pub(super) global: Option<&'a [usize]>,
    /// Which points lie within one cell of the mesh's boundary (a mesh's points or
    /// cells), for the split of errors and differences.
    pub(super) near: Option<&'a [bool]>,
    /// For a lattice cut into pieces: every rank's piece, and this rank's first point
    /// index along each axis.
    pub(super) slabs: Option<(Slabs, [usize; 3])>,
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
    ranks: &Ranks,
) -> Result<Done> {
    let target = opts.output.as_deref();
    let write_back = super::data::write_back_target(case, ranks.size())?;
    let write = io::WriteOptions {
        precision: case.spec.output.precision,
        compression: case.spec.output.compression,
        time: None,
    };
    // Rank 0 locks the case and makes the staging folder; the others write into it.
    let made = if ranks.is_root() {
        Output::new(&case.dir, target, write).map(Some)
    } else {
        Ok(None)
    };
    let made = ranks.agree(made)?;
    let stage = ranks.broadcast(
        made.as_ref()
            .map(|o| o.stage.as_os_str().as_encoded_bytes().to_vec())
            .unwrap_or_default(),
    );
    let mut output = match made {
        Some(o) => o,
        None => {
            let vtk = target.map_or_else(|| case.dir.join("VTK"), PathBuf::from);
            // SAFETY: the bytes are rank 0's `as_encoded_bytes` of a path, on the same
            // platform (ranks run the same binary).
            let stage = unsafe { std::ffi::OsString::from_encoded_bytes_unchecked(stage) };
            Output::joined(vtk, PathBuf::from(stage), write)
        }
    };
    output.set_ranks(ranks.rank(), ranks.size(), inputs.slabs.clone());
    if write_back.is_some() {
        output.kept = Some(Vec::new());
    }
    let mut local_opts = opts.clone();
    local_opts.quiet = opts.quiet || !ranks.is_root();
    let local = evaluate_and_write(case, inputs, times, mms, &local_opts, &mut output, ranks)
        .and_then(|done| injected_failure(ranks, "write").map(|()| done));
    // The switch happens only when every rank has written its pieces; otherwise rank 0's
    // `Output` removes the staging folder with every rank's pieces when dropped.
    let mut local = ranks.agree(local)?;
    // The rows of all ranks; under --strict over ranks, the values that are not finite
    // are counted over all of them first, so that the error is the one-process run's.
    local.rows = pieces::reduce_rows(ranks, local.rows, inputs.owned, inputs.total)?;
    if opts.strict && ranks.size() > 1 {
        let bad = local
            .rows
            .iter()
            .find_map(|r| r.non_finite_note(inputs.total));
        // Every rank fails alike; the agreement leaves the report to rank 0.
        ranks.agree(bad.map_or(Ok(()), |note| {
            Err(crate::Error::Operator {
                op: "--strict".into(),
                message: format!("{note}; nothing is written"),
            })
        }))?;
    }
    let shared = output.stage_is_shared();
    let kept = output.kept.take();
    let mut files = if ranks.is_root() {
        ranks.agree(output.commit())?
    } else {
        ranks.agree(Ok(Vec::new()))?
    };
    if let (Some((dir, time)), Some(kept)) = (&write_back, kept) {
        files.extend(super::data::write_back_fields(dir, time, &kept)?);
    }
    let notes = local.notes(case, ranks, shared, inputs.total)?;
    Ok(Done {
        rows: local.rows,
        notes,
        files,
        warnings: local.warnings,
    })
}

/// What one rank's evaluation produced, before the ranks' numbers are added up.
struct Local {
    rows: Vec<Row>,
    /// The differences from compared arrays, over this rank's own points.
    differences: Vec<Difference>,
    /// Bytes of VTK files this rank wrote, and the seconds it took.
    written: (u64, f64),
    /// Each data field's description and its counts: points evaluated, extrapolated,
    /// with a grown stencil, at a lowered degree, outside the data.
    data: Vec<(String, [usize; 5])>,
    /// The points without data, where the points are not the data's own, and the seconds
    /// their location took.
    outside: Option<(usize, f64)>,
    /// The training's notes and warnings (the same on every rank).
    training: Vec<String>,
    warnings: Vec<String>,
}

impl Local {
    /// The summary's notes, with the numbers of all ranks added up (collective; every
    /// rank holds the same differences and data fields): relative L2 differences, the
    /// VTK files written, the data fields' counts, then the training's notes.
    fn notes(&self, case: &Case, ranks: &Ranks, shared: bool, total: usize) -> Result<Vec<String>> {
        let mut mine: Vec<f64> = self.differences.iter().flat_map(|d| d.squares).collect();
        mine.extend([self.written.0 as f64, self.written.1]);
        mine.extend(self.data.iter().flat_map(|(_, c)| c.map(|v| v as f64)));
        mine.extend(self.outside.iter().flat_map(|&(n, s)| [n as f64, s]));
        let all = ranks.all_gather(&mine)?;
        // Added up in rank order: with one rank the numbers are this rank's, exactly.
        let sum = |j: usize| -> f64 { (0..ranks.size()).map(|r| all[r * mine.len() + j]).sum() };
        let mut notes = Vec::new();
        for (k, d) in self.differences.iter().enumerate() {
            let mut d = d.clone();
            d.squares = [sum(4 * k), sum(4 * k + 1), sum(4 * k + 2), sum(4 * k + 3)];
            if d.meaningful() {
                notes.push(d.note());
            }
        }
        let at = 4 * self.differences.len();
        let secs = (0..ranks.size())
            .map(|r| all[r * mine.len() + at + 1])
            .fold(0.0, f64::max);
        let o = &case.spec.output;
        notes.push(format!(
            "VTK files{}: {:.1} MB ({}, compression {}), written in {secs:.2} s",
            if shared { " (all ranks' pieces)" } else { "" },
            sum(at) / 1e6,
            format!("{:?}", o.precision).to_lowercase(),
            format!("{:?}", o.compression).to_lowercase()
        ));
        for (k, (what, _)) in self.data.iter().enumerate() {
            let c = |j: usize| sum(at + 2 + 5 * k + j) as usize;
            notes.push(format!(
                "{what}; {} of {} evaluations extrapolated (outside their stencil's box), {} \
                 with a grown stencil, {} at a lowered degree, {} outside the data (NaN)",
                c(1),
                c(0),
                c(2),
                c(3),
                c(4)
            ));
        }
        if self.outside.is_some() {
            let j = at + 2 + 5 * self.data.len();
            let secs = (0..ranks.size())
                .map(|r| all[r * mine.len() + j + 1])
                .fold(0.0, f64::max);
            notes.push(valid::note(sum(j) as usize, total, secs));
        }
        notes.extend(self.training.iter().cloned());
        Ok(notes)
    }
}

/// [`execute`] up to the switch: everything is written into the staging folder. The
/// training of a physics-informed case comes first, as it is collective (every rank
/// arrives here together); the rest is rank-local.
fn evaluate_and_write(
    case: &Case,
    inputs: &Inputs<'_>,
    times: &[f64],
    mms: Option<&Mms<'_>>,
    opts: &RunOptions,
    output: &mut Output,
    ranks: &Ranks,
) -> Result<Local> {
    let Inputs {
        geometry, points, ..
    } = *inputs;
    let (n, d) = (points.len(), points.dim());
    let trained = match &case.spec.pinn {
        Some(cfg) => {
            let dirs = (output.vtk.as_path(), output.stage.as_path());
            let trained = network::train(&case.input, &case.name, cfg, dirs, opts, ranks)
                .and_then(|t| injected_failure(ranks, "train").map(|()| t));
            // Rank 0 writes the training's files alone: the ranks agree before they go on
            // to meetings of their own (a lattice's planes passed on at every time).
            Some((cfg, ranks.agree(trained)?))
        }
        None => None,
    };
    // The total is known once the fields are built: one evaluation per array.
    let bar = Bar::new(opts.quiet, 0);
    // Over ranks, --strict is checked once the ranks' rows are together (`execute`).
    let strict = opts.strict && ranks.size() == 1;
    // Points that are not the data's own: which of them have data, and the 3-D points
    // OpenFOAM's 2-D velocity is evaluated on over 2-D points.
    let mask = valid::Valid::new(case, inputs.source, inputs.data, points);
    let lifts = inputs
        .data
        .iter()
        .any(|b| fields::lifted_dim(b.field.components(), b.field.axes(), d) > d);
    let lifted = if lifts {
        Some(valid::lifted(points)?)
    } else {
        None
    };
    let mut rec = Recorder::new(points, opts.chunk_size, strict, inputs.owned)
        .placed(inputs.start, inputs.global)
        .split(inputs.near)
        .with_valid(mask.as_ref().map(|m| m.valid.as_slice()))
        .written_at(case.spec.output.precision);
    let series = case.spec.times.is_some() || inputs.series.is_some();
    // Every file of a series holds its time, and so does the one file of a time read from
    // an OpenFOAM case directory (one process: the parallel files hold no field data).
    output.timed =
        series || (ranks.size() == 1 && data::openfoam_time(case).ok().flatten().is_some());
    let mut unstaged = None;
    // The data fields' counts over the times of a series (each time builds its own).
    let mut series_stats: Vec<(String, [usize; 5])> = Vec::new();
    for (k, &t) in times.iter().enumerate() {
        let mlp = trained.as_ref().map(|(_, tr)| &tr.mlp);
        // This time's data, where the case runs over a series of data files.
        let now = match inputs.series {
            Some(s) => Some(s.at(case, k)?),
            None => None,
        };
        let (source, data_fields, ddt) = match &now {
            Some(n) => (Some(&n.source), &n.data[..], fields::DataDdt::Built(&n.ddt)),
            None => (inputs.source, inputs.data, fields::DataDdt::Checked),
        };
        let carried = match &now {
            Some(series::Time {
                carried: Some((c, _)),
                ..
            }) => &c[..],
            _ => inputs.carried,
        };
        let timed_geometry;
        let geometry = match (&now, geometry) {
            (
                Some(series::Time {
                    carried: Some((_, cells)),
                    ..
                }),
                Geometry::Mesh(m),
            ) => {
                let mut m = m.clone();
                m.cell_data = cells.clone();
                timed_geometry = Geometry::Mesh(m);
                &timed_geometry
            }
            _ => geometry,
        };
        // The names of the arrays computed (not carried), for a write-back.
        let mut computed: Vec<String> = Vec::new();
        let mut evaluated = || -> Result<Vec<Array>> {
            if k == 0 {
                injected_failure(ranks, "evaluate")?;
            }
            let built = fields::build(case, d, t, mlp, data_fields, &ddt)?;
            let shapes = arrays::planar_shapes(&built, d);
            if k == 0 {
                let arrays: usize = built.iter().map(|b| b.ops.len()).sum();
                bar.set_total((n * arrays * times.len()) as u64);
            }
            for b in &built {
                let eo = EvalOptions {
                    chunk_size: opts.chunk_size,
                    progress: Some(&|c| bar.inc(c)),
                    field_name: &b.name,
                    ..EvalOptions::default()
                };
                // One evaluation per field: its operators share their derivative passes.
                // Its time goes on the field's first row; the others are part of it.
                let at = match &lifted {
                    Some(l) if b.dim > d => l,
                    _ => points,
                };
                rec.masking(b.data);
                let t0 = Instant::now();
                let out = evaluate(b.field.as_ref(), at, &b.ops, &eo)?;
                let secs = t0.elapsed().as_secs_f64();
                for (i, (a, op)) in out.into_iter().zip(&b.ops).enumerate() {
                    let reference = match (b.exact.get(op), b.compare.get(op)) {
                        (Some(ex), _) => Some(Reference::Exact(ex)),
                        (None, Some(name)) => Some(compared(
                            case,
                            source,
                            (inputs.total, matches!(inputs.geometry, Geometry::Cells(_))),
                            name,
                            &a,
                        )?),
                        (None, None) => None,
                    };
                    let timing = (i == 0).then_some((secs, n as f64 / secs));
                    rec.record(a, reference, t, timing)?;
                }
            }
            rec.masking(false);
            if let Some(mms) = mms {
                mms.record(&mut rec, t, n, d)?;
            }
            let mut written = rec.take_arrays();
            computed = written.iter().map(|a| a.name.clone()).collect();
            arrays::embed(&mut written, &shapes);
            if let Some(mask) = &mask {
                mask.blank(&mut written, &built);
            }
            if case.spec.data.as_ref().and_then(|d| d.carry) != Some(false) {
                arrays::carry(&mut written, carried, d);
            }
            arrays::select(case, &mut written);
            written.extend(mask.as_ref().map(valid::Valid::array));
            Ok(written)
        };
        let meets = inputs.slabs.is_some() && ranks.size() > 1;
        let written = match &inputs.slabs {
            // Lattice pieces: the ranks meet at every time to pass on the shared plane, so
            // they first agree that every rank has its arrays (and wrote the time before).
            Some((slabs, _)) if meets => {
                let mine = match unstaged.take() {
                    Some(e) => Err(e),
                    None => evaluated(),
                };
                let written = ranks.agree(mine)?;
                with_next_plane(ranks, written, slabs.plane)?
            }
            _ => evaluated()?,
        };
        let ext = extension(geometry);
        let fname = if series {
            format!("{}_{k}.{ext}", case.name)
        } else {
            format!("{}.{ext}", case.name)
        };
        let staged = injected_failure(ranks, "stage")
            .and_then(|()| output.stage(geometry, t, fname, written));
        if let Some(kept) = output.kept.as_mut() {
            kept.retain(|(n, _, _)| computed.contains(n));
        }
        match staged {
            // A rank that fails to write alone takes its error to the next meeting point
            // (the next time's agreement, or the one after the run), as the others go there.
            Err(e) if meets => unstaged = Some(e),
            staged => staged?,
        }
        if let Some(n) = &now {
            for (i, b) in n.data.iter().enumerate() {
                let s = b.field.stats();
                let c = [s.points, s.extrapolated, s.grown, s.lowered, s.outside];
                match series_stats.get_mut(i) {
                    Some((_, sum)) => (0..5).for_each(|j| sum[j] += c[j]),
                    None => series_stats.push((b.what.clone(), c)),
                }
            }
        }
    }
    if let Some(e) = unstaged {
        return Err(e);
    }
    bar.finish();
    if series {
        output.pvd(&case.name)?;
    }
    let data = if inputs.series.is_some() {
        series_stats
    } else {
        inputs
            .data
            .iter()
            .map(|b| {
                let s = b.field.stats();
                (
                    b.what.clone(),
                    [s.points, s.extrapolated, s.grown, s.lowered, s.outside],
                )
            })
            .collect()
    };
    let mut local = Local {
        rows: rec.rows,
        differences: rec.differences,
        written: output.written,
        data,
        outside: mask.as_ref().map(|m| (m.outside(inputs.owned), m.seconds)),
        training: Vec::new(),
        warnings: Vec::new(),
    };
    if let Some((_, tr)) = trained {
        output.names.extend(tr.files);
        local.training = tr.notes;
        local.warnings = tr.warnings;
    }
    Ok(local)
}

/// `written` (this rank's arrays at its own points) followed by the next rank's first
/// `plane` points of the same arrays, passed on by that rank (collective; the last rank's
/// arrays stay as they are).
fn with_next_plane(ranks: &Ranks, mut written: Vec<Array>, plane: usize) -> Result<Vec<Array>> {
    // Rank 0 passes nothing on (it has no rank before it).
    let first: Vec<f64> = if ranks.rank() == 0 {
        Vec::new()
    } else {
        written
            .iter()
            .flat_map(|a| &a.values[..(plane * a.components).min(a.values.len())])
            .copied()
            .collect()
    };
    let width: usize = written.iter().map(|a| a.components).sum();
    let next = ranks.pass_down(&first, plane * width)?;
    let mut from = next.as_slice();
    for a in &mut written {
        let (mine, rest) = from.split_at((plane * a.components).min(from.len()));
        a.values.extend_from_slice(mine);
        from = rest;
    }
    Ok(written)
}

/// A failure injected on one rank, for the tests of the ranks' meeting points: with the
/// `mpi` feature, the rank named by the environment variable `NABLA_FAIL_RANK` fails at
/// `stage`: `r` fails after writing its pieces, before the ranks agree on the switch;
/// `r@evaluate` while evaluating the first time; `r@stage` instead of writing its piece
/// of every time; `r@train` after the training (a documented test hook).
fn injected_failure(ranks: &Ranks, stage: &str) -> Result<()> {
    if cfg!(feature = "mpi")
        && let Ok(v) = std::env::var("NABLA_FAIL_RANK")
    {
        let (rank, at) = v.trim().split_once('@').unwrap_or((v.trim(), "write"));
        if at == stage && rank.parse::<usize>() == Ok(ranks.rank()) {
            return Err(crate::Error::Ranks {
                rank: ranks.rank(),
                size: ranks.size(),
                message: format!("failure injected by NABLA_FAIL_RANK={v} (a test hook)"),
            });
        }
    }
    Ok(())
}
