//! What a residual reads (the network's inputs, outputs, the derivatives it asks for, the
//! trainable coefficients and the term's data) and the trait every residual implements.

use std::sync::Arc;

use crate::autodiff::Var;
use crate::error::Result;

/// A derivative of one network output with respect to its inputs, by index.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Derivative {
    /// `∂out/∂x_a` (one input) or `∂²out/∂x_a∂x_b` (two; `a ≤ b` after
    /// [`Derivative::normalized`], as mixed derivatives commute).
    Partial {
        /// The output.
        output: usize,
        /// The inputs, one or two.
        wrt: Vec<usize>,
    },
    /// `Σ_k ∂²out/∂x_k²` over the inputs `over` (the spatial ones of a space-time
    /// problem: the Laplacian does not run over time).
    Laplacian {
        /// The output.
        output: usize,
        /// The inputs summed over.
        over: Vec<usize>,
    },
}

impl Derivative {
    /// `∂out/∂x_a`.
    pub fn first(output: usize, a: usize) -> Derivative {
        Derivative::Partial {
            output,
            wrt: vec![a],
        }
    }

    /// `∂²out/∂x_a∂x_b`.
    pub fn second(output: usize, a: usize, b: usize) -> Derivative {
        Derivative::Partial {
            output,
            wrt: vec![a.min(b), a.max(b)],
        }
    }

    /// The same derivative with its inputs in a canonical order (sorted), so that equal
    /// derivatives compare equal.
    pub fn normalized(&self) -> Derivative {
        match self {
            Derivative::Partial { output, wrt } => {
                let mut wrt = wrt.clone();
                wrt.sort_unstable();
                Derivative::Partial {
                    output: *output,
                    wrt,
                }
            }
            Derivative::Laplacian { output, over } => {
                let mut over = over.clone();
                over.sort_unstable();
                over.dedup();
                Derivative::Laplacian {
                    output: *output,
                    over,
                }
            }
        }
    }

    /// The output it differentiates.
    pub fn output(&self) -> usize {
        match self {
            Derivative::Partial { output, .. } | Derivative::Laplacian { output, .. } => *output,
        }
    }

    /// Its order: 1 or 2.
    pub fn order(&self) -> usize {
        match self {
            Derivative::Partial { wrt, .. } => wrt.len(),
            Derivative::Laplacian { .. } => 2,
        }
    }

    /// The second-order entry it reads (pairs of inputs summed), if of order 2.
    pub(crate) fn entry(&self) -> Option<Vec<(usize, usize)>> {
        match self.normalized() {
            Derivative::Partial { wrt, .. } if wrt.len() == 2 => Some(vec![(wrt[0], wrt[1])]),
            Derivative::Partial { .. } => None,
            Derivative::Laplacian { over, .. } => Some(over.iter().map(|&k| (k, k)).collect()),
        }
    }

    /// The inputs it names.
    pub(crate) fn inputs(&self) -> &[usize] {
        match self {
            Derivative::Partial { wrt, .. } => wrt,
            Derivative::Laplacian { over, .. } => over,
        }
    }
}

/// What a [`Residual`] is evaluated on, for one batch (chunk) of a term's points; every
/// `Var` is an `N × 1` column over the batch's points, except the coefficients (`1 × 1`,
/// broadcast in arithmetic).
pub struct At<'a, 't> {
    /// The network's inputs (coordinates, time, ...).
    pub inputs: &'a [Var<'t>],
    /// The network's outputs.
    pub outputs: &'a [Var<'t>],
    /// The derivatives the residual asked for, in the order of [`Residual::derivatives`].
    pub derivatives: &'a [Var<'t>],
    /// The trainable coefficients (unknowns of an inverse problem), `1 × 1` each.
    pub coefficients: &'a [Var<'t>],
    /// The term's data columns at the batch's points (measured values, targets).
    pub data: &'a [Var<'t>],
}

/// A residual: zero where the network satisfies the equation or condition. The loss of a
/// term is the mean of its residuals' squares over points and components.
///
/// The derivatives come from one forward pass of jets through the network, carrying only
/// what [`Residual::derivatives`] asks for (no second-order entries when none is asked,
/// the values alone when no derivative is). The outputs and derivatives in [`At`] are
/// leaves of the tape the residual is recorded on: reverse mode over the residual gives
/// their cotangents (and the coefficients' gradient), and the network's fused backward
/// pass turns those into the gradient with respect to its parameters. So a residual reads
/// its derivatives from [`At::derivatives`]: on the tape, [`At::outputs`] do not depend
/// on [`At::inputs`].
pub trait Residual: Send + Sync {
    /// The derivatives [`Residual::residuals`] reads, in the order of [`At::derivatives`].
    fn derivatives(&self) -> Vec<Derivative>;

    /// The residual components at a batch of points, each `N × 1` (or broadcastable to it).
    ///
    /// # Errors
    /// The residual's own (errors of the autodiff core, usually).
    fn residuals<'t>(&self, at: &At<'_, 't>) -> Result<Vec<Var<'t>>>;
}

/// The signature of a residual written as a closure.
type ResidualFn = dyn for<'a, 't> Fn(&At<'a, 't>) -> Result<Vec<Var<'t>>> + Send + Sync;

/// A [`Residual`] from a closure and the derivatives it reads.
///
/// ```
/// use nabla::pinn::{Derivative, FnResidual, Residual};
/// // Burgers: u_t + u u_x − ν u_xx over inputs (x, t).
/// let nu = 0.01 / std::f64::consts::PI;
/// let r = FnResidual::new(
///     vec![Derivative::first(0, 1), Derivative::first(0, 0), Derivative::second(0, 0, 0)],
///     move |at| {
///         let (u, d) = (at.outputs[0], at.derivatives);
///         Ok(vec![d[0] + u * d[1] - d[2].scale(nu)])
///     },
/// );
/// assert_eq!(r.derivatives().len(), 3);
/// ```
#[derive(Clone)]
pub struct FnResidual {
    derivatives: Vec<Derivative>,
    f: Arc<ResidualFn>,
}

impl FnResidual {
    /// The residual `f`, which reads `derivatives` in [`At::derivatives`].
    pub fn new<F>(derivatives: Vec<Derivative>, f: F) -> FnResidual
    where
        F: for<'a, 't> Fn(&At<'a, 't>) -> Result<Vec<Var<'t>>> + Send + Sync + 'static,
    {
        FnResidual {
            derivatives,
            f: Arc::new(f),
        }
    }
}

impl Residual for FnResidual {
    fn derivatives(&self) -> Vec<Derivative> {
        self.derivatives.clone()
    }

    fn residuals<'t>(&self, at: &At<'_, 't>) -> Result<Vec<Var<'t>>> {
        (self.f)(at)
    }
}
