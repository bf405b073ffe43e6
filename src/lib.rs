//! nabla: exact differential operators of fields on point clouds and meshes.

pub mod autodiff;
pub mod error;
pub mod field;
pub mod io;

pub use error::{Error, Result};
