//! Integration tests: one module per area.

// Index loops read like the formulas they check.
#![allow(clippy::needless_range_loop)]

mod autodiff;
mod expr;
mod operators;
mod pinn;
