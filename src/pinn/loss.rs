//! The physics-informed loss and its gradient with respect to every network parameter,
//! computed chunk by chunk in parallel and reduced in a fixed order.

use std::cell::RefCell;
use std::ops::Range;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::mlp::Mlp;
use super::ranks::{ChunkOut, add_in_order, gather_sums};
use super::residual::{navier_stokes_residuals_by, poisson_residual_by};
use crate::autodiff::{self, GradOptions, Tape, Var};
use crate::error::{Error, Result};
use crate::eval::{Derivatives, EvalOptions, Operator, Points, evaluate};
use crate::field::Field;
use crate::parallel::Ranks;

/// Which PDE the interior residual enforces.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pde {
    /// `−∇²u = f` for a scalar network output `u`.
    Poisson,
    /// Steady incompressible Navier–Stokes with kinematic viscosity `nu`, for a network
    /// with outputs `(u, v, [w], p)`.
    NavierStokes {
        /// Kinematic viscosity ν (1/Re for unit velocity and length).
        nu: f64,
    },
}

/// Weights of the loss terms.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LossWeights {
    /// The interior PDE residual (Poisson, or the Navier–Stokes momentum components).
    pub pde: f64,
    /// The continuity residual `∇·u` (Navier–Stokes only).
    pub continuity: f64,
    /// The boundary misfit `u − g`.
    pub boundary: f64,
}

impl Default for LossWeights {
    fn default() -> Self {
        LossWeights {
            pde: 1.0,
            continuity: 1.0,
            boundary: 1.0,
        }
    }
}

/// The loss and its unweighted terms, each a mean of squares over points and components.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LossTerms {
    /// `pde·L_pde + continuity·L_cont + boundary·L_bc`.
    pub total: f64,
    /// Mean squared PDE (momentum) residual.
    pub pde: f64,
    /// Mean squared continuity residual (0 for Poisson).
    pub continuity: f64,
    /// Mean squared boundary misfit.
    pub boundary: f64,
}

/// A physics-informed loss on fixed collocation points:
///
/// `L = w_pde · Σ|r_pde|² / (N·k) + w_cont · Σ r_cont² / N + w_bc · Σ|u − g|² / (N_b·k_b)`
///
/// over `N` interior points (`k` PDE residual components: 1 for Poisson, `d` momentum
/// components for Navier–Stokes) and `N_b` boundary points (`k_b` prescribed components).
/// The source term `f` and the boundary values `g` are sampled once, when the loss is
/// built.
///
/// [`PinnLoss::value_and_grad`] cuts the points into chunks of [`PinnLoss::chunk_size`]
/// (interior chunks, then boundary chunks). Each chunk gets its own tape with the
/// parameters as leaves and returns its sums of squares and its parameter gradient;
/// the chunks run in parallel with rayon and their results are added **in chunk order**.
/// Hence:
///
/// * for a fixed chunk size the loss and gradient are bit-identical for any number of
///   threads, and of MPI ranks ([`PinnLoss::value_and_grad_on`]: each rank computes a
///   share of the same chunks, and every rank adds all of them in chunk order);
/// * different chunk sizes give the same mathematics (the sums are only regrouped) and
///   agree to rounding, not bitwise;
/// * so do different [derivative plans](PinnLoss::with_derivatives).
#[derive(Clone)]
pub struct PinnLoss {
    pde: Pde,
    interior: Points,
    source: Vec<f64>,
    boundary: Points,
    /// `targets[k][p]`: prescribed value of output `k` at boundary point `p`.
    targets: Vec<Vec<f64>>,
    weights: LossWeights,
    chunk_size: usize,
    derivatives: Derivatives,
}

/// Samples a field's components at every point, as columns.
pub(crate) fn sample(field: &dyn Field, points: &Points) -> Result<Vec<Vec<f64>>> {
    let m = field.components();
    let out = evaluate(field, points, &[Operator::Value], &EvalOptions::default())?;
    let vals = &out[0].values;
    Ok((0..m)
        .map(|k| vals.iter().skip(k).step_by(m).copied().collect())
        .collect())
}

fn check_weights(w: &LossWeights) -> Result<()> {
    for (name, v) in [
        ("pde", w.pde),
        ("continuity", w.continuity),
        ("boundary", w.boundary),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(Error::config(
                format!("weights.{name}"),
                format!("a loss weight must be finite and non-negative, got {v}"),
            ));
        }
    }
    Ok(())
}

impl PinnLoss {
    /// The Poisson loss `−∇²u = f` in the interior, `u = g` on the boundary.
    ///
    /// # Errors
    /// [`Error::Config`] for point sets of different dimensions, a source with other
    /// than one component, boundary values with other than one component, or a bad weight;
    /// errors of evaluating `source` and `boundary_values`.
    pub fn poisson(
        source: &dyn Field,
        interior: Points,
        boundary: Points,
        boundary_values: &dyn Field,
        weights: LossWeights,
    ) -> Result<PinnLoss> {
        if source.components() != 1 || boundary_values.components() != 1 {
            return Err(Error::config(
                "pde",
                format!(
                    "Poisson needs a scalar source and scalar boundary values, got {} and {} components",
                    source.components(),
                    boundary_values.components()
                ),
            ));
        }
        let src = sample(source, &interior)?.remove(0);
        Self::build(
            Pde::Poisson,
            interior,
            src,
            boundary,
            boundary_values,
            weights,
        )
    }

    /// The steady incompressible Navier–Stokes loss with viscosity `nu` in the interior;
    /// on the boundary the first `k_b` outputs (the velocity, or velocity and pressure)
    /// match the `k_b` components of `boundary_values`.
    ///
    /// # Errors
    /// [`Error::Config`] for a non-positive viscosity, point sets of different
    /// dimensions, boundary values with more than `d + 1` components, or a bad weight.
    pub fn navier_stokes(
        nu: f64,
        interior: Points,
        boundary: Points,
        boundary_values: &dyn Field,
        weights: LossWeights,
    ) -> Result<PinnLoss> {
        if !(nu.is_finite() && nu > 0.0) {
            return Err(Error::config(
                "pde.nu",
                format!("the viscosity must be positive, got {nu}"),
            ));
        }
        let d = interior.dim();
        if boundary_values.components() > d + 1 {
            return Err(Error::config(
                "boundary",
                format!(
                    "{} boundary components for a {d}-D flow with {} outputs (u, v, [w], p)",
                    boundary_values.components(),
                    d + 1
                ),
            ));
        }
        Self::build(
            Pde::NavierStokes { nu },
            interior,
            Vec::new(),
            boundary,
            boundary_values,
            weights,
        )
    }

    fn build(
        pde: Pde,
        interior: Points,
        source: Vec<f64>,
        boundary: Points,
        boundary_values: &dyn Field,
        weights: LossWeights,
    ) -> Result<PinnLoss> {
        check_weights(&weights)?;
        if interior.dim() != boundary.dim() {
            return Err(Error::config(
                "points",
                format!(
                    "interior points are {}-D, boundary points {}-D",
                    interior.dim(),
                    boundary.dim()
                ),
            ));
        }
        let targets = sample(boundary_values, &boundary)?;
        Ok(PinnLoss {
            pde,
            interior,
            source,
            boundary,
            targets,
            weights,
            chunk_size: 256,
            derivatives: Derivatives::Auto,
        })
    }

    /// The same loss cut into chunks of `n` points (default 256).
    ///
    /// # Errors
    /// [`Error::Config`] for `n = 0`.
    pub fn with_chunk_size(mut self, n: usize) -> Result<PinnLoss> {
        if n == 0 {
            return Err(Error::config("chunk_size", "must be at least 1"));
        }
        self.chunk_size = n;
        Ok(self)
    }

    /// The same loss with the residuals' derivatives computed by `plan`: `Auto` (the
    /// default) and `Jets` use forward-Laplacian jets, `Reverse` the reverse-over-reverse
    /// passes, `ForwardOverReverse` the Jacobian by reverse mode and the Laplacians as its
    /// forward tangents. The plans give the same loss and gradient to round-off.
    pub fn with_derivatives(mut self, plan: Derivatives) -> PinnLoss {
        self.derivatives = plan;
        self
    }

    /// A copy of this loss with the residuals' derivatives computed by `plan`.
    pub fn clone_with(&self, plan: Derivatives) -> PinnLoss {
        self.clone().with_derivatives(plan)
    }

    /// How the residuals' derivatives are computed.
    pub fn derivatives(&self) -> Derivatives {
        self.derivatives
    }

    /// The number of nodes one interior chunk records for the loss and its parameter
    /// gradient (the work of a chunk, for reports and benches), and the values they hold.
    ///
    /// # Errors
    /// As [`PinnLoss::value`].
    pub fn chunk_nodes(&self, mlp: &Mlp) -> Result<(usize, usize)> {
        self.check_network(mlp)?;
        let tape = Tape::new();
        let end = self.chunk_size.min(self.interior.len());
        let coef = [1.0, 1.0, 0.0];
        self.chunk(&tape, mlp, true, 0, end, coef, true)?;
        Ok((tape.len(), tape.values_since(0)))
    }

    /// Points per chunk.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// The PDE.
    pub fn pde(&self) -> Pde {
        self.pde
    }

    /// The interior collocation points.
    pub fn interior(&self) -> &Points {
        &self.interior
    }

    /// The boundary points.
    pub fn boundary(&self) -> &Points {
        &self.boundary
    }

    /// The loss weights.
    pub fn weights(&self) -> LossWeights {
        self.weights
    }

    /// Number of outputs the network must have: 1 for Poisson, `d + 1` for Navier–Stokes.
    pub fn outputs(&self) -> usize {
        match self.pde {
            Pde::Poisson => 1,
            Pde::NavierStokes { .. } => self.interior.dim() + 1,
        }
    }

    fn pde_components(&self) -> usize {
        match self.pde {
            Pde::Poisson => 1,
            Pde::NavierStokes { .. } => self.interior.dim(),
        }
    }

    fn check_network(&self, mlp: &Mlp) -> Result<()> {
        if mlp.input_dim() != self.interior.dim() || mlp.outputs() != self.outputs() {
            return Err(Error::config(
                "network",
                format!(
                    "the loss needs a network {}-D → {} outputs, got {}-D → {}",
                    self.interior.dim(),
                    self.outputs(),
                    mlp.input_dim(),
                    mlp.outputs()
                ),
            ));
        }
        Ok(())
    }

    /// The loss without its gradient (still one tape per chunk, as the PDE residual needs
    /// derivatives with respect to the coordinates).
    ///
    /// # Errors
    /// A network whose shape does not fit the loss ([`Error::Config`]), or an error of the
    /// autodiff core.
    pub fn value(&self, mlp: &Mlp) -> Result<LossTerms> {
        self.run(mlp, false, &Ranks::single()).map(|(t, _)| t)
    }

    /// The loss and its gradient with respect to every parameter of `mlp`, in the order of
    /// [`Mlp::params`].
    ///
    /// # Errors
    /// As [`PinnLoss::value`].
    pub fn value_and_grad(&self, mlp: &Mlp) -> Result<(LossTerms, Vec<f64>)> {
        self.run(mlp, true, &Ranks::single())
    }

    /// [`PinnLoss::value`] over `ranks` (collective: every rank calls it with the same
    /// network): each rank computes only its share of the chunks, and every rank gets the
    /// same loss, bit-identical to one rank's (see the module `ranks`).
    ///
    /// # Errors
    /// As [`PinnLoss::value`], on the lowest failing rank; [`Error::OtherRank`] on the
    /// others.
    pub fn value_on(&self, mlp: &Mlp, ranks: &Ranks) -> Result<LossTerms> {
        self.run(mlp, false, ranks).map(|(t, _)| t)
    }

    /// [`PinnLoss::value_and_grad`] over `ranks` (collective, as [`PinnLoss::value_on`]):
    /// loss and gradient bit-identical to one rank's for any number of ranks.
    ///
    /// # Errors
    /// As [`PinnLoss::value_on`].
    pub fn value_and_grad_on(&self, mlp: &Mlp, ranks: &Ranks) -> Result<(LossTerms, Vec<f64>)> {
        self.run(mlp, true, ranks)
    }

    fn run(&self, mlp: &Mlp, want_grad: bool, ranks: &Ranks) -> Result<(LossTerms, Vec<f64>)> {
        let shared = ranks.size() > 1;
        if shared {
            ranks.agree(self.check_network(mlp))?;
        } else {
            self.check_network(mlp)?;
        }
        let cs = self.chunk_size;
        let (ni, nb) = (self.interior.len(), self.boundary.len());
        let kb = self.targets.len();
        let use_pde = self.weights.pde > 0.0 || self.weights.continuity > 0.0;
        let use_bc = self.weights.boundary > 0.0 && kb > 0;
        let mut chunks: Vec<(bool, usize, usize)> = Vec::new();
        if use_pde {
            chunks.extend(
                (0..ni)
                    .step_by(cs)
                    .map(|s| (true, s, s.saturating_add(cs).min(ni))),
            );
        }
        if use_bc {
            chunks.extend(
                (0..nb)
                    .step_by(cs)
                    .map(|s| (false, s, s.saturating_add(cs).min(nb))),
            );
        }
        // Coefficients turning sums of squares into the weighted means.
        let coef = [
            self.weights.pde / (ni * self.pde_components()) as f64,
            self.weights.continuity / ni as f64,
            self.weights.boundary / (nb * kb.max(1)) as f64,
        ];
        let params = if want_grad { mlp.num_params() } else { 0 };
        // The first error in chunk order, as the chunks are added in that order.
        let compute = |range: Range<usize>| -> Result<Vec<ChunkOut>> {
            chunks[range]
                .par_iter()
                .map(|&(interior, s, e)| {
                    TAPE.with(|t| {
                        let mut tape = t.borrow_mut();
                        tape.clear();
                        self.chunk(&tape, mlp, interior, s, e, coef, want_grad)
                    })
                })
                .collect::<Vec<Result<ChunkOut>>>()
                .into_iter()
                .collect()
        };
        let (sums, grad) = if shared {
            gather_sums(ranks, chunks.len(), params, compute)?
        } else {
            let outs = compute(0..chunks.len())?;
            add_in_order(outs.iter().map(|o| (&o.sums[..], &o.grad[..])), params)
        };
        let pde = sums[0] / (ni * self.pde_components()) as f64;
        let continuity = sums[1] / ni as f64;
        let boundary = if kb > 0 {
            sums[2] / (nb * kb) as f64
        } else {
            0.0
        };
        let w = self.weights;
        let total = w.pde * pde + w.continuity * continuity + w.boundary * boundary;
        Ok((
            LossTerms {
                total,
                pde,
                continuity,
                boundary,
            },
            grad,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn chunk<'t>(
        &self,
        tape: &'t Tape,
        mlp: &Mlp,
        interior: bool,
        s: usize,
        e: usize,
        coef: [f64; 3],
        want_grad: bool,
    ) -> Result<ChunkOut> {
        let n = e - s;
        let net = mlp.on_tape(tape, want_grad);
        let pts = if interior {
            &self.interior
        } else {
            &self.boundary
        };
        let x: Vec<Var<'t>> = (0..pts.dim())
            .map(|k| {
                let col = &pts.col(k)[s..e];
                if interior {
                    tape.var_from_slice(n, 1, col)
                } else {
                    tape.constant_from_slice(n, 1, col)
                }
            })
            .collect();
        let out = net.forward(&x);
        let mut terms: Vec<(usize, Var<'t>)> = Vec::with_capacity(2);
        if interior {
            match self.pde {
                Pde::Poisson => {
                    let f = tape.constant_from_slice(n, 1, &self.source[s..e]);
                    let r = poisson_residual_by(out[0], &x, f, self.derivatives)?;
                    terms.push((0, sq(r)));
                }
                Pde::NavierStokes { nu } => {
                    let r = navier_stokes_residuals_by(&out, &x, nu, self.derivatives)?;
                    let d = x.len();
                    let mom = r[..d]
                        .iter()
                        .map(|&ri| sq(ri))
                        .reduce(|a, b| a + b)
                        .expect("internal: d > 0");
                    terms.push((0, mom));
                    terms.push((1, sq(r[d])));
                }
            }
        } else {
            let mis = self
                .targets
                .iter()
                .enumerate()
                .map(|(k, g)| sq(out[k] - tape.constant_from_slice(n, 1, &g[s..e])))
                .reduce(|a, b| a + b)
                .expect("internal: boundary components");
            terms.push((2, mis));
        }
        tape.check()?;
        let mut sums = [0.0; 3];
        for &(k, t) in &terms {
            sums[k] += t.item()?;
        }
        let loss = terms
            .iter()
            .filter(|&&(k, _)| coef[k] > 0.0)
            .map(|&(k, t)| t.scale(coef[k]))
            .reduce(|a, b| a + b);
        let mut grad = Vec::new();
        if want_grad {
            grad.reserve(mlp.num_params());
            let params = net.params();
            match loss {
                Some(l) => {
                    let g =
                        autodiff::grad(&[l], &params, &[], GradOptions::default().allow_unused())?;
                    for v in g {
                        v.with_values(|_, _, vals| grad.extend_from_slice(vals))?;
                    }
                }
                None => grad.resize(mlp.num_params(), 0.0),
            }
        }
        Ok(ChunkOut { sums, grad })
    }
}

/// Sum of squares of a residual column.
fn sq(r: Var<'_>) -> Var<'_> {
    (r * r).sum()
}

thread_local! {
    /// One tape per worker thread, cleared and reused chunk after chunk (its value
    /// buffers stay pooled, so a training step allocates little after the first).
    static TAPE: RefCell<Tape> = RefCell::new(Tape::new());
}
