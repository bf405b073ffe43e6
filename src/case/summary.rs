//! The summary of a run: one row per output array with its errors against the exact
//! answer, the table printed at the end, and the recording of arrays and rows.

use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::eval::{Array, EvalOptions, Operator, Points, evaluate};
use crate::field::expr::ExprField;
use crate::io::PointArray;

/// What an output array is compared with.
pub(super) enum Reference<'a> {
    /// An exact answer.
    Exact(&'a ExprField),
    /// An array of the data file (another code's result), at the same points.
    Array(&'a PointArray),
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
    /// Seconds spent evaluating this array: the field's forward pass and the backward
    /// passes its operator needs; `None` for arrays combined from others (source terms).
    pub seconds: Option<f64>,
    /// Points per second of that evaluation.
    pub points_per_second: Option<f64>,
    /// Values of the array (and of its error array) that are NaN or infinite.
    pub non_finite: usize,
    /// The first of them: point index, its coordinates and the value.
    pub first_non_finite: Option<(usize, [f64; 3], f64)>,
}

impl Row {
    /// A line saying where the array has values that are not finite, if it has any.
    pub fn non_finite_note(&self, points: usize) -> Option<String> {
        let (i, p, v) = self.first_non_finite?;
        Some(format!(
            "{} at t = {:?}: {} of {} values are not finite (NaN or infinite); the first is {v:?} \
             at point {i}, (x, y, z) = ({:?}, {:?}, {:?})",
            self.array,
            self.time,
            self.non_finite,
            points * self.components,
            p[0],
            p[1],
            p[2]
        ))
    }
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
    /// `loss.csv`, `loss.png` and `loss.svg`).
    pub files: Vec<PathBuf>,
    /// Lines printed after the table: the training and its relative L2 errors.
    pub notes: Vec<String>,
    /// Warnings about the run itself rather than an array: a training whose loss did not
    /// fall by the case's `min_loss_reduction`.
    pub run_warnings: Vec<String>,
    /// Wall time of the whole run.
    pub seconds: f64,
}

impl Summary {
    /// One line for each array that has values that are not finite (NaN or infinite),
    /// with the first of them, then the [`Summary::run_warnings`]; empty when every value
    /// written is finite and the run has nothing to warn about.
    pub fn warnings(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter_map(|r| r.non_finite_note(self.points))
            .chain(self.run_warnings.iter().cloned())
            .collect()
    }
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
            "(time: per field, on its first row: the field and all its operators, which share \
             their derivative passes; \"-\" = included there)"
        )?;
        for file in &self.files {
            writeln!(f, "wrote {}", file.display())?;
        }
        for note in &self.notes {
            writeln!(f, "{note}")?;
        }
        for w in self.warnings() {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}

/// Collects the output arrays of one time and the rows of all times.
pub(super) struct Recorder<'p> {
    points: &'p Points,
    chunk_size: usize,
    /// `--strict`: a value that is not finite is an error, before anything is written.
    strict: bool,
    /// The points (the first ones) whose values count in the errors and non-finite
    /// counts: all, or a rank's own when its piece also holds the next piece's first plane.
    owned: usize,
    /// Where the points sit among all ranks' points: the index of the first, or each
    /// point's index (a mesh's piece); so that the first value that is not finite is
    /// named by its index among all points.
    start: usize,
    global: Option<&'p [usize]>,
    /// Which points lie within one cell of the mesh's boundary, where the points are a
    /// mesh's: errors and differences are then split into interior and boundary.
    near: Option<&'p [bool]>,
    /// The arrays of the current time, in output order.
    pub(super) arrays: Vec<Array>,
    /// The rows so far, in output order.
    pub(super) rows: Vec<Row>,
    /// The differences from compared arrays, for the summary's notes.
    pub(super) differences: Vec<Difference>,
}

/// How far a computed array is from the data file's array it is compared with, over a
/// rank's own points: sums of squares, so that ranks add them up.
#[derive(Clone, Debug)]
pub(super) struct Difference {
    /// The time of the evaluation.
    pub(super) time: f64,
    /// The computed array's name.
    pub(super) array: String,
    /// The data file's array's name, or `None` for the exact answer.
    pub(super) input: Option<String>,
    /// Σ (computed − input)² and Σ input², over the points and components, in the
    /// interior, then near the boundary (all points count as interior without a mesh).
    pub(super) squares: [f64; 4],
    /// Whether the points were split into interior and boundary.
    pub(super) split: bool,
}

impl Difference {
    /// The summary's note: the relative L2 difference (from an input array) or error
    /// (from the exact answer), with its interior and boundary parts where the points
    /// were split.
    pub(super) fn note(&self) -> String {
        let [ei, ri, eb, rb] = self.squares;
        let rel = |e: f64, r: f64| format!("{:.3e}", e.sqrt() / r.sqrt());
        let mut s = match &self.input {
            Some(input) => format!(
                "relative L2 difference of {} from the input's {input} at t = {}: {}",
                self.array,
                self.time,
                rel(ei + eb, ri + rb)
            ),
            None => format!(
                "relative L2 error of {} at t = {}: {}",
                self.array,
                self.time,
                rel(ei + eb, ri + rb)
            ),
        };
        if self.split {
            s += &format!(
                " (interior {}, within one cell of the boundary {})",
                rel(ei, ri),
                rel(eb, rb)
            );
        }
        s
    }

    /// Whether the note says anything: a reference that is not zero everywhere.
    pub(super) fn meaningful(&self) -> bool {
        self.squares[1] + self.squares[3] > 0.0
    }
}

impl<'p> Recorder<'p> {
    /// A recorder for arrays over `points`; exact answers are evaluated in chunks of
    /// `chunk_size` points.
    /// Only the first `owned` points count in the errors (a rank's own points).
    pub(super) fn new(points: &'p Points, chunk_size: usize, strict: bool, owned: usize) -> Self {
        Recorder {
            points,
            chunk_size,
            strict,
            owned: owned.min(points.len()),
            start: 0,
            global: None,
            near: None,
            arrays: Vec::new(),
            rows: Vec::new(),
            differences: Vec::new(),
        }
    }

    /// The recorder of a rank's piece: its points are all points' `start..`, or those of
    /// the indices `global` (a mesh's piece).
    pub(super) fn placed(mut self, start: usize, global: Option<&'p [usize]>) -> Self {
        (self.start, self.global) = (start, global);
        self
    }

    /// Splits errors and differences at the points flagged as within one cell of the
    /// boundary (one flag per point of the recorder).
    pub(super) fn split(mut self, near: Option<&'p [bool]>) -> Self {
        self.near = near.filter(|n| n.len() == self.points.len());
        self
    }

    /// Σ err² and Σ reference², in the interior and near the boundary, over the owned
    /// points.
    fn squares(&self, err: &[f64], reference: &[f64], c: usize) -> [f64; 4] {
        let mut s = [0.0; 4];
        for i in 0..self.owned {
            let b = self.near.is_some_and(|n| n[i]);
            let k = if b { 2 } else { 0 };
            for j in i * c..(i + 1) * c {
                s[k] += err[j] * err[j];
                s[k + 1] += reference[j] * reference[j];
            }
        }
        s
    }

    /// Keeps an output array, with its `error(…)` array and error statistics when an
    /// exact answer is given, and adds its summary row. `timing` is (seconds, points per
    /// second).
    pub(super) fn record(
        &mut self,
        a: Array,
        reference: Option<Reference<'_>>,
        time: f64,
        timing: Option<(f64, f64)>,
    ) -> Result<()> {
        let mut row = Row {
            time,
            array: a.name.clone(),
            components: a.components,
            max_error: None,
            rms_error: None,
            seconds: timing.map(|t| t.0),
            points_per_second: timing.map(|t| t.1),
            non_finite: 0,
            first_non_finite: None,
        };
        let err = match reference {
            None => None,
            Some(Reference::Exact(ex)) => {
                let (err, exact) = self.error_array(&a, ex)?;
                if self.near.is_some() {
                    self.differences.push(Difference {
                        time,
                        array: a.name.clone(),
                        input: None,
                        squares: self.squares(&err.values, &exact, a.components),
                        split: true,
                    });
                }
                Some(err)
            }
            Some(Reference::Array(r)) => {
                let err = difference(&a, &r.values);
                self.differences.push(Difference {
                    time,
                    array: a.name.clone(),
                    input: Some(r.name.clone()),
                    squares: self.squares(&err.values, &r.values, a.components),
                    split: self.near.is_some(),
                });
                Some(err)
            }
        };
        for arr in std::iter::once(&a).chain(err.as_ref()) {
            let c = arr.components.max(1);
            let mut bad = arr.values[..self.owned * arr.components]
                .iter()
                .enumerate()
                .filter(|(_, v)| !v.is_finite());
            if let Some((k, &v)) = bad.next() {
                row.non_finite += 1 + bad.count();
                if row.first_non_finite.is_none() {
                    let i = k / c;
                    let global = self.global.map_or(self.start + i, |g| g[i]);
                    row.first_non_finite = Some((global, self.points.point(i), v));
                }
            }
        }
        if self.strict && row.non_finite > 0 {
            let note = row.non_finite_note(self.points.len()).unwrap_or_default();
            return Err(Error::Operator {
                op: "--strict".into(),
                message: format!("{note}; nothing is written"),
            });
        }
        self.arrays.push(a);
        if let Some(err) = err {
            (row.max_error, row.rms_error) = stats(&err.values[..self.owned * err.components]);
            self.arrays.push(err);
        }
        self.rows.push(row);
        Ok(())
    }

    /// The arrays of the time just recorded; the next time starts with none.
    pub(super) fn take_arrays(&mut self) -> Vec<Array> {
        std::mem::take(&mut self.arrays)
    }

    /// `computed − exact`, named `error(<name>)`, and the exact values.
    fn error_array(&self, a: &Array, exact: &ExprField) -> Result<(Array, Vec<f64>)> {
        let eo = EvalOptions {
            chunk_size: self.chunk_size,
            progress: None,
            field_name: "exact",
            ..EvalOptions::default()
        };
        let ex = evaluate(exact, self.points, &[Operator::Value], &eo)?.remove(0);
        Ok((difference(a, &ex.values), ex.values))
    }
}

/// `computed − reference`, named `error(<name>)`.
fn difference(a: &Array, reference: &[f64]) -> Array {
    Array {
        name: format!("error({})", a.name),
        components: a.components,
        values: a.values.iter().zip(reference).map(|(c, e)| c - e).collect(),
    }
}

/// Largest absolute value and root mean square; NaN when any value is NaN.
fn stats(v: &[f64]) -> (Option<f64>, Option<f64>) {
    let max = v.iter().fold(0.0f64, |m, x| nan_max(m, x.abs()));
    let rms = (v.iter().map(|x| x * x).sum::<f64>() / v.len().max(1) as f64).sqrt();
    (Some(max), Some(rms))
}

/// The larger of two numbers, NaN if either is (`f64::max` would drop a NaN).
pub(super) fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}
