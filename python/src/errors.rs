//! nabla's errors as Python exceptions: the classes of `nabla.errors` (defined in Python,
//! so that each can also be the built-in exception it is a kind of: `ValueError`,
//! `OSError`), raised with the library's own message.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use nabla::Error;

/// The class of `nabla.errors` that `e` is raised as.
fn class_of(e: &Error) -> &'static str {
    match e {
        Error::Operator { .. } => "OperatorError",
        Error::Points(_) => "PointsError",
        Error::Data(_) => "DataError",
        Error::Io { .. } => "FileError",
        Error::Input { .. } => "InputError",
        Error::Config { .. } => "ConfigError",
        Error::OtherRank { .. } | Error::Ranks { .. } => "RanksError",
        _ => "AutodiffError",
    }
}

/// Raises `class` (a name in `nabla.errors`) with `message`.
pub fn raise(class: &str, message: String) -> PyErr {
    Python::attach(|py| {
        let made = py
            .import("nabla.errors")
            .and_then(|m| m.getattr(class))
            .and_then(|c| c.call1((message.clone(),)));
        match made {
            Ok(obj) => PyErr::from_value(obj),
            // The Python half is missing (the module imported on its own): still an error
            // with the message.
            Err(_) => PyRuntimeError::new_err(message),
        }
    })
}

/// `e` as the exception of its class.
pub fn to_py(e: Error) -> PyErr {
    raise(class_of(&e), e.to_string())
}

/// A `ValueError`-like error about an argument: `nabla.errors.ConfigError`.
pub fn argument(message: impl Into<String>) -> PyErr {
    raise("ConfigError", message.into())
}

/// Results of the library, their errors raised.
pub trait OrRaise<T> {
    /// The value, or the error as its exception.
    fn or_raise(self) -> PyResult<T>;
}

impl<T> OrRaise<T> for nabla::Result<T> {
    fn or_raise(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
