//! nabla: exact differential operators of fields on point clouds and meshes, by batched
//! automatic differentiation, reverse and forward mode.
//!
//! Every operator is a vector-Jacobian product `vᵀJ` with a chosen cotangent `v`: the
//! derivatives are exact, and second derivatives come from differentiating the first.
//! Forward-mode jets (value, gradient, Laplacian in one sweep) compute the same
//! derivatives with fewer recorded nodes; the evaluator picks the cheaper plan.
//!
//! # A tour
//!
//! The seed article's examples, exactly, on the [`autodiff`] core:
//! ```
//! use nabla::autodiff::{GradOptions, Tape, Tensor, grad};
//! let tape = Tape::new();
//! let x = tape.var(Tensor::scalar(1.0));
//! let y = tape.var(Tensor::scalar(2.0));
//! let f = (x + y) * (y + 3.0);
//! let g = grad(&[f], &[x, y], &[], GradOptions::default()).unwrap();
//! assert_eq!((g[0].item().unwrap(), g[1].item().unwrap()), (5.0, 8.0));
//! ```
//!
//! Operators on a batch of points ([`operators`]), here the Laplacian of
//! `f = sin(xy)·eᶻ`, which has mixed partials:
//! ```
//! use nabla::autodiff::{Tape, Tensor};
//! use nabla::operators;
//! let tape = Tape::new();
//! let x = tape.var(Tensor::column(vec![0.3, -1.0]));
//! let y = tape.var(Tensor::column(vec![0.7, 0.5]));
//! let z = tape.var(Tensor::column(vec![0.1, 0.0]));
//! let f = (x * y).sin() * z.exp();
//! let lap = operators::laplacian(f, &[x, y, z]).unwrap().value().unwrap();
//! for i in 0..2 {
//!     let (x, y, z): (f64, f64, f64) = ([0.3, -1.0][i], [0.7, 0.5][i], [0.1, 0.0][i]);
//!     let exact = (1.0 - x * x - y * y) * (x * y).sin() * f64::exp(z);
//!     assert!((lap[(i, 0)] - exact).abs() < 1e-15);
//! }
//! ```
//!
//! Many operators of one field over many points, in parallel ([`eval`]):
//! ```
//! use nabla::eval::{EvalOptions, Operator, Points, evaluate};
//! use nabla::field::FnField;
//! // Solid-body rotation u = (−y, x): curl 2, divergence 0, Q = 1.
//! let u = FnField::new(2, |x| vec![-x[1], x[0]]);
//! let pts = Points::from_rows(2, &[[0.0, 1.0, 0.0], [2.0, -3.0, 0.0]]).unwrap();
//! let ops = [Operator::Curl, Operator::Div, Operator::Q];
//! let out = evaluate(&u, &pts, &ops, &EvalOptions::default()).unwrap();
//! assert_eq!(out[0].values, vec![2.0, 2.0]);
//! assert_eq!(out[1].values, vec![0.0, 0.0]);
//! assert_eq!(out[2].values, vec![1.0, 1.0]);
//! ```
//!
//! Physics-informed training ([`pinn`]) differentiates residuals built from these
//! operators with respect to network weights. A residual of your own, here the 1-D
//! equation `u'' + π² sin(πx) = 0` with `u(0) = u(1) = 0` (solution `sin(πx)`), written
//! as text and trained end to end:
//! ```
//! use nabla::pinn::{
//!     Activation, Adam, AdamConfig, ExprResidual, FitOptions, Loss, Mlp, Names, Term, fit_loss,
//! };
//! let names = Names::new(&["x"], &["u"]);
//! let pde = ExprResidual::new(&["d(u, x, x) + pi^2*sin(pi*x)"], &names, None).unwrap();
//! let wall = ExprResidual::condition("wall", &[(0, "0")], None, &names, None).unwrap();
//! let xs: Vec<f64> = (0..48).map(|i| (i as f64 + 0.5) / 48.0).collect();
//! let loss = Loss::new(1, 1, vec![
//!     Term::new("pde", vec![xs], pde).unwrap(),
//!     Term::new("wall", vec![vec![0.0, 1.0]], wall).unwrap(),
//! ]).unwrap();
//! let mut net = Mlp::new(1, &[16], 1, Activation::Tanh, 1).unwrap();
//! let mut adam = Adam::new(AdamConfig::new(1e-2), net.num_params()).unwrap();
//! let opts = FitOptions { iterations: 1500, quiet: true, ..Default::default() };
//! fit_loss(&mut net, &mut [], &mut adam, &loss, &opts, &mut Vec::new()).unwrap();
//! let u = net.predict(&[vec![0.25, 0.5]]).unwrap();
//! assert!((u[0][1] - 1.0).abs() < 0.02, "u(1/2) = {}", u[0][1]);
//! assert!((u[0][0] - (std::f64::consts::PI / 4.0).sin()).abs() < 0.02);
//! ```
//! Fields from data ([`field::data`]: a
//! solver's arrays or measured values, reconstructed locally and differentiated exactly),
//! formulas ([`field::expr`]), VTK files
//! ([`io`]) and case directories ([`case`]) complete the command-line tool:
//! `cargo run --release -- cases/taylor_green`.

#![warn(missing_docs)]

pub mod autodiff;
pub mod case;
pub mod error;
pub mod eval;
pub mod field;
pub mod io;
pub mod operators;
pub mod parallel;
pub mod pinn;

pub use error::{Error, Result};

/// The README's examples, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
