//! Integration tests: one module per area.

mod autodiff;
mod io;
