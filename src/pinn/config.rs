//! The `[pinn]` table of a case file: network, PDE, domain, points, optimiser and
//! validation settings, checked and built into a [`Problem`].

use serde::{Deserialize, Serialize};

use super::adam::{AdamConfig, Schedule};
use super::exprs::finite_at;
use super::loss::{LossWeights, PinnLoss};
use super::mlp::{Activation, Mlp};
use super::sample::{DomainConfig, MAX_POINTS, sample_box, sample_faces};
use crate::error::{Error, Result};
use crate::eval::Points;
use crate::field::expr::{ExprField, Number};

/// The network of a [`PinnConfig`]: `d` inputs (from the domain), hidden widths, and as
/// many outputs as the PDE needs.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Widths of the hidden layers, e.g. `[32, 32, 32]`.
    pub hidden: Vec<usize>,
    /// Activation name: `tanh`, `sin` or `softplus`.
    #[serde(default = "default_activation")]
    pub activation: String,
    /// Seed of the Glorot initialisation.
    #[serde(default)]
    pub seed: u64,
}

fn default_activation() -> String {
    "tanh".into()
}

/// The PDE of a [`PinnConfig`], `kind = "poisson"` or `kind = "navier_stokes"`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PdeConfig {
    /// `−∇²u = f`, one output `u`.
    Poisson {
        /// The source `f` as an expression of `x, y, [z]` and the constants.
        source: String,
    },
    /// Steady incompressible Navier–Stokes, outputs `(u, v, [w], p)`.
    NavierStokes {
        /// Kinematic viscosity ν > 0: a number, or an expression of the constants
        /// (`"1/Re"`).
        nu: Number,
    },
    /// Any PDE written as equations of named inputs and outputs (see the README,
    /// "Any PDE in the case file"): `inputs = ["x", "t"]`, `outputs = ["u"]`,
    /// `equations = ["d(u, t) + u*d(u, x) - nu*d(u, x, x)"]`, each equation a residual
    /// that vanishes on the solution; conditions in `[[pinn.conditions]]`.
    Equations {
        /// Names of the network's inputs, in the order of `domain.min` and `domain.max`.
        inputs: Vec<String>,
        /// Names of the network's outputs.
        outputs: Vec<String>,
        /// The residuals, one loss term each.
        equations: Vec<String>,
        /// The terms' weights (default 1 each).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        weights: Vec<f64>,
    },
}

/// How many collocation points, and how they are drawn.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PointsConfig {
    /// Interior points, uniform in the box.
    pub interior: usize,
    /// Boundary points, uniform on the box's faces (a face's share ∝ its size); an
    /// equations problem gives each condition its own `points` instead.
    #[serde(default)]
    pub boundary: usize,
    /// Seed of the sampling.
    #[serde(default)]
    pub seed: u64,
    /// How an equations problem's points are drawn: `"uniform"` (default),
    /// `"hammersley"`, `"sobol"` or `"latin_hypercube"`.
    #[serde(default, skip_serializing_if = "is_uniform")]
    pub sampler: super::sampling::Sampler,
    /// Draw an equations problem's interior points afresh every this many Adam steps (the
    /// j-th set with the seed `seed + j`), 0 (default) never; L-BFGS trains on the first.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resample_every: usize,
    /// Residual-based adaptive refinement of an equations problem's interior points
    /// during the Adam phase, `refine = { every = 2000, add = 100, candidates = 10000 }`
    /// (see [`RefineConfig`](super::RefineConfig)); none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refine: Option<super::refine::RefineConfig>,
    /// Points per chunk of the parallel loss evaluation.
    #[serde(default = "default_chunk")]
    pub chunk_size: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_uniform(s: &super::sampling::Sampler) -> bool {
    *s == super::sampling::Sampler::Uniform
}

fn default_chunk() -> usize {
    256
}

/// The optimiser: Adam, a schedule, and the number of iterations.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerConfig {
    /// Adam's base learning rate, before the schedule.
    pub learning_rate: f64,
    /// Adam's β1 (default 0.9).
    #[serde(default = "default_beta1")]
    pub beta1: f64,
    /// Adam's β2 (default 0.999).
    #[serde(default = "default_beta2")]
    pub beta2: f64,
    /// Adam's ε (default 1e-8).
    #[serde(default = "default_eps")]
    pub eps: f64,
    /// The learning-rate schedule (default constant).
    #[serde(default)]
    pub schedule: Schedule,
    /// Total number of Adam steps (a resumed run continues up to this number).
    pub iterations: usize,
    /// Write a checkpoint every this many iterations (0: only at the end).
    #[serde(default)]
    pub checkpoint_every: usize,
}

fn default_beta1() -> f64 {
    AdamConfig::new(1.0).beta1
}
fn default_beta2() -> f64 {
    AdamConfig::new(1.0).beta2
}
fn default_eps() -> f64 {
    AdamConfig::new(1.0).eps
}

impl OptimizerConfig {
    /// Adam's hyper-parameters.
    pub fn adam(&self) -> AdamConfig {
        AdamConfig {
            learning_rate: self.learning_rate,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
        }
    }
}

/// Held-out points on which the trained network is compared with the exact solution.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationConfig {
    /// Number of points, uniform in the box.
    pub points: usize,
    /// Seed of their sampling (use one different from the training points').
    #[serde(default = "default_validation_seed")]
    pub seed: u64,
    /// A reference solution computed by nabla instead of `exact` expressions (equations
    /// problems): `"burgers"`, the Cole–Hopf solution of the viscous Burgers problem
    /// `u_t + u u_x = ν u_xx`, `u(x, 0) = −sin(πx)`, `u(±1, t) = 0` over inputs `(x, t)`,
    /// with ν the constant `nu` (see [`crate::pinn::burgers_cole_hopf`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Outputs the equations fix only up to a constant (a pressure): their error is taken
    /// after removing both means. The built-in Navier–Stokes pressure always is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub up_to_constant: Vec<String>,
}

fn default_validation_seed() -> u64 {
    0x5eed
}

/// Everything a physics-informed training needs, as read from a case file (TOML).
///
/// Expressions are over `x, y, [z]`, `pi`, the `constants`, which are evaluated in
/// order (each may use the ones before it), and the `definitions`, named sub-expressions
/// in any order that are written out where they are used. Top-level keys come before the
/// tables:
///
/// ```toml
/// constants = [["k", "pi"]]
/// definitions = [["s", "sin(k*x)*sin(k*y)"]]
/// boundary = ["s"]                       # Dirichlet values of the first outputs
/// exact = ["sin(k*x)*sin(k*y)"]          # optional, one per output
///
/// [network]
/// hidden = [32, 32]
/// activation = "tanh"
/// seed = 1
///
/// [pde]
/// kind = "poisson"
/// source = "2*k^2*s"
///
/// [domain]
/// min = [0.0, 0.0]
/// max = [1.0, 1.0]
///
/// [points]
/// interior = 1000
/// boundary = 200
/// seed = 2
///
/// [optimizer]
/// learning_rate = 1e-3
/// iterations = 2000
/// schedule = { kind = "exponential", rate = 0.5, every = 1000 }
///
/// [weights]
/// pde = 1.0
/// boundary = 10.0
///
/// [validation]
/// points = 4096
/// ```
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PinnConfig {
    /// Named constants `[name, expression]`, evaluated in order.
    #[serde(default)]
    pub constants: Vec<[String; 2]>,
    /// Named sub-expressions `[name, expression]` of `x, y, [z]` and the constants, in
    /// any order as long as none uses itself; usable in the boundary values, the exact
    /// solution and the source.
    #[serde(default)]
    pub definitions: Vec<[String; 2]>,
    /// Dirichlet values on the boundary: expressions for the first outputs (Poisson: `u`;
    /// Navier–Stokes: `u, v, [w]`, optionally followed by `p`). Equations problems use
    /// `conditions` instead.
    #[serde(default)]
    pub boundary: Vec<String>,
    /// The conditions of an equations problem, each on faces of the domain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<super::problem::ConditionConfig>,
    /// Measured values of an equations problem's outputs, fitted at their points.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<super::problem::DataConfig>,
    /// Trainable coefficients of an equations problem and their initial guesses
    /// (`[pinn.unknowns] nu = 0.05`), identified from `data`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub unknowns: std::collections::BTreeMap<String, f64>,
    /// The directory `data` files are read from (the case directory; not a setting).
    #[serde(skip)]
    pub dir: std::path::PathBuf,
    /// The exact solution, one expression per output, for the error report.
    #[serde(default)]
    pub exact: Option<Vec<String>>,
    /// The network.
    pub network: NetworkConfig,
    /// The PDE.
    pub pde: PdeConfig,
    /// The domain box.
    pub domain: DomainConfig,
    /// The collocation points.
    pub points: PointsConfig,
    /// The optimiser.
    pub optimizer: OptimizerConfig,
    /// L-BFGS after Adam's iterations (`[pinn.lbfgs] steps = 5000`), the usual recipe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lbfgs: Option<super::lbfgs::LbfgsConfig>,
    /// Loss weights (default 1 each).
    #[serde(default)]
    pub weights: LossWeights,
    /// Where to measure the error against `exact`; requires `exact`.
    #[serde(default)]
    pub validation: Option<ValidationConfig>,
    /// How the residuals' derivatives are computed: `"auto"` (default) and `"jets"` use
    /// forward-Laplacian jets; `"reverse"` the reverse-over-reverse passes (the reference);
    /// `"forward_over_reverse"` the Jacobian by reverse mode and Laplacians by forward
    /// tangents. Same results to round-off.
    #[serde(default, skip_serializing_if = "is_auto")]
    pub derivatives: crate::eval::Derivatives,
    /// The factor by which the final loss must fall below the first, or the run ends
    /// with a warning (an error under `--strict`); default 10, 0 turns the check off.
    #[serde(default = "super::history::default_min_loss_reduction")]
    pub min_loss_reduction: f64,
}

fn is_auto(d: &crate::eval::Derivatives) -> bool {
    *d == crate::eval::Derivatives::Auto
}

/// The loss a [`Problem`] trains.
#[derive(Clone)]
pub enum Objective {
    /// A built-in PDE (`kind = "poisson"` or `"navier_stokes"`).
    Builtin(PinnLoss),
    /// An equations problem (`kind = "equations"`).
    Equations(Box<super::problem::Equations>),
}

/// The problem a validated [`PinnConfig`] describes, ready to train.
pub struct Problem {
    /// The loss on the sampled collocation points.
    pub loss: Objective,
    /// The exact solution, if given.
    pub exact: Option<ExprField>,
    /// Held-out validation points, if asked for.
    pub validation: Option<Points>,
    /// Names of the network's outputs (`u`, or `u, v, [w], p`).
    pub output_names: Vec<String>,
    /// For each output, whether its error is taken after removing both means (a pressure,
    /// fixed only up to a constant).
    pub up_to_constant: Vec<bool>,
    /// The activation.
    pub activation: Activation,
}

impl PinnConfig {
    /// Parses a configuration from TOML text, without validating it (see
    /// [`PinnConfig::problem`]).
    ///
    /// # Errors
    /// [`Error::Config`] with the TOML parser's message (unknown keys list the valid ones).
    pub fn from_toml(s: &str) -> Result<PinnConfig> {
        toml::from_str(s).map_err(|e| Error::config("toml", e.to_string()))
    }

    /// Number of coordinates, from the domain.
    pub fn dim(&self) -> usize {
        match &self.pde {
            PdeConfig::Equations { inputs, .. } => inputs.len(),
            _ => self.domain.min.len(),
        }
    }

    /// The position of the input named `t` (the time) of an equations problem, if it has
    /// one: a case with `times` writes such a network as a time series on points of its
    /// other inputs.
    pub fn time_input(&self) -> Option<usize> {
        match &self.pde {
            PdeConfig::Equations { inputs, .. } => inputs.iter().position(|n| n == "t"),
            _ => None,
        }
    }

    /// Number of network outputs the PDE needs.
    pub fn outputs(&self) -> usize {
        match &self.pde {
            PdeConfig::Poisson { .. } => 1,
            PdeConfig::NavierStokes { .. } => self.dim() + 1,
            PdeConfig::Equations { outputs, .. } => outputs.len(),
        }
    }

    /// Checks every setting and builds the problem: samples the points and the source
    /// and boundary values.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting: a domain that is not a 2-D or 3-D box with
    /// `min < max`; no points; a zero chunk size; a bad network (no hidden layers, a zero
    /// width, an unknown activation); a bad optimiser (non-positive learning rate, β
    /// outside `[0, 1)`, zero iterations, a bad schedule); a wrong number of boundary or
    /// exact expressions; expressions that do not parse; a validation without an exact
    /// solution; bad weights or `min_loss_reduction`.
    pub fn problem(&self) -> Result<Problem> {
        if let Some(l) = &self.lbfgs {
            l.validate()?;
        }
        if matches!(self.pde, PdeConfig::Equations { .. }) {
            return self.equations_problem();
        }
        for (key, given) in [
            ("conditions", !self.conditions.is_empty()),
            ("data", !self.data.is_empty()),
            ("unknowns", !self.unknowns.is_empty()),
            ("points.sampler", !is_uniform(&self.points.sampler)),
            ("points.resample_every", self.points.resample_every != 0),
            ("points.refine", self.points.refine.is_some()),
        ] {
            if given {
                return Err(Error::config(
                    key,
                    "belongs to an equations problem (pde.kind = \"equations\"); the built-in kinds take `boundary` and uniform points",
                ));
            }
        }
        let d = self.dim();
        self.domain.validate()?;
        if self.points.interior == 0 || self.points.boundary == 0 {
            return Err(Error::config(
                "points",
                "the numbers of interior and boundary points must be at least 1",
            ));
        }
        // Points are held with a few hundred values each on the tapes of their chunks;
        // refuse counts whose coordinates alone would not fit in memory.
        let validation = self.validation.as_ref().map_or(0, |v| v.points);
        for (what, n) in [
            ("points.interior", self.points.interior),
            ("points.boundary", self.points.boundary),
            ("validation.points", validation),
        ] {
            if n > MAX_POINTS {
                return Err(Error::config(
                    what,
                    format!(
                        "{n} points is more than the {MAX_POINTS} this trainer holds in memory"
                    ),
                ));
            }
        }
        // Evaluated once: each expression field below uses them.
        let consts = self.constants()?;
        let nu = self.nu_with(&consts)?;
        for (what, w) in [
            ("weights.pde", self.weights.pde),
            ("weights.continuity", self.weights.continuity),
            ("weights.boundary", self.weights.boundary),
        ] {
            if !(w.is_finite() && w >= 0.0) {
                return Err(Error::config(
                    what,
                    format!("must be finite and not negative, got {w:?}"),
                ));
            }
        }
        super::history::check_min_loss_reduction(self.min_loss_reduction)?;
        let defs = self.definitions_with(&consts)?;
        let activation: Activation = self.network.activation.parse()?;
        // Checks the widths (the network itself is built by `train`).
        Mlp::new(d, &self.network.hidden, self.outputs(), activation, 0)?;
        self.optimizer.adam().validate()?;
        self.optimizer
            .schedule
            .validate(self.optimizer.learning_rate)?;
        if self.optimizer.iterations == 0 {
            return Err(Error::config(
                "optimizer.iterations",
                "must be at least 1 (to only evaluate a checkpoint, use pinn::evaluate)",
            ));
        }
        let m = self.outputs();
        let max_bc = m;
        if self.boundary.is_empty() || self.boundary.len() > max_bc {
            return Err(Error::config(
                "boundary",
                format!(
                    "give 1 to {max_bc} expressions (values of the first outputs), got {}",
                    self.boundary.len()
                ),
            ));
        }
        let exact = match &self.exact {
            Some(e) if e.len() != m => {
                return Err(Error::config(
                    "exact",
                    format!("give one expression per output ({m}), got {}", e.len()),
                ));
            }
            Some(e) => Some(self.expr_field_with("exact", e, &consts, &defs)?),
            None => None,
        };
        let validation = match &self.validation {
            Some(_) if exact.is_none() => {
                return Err(Error::config(
                    "validation",
                    "errors are asked for but there is no exact solution; add `exact = [...]`",
                ));
            }
            Some(v) if v.points == 0 => {
                return Err(Error::config("validation.points", "must be at least 1"));
            }
            Some(v) => Some(sample_box(&self.domain, v.points, v.seed)?),
            None => None,
        };
        let bc = self.expr_field_with("boundary", &self.boundary, &consts, &defs)?;
        let interior = sample_box(&self.domain, self.points.interior, self.points.seed)?;
        let boundary = sample_faces(
            &self.domain,
            self.points.boundary,
            self.points.seed.wrapping_add(1),
        )?;
        finite_at("boundary", &bc, &boundary)?;
        let loss = match &self.pde {
            PdeConfig::Poisson { source } => {
                let f = self.expr_field_with(
                    "pde.source",
                    std::slice::from_ref(source),
                    &consts,
                    &defs,
                )?;
                finite_at("pde.source", &f, &interior)?;
                PinnLoss::poisson(&f, interior, boundary, &bc, self.weights)?
            }
            PdeConfig::Equations { .. } => {
                return Err(Error::config("pde", "internal: an equations problem here"));
            }
            PdeConfig::NavierStokes { .. } => PinnLoss::navier_stokes(
                nu.expect("internal: a Navier-Stokes problem has a viscosity"),
                interior,
                boundary,
                &bc,
                self.weights,
            )?,
        }
        .with_chunk_size(self.points.chunk_size)
        .map_err(|_| Error::config("points.chunk_size", "must be at least 1"))?
        .with_derivatives(self.derivatives);
        let output_names = match &self.pde {
            PdeConfig::Equations { outputs, .. } => outputs.clone(),
            PdeConfig::Poisson { .. } => vec!["u".to_owned()],
            PdeConfig::NavierStokes { .. } => ["u", "v", "w"][..d]
                .iter()
                .chain(&["p"])
                .map(|s| s.to_string())
                .collect(),
        };
        if let Some(v) = self
            .validation
            .as_ref()
            .filter(|v| !v.up_to_constant.is_empty())
        {
            return Err(Error::config(
                "validation.up_to_constant",
                format!(
                    "{}: only an equations problem names its outputs; the built-in \
                     Navier-Stokes pressure is always compared up to a constant",
                    v.up_to_constant.join(", ")
                ),
            ));
        }
        let ns = matches!(self.pde, PdeConfig::NavierStokes { .. });
        let up_to_constant = output_names.iter().map(|n| ns && n == "p").collect();
        Ok(Problem {
            loss: Objective::Builtin(loss),
            exact,
            validation,
            output_names,
            up_to_constant,
            activation,
        })
    }
}
