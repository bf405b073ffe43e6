//! Physics-informed training: residuals built from the operators, a loss whose gradient
//! with respect to the network's parameters goes through those operators (reverse mode
//! over reverse mode), Adam, and a training loop with progress, history and checkpoints.
//!
//! The pieces, bottom up:
//!
//! * [`Mlp`] — a multilayer perceptron field whose weights and biases go onto a tape as
//!   leaves ([`Mlp::on_tape`]); as a [`crate::field::Field`] it can be evaluated and
//!   written like any other field.
//! * [`poisson_residual`], [`navier_stokes_residuals`] — PDE residuals written with
//!   [`crate::operators`].
//! * [`PinnLoss`] — weighted mean squares of the residuals and boundary misfits, with the
//!   parameter gradient computed per chunk of points in parallel and reduced in chunk
//!   order (bit-identical for any thread count, and over MPI ranks with
//!   [`PinnLoss::value_and_grad_on`], each rank computing a share of the chunks).
//! * [`Adam`] with a [`Schedule`], and [`Lbfgs`] (L-BFGS with a strong-Wolfe line
//!   search) for the usual second phase after it.
//! * [`PinnConfig`] — the `[pinn]` table of a case file, checked and built into a
//!   [`Problem`] on points drawn by [`sample_box`] and [`sample_faces`].
//! * [`sample_in`] and [`sample_on_faces`] — points in a box of any dimension (space,
//!   time, extra inputs) and on chosen faces of it, by a [`Sampler`]: uniform, Hammersley,
//!   Sobol or Latin hypercube.
//! * [`burgers_cole_hopf`] — the viscous Burgers reference solution (Raissi et al.'s
//!   shock), by the Cole–Hopf transform and Gauss–Hermite quadrature.
//! * [`fit`], the loop, which records a [`LossRecord`] per step and saves
//!   [`Checkpoint`]s.
//! * [`history_csv`] and [`plot_history`] — the loss history as CSV and as a plot (PNG
//!   and SVG, log axis, legend, title; drawn with a font shipped in the crate), and
//!   [`learning_warning`] when a training did not reduce its loss as the case asks.
//! * [`train`] and [`evaluate`] — the entry points a case runner calls, with the
//!   [`FieldError`]s against an exact solution; [`train_on`] and [`fit_on`] train over
//!   MPI ranks ([`crate::parallel::Ranks`]) to the very network one rank trains.
//!
//! ```
//! use nabla::eval::Points;
//! use nabla::field::FnField;
//! use nabla::pinn::{Activation, LossWeights, Mlp, PinnLoss};
//! // −∇²u = 0 inside, u = x on a few boundary points.
//! let interior = Points::from_rows(2, &[[0.3, 0.4, 0.0], [0.6, 0.2, 0.0]]).unwrap();
//! let boundary = Points::from_rows(2, &[[0.0, 0.5, 0.0], [1.0, 0.5, 0.0]]).unwrap();
//! let zero = FnField::new(1, |x| vec![x[0] * 0.0]);
//! let g = FnField::new(1, |x| vec![x[0]]);
//! let loss = PinnLoss::poisson(&zero, interior, boundary, &g, LossWeights::default()).unwrap();
//! let net = Mlp::new(2, &[8], 1, Activation::Tanh, 1).unwrap();
//! let (terms, grad) = loss.value_and_grad(&net).unwrap();
//! assert!(terms.total > 0.0);
//! assert_eq!(grad.len(), net.num_params());
//! ```

use std::path::Path;

use crate::error::Error;

mod adam;
mod checkpoint;
mod config;
mod exprs;
mod fit;
mod history;
mod jets;
mod lbfgs;
mod loss;
mod mlp;
mod objective;
mod plot;
mod problem;
mod ranks;
mod reference;
mod refine;
mod residual;
mod resume;
mod sample;
mod sampling;
mod train;

pub use adam::{Adam, AdamConfig, Schedule};
pub use checkpoint::Checkpoint;
pub use config::{
    NetworkConfig, Objective, OptimizerConfig, PdeConfig, PinnConfig, PointsConfig, Problem,
    ValidationConfig,
};
pub use fit::{FitOptions, LbfgsOutcome, fit, fit_loss, fit_loss_on, fit_on};
pub use history::{DEFAULT_MIN_LOSS_REDUCTION, LossRecord, history_csv, learning_warning};
pub use lbfgs::{Lbfgs, LbfgsConfig, LbfgsConvergence, LbfgsStatus, LbfgsStep};
pub use loss::{LossTerms, LossWeights, Pde, PinnLoss};
pub use mlp::{Activation, Layer, MAX_INPUTS, Mlp, MlpVars};
pub use plot::plot_history;
pub use problem::{
    At, ConditionConfig, DataConfig, Derivative, Equations, ExprResidual, Faces, FnResidual, Loss,
    Names, Reference, Residual, Term, TermLosses,
};
pub use reference::{
    BURGERS_NODES, GaussHermite, MAX_HERMITE_NODES, burgers_cole_hopf, burgers_cole_hopf_batch,
    burgers_cole_hopf_dx, burgers_cole_hopf_nodes, gauss_hermite,
};
pub use refine::RefineConfig;
pub use residual::{
    navier_stokes_residuals, navier_stokes_residuals_by, poisson_residual, poisson_residual_by,
};
pub use sample::{DomainConfig, sample_box, sample_faces};
pub use sampling::{MAX_DIM, Sampler, sample_in, sample_on_faces};
pub use train::{
    FieldError, TrainOptions, TrainReport, evaluate, relative_l2, train, train_from, train_on,
};

/// An [`Error::Io`] for `path`.
fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}
