//! nabla: exact differential operators of fields on point clouds and meshes.

pub mod autodiff;
pub mod error;
pub mod eval;
pub mod field;
pub mod operators;
pub mod pinn;

pub use error::{Error, Result};
