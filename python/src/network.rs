//! Trained physics-informed networks, from a checkpoint, evaluated with operators.

use std::path::PathBuf;

use numpy::{PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use nabla::autodiff::{Tape, Var};
use nabla::eval::{EvalOptions, evaluate};
use nabla::field::Field;
use nabla::pinn::{Checkpoint, Mlp};

use numpy::PyArrayMethods;

use crate::arrays::{arrays_dict, operators, points};
use crate::errors::{OrRaise, argument};

/// A trained network (see `nabla.Network` in Python for the documentation).
#[pyclass(module = "nabla", frozen)]
pub struct Network {
    mlp: Mlp,
    unknowns: Vec<f64>,
    steps: usize,
}

/// Some outputs of a network, as a field.
struct Outputs<'a> {
    mlp: &'a Mlp,
    which: &'a [usize],
}

impl Field for Outputs<'_> {
    fn components(&self) -> usize {
        self.which.len()
    }

    fn eval<'t>(&self, tape: &'t Tape, x: &[Var<'t>]) -> Vec<Var<'t>> {
        let all = self.mlp.eval(tape, x);
        self.which.iter().map(|&c| all[c]).collect()
    }
}

#[pymethods]
impl Network {
    /// Loads the network of a checkpoint file (`VTK/checkpoint.json` of a case).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let c = py.detach(|| Checkpoint::load(&path)).or_raise()?;
        Ok(Network {
            steps: c.history.len(),
            mlp: c.mlp,
            unknowns: c.unknowns,
        })
    }

    /// Number of inputs (coordinates, with time where the network takes it).
    #[getter]
    fn inputs(&self) -> usize {
        self.mlp.input_dim()
    }

    /// Number of outputs.
    #[getter]
    fn outputs(&self) -> usize {
        self.mlp.outputs()
    }

    /// Number of trained parameters.
    #[getter]
    fn num_params(&self) -> usize {
        self.mlp.num_params()
    }

    /// The trained unknown coefficients of an equations problem, in the case's order.
    #[getter]
    fn unknowns(&self) -> Vec<f64> {
        self.unknowns.clone()
    }

    /// Records in the training history.
    #[getter]
    fn history_len(&self) -> usize {
        self.steps
    }

    /// Outputs at points `(N, inputs)`: `(N, outputs)`.
    fn predict<'py>(
        &self,
        py: Python<'py>,
        at: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let shape = at.shape().to_vec();
        let s = at
            .as_slice()
            .map_err(|_| argument("at: expected a C-contiguous float64 array"))?;
        let d = shape[1];
        let cols: Vec<Vec<f64>> = (0..d)
            .map(|k| s.iter().skip(k).step_by(d.max(1)).copied().collect())
            .collect();
        let out = py.detach(|| self.mlp.predict(&cols)).or_raise()?;
        let n = shape[0];
        let m = out.len();
        let mut rows = Vec::with_capacity(n * m);
        for i in 0..n {
            rows.extend(out.iter().map(|c| c[i]));
        }
        Ok(numpy::PyArray1::from_vec(py, rows)
            .reshape([n, m])?
            .into_any())
    }

    /// Operators of the outputs `components` (default all) at points `(N, inputs)`.
    #[pyo3(signature = (at, ops, components, name, chunk_size))]
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        at: PyReadonlyArray2<'py, f64>,
        ops: Vec<String>,
        components: Option<Vec<usize>>,
        name: &str,
        chunk_size: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        let ops = operators(&ops)?;
        let at = points("at", &at)?;
        if at.dim() != self.mlp.input_dim() {
            return Err(argument(format!(
                "at: points of {} coordinates for a network of {} inputs",
                at.dim(),
                self.mlp.input_dim()
            )));
        }
        let which = components.unwrap_or_else(|| (0..self.mlp.outputs()).collect());
        if let Some(&c) = which.iter().find(|&&c| c >= self.mlp.outputs()) {
            return Err(argument(format!(
                "components: output {c} of a network of {} outputs",
                self.mlp.outputs()
            )));
        }
        if which.is_empty() {
            return Err(argument("components: an empty list"));
        }
        let field = Outputs {
            mlp: &self.mlp,
            which: &which,
        };
        let opts = EvalOptions {
            field_name: name,
            chunk_size,
            ..EvalOptions::default()
        };
        let out = py
            .detach(|| evaluate(&field, &at, &ops, &opts))
            .or_raise()?;
        arrays_dict(py, out)
    }

    fn __repr__(&self) -> String {
        format!(
            "Network({} inputs, {} outputs, {} parameters)",
            self.mlp.input_dim(),
            self.mlp.outputs(),
            self.mlp.num_params()
        )
    }
}
