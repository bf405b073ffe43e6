//! Case directories: read `case.toml`, build the points, evaluate the fields and their
//! operators, compare with exact answers, write VTK for ParaView, summarise.
//!
//! A case is a directory holding `case.toml` (schema in [`config`]); results go to its
//! `VTK/` folder: `.vti` for a lattice, `.vtp` for a random cloud, `.vtu` keeping the
//! cells of an input mesh, one file per time and a `.pvd` collection for a series.
//! Everything is checked before anything is written, every file is written under a
//! temporary name and renamed, and a run that fails part-way removes what it wrote.

pub mod config;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::{Rng, SeedableRng};

use crate::autodiff::{Tape, Tensor, Var};
use crate::error::{Error, Result};
use crate::eval::{Array, EvalOptions, Operator, Points, evaluate};
use crate::field::Field;
use crate::field::expr::{Expr, ExprField, ExprFieldError};
use crate::io::{self, ImageGrid, Mesh};
use crate::pinn::{self, Mlp, PinnConfig, TrainOptions};
use config::{CaseFile, Expressions, Number, PointsSpec};

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

/// One line of the summary: an output array, with its error against the exact answer
/// when the case gives one.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Time of the evaluation.
    pub time: f64,
    /// Array name, e.g. `curl(U)`.
    pub array: String,
    /// Components per point.
    pub components: usize,
    /// Largest absolute error over all points and components.
    pub max_error: Option<f64>,
    /// Root-mean-square error over all points and components.
    pub rms_error: Option<f64>,
    /// Seconds spent evaluating the field and all its operators (they share passes);
    /// `None` for arrays combined from others (source terms).
    pub seconds: Option<f64>,
    /// Points per second of that evaluation.
    pub points_per_second: Option<f64>,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Case name (the output base name).
    pub name: String,
    /// The case's description.
    pub description: Option<String>,
    /// Number of points.
    pub points: usize,
    /// The rows, in output order.
    pub rows: Vec<Row>,
    /// Files written (VTK and `.pvd`; for a physics-informed case also the checkpoint,
    /// `loss.csv` and `loss.png`).
    pub files: Vec<PathBuf>,
    /// Lines printed after the table: the training and its relative L2 errors.
    pub notes: Vec<String>,
    /// Wall time of the whole run.
    pub seconds: f64,
}

impl fmt::Display for Summary {
    /// A table with one line per array; for a series, errors are the worst over all times
    /// (max) and the RMS over all times, and times are summed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "case {}: {} points, {:.3} s",
            self.name, self.points, self.seconds
        )?;
        if let Some(d) = &self.description {
            writeln!(f, "{d}")?;
        }
        let mut merged: Vec<(Row, usize)> = Vec::new();
        for r in &self.rows {
            match merged.iter_mut().find(|(m, _)| m.array == r.array) {
                Some((m, k)) => {
                    *k += 1;
                    m.max_error = m.max_error.zip(r.max_error).map(|(a, b)| nan_max(a, b));
                    m.rms_error = m
                        .rms_error
                        .zip(r.rms_error)
                        .map(|(a, b)| (a * a + b * b).sqrt());
                    m.seconds = m.seconds.zip(r.seconds).map(|(a, b)| a + b);
                }
                None => merged.push((r.clone(), 1)),
            }
        }
        let times = merged.first().map_or(1, |(_, k)| *k);
        if times > 1 {
            writeln!(
                f,
                "{times} times; errors are the largest and the RMS over all times"
            )?;
        }
        let w = merged
            .iter()
            .map(|(r, _)| r.array.len())
            .max()
            .unwrap_or(5)
            .max(5);
        writeln!(
            f,
            "{:<w$}  {:>4}  {:>10}  {:>10}  {:>8}  {:>10}",
            "array", "comp", "max error", "rms error", "time s", "points/s"
        )?;
        let opt = |v: Option<f64>, prec: usize| {
            v.map_or_else(|| "-".to_string(), |v| format!("{v:.prec$e}"))
        };
        for (r, k) in &merged {
            let rms = r.rms_error.map(|e| e / (*k as f64).sqrt());
            let pps = r.seconds.map(|s| (self.points * k) as f64 / s);
            let secs = r
                .seconds
                .map_or_else(|| "-".to_string(), |s| format!("{s:.3}"));
            writeln!(
                f,
                "{:<w$}  {:>4}  {:>10}  {:>10}  {:>8}  {:>10}",
                r.array,
                r.components,
                opt(r.max_error, 3),
                opt(rms, 3),
                secs,
                opt(pps, 3)
            )?;
        }
        writeln!(
            f,
            "(the operators of one field share their backward passes; time is for all of them)"
        )?;
        for file in &self.files {
            writeln!(f, "wrote {}", file.display())?;
        }
        for note in &self.notes {
            writeln!(f, "{note}")?;
        }
        Ok(())
    }
}

/// Runs the case in directory `dir`. See the module docs.
///
/// # Errors
/// [`Error::Io`] for a missing or unreadable `case.toml` or mesh and for output that
/// cannot be written; [`Error::Input`] naming `case.toml` with line and column for TOML
/// syntax errors, unknown keys, bad expressions, operators that do not fit a field,
/// wrong numbers of exact expressions, and a point set too large for memory. Nothing is
/// left in `VTK/` after an error.
pub fn run(dir: &Path, opts: &RunOptions) -> Result<Summary> {
    let start = Instant::now();
    let plan = Plan::load(dir)?;
    let mut written = Vec::new();
    let vtk_dir = dir.join("VTK");
    let created = !vtk_dir.exists();
    match plan.execute(&vtk_dir, opts, &mut written) {
        Ok((rows, points, notes)) => Ok(Summary {
            name: plan.name.clone(),
            description: plan.spec.description.clone(),
            points,
            rows,
            notes,
            files: written,
            seconds: start.elapsed().as_secs_f64(),
        }),
        Err(e) => {
            for f in &written {
                let _ = std::fs::remove_file(f);
            }
            if created {
                let _ = std::fs::remove_dir(&vtk_dir); // only if empty
            }
            Err(e)
        }
    }
}

/// Where the points live, which decides the output format.
enum Geometry {
    Lattice(ImageGrid),
    Cloud(Vec<[f64; 3]>),
    Mesh(Mesh),
}

/// A loaded and checked case.
struct Plan {
    /// Path of `case.toml`, for messages.
    file: PathBuf,
    text: String,
    spec: CaseFile,
    name: String,
    constants: Vec<(String, f64)>,
    dir: PathBuf,
}

/// A field ready to evaluate, with its requested operators and exact answers.
struct BuiltField<'a> {
    name: String,
    field: Box<dyn Field + 'a>,
    ops: Vec<Operator>,
    exact: BTreeMap<Operator, ExprField>,
}

/// Some components of another field (the velocity and the pressure of one network).
struct Select<'a> {
    inner: &'a dyn Field,
    comps: Vec<usize>,
}

impl Field for Select<'_> {
    fn components(&self) -> usize {
        self.comps.len()
    }

    fn eval<'t>(&self, tape: &'t Tape, x: &[Var<'t>]) -> Vec<Var<'t>> {
        let all = self.inner.eval(tape, x);
        self.comps.iter().map(|&c| all[c]).collect()
    }
}

impl Plan {
    fn load(dir: &Path) -> Result<Plan> {
        let file = dir.join("case.toml");
        let text = std::fs::read_to_string(&file).map_err(|e| Error::Io {
            path: file.clone(),
            message: format!("cannot read the case file: {e}"),
        })?;
        let spec: CaseFile = toml::from_str(&text).map_err(|e| {
            let (line, column) = e.span().map_or((None, None), |s| {
                let (l, c) = line_col(&text, s.start);
                (Some(l), Some(c))
            });
            Error::Input {
                path: file.clone(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;
        let name = match &spec.output.name {
            Some(n) => n.clone(),
            None => dir
                .canonicalize()
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "case".into()),
        };
        let constants = spec
            .constants
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        Ok(Plan {
            file,
            text,
            spec,
            name,
            constants,
            dir: dir.to_path_buf(),
        })
    }

    fn input_error(
        &self,
        span: Option<&std::ops::Range<usize>>,
        column_in_string: Option<usize>,
        message: String,
    ) -> Error {
        let (line, column) = match span {
            Some(s) => {
                let (l, c) = line_col(&self.text, s.start);
                (Some(l), Some(c + column_in_string.unwrap_or(0)))
            }
            None => (None, None),
        };
        Error::Input {
            path: self.file.clone(),
            line,
            column,
            message,
        }
    }

    fn constants(&self) -> Vec<(&str, f64)> {
        self.constants
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect()
    }

    fn number(&self, n: &Number, what: &str) -> Result<f64> {
        match n {
            Number::Value(v) => Ok(*v),
            Number::Expr(s) => {
                let e = Expr::parse(s)
                    .and_then(|e| e.bind_with(&[], &self.constants()))
                    .map_err(|e| {
                        self.input_error(
                            None,
                            None,
                            format!("{what}: {}\n{}", e.message(), e.caret()),
                        )
                    })?;
                Ok(e.eval_f64(&[]))
            }
        }
    }

    /// An expression field, with errors pointing into case.toml.
    fn expr_field(
        &self,
        what: &str,
        exprs: &toml::Spanned<Expressions>,
        dim: usize,
        t: f64,
    ) -> Result<ExprField> {
        let sources = &exprs.get_ref().0;
        let texts: Vec<&str> = sources.iter().map(|s| s.text.as_str()).collect();
        ExprField::new(&texts, dim, t, &self.constants()).map_err(|e| match &e {
            ExprFieldError::Component { index, error } => {
                let span = sources[*index].span.clone().unwrap_or_else(|| exprs.span());
                self.input_error(
                    Some(&span),
                    Some(error.column()),
                    format!(
                        "{what}, component {index}: {}\n{}",
                        error.message(),
                        error.caret()
                    ),
                )
            }
            _ => self.input_error(Some(&exprs.span()), None, format!("{what}: {e}")),
        })
    }

    fn geometry(&self) -> Result<(Geometry, Points)> {
        let bounds = |b: &[[Number; 2]]| -> Result<Vec<[f64; 2]>> {
            b.iter()
                .map(|[lo, hi]| {
                    Ok([
                        self.number(lo, "points.bounds")?,
                        self.number(hi, "points.bounds")?,
                    ])
                })
                .collect()
        };
        let check_dims = |n: usize, what: &str| {
            if (2..=3).contains(&n) {
                Ok(())
            } else {
                Err(self.input_error(
                    None,
                    None,
                    format!("points.{what}: expected 2 or 3 axes, got {n}"),
                ))
            }
        };
        match &self.spec.points {
            PointsSpec::Lattice { counts, bounds: b } => {
                check_dims(counts.len(), "counts")?;
                let b = bounds(b)?;
                if b.len() != counts.len() {
                    return Err(self.input_error(
                        None,
                        None,
                        format!(
                            "points: {} counts but {} bounds; expected one [low, high] per axis",
                            counts.len(),
                            b.len()
                        ),
                    ));
                }
                if counts.contains(&0) {
                    return Err(self.input_error(
                        None,
                        None,
                        "points.counts: every axis needs at least 1 point".into(),
                    ));
                }
                let n = counts
                    .iter()
                    .try_fold(1usize, |a, &c| a.checked_mul(c))
                    .unwrap_or(usize::MAX);
                self.check_memory(n)?;
                let d = counts.len();
                for (k, (&c, &[lo, hi])) in counts.iter().zip(&b).enumerate() {
                    let spacing = (hi - lo) / (c.max(2) - 1) as f64;
                    if !(lo.is_finite() && hi.is_finite()) || (c > 1 && !(hi > lo && spacing > 0.0))
                    {
                        return Err(self.input_error(
                            None,
                            None,
                            format!(
                                "points.bounds, axis {k}: [{lo}, {hi}] for {c} points; expected finite bounds with low < high (low = high only for 1 point)"
                            ),
                        ));
                    }
                }
                let axes: Vec<Vec<f64>> = counts
                    .iter()
                    .zip(&b)
                    .map(|(&c, &[lo, hi])| Tensor::linspace(lo, hi, c).into_vec())
                    .collect();
                // VTK's order: x fastest, then y, then z.
                let mut cols = vec![Vec::with_capacity(n); d];
                let nz = if d == 3 { counts[2] } else { 1 };
                for iz in 0..nz {
                    for iy in 0..counts[1] {
                        for ix in 0..counts[0] {
                            cols[0].push(axes[0][ix]);
                            cols[1].push(axes[1][iy]);
                            if d == 3 {
                                cols[2].push(axes[2][iz]);
                            }
                        }
                    }
                }
                let mut grid = ImageGrid {
                    origin: [0.0; 3],
                    spacing: [1.0; 3],
                    dims: [1; 3],
                };
                for k in 0..d {
                    grid.origin[k] = b[k][0];
                    grid.dims[k] = counts[k];
                    if counts[k] > 1 {
                        grid.spacing[k] = (b[k][1] - b[k][0]) / (counts[k] - 1) as f64;
                    }
                }
                let points = Points::from_columns(cols)
                    .map_err(|e| self.input_error(None, None, e.to_string()))?;
                Ok((Geometry::Lattice(grid), points))
            }
            PointsSpec::Random {
                count,
                bounds: b,
                seed,
            } => {
                let b = bounds(b)?;
                check_dims(b.len(), "bounds")?;
                self.check_memory(*count)?;
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(*seed);
                let rows: Vec<[f64; 3]> = (0..*count)
                    .map(|_| {
                        let mut p = [0.0; 3];
                        for (k, &[lo, hi]) in b.iter().enumerate() {
                            p[k] = lo + (hi - lo) * rng.random::<f64>();
                        }
                        p
                    })
                    .collect();
                let points = Points::from_rows(b.len(), &rows)
                    .map_err(|e| self.input_error(None, None, e.to_string()))?;
                Ok((Geometry::Cloud(rows), points))
            }
            PointsSpec::Mesh { file } => {
                let mesh = io::read_mesh(&self.dir.join(file))?;
                let points = Points::from_rows(3, &mesh.points).map_err(|e| Error::Input {
                    path: self.dir.join(file),
                    line: None,
                    column: None,
                    message: e.to_string(),
                })?;
                Ok((Geometry::Mesh(mesh), points))
            }
        }
    }

    /// Refuses point sets whose arrays cannot fit in memory.
    fn check_memory(&self, n: usize) -> Result<()> {
        let per_point: usize = 3 + self.spec.fields.len() * 40; // coordinates + a generous share of arrays
        let bytes = (n as u128) * (per_point as u128) * 8;
        let available = available_memory();
        if bytes > available as u128 {
            return Err(self.input_error(
                None,
                None,
                format!(
                    "points: {n} points need about {:.1} GiB for their arrays, but only {:.1} GiB of memory is available",
                    bytes as f64 / 2f64.powi(30),
                    available as f64 / 2f64.powi(30)
                ),
            ));
        }
        Ok(())
    }

    /// Builds every field and exact answer at `t` and checks operators against shapes.
    fn build(&self, d: usize, t: f64) -> Result<Vec<BuiltField<'_>>> {
        let mut out: Vec<BuiltField> = Vec::new();
        for f in &self.spec.fields {
            if out.iter().any(|b| b.name == f.name) {
                return Err(self.input_error(
                    Some(&f.value.span()),
                    None,
                    format!("field '{}' is defined twice", f.name),
                ));
            }
            let field = self.expr_field(&format!("field '{}'", f.name), &f.value, d, t)?;
            let m = f.value.get_ref().0.len();
            let mut ops = vec![Operator::Value];
            for &op in &f.operators {
                op.components(m, d).map_err(|e| {
                    self.input_error(
                        Some(&f.value.span()),
                        None,
                        format!("field '{}': {e}", f.name),
                    )
                })?;
                if !ops.contains(&op) {
                    ops.push(op);
                }
            }
            let mut exact = BTreeMap::new();
            for (&op, ex) in &f.exact {
                let k = op.components(m, d).map_err(|e| {
                    self.input_error(
                        Some(&ex.span()),
                        None,
                        format!("field '{}': exact {e}", f.name),
                    )
                })?;
                let given = ex.get_ref().0.len();
                if given != k {
                    return Err(self.input_error(
                        Some(&ex.span()),
                        None,
                        format!("field '{}': exact {} has {given} expressions; expected {k} (one per component)", f.name, op.name()),
                    ));
                }
                if !ops.contains(&op) {
                    ops.push(op);
                }
                exact.insert(
                    op,
                    self.expr_field(
                        &format!("field '{}', exact {}", f.name, op.name()),
                        ex,
                        d,
                        t,
                    )?,
                );
            }
            out.push(BuiltField {
                name: f.name.clone(),
                field: Box::new(field),
                ops,
                exact,
            });
        }
        if let Some(mms) = &self.spec.mms {
            let find = |name: &str, what: &str| {
                out.iter().position(|b| b.name == name).ok_or_else(|| {
                    let names: Vec<&str> = out.iter().map(|b| b.name.as_str()).collect();
                    self.input_error(
                        None,
                        None,
                        format!(
                            "mms.{what}: no field named '{name}'; fields are: {}",
                            names.join(", ")
                        ),
                    )
                })
            };
            let (u, p) = (
                find(&mms.velocity, "velocity")?,
                find(&mms.pressure, "pressure")?,
            );
            let (mu, mp) = (out[u].field.components(), out[p].field.components());
            if mu != d || mp != 1 {
                return Err(self.input_error(
                    None,
                    None,
                    format!("mms: needs a velocity with {d} components and a scalar pressure, got {mu} and {mp}"),
                ));
            }
            for op in [Operator::Advection, Operator::Lap, Operator::Div] {
                if !out[u].ops.contains(&op) {
                    out[u].ops.push(op);
                }
            }
            if !out[p].ops.contains(&Operator::Grad) {
                out[p].ops.push(Operator::Grad);
            }
        }
        Ok(out)
    }

    /// The trained network: trained now (or resumed), or read from the checkpoint with
    /// `evaluate_only`. The training's files go to `kept`: they are results in their own
    /// right and stay even if a later step of the run fails.
    fn network(
        &self,
        cfg: &PinnConfig,
        vtk_dir: &Path,
        opts: &RunOptions,
        notes: &mut Vec<String>,
        kept: &mut Vec<PathBuf>,
    ) -> Result<Mlp> {
        let ckpt = vtk_dir.join("checkpoint.json");
        if opts.evaluate_only {
            let mlp = pinn::Checkpoint::load(&ckpt)
                .map_err(|e| self.pinn_error(e))?
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
            let (loss, errors) = pinn::evaluate(cfg, &ckpt).map_err(|e| self.pinn_error(e))?;
            notes.push(format!(
                "evaluated {} (no training), loss {:.3e}",
                ckpt.display(),
                loss.total
            ));
            for e in &errors {
                notes.push(format!(
                    "relative L2 error {}: {:.3e}",
                    e.name, e.relative_l2
                ));
            }
            return Ok(mlp);
        }
        if opts.resume && !ckpt.exists() {
            return Err(Error::Io {
                path: ckpt,
                message: "no checkpoint to resume from; run the case without --resume first".into(),
            });
        }
        let topts = TrainOptions {
            quiet: opts.quiet,
            resume: opts.resume,
        };
        let report = pinn::train(cfg, &topts, vtk_dir).map_err(|e| self.pinn_error(e))?;
        kept.extend(report.files.iter().cloned());
        notes.push(format!(
            "trained {} Adam steps in {:.1} s, final loss {:.3e}",
            cfg.optimizer.iterations, report.seconds, report.final_loss.total
        ));
        for e in &report.errors {
            notes.push(format!(
                "relative L2 error {}: {:.3e}",
                e.name, e.relative_l2
            ));
        }
        Ok(report.mlp)
    }

    /// A setting of the `[pinn]` table that cannot be used, as an error about case.toml.
    fn pinn_error(&self, e: Error) -> Error {
        match e {
            Error::Config { setting, message } => {
                self.input_error(None, None, format!("pinn.{setting}: {message}"))
            }
            other => other,
        }
    }

    /// Checks that every array the run will write has a name of its own, and that the
    /// output name is a plain file name.
    fn check_names(&self, built: &[BuiltField<'_>]) -> Result<()> {
        let bad_output = |n: &str| n.is_empty() || n == "." || n == ".." || n.contains(['/', '\\']);
        if bad_output(&self.name) {
            return Err(self.input_error(
                None,
                None,
                format!(
                    "output.name '{}': expected a plain file name, without folders",
                    self.name
                ),
            ));
        }
        let mut names: Vec<String> = Vec::new();
        for b in built {
            if b.name.trim().is_empty() {
                return Err(self.input_error(
                    None,
                    None,
                    "field: a field needs a non-empty name".into(),
                ));
            }
            for op in &b.ops {
                let a = op.array_name(&b.name);
                if b.exact.contains_key(op) {
                    names.push(format!("error({a})"));
                }
                names.push(a);
            }
        }
        if let Some(m) = &self.spec.mms {
            names.extend([
                "momentum_source".to_string(),
                "continuity_source".to_string(),
            ]);
            if m.exact_momentum.is_some() {
                names.push("error(momentum_source)".into());
            }
            if m.exact_continuity.is_some() {
                names.push("error(continuity_source)".into());
            }
        }
        names.sort();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(self.input_error(
                None,
                None,
                format!(
                    "two arrays would be named '{}': give the fields different names",
                    w[0]
                ),
            ));
        }
        Ok(())
    }

    /// Checks the network's configuration and its output operators before training, and
    /// returns an untrained network of the configured shape (for checking names).
    fn check_pinn(&self, cfg: &PinnConfig, d: usize) -> Result<Mlp> {
        let problem = cfg.problem().map_err(|e| self.pinn_error(e))?;
        if cfg.dim() != d {
            return Err(self.input_error(
                None,
                None,
                format!("pinn.domain is {}-D but the points are {d}-D", cfg.dim()),
            ));
        }
        let ns = cfg.outputs() > 1;
        let out = &self.spec.pinn_output;
        let m = if ns { d } else { 1 };
        for op in &out.operators {
            op.components(m, d)
                .map_err(|e| self.input_error(None, None, format!("pinn_output.operators: {e}")))?;
        }
        if !ns && !out.pressure_operators.is_empty() {
            return Err(self.input_error(
                None,
                None,
                "pinn_output.pressure_operators: a Poisson network has no pressure".into(),
            ));
        }
        for op in &out.pressure_operators {
            op.components(1, d).map_err(|e| {
                self.input_error(None, None, format!("pinn_output.pressure_operators: {e}"))
            })?;
        }
        Mlp::new(d, &cfg.network.hidden, cfg.outputs(), problem.activation, 0)
            .map_err(|e| self.pinn_error(e))
    }

    /// The trained network as fields: `u` (Poisson), or `U` and `p` (Navier–Stokes), with
    /// the exact solution (where the configuration gives one) for `u` and `U`. The
    /// pressure gets no error array: the equations fix it only up to a constant.
    fn network_fields<'a>(
        &self,
        cfg: &PinnConfig,
        mlp: &'a Mlp,
        d: usize,
    ) -> Result<Vec<BuiltField<'a>>> {
        let out = &self.spec.pinn_output;
        let consts = cfg.constants().map_err(|e| self.pinn_error(e))?;
        let consts: Vec<(&str, f64)> = consts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let exact = |comps: std::ops::Range<usize>| -> Result<BTreeMap<Operator, ExprField>> {
            let Some(ex) = &cfg.exact else {
                return Ok(BTreeMap::new());
            };
            let f = ExprField::new(&ex[comps], d, 0.0, &consts)
                .map_err(|e| self.input_error(None, None, format!("pinn.exact: {e}")))?;
            Ok(BTreeMap::from([(Operator::Value, f)]))
        };
        let with_value = |ops: &[Operator]| {
            let mut v = vec![Operator::Value];
            v.extend(ops.iter().filter(|&&o| o != Operator::Value));
            v
        };
        if cfg.outputs() == 1 {
            return Ok(vec![BuiltField {
                name: "u".into(),
                field: Box::new(Select {
                    inner: mlp,
                    comps: vec![0],
                }),
                ops: with_value(&out.operators),
                exact: exact(0..1)?,
            }]);
        }
        Ok(vec![
            BuiltField {
                name: "U".into(),
                field: Box::new(Select {
                    inner: mlp,
                    comps: (0..d).collect(),
                }),
                ops: with_value(&out.operators),
                exact: exact(0..d)?,
            },
            BuiltField {
                name: "p".into(),
                field: Box::new(Select {
                    inner: mlp,
                    comps: vec![d],
                }),
                ops: with_value(&out.pressure_operators),
                exact: BTreeMap::new(),
            },
        ])
    }

    fn execute(
        &self,
        vtk_dir: &Path,
        opts: &RunOptions,
        written: &mut Vec<PathBuf>,
    ) -> Result<(Vec<Row>, usize, Vec<String>)> {
        let (geometry, points) = self.geometry()?;
        let (n, d) = (points.len(), points.dim());
        let times = self.spec.times.clone().unwrap_or_else(|| vec![0.0]);
        if times.is_empty() || times.iter().any(|t| !t.is_finite()) {
            return Err(self.input_error(
                None,
                None,
                "times: expected a non-empty list of finite numbers".into(),
            ));
        }
        let nu = match &self.spec.mms {
            Some(m) => Some(self.number(&m.nu, "mms.nu")?),
            None => None,
        };
        let mms_exact = match &self.spec.mms {
            Some(m) => {
                let field = |e: &Option<toml::Spanned<Expressions>>,
                             what: &str,
                             k: usize|
                 -> Result<Option<ExprField>> {
                    let Some(e) = e else { return Ok(None) };
                    if e.get_ref().0.len() != k {
                        return Err(self.input_error(
                            Some(&e.span()),
                            None,
                            format!(
                                "mms.{what} has {} expressions; expected {k}",
                                e.get_ref().0.len()
                            ),
                        ));
                    }
                    self.expr_field(&format!("mms.{what}"), e, d, times[0])
                        .map(Some)
                };
                (
                    field(&m.exact_momentum, "exact_momentum", d)?,
                    field(&m.exact_continuity, "exact_continuity", 1)?,
                )
            }
            None => (None, None),
        };
        // Check everything once before any output exists.
        let untrained = match &self.spec.pinn {
            Some(cfg) => Some((cfg, self.check_pinn(cfg, d)?)),
            None => None,
        };
        let mut built = self.build(d, times[0])?;
        if let Some((cfg, mlp)) = &untrained {
            built.extend(self.network_fields(cfg, mlp, d)?);
        }
        self.check_names(&built)?;
        drop(built);
        let ext = match geometry {
            Geometry::Lattice(_) => "vti",
            Geometry::Cloud(_) => "vtp",
            Geometry::Mesh(_) => "vtu",
        };
        std::fs::create_dir_all(vtk_dir).map_err(|e| Error::Io {
            path: vtk_dir.to_path_buf(),
            message: format!("cannot create the output folder: {e}"),
        })?;

        let mut notes = Vec::new();
        let mut kept = Vec::new();
        let trained = match &self.spec.pinn {
            Some(cfg) => Some((
                cfg,
                self.network(cfg, vtk_dir, opts, &mut notes, &mut kept)?,
            )),
            None => None,
        };
        let network_fields = trained.as_ref().map_or(0, |(cfg, _)| cfg.outputs().min(2));
        let bar = Bar::new(
            opts.quiet,
            (n * (self.spec.fields.len() + network_fields).max(1) * times.len()) as u64,
        );
        let mut rows = Vec::new();
        let mut series = Vec::new();
        for (k, &t) in times.iter().enumerate() {
            let mut built = self.build(d, t)?;
            if let Some((cfg, mlp)) = &trained {
                built.extend(self.network_fields(cfg, mlp, d)?);
            }
            let mut arrays: Vec<Array> = Vec::new();
            for b in &built {
                let eo = EvalOptions {
                    chunk_size: opts.chunk_size,
                    progress: Some(&|c| bar.inc(c)),
                    field_name: &b.name,
                };
                let t0 = Instant::now();
                let out = evaluate(b.field.as_ref(), &points, &b.ops, &eo)?;
                let secs = t0.elapsed().as_secs_f64();
                for (op, a) in b.ops.iter().zip(out) {
                    let timing = Some((secs, n as f64 / secs));
                    record(
                        a,
                        b.exact.get(op),
                        t,
                        timing,
                        &points,
                        opts,
                        &mut arrays,
                        &mut rows,
                    )?;
                }
            }
            if let (Some(m), Some(nu)) = (&self.spec.mms, nu) {
                let (momentum, continuity) =
                    mms_sources(&arrays, &m.velocity, &m.pressure, nu, n, d)?;
                for (a, ex) in [(momentum, &mms_exact.0), (continuity, &mms_exact.1)] {
                    let ex = ex.as_ref().map(|e| e.at_time(t));
                    record(
                        a,
                        ex.as_ref(),
                        t,
                        None,
                        &points,
                        opts,
                        &mut arrays,
                        &mut rows,
                    )?;
                }
            }
            let fname = if self.spec.times.is_some() {
                format!("{}_{k}.{ext}", self.name)
            } else {
                format!("{}.{ext}", self.name)
            };
            // Staged under a hidden name until every time is written, so that a failure
            // part-way leaves the results of an earlier run as they were.
            let path = vtk_dir.join(format!(".{fname}.partial.{ext}"));
            let arrays: Vec<io::PointArray> = arrays
                .into_iter()
                .map(|a| io::PointArray::new(a.name, a.components, a.values))
                .collect();
            match &geometry {
                Geometry::Lattice(grid) => io::write_vti(&path, grid, &arrays)?,
                Geometry::Cloud(pts) => io::write_vtp(&path, pts, &arrays)?,
                Geometry::Mesh(mesh) => io::write_vtu(&path, mesh, &arrays)?,
            }
            written.push(path);
            series.push((t, fname));
        }
        bar.finish();
        // Every file is written: give them their names.
        for (staged, (_, fname)) in written.iter_mut().zip(&series) {
            let path = vtk_dir.join(fname);
            std::fs::rename(&*staged, &path).map_err(|e| Error::Io {
                path: path.clone(),
                message: format!("cannot rename {} into place: {e}", staged.display()),
            })?;
            *staged = path;
        }
        if self.spec.times.is_some() {
            let pvd = vtk_dir.join(format!("{}.pvd", self.name));
            io::write_pvd(&pvd, &series)?;
            written.push(pvd);
        }
        written.extend(kept);
        Ok((rows, n, notes))
    }
}

/// Keeps an output array, with its `error(…)` array and error statistics when an exact
/// answer is given, and adds its summary row. `timing` is (seconds, points per second).
#[allow(clippy::too_many_arguments)]
fn record(
    a: Array,
    exact: Option<&ExprField>,
    time: f64,
    timing: Option<(f64, f64)>,
    points: &Points,
    opts: &RunOptions,
    arrays: &mut Vec<Array>,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let mut row = Row {
        time,
        array: a.name.clone(),
        components: a.components,
        max_error: None,
        rms_error: None,
        seconds: timing.map(|t| t.0),
        points_per_second: timing.map(|t| t.1),
    };
    let err = exact
        .map(|ex| error_array(&a, ex, points, opts))
        .transpose()?;
    arrays.push(a);
    if let Some(err) = err {
        (row.max_error, row.rms_error) = stats(&err.values);
        arrays.push(err);
    }
    rows.push(row);
    Ok(())
}

/// `computed − exact`, named `error(<name>)`.
fn error_array(a: &Array, exact: &ExprField, points: &Points, opts: &RunOptions) -> Result<Array> {
    let eo = EvalOptions {
        chunk_size: opts.chunk_size,
        progress: None,
        field_name: "exact",
    };
    let ex = evaluate(exact, points, &[Operator::Value], &eo)?.remove(0);
    let values = a
        .values
        .iter()
        .zip(&ex.values)
        .map(|(c, e)| c - e)
        .collect();
    Ok(Array {
        name: format!("error({})", a.name),
        components: a.components,
        values,
    })
}

/// Largest absolute value and root mean square; NaN when any value is NaN.
fn stats(v: &[f64]) -> (Option<f64>, Option<f64>) {
    let max = v.iter().fold(0.0f64, |m, x| nan_max(m, x.abs()));
    let rms = (v.iter().map(|x| x * x).sum::<f64>() / v.len().max(1) as f64).sqrt();
    (Some(max), Some(rms))
}

/// The larger of two numbers, NaN if either is (`f64::max` would drop a NaN).
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Momentum `(u·∇)u + ∇p − ν∇²u` and continuity `∇·u` from the evaluated arrays.
fn mms_sources(
    arrays: &[Array],
    u: &str,
    p: &str,
    nu: f64,
    n: usize,
    d: usize,
) -> Result<(Array, Array)> {
    let get = |name: String| {
        arrays
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| Error::Operator {
                op: "mms".into(),
                message: format!("internal: array {name} was not computed"),
            })
    };
    let adv = get(Operator::Advection.array_name(u))?;
    let gp = get(Operator::Grad.array_name(p))?;
    let lap = get(Operator::Lap.array_name(u))?;
    let div = get(Operator::Div.array_name(u))?;
    let mut momentum = vec![0.0; n * d];
    for (i, m) in momentum.iter_mut().enumerate() {
        *m = adv.values[i] + gp.values[i] - nu * lap.values[i];
    }
    Ok((
        Array {
            name: "momentum_source".into(),
            components: d,
            values: momentum,
        },
        Array {
            name: "continuity_source".into(),
            components: 1,
            values: div.values.clone(),
        },
    ))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Bytes of memory available, from /proc/meminfo (16 GiB where that cannot be read).
fn available_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(16 << 30, |kb| kb * 1024)
}

/// A progress bar that appears only once the work has taken more than a second.
struct Bar {
    bar: ProgressBar,
    start: Instant,
    shown: AtomicBool,
    quiet: bool,
}

impl Bar {
    fn new(quiet: bool, total: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(
            "{bar:40} {percent:>3}% {human_pos}/{human_len} points  eta {eta}",
        ) {
            bar.set_style(style);
        }
        Bar {
            bar,
            start: Instant::now(),
            shown: AtomicBool::new(false),
            quiet,
        }
    }

    fn inc(&self, k: usize) {
        if !self.quiet
            && self.start.elapsed() > Duration::from_secs(1)
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        self.bar.inc(k as u64);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
