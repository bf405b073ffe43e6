//! Integration tests: one module per area.

mod autodiff;
mod expr;
mod operators;
