//! numpy arrays in and out: shapes checked with messages that say what was expected,
//! inputs borrowed in place, outputs handed over without a copy.

use std::borrow::Cow;

use numpy::{
    PyArray1, PyArrayMethods, PyReadonlyArray2, PyReadonlyArrayDyn, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use nabla::eval::{Array, Operator, Points};

use crate::errors::argument;

/// The slice of a contiguous array, or an error naming the argument.
fn slice<'a>(what: &str, s: Result<&'a [f64], numpy::AsSliceError>) -> PyResult<&'a [f64]> {
    s.map_err(|_| argument(format!("{what}: expected a C-contiguous float64 array")))
}

/// Sample positions `(N, 2)` or `(N, 3)` as `[x, y, z]` rows and their dimension: an
/// `(N, 3)` array is read in place; `(N, 2)` gets z = 0.
pub fn rows<'a>(
    what: &str,
    a: &'a PyReadonlyArray2<'_, f64>,
) -> PyResult<(Cow<'a, [[f64; 3]]>, usize)> {
    let [n, d] = [a.shape()[0], a.shape()[1]];
    let s = slice(what, a.as_slice())?;
    match d {
        3 => {
            let (rows, rest) = s.as_chunks::<3>();
            debug_assert!(rest.is_empty() && rows.len() == n);
            Ok((Cow::Borrowed(rows), 3))
        }
        2 => Ok((
            Cow::Owned(s.chunks_exact(2).map(|p| [p[0], p[1], 0.0]).collect()),
            2,
        )),
        _ => Err(argument(format!(
            "{what}: an array of shape ({n}, {d}); expected (N, 2) or (N, 3) coordinates"
        ))),
    }
}

/// Evaluation points `(N, d)`, d = 1 to 3, as the evaluator's coordinate columns.
pub fn points(what: &str, a: &PyReadonlyArray2<'_, f64>) -> PyResult<Points> {
    let [n, d] = [a.shape()[0], a.shape()[1]];
    if !(1..=3).contains(&d) {
        return Err(argument(format!(
            "{what}: an array of shape ({n}, {d}); expected (N, 1), (N, 2) or (N, 3) coordinates"
        )));
    }
    let s = slice(what, a.as_slice())?;
    let cols = (0..d)
        .map(|k| s.iter().skip(k).step_by(d).copied().collect())
        .collect();
    Points::from_columns(cols).map_err(crate::errors::to_py)
}

/// Values `(N,)` or `(N, m)`: the point-major slice and m.
pub fn values<'a>(what: &str, a: &'a PyReadonlyArrayDyn<'_, f64>) -> PyResult<(&'a [f64], usize)> {
    let shape = a.shape();
    let m = match shape {
        [_] => 1,
        [_, m] => *m,
        _ => {
            return Err(argument(format!(
                "{what}: an array of shape {shape:?}; expected (N,) or (N, components)"
            )));
        }
    };
    Ok((slice(what, a.as_slice())?, m))
}

/// A numpy array that owns `values`: shape `(N,)` for one component, else `(N, c)`.
pub fn to_numpy(py: Python<'_>, values: Vec<f64>, components: usize) -> PyResult<Bound<'_, PyAny>> {
    let n = values.len() / components.max(1);
    let flat = PyArray1::from_vec(py, values);
    if components == 1 {
        Ok(flat.into_any())
    } else {
        Ok(flat.reshape([n, components])?.into_any())
    }
}

/// The evaluator's arrays as a dict, by name, in the order asked.
pub fn arrays_dict<'py>(py: Python<'py>, arrays: Vec<Array>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for a in arrays {
        d.set_item(a.name, to_numpy(py, a.values, a.components)?)?;
    }
    Ok(d)
}

/// Operators by their case-file names (`grad`, `Q`, `lambda2`, `laplacian`, …).
pub fn operators(names: &[String]) -> PyResult<Vec<Operator>> {
    names
        .iter()
        .map(|n| {
            let alias = match n.as_str() {
                "laplacian" => "lap",
                "q" => "Q",
                "q_openfoam" => "Q_openfoam",
                other => other,
            };
            Operator::ALL
                .into_iter()
                .find(|o| o.name() == alias)
                .ok_or_else(|| {
                    let all: Vec<&str> = Operator::ALL.iter().map(|o| o.name()).collect();
                    argument(format!(
                        "unknown operator '{n}'; expected one of {}",
                        all.join(", ")
                    ))
                })
        })
        .collect()
}
