//! The batched reverse-mode automatic-differentiation core.
//!
//! A [`Tape`] records computations on 2-D tensors — rows are the points of a batch,
//! columns their components — and [`grad`] pulls vector-Jacobian products `vᵀJ` out of
//! it for cotangents `v` the caller chooses. VJP rules are themselves written with tape
//! ops, so with [`GradOptions::create_graph`] a derivative can be differentiated again,
//! to any order.
//!
//! Forward mode sweeps the recorded graph instead: [`jvp`] gives Jacobian-vector products
//! `J·v` for several tangents at once, and [`jets`] carries value, gradient and Laplacian
//! (or Hessian) of every node in one sweep — the forward Laplacian. Each op's tangent and
//! second-order rules sit beside its VJP rule and are tape ops too, so forward results can
//! be differentiated again in either mode (reverse over jets gives a PDE residual's
//! gradient with respect to network weights).
//!
//! ```
//! use nabla::autodiff::{Tape, Tensor, grad, GradOptions};
//! let tape = Tape::new();
//! let x = tape.var(Tensor::scalar(0.0));
//! let y = x.sin();
//! let dy = grad(&[y], &[x], &[], GradOptions::create_graph()).unwrap()[0];
//! let ddy = grad(&[dy], &[x], &[], GradOptions::default()).unwrap()[0];
//! assert_eq!(dy.item().unwrap(), 1.0);   // cos 0
//! assert_eq!(ddy.item().unwrap(), -0.0); // −sin 0
//! ```

mod forward;
mod grad;
mod ops;
mod tanh;
mod tape;
mod tensor;

pub(crate) use forward::jvp_along;
pub use forward::{Jet, SecondOrder, jets, jets_with, jvp};
pub use grad::{GradOptions, grad, grad_batched};
pub(crate) use ops::gemm;
pub(crate) use tanh::tanh;
pub use tape::{Tape, Var};
pub use tensor::Tensor;
