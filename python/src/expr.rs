//! Fields from expressions (the case files' syntax), evaluated with operators at points.

use numpy::PyReadonlyArray2;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use nabla::eval::EvalOptions;
use nabla::field::expr::{Definitions, ExprField};

use crate::arrays::{arrays_dict, operators, points};
use crate::errors::{OrRaise, raise};

/// Evaluates the field of `components` (one expression each) with `ops` at `at`.
#[pyfunction]
#[pyo3(signature = (components, at, ops, constants, definitions, time, name, chunk_size))]
#[allow(clippy::too_many_arguments)]
pub fn evaluate<'py>(
    py: Python<'py>,
    components: Vec<String>,
    at: PyReadonlyArray2<'py, f64>,
    ops: Vec<String>,
    constants: Vec<(String, f64)>,
    definitions: Vec<(String, String)>,
    time: f64,
    name: &str,
    chunk_size: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let ops = operators(&ops)?;
    let at = points("at", &at)?;
    let constants: Vec<(&str, f64)> = constants.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let defs = Definitions::new(&definitions, &constants)
        .map_err(|e| raise("ExpressionError", format!("definitions: {}", e.message())))?;
    let field = ExprField::with_definitions(&components, at.dim(), time, &constants, &defs)
        .map_err(|e| raise("ExpressionError", e.to_string()))?;
    let opts = EvalOptions {
        field_name: name,
        chunk_size,
        ..EvalOptions::default()
    };
    let out = py
        .detach(|| nabla::eval::evaluate(&field, &at, &ops, &opts))
        .or_raise()?;
    arrays_dict(py, out)
}
