//! The run itself: evaluating every field and its operators at each time, and writing
//! one VTK file per time (and a `.pvd` collection for a series) into `VTK/`.

use std::path::PathBuf;
use std::time::Instant;

use super::load::Case;
use super::mms::Mms;
use super::points::Geometry;
use super::progress::Bar;
use super::summary::{Recorder, Row};
use super::{fields, network};
use crate::error::{Error, Result};
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
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            quiet: false,
            chunk_size: EvalOptions::default().chunk_size,
            resume: false,
            evaluate_only: false,
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

/// Trains the network if the case has one, evaluates every field at every time, and
/// writes the results into the case's `VTK/`. After an error nothing of this run is
/// left there but the training's files.
pub(super) fn execute(
    case: &Case,
    geometry: &Geometry,
    points: &Points,
    times: &[f64],
    mms: Option<&Mms<'_>>,
    opts: &RunOptions,
) -> Result<Done> {
    let mut output = Output::new(case.dir.join("VTK"));
    match evaluate_and_write(case, geometry, points, times, mms, opts, &mut output) {
        Ok((rows, notes)) => Ok(Done {
            rows,
            notes,
            files: output.written.into_iter().chain(output.kept).collect(),
        }),
        Err(e) => {
            output.remove();
            Err(e)
        }
    }
}

/// [`execute`] without the clean-up after an error.
fn evaluate_and_write(
    case: &Case,
    geometry: &Geometry,
    points: &Points,
    times: &[f64],
    mms: Option<&Mms<'_>>,
    opts: &RunOptions,
    output: &mut Output,
) -> Result<(Vec<Row>, Vec<String>)> {
    let (n, d) = (points.len(), points.dim());
    output.create_dir()?;
    let trained = match &case.spec.pinn {
        Some(cfg) => Some((cfg, network::train(&case.input, cfg, &output.dir, opts)?)),
        None => None,
    };
    let network_fields = trained.as_ref().map_or(0, |(cfg, _)| cfg.outputs().min(2));
    let bar = Bar::new(
        opts.quiet,
        (n * (case.spec.fields.len() + network_fields).max(1) * times.len()) as u64,
    );
    let mut rec = Recorder::new(points, opts.chunk_size);
    let series = case.spec.times.is_some();
    for (k, &t) in times.iter().enumerate() {
        let built = fields::build(case, d, t, trained.as_ref().map(|(_, tr)| &tr.mlp))?;
        for b in &built {
            let eo = EvalOptions {
                chunk_size: opts.chunk_size,
                progress: Some(&|c| bar.inc(c)),
                field_name: &b.name,
            };
            let t0 = Instant::now();
            let out = evaluate(b.field.as_ref(), points, &b.ops, &eo)?;
            let secs = t0.elapsed().as_secs_f64();
            for (op, a) in b.ops.iter().zip(out) {
                rec.record(a, b.exact.get(op), t, Some((secs, n as f64 / secs)))?;
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
        output.stage(geometry, t, fname, rec.take_arrays())?;
    }
    bar.finish();
    output.commit(series.then_some(case.name.as_str()))?;
    let notes = match trained {
        Some((_, tr)) => {
            output.kept = tr.files;
            tr.notes
        }
        None => Vec::new(),
    };
    Ok((rec.rows, notes))
}

/// The output file extension of a geometry.
fn extension(geometry: &Geometry) -> &'static str {
    match geometry {
        Geometry::Lattice(_) => "vti",
        Geometry::Cloud(_) => "vtp",
        Geometry::Mesh(_) => "vtu",
    }
}

/// The files a run writes into `VTK/`: staged under hidden names until every time is
/// written, so that a failure part-way leaves the results of an earlier run as they
/// were, then given their names.
struct Output {
    dir: PathBuf,
    /// Whether the run makes the folder (and so may remove it again).
    created: bool,
    /// Files written, staged or named; removed after an error.
    written: Vec<PathBuf>,
    /// The time and final file name of each staged file.
    series: Vec<(f64, String)>,
    /// Files that stay even after an error.
    kept: Vec<PathBuf>,
}

impl Output {
    fn new(dir: PathBuf) -> Self {
        Output {
            created: !dir.exists(),
            dir,
            written: Vec::new(),
            series: Vec::new(),
            kept: Vec::new(),
        }
    }

    fn create_dir(&self) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::Io {
            path: self.dir.clone(),
            message: format!("cannot create the output folder: {e}"),
        })
    }

    /// Writes the arrays of time `t` under a hidden name, to be named `fname`.
    fn stage(
        &mut self,
        geometry: &Geometry,
        t: f64,
        fname: String,
        arrays: Vec<Array>,
    ) -> Result<()> {
        let ext = extension(geometry);
        let path = self.dir.join(format!(".{fname}.partial.{ext}"));
        let arrays: Vec<io::PointArray> = arrays
            .into_iter()
            .map(|a| io::PointArray::new(a.name, a.components, a.values))
            .collect();
        match geometry {
            Geometry::Lattice(grid) => io::write_vti(&path, grid, &arrays)?,
            Geometry::Cloud(pts) => io::write_vtp(&path, pts, &arrays)?,
            Geometry::Mesh(mesh) => io::write_vtu(&path, mesh, &arrays)?,
        }
        self.written.push(path);
        self.series.push((t, fname));
        Ok(())
    }

    /// Every file is written: gives them their names, and writes `<pvd>.pvd` for a
    /// series.
    fn commit(&mut self, pvd: Option<&str>) -> Result<()> {
        for (staged, (_, fname)) in self.written.iter_mut().zip(&self.series) {
            let path = self.dir.join(fname);
            std::fs::rename(&*staged, &path).map_err(|e| Error::Io {
                path: path.clone(),
                message: format!("cannot rename {} into place: {e}", staged.display()),
            })?;
            *staged = path;
        }
        if let Some(name) = pvd {
            let pvd = self.dir.join(format!("{name}.pvd"));
            io::write_pvd(&pvd, &self.series)?;
            self.written.push(pvd);
        }
        Ok(())
    }

    /// Removes what the run wrote, and the folder if the run made it and it is empty.
    fn remove(&self) {
        for f in &self.written {
            let _ = std::fs::remove_file(f);
        }
        if self.created {
            let _ = std::fs::remove_dir(&self.dir); // only if empty
        }
    }
}
