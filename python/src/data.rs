//! Derivatives of data: values at scattered points, or the arrays of a mesh, reconstructed
//! as the case files do (`[reconstruction]`) and differentiated exactly.

use numpy::{PyReadonlyArray2, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use nabla::eval::{EvalOptions, Operator, Points, evaluate};
use nabla::field::data::{DataField, Location, Reconstruction, Weights, mesh_samples};
use nabla::io::geometry::cell_centres;

use crate::arrays::{arrays_dict, operators, points, rows, values};
use crate::errors::{OrRaise, argument, to_py};
use crate::mesh::Mesh;

/// `[reconstruction]`'s settings from keyword arguments.
fn reconstruction(
    degree: usize,
    neighbours: Option<usize>,
    weights: &str,
    dim: Option<usize>,
) -> PyResult<Reconstruction> {
    let weights = match weights {
        "gaussian" => Weights::Gaussian,
        "uniform" => Weights::Uniform,
        w => {
            return Err(argument(format!(
                "weights = '{w}'; expected 'gaussian' or 'uniform'"
            )));
        }
    };
    Ok(Reconstruction {
        degree,
        neighbours,
        weights,
        dim,
    })
}

/// What the reconstruction did, as a dict.
fn stats<'py>(
    py: Python<'py>,
    f: &DataField,
    extra: &[(&str, String)],
) -> PyResult<Bound<'py, PyDict>> {
    let s = f.stats();
    let d = PyDict::new(py);
    d.set_item("points", s.points)?;
    d.set_item("extrapolated", s.extrapolated)?;
    d.set_item("grown", s.grown)?;
    d.set_item("lowered", s.lowered)?;
    d.set_item("outside", s.outside)?;
    d.set_item("samples", f.num_samples())?;
    d.set_item("merged", f.merged())?;
    d.set_item("neighbours", f.neighbours())?;
    let axes: String = f.axes().iter().map(|&a| ['x', 'y', 'z'][a]).collect();
    d.set_item("axes", axes)?;
    d.set_item("reduction", f.reduction())?;
    for (k, v) in extra {
        d.set_item(*k, v)?;
    }
    Ok(d)
}

/// Evaluates `field` at `at` with the GIL released.
fn run(
    py: Python<'_>,
    field: &DataField,
    at: &Points,
    ops: &[Operator],
    name: &str,
    chunk_size: usize,
) -> PyResult<Vec<nabla::eval::Array>> {
    let opts = EvalOptions {
        field_name: name,
        chunk_size,
        ..EvalOptions::default()
    };
    py.detach(|| evaluate(field, at, ops, &opts)).or_raise()
}

/// Seconds since `t`.
fn since(t: std::time::Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// Derivatives of values at scattered points. Returns (arrays, stats).
#[pyfunction]
#[pyo3(signature = (points_, values_, ops, at, name, degree, neighbours, weights, dim, chunk_size))]
#[allow(clippy::too_many_arguments)]
pub fn cloud_derivatives<'py>(
    py: Python<'py>,
    points_: PyReadonlyArray2<'py, f64>,
    values_: PyReadonlyArrayDyn<'py, f64>,
    ops: Vec<String>,
    at: Option<PyReadonlyArray2<'py, f64>>,
    name: &str,
    degree: usize,
    neighbours: Option<usize>,
    weights: &str,
    dim: Option<usize>,
    chunk_size: usize,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyDict>)> {
    let ops = operators(&ops)?;
    let opts = reconstruction(degree, neighbours, weights, dim)?;
    let (pos, d) = rows("points", &points_)?;
    let (vals, m) = values("values", &values_)?;
    let at = match &at {
        Some(a) => points("at", a)?,
        None => Points::from_columns((0..d).map(|k| pos.iter().map(|p| p[k]).collect()).collect())
            .or_raise()?,
    };
    let t = std::time::Instant::now();
    let field = py
        .detach(|| DataField::new(&pos, d, vals, m, &opts))
        .or_raise()?;
    let out = run(py, &field, &at, &ops, name, chunk_size)?;
    let seconds = since(t);
    let info = stats(py, &field, &[])?;
    info.set_item("seconds", seconds)?;
    Ok((arrays_dict(py, out)?, info))
}

/// Derivatives of arrays of a mesh, sampled as the CLI samples them. `at` is "auto",
/// "points", "cells" or an `(N, d)` array. Returns (arrays, stats, where evaluated).
#[pyfunction]
#[pyo3(signature = (mesh, names, ops, at, samples, stencil, name, degree, neighbours, weights, dim, chunk_size))]
#[allow(clippy::too_many_arguments)]
pub fn mesh_derivatives<'py>(
    py: Python<'py>,
    mesh: &Mesh,
    names: Vec<String>,
    ops: Vec<String>,
    at: &Bound<'py, PyAny>,
    samples: Option<&str>,
    stencil: Option<&str>,
    name: &str,
    degree: usize,
    neighbours: Option<usize>,
    weights: &str,
    dim: Option<usize>,
    chunk_size: usize,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyDict>, String)> {
    let ops = operators(&ops)?;
    let opts = reconstruction(degree, neighbours, weights, dim)?;
    let asked = match samples {
        None => None,
        Some("cells") => Some(Location::Cells),
        Some("points") => Some(Location::Points),
        Some(s) => {
            return Err(argument(format!(
                "samples = '{s}'; expected 'cells' or 'points'"
            )));
        }
    };
    let rings = match stencil {
        None => None,
        Some("rings") => Some(true),
        Some("nearest") => Some(false),
        Some(s) => {
            return Err(argument(format!(
                "stencil = '{s}'; expected 'rings' or 'nearest'"
            )));
        }
    };
    let m = &mesh.mesh;
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let location = Location::choose(m, &names, asked).map_err(argument)?;
    let t = std::time::Instant::now();
    let (at_points, evaluated) = evaluation_points(m, mesh.dim, at, location)?;
    // Evaluated at its own samples (the points of point data, the centres of cell data),
    // every point has data: the cells' test is not built (as on the command line).
    let own_samples = evaluated
        == match location {
            Location::Cells => "cells",
            Location::Points => "points",
        };
    let (field, where_at) = py
        .detach(|| -> nabla::Result<_> {
            let s = mesh_samples(m, &names, location)?;
            let mut field = DataField::new(&s.points, mesh.dim, &s.values, s.components, &opts)?;
            if let Some(c) = m.cells.as_ref().filter(|_| !own_samples) {
                field = field.within(&m.points, c)?;
            }
            let rings = rings.unwrap_or(location == Location::Points);
            if let Some(c) = s.neighbours.as_ref().filter(|_| rings) {
                field = field.with_cells(c)?;
            }
            Ok((field, location))
        })
        .map_err(to_py)?;
    let out = run(py, &field, &at_points, &ops, name, chunk_size)?;
    let seconds = since(t);
    let extra = [(
        "samples_at",
        match where_at {
            Location::Cells => "cells".to_string(),
            Location::Points => "points".to_string(),
        },
    )];
    let info = stats(py, &field, &extra)?;
    info.set_item("seconds", seconds)?;
    Ok((arrays_dict(py, out)?, info, evaluated))
}

/// The evaluation points of `at` and what they are: "points", "cells" or "given".
fn evaluation_points(
    m: &nabla::io::Mesh,
    dim: usize,
    at: &Bound<'_, PyAny>,
    samples: Location,
) -> PyResult<(Points, String)> {
    let choice = match at.extract::<String>() {
        Ok(s) => s,
        Err(_) => {
            let a: PyReadonlyArray2<f64> = at.extract()?;
            return Ok((points("at", &a)?, "given".into()));
        }
    };
    let cells = match choice.as_str() {
        "auto" => samples == Location::Cells,
        "cells" => true,
        "points" => false,
        s => {
            return Err(argument(format!(
                "at = '{s}'; expected 'auto', 'points', 'cells' or an (N, d) array"
            )));
        }
    };
    let rows = if cells {
        if m.num_cells() == 0 {
            return Err(argument("at = 'cells' but the mesh has no cells"));
        }
        cell_centres(m)
    } else {
        m.points.clone()
    };
    let cols = (0..dim)
        .map(|k| rows.iter().map(|p| p[k]).collect())
        .collect();
    let p = Points::from_columns(cols).map_err(to_py)?;
    Ok((p, if cells { "cells" } else { "points" }.into()))
}

/// The names of every operator, in the library's order.
#[pyfunction]
pub fn operator_names() -> Vec<&'static str> {
    Operator::ALL.iter().map(|o| o.name()).collect()
}
