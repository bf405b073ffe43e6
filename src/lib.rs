//! nabla: exact differential operators of fields on point clouds and meshes.

pub mod autodiff;
pub mod case;
pub mod error;
pub mod eval;
pub mod field;
pub mod io;
pub mod operators;

pub use error::{Error, Result};
