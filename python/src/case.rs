//! Case directories, run as the command line runs them.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use nabla::case::{self, RunOptions};

use crate::errors::OrRaise;

/// Runs the case in `dir`; returns its summary as a dict.
#[pyfunction]
#[pyo3(signature = (dir, quiet, strict, resume, evaluate_only, output))]
pub fn run_case<'py>(
    py: Python<'py>,
    dir: PathBuf,
    quiet: bool,
    strict: bool,
    resume: bool,
    evaluate_only: bool,
    output: Option<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let opts = RunOptions {
        quiet,
        strict,
        resume,
        evaluate_only,
        output,
        ..RunOptions::default()
    };
    let s = py.detach(|| case::run(&dir, &opts)).or_raise()?;
    let d = PyDict::new(py);
    d.set_item("name", &s.name)?;
    d.set_item("description", &s.description)?;
    d.set_item("points", s.points)?;
    d.set_item("seconds", s.seconds)?;
    let rows = PyList::empty(py);
    for r in &s.rows {
        let row = PyDict::new(py);
        row.set_item("time", r.time)?;
        row.set_item("array", &r.array)?;
        row.set_item("components", r.components)?;
        row.set_item("max_error", r.max_error)?;
        row.set_item("rms_error", r.rms_error)?;
        row.set_item("seconds", r.seconds)?;
        row.set_item("points_per_second", r.points_per_second)?;
        row.set_item("non_finite", r.non_finite)?;
        rows.append(row)?;
    }
    d.set_item("rows", rows)?;
    let files: Vec<String> = s.files.iter().map(|f| f.display().to_string()).collect();
    d.set_item("files", files)?;
    d.set_item("notes", &s.notes)?;
    d.set_item("warnings", s.warnings())?;
    d.set_item("text", s.to_string())?;
    Ok(d)
}
