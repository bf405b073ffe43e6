//! Meshes: read from the files nabla reads (VTK, CSV, OpenFOAM case directories), built
//! from arrays (a VTK or pyvista dataset's), and written as VTK files.

use std::path::PathBuf;

use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use nabla::io::{self, Cells, PointArray};

use crate::arrays::{rows, to_numpy, values};
use crate::errors::{OrRaise, argument};

/// A mesh or point cloud with its arrays, as nabla holds it.
#[pyclass(module = "nabla", frozen)]
pub struct Mesh {
    pub mesh: io::Mesh,
    /// 2 for points without a z coordinate, else 3.
    pub dim: usize,
}

/// Arrays of a dict `{name: (n,) or (n, m) array}`, each of `n` values per component.
fn arrays(what: &str, d: Option<&Bound<'_, PyDict>>, n: usize) -> PyResult<Vec<PointArray>> {
    let mut out = Vec::new();
    let Some(d) = d else { return Ok(out) };
    for (k, v) in d.iter() {
        let name: String = k.extract()?;
        let a: PyReadonlyArrayDyn<f64> = v.extract()?;
        let (vals, m) = values(&format!("{what}['{name}']"), &a)?;
        if m == 0 || vals.len() != n * m {
            return Err(argument(format!(
                "{what}['{name}']: {} values of {m} components; expected {n} rows",
                vals.len()
            )));
        }
        out.push(PointArray::new(name, m, vals.to_vec()));
    }
    Ok(out)
}

fn dict_of<'py>(py: Python<'py>, arrays: &[PointArray]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for a in arrays {
        d.set_item(&a.name, to_numpy(py, a.values.clone(), a.components)?)?;
    }
    Ok(d)
}

#[pymethods]
impl Mesh {
    /// A mesh from arrays (see `nabla.Mesh` in Python for the documentation).
    #[new]
    #[pyo3(signature = (points, connectivity=None, offsets=None, types=None, point_data=None, cell_data=None))]
    fn new(
        points: PyReadonlyArray2<'_, f64>,
        connectivity: Option<PyReadonlyArray1<'_, u64>>,
        offsets: Option<PyReadonlyArray1<'_, u64>>,
        types: Option<PyReadonlyArray1<'_, u8>>,
        point_data: Option<&Bound<'_, PyDict>>,
        cell_data: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let (pos, dim) = rows("points", &points)?;
        let n = pos.len();
        let cells = match (connectivity, offsets, types) {
            (None, None, None) => None,
            (Some(c), Some(o), Some(t)) => {
                let cells = Cells {
                    connectivity: c.as_slice()?.to_vec(),
                    offsets: o.as_slice()?.to_vec(),
                    types: t.as_slice()?.to_vec(),
                    ..Cells::default()
                };
                cells
                    .check(n)
                    .map_err(|e| argument(format!("cells: {e}")))?;
                if let Some(c) = cells.types.iter().position(|&t| t == 42) {
                    return Err(argument(format!(
                        "cells: cell {c} is a polyhedron (VTK type 42); give its file to \
                         nabla.read, which reads polyhedra with their faces"
                    )));
                }
                Some(cells)
            }
            _ => {
                return Err(argument(
                    "cells: give connectivity, offsets and types together, or none of them",
                ));
            }
        };
        let num_cells = cells.as_ref().map_or(0, Cells::len);
        if cell_data.is_some_and(|d| !d.is_empty()) && cells.is_none() {
            return Err(argument("cell_data without cells"));
        }
        let mesh = io::Mesh {
            points: pos.into_owned(),
            cells,
            point_data: arrays("point_data", point_data, n)?,
            cell_data: arrays("cell_data", cell_data, num_cells)?,
            patches: Vec::new(),
        };
        Ok(Mesh { mesh, dim })
    }

    /// Point coordinates, `(N, 3)`.
    #[getter]
    fn points<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_numpy(py, self.mesh.points.as_flattened().to_vec(), 3)
    }

    /// 2 for points without a z coordinate (a CSV file's), else 3.
    #[getter]
    fn dim(&self) -> usize {
        self.dim
    }

    #[getter]
    fn num_points(&self) -> usize {
        self.mesh.points.len()
    }

    #[getter]
    fn num_cells(&self) -> usize {
        self.mesh.num_cells()
    }

    /// `{name: array}` of the point data.
    #[getter]
    fn point_data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict_of(py, &self.mesh.point_data)
    }

    /// `{name: array}` of the cell data.
    #[getter]
    fn cell_data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict_of(py, &self.mesh.cell_data)
    }

    /// `(connectivity, offsets, types)`, offsets the end of each cell; None without cells.
    #[getter]
    fn cells<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(c) = &self.mesh.cells else {
            return Ok(None);
        };
        let conn = numpy::PyArray1::from_slice(py, &c.connectivity);
        let offs = numpy::PyArray1::from_slice(py, &c.offsets);
        let types = numpy::PyArray1::from_slice(py, &c.types);
        Ok(Some((conn, offs, types).into_pyobject(py)?.into_any()))
    }

    /// The boundary patches: `[{"name", "faces", "arrays", "conditions"}]`.
    #[getter]
    fn patches<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for p in &self.mesh.patches {
            let d = PyDict::new(py);
            d.set_item("name", &p.name)?;
            d.set_item("faces", p.faces.len())?;
            d.set_item("arrays", dict_of(py, &p.face_data)?)?;
            let cond = PyDict::new(py);
            for (a, c) in &p.conditions {
                cond.set_item(a, c)?;
            }
            d.set_item("conditions", cond)?;
            list.append(d)?;
        }
        Ok(list)
    }

    /// The cell centres, `(num_cells, 3)`, as nabla computes them (where the cell values
    /// of a finite-volume solver sit).
    fn cell_centres<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let c = io::geometry::cell_centres(&self.mesh);
        to_numpy(py, c.as_flattened().to_vec(), 3)
    }

    fn __repr__(&self) -> String {
        let names = |a: &[PointArray]| {
            a.iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "Mesh({} points, {} cells, point data [{}], cell data [{}], {} patches)",
            self.mesh.points.len(),
            self.mesh.num_cells(),
            names(&self.mesh.point_data),
            names(&self.mesh.cell_data),
            self.mesh.patches.len()
        )
    }
}

/// Reads a VTK file, a CSV file or an OpenFOAM case directory.
#[pyfunction]
#[pyo3(signature = (path, time=None))]
pub fn read(py: Python<'_>, path: PathBuf, time: Option<String>) -> PyResult<Mesh> {
    if time.is_some() && io::openfoam_dir(&path).is_none() {
        return Err(argument(format!(
            "time = {:?}: {} is not an OpenFOAM case directory; only those have times",
            time.unwrap_or_default(),
            path.display()
        )));
    }
    let (mesh, dim) = py
        .detach(|| io::read_any(&path, time.as_deref()))
        .or_raise()?;
    Ok(Mesh { mesh, dim })
}

/// Writes `mesh` with `arrays` as point data (and `cell_arrays` beside its cell data):
/// `.vtu` (with its cells and cell data) or `.vtp` (the points).
#[pyfunction]
#[pyo3(signature = (path, mesh, arrays=None, cell_arrays=None))]
pub fn write(
    py: Python<'_>,
    path: PathBuf,
    mesh: &Mesh,
    arrays: Option<&Bound<'_, PyDict>>,
    cell_arrays: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    let arrays = self::arrays("arrays", arrays, mesh.mesh.points.len())?;
    let extra = self::arrays("cell_arrays", cell_arrays, mesh.mesh.num_cells())?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !extra.is_empty() && (ext == "vtp" || mesh.mesh.num_cells() == 0) {
        return Err(argument(
            "cell_arrays: a mesh with cells written as .vtu has cell data; this has none",
        ));
    }
    py.detach(|| match ext {
        "vtp" => io::write_vtp(&path, &mesh.mesh.points, &arrays),
        _ if extra.is_empty() => io::write_vtu(&path, &mesh.mesh, &arrays),
        _ => {
            let mut with = mesh.mesh.clone();
            with.cell_data
                .retain(|a| extra.iter().all(|e| e.name != a.name));
            with.cell_data.extend(extra);
            io::write_vtu(&path, &with, &arrays)
        }
    })
    .or_raise()
}
