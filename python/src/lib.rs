//! `nabla._nabla`: the compiled half of the Python package `nabla`.
//!
//! Each function here takes numpy arrays that the Python half (`nabla/__init__.py`) has
//! made contiguous f64 (a no-op for arrays that already are), borrows them without a copy
//! where the library can read them in place, releases the GIL while the library (and its
//! rayon threads) works, and hands results back as numpy arrays that own the library's
//! buffers. nabla's errors become the exception classes of `nabla.errors`, with the same
//! messages.

use pyo3::prelude::*;

mod arrays;
mod case;
mod data;
mod errors;
mod expr;
mod mesh;
mod network;

/// The compiled module; its functions are wrapped, documented and typed by `nabla`.
#[pymodule]
fn _nabla(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(data::cloud_derivatives, m)?)?;
    m.add_function(wrap_pyfunction!(data::mesh_derivatives, m)?)?;
    m.add_function(wrap_pyfunction!(expr::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(mesh::read, m)?)?;
    m.add_function(wrap_pyfunction!(mesh::write, m)?)?;
    m.add_function(wrap_pyfunction!(case::run_case, m)?)?;
    m.add_function(wrap_pyfunction!(data::operator_names, m)?)?;
    m.add_class::<mesh::Mesh>()?;
    m.add_class::<network::Network>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
