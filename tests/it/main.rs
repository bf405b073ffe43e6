//! Integration tests: one module per area.

// Index loops read like the formulas they check.
#![allow(clippy::needless_range_loop)]

#[path = "../common/mod.rs"]
mod common;

mod autodiff;
mod cases;
mod data;
mod definitions;
mod expr;
mod forward;
mod hostile;
mod io;
mod openfoam;
mod operators;
mod output;
mod pieces;
mod pinn;
mod pinn_conditions;
mod pinn_equations;
mod pinn_lbfgs;
mod pinn_output;
mod pinn_refine;
mod pinn_terms;
mod plot;
mod reference;
mod sampling;
mod series;
mod solver;
mod usability;
mod valid;
