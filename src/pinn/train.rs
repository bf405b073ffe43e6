//! Training: the configuration a case file gives, collocation sampling, the Adam loop with
//! progress, the loss history (CSV and PNG), checkpoints and errors against an exact
//! solution.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::adam::{Adam, AdamConfig, Schedule};
use super::loss::{LossTerms, LossWeights, PinnLoss, sample};
use super::mlp::{Activation, Mlp};
use crate::error::{Error, Result};
use crate::eval::Points;
use crate::field::expr::{Expr, ExprField};

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
        /// Kinematic viscosity ν > 0.
        nu: f64,
    },
}

/// The box `[min, max]` that holds the collocation points (2 or 3 coordinates).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DomainConfig {
    /// Lower corner.
    pub min: Vec<f64>,
    /// Upper corner.
    pub max: Vec<f64>,
}

/// How many collocation points, and how they are drawn.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PointsConfig {
    /// Interior points, uniform in the box.
    pub interior: usize,
    /// Boundary points, uniform on the box's faces (a face's share ∝ its size).
    pub boundary: usize,
    /// Seed of the sampling.
    #[serde(default)]
    pub seed: u64,
    /// Points per chunk of the parallel loss evaluation.
    #[serde(default = "default_chunk")]
    pub chunk_size: usize,
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

/// Held-out points on which the trained network is compared with the exact solution.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationConfig {
    /// Number of points, uniform in the box.
    pub points: usize,
    /// Seed of their sampling (use one different from the training points').
    #[serde(default = "default_validation_seed")]
    pub seed: u64,
}

fn default_validation_seed() -> u64 {
    0x5eed
}

/// Everything a physics-informed training needs, as read from a case file (TOML).
///
/// Expressions are over `x, y, [z]`, `pi` and the `constants`, which are evaluated in
/// order (each may use the ones before it). Top-level keys come before the tables:
///
/// ```toml
/// constants = [["k", "pi"]]
/// boundary = ["sin(k*x)*sin(k*y)"]       # Dirichlet values of the first outputs
/// exact = ["sin(k*x)*sin(k*y)"]          # optional, one per output
///
/// [network]
/// hidden = [32, 32]
/// activation = "tanh"
/// seed = 1
///
/// [pde]
/// kind = "poisson"
/// source = "2*k^2*sin(k*x)*sin(k*y)"
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
    /// Dirichlet values on the boundary: expressions for the first outputs (Poisson: `u`;
    /// Navier–Stokes: `u, v, [w]`, optionally followed by `p`).
    pub boundary: Vec<String>,
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
    /// Loss weights (default 1 each).
    #[serde(default)]
    pub weights: LossWeights,
    /// Where to measure the error against `exact`; requires `exact`.
    #[serde(default)]
    pub validation: Option<ValidationConfig>,
}

/// The problem a validated [`PinnConfig`] describes, ready to train.
pub struct Problem {
    /// The loss on the sampled collocation points.
    pub loss: PinnLoss,
    /// The exact solution, if given.
    pub exact: Option<ExprField>,
    /// Held-out validation points, if asked for.
    pub validation: Option<Points>,
    /// Names of the network's outputs (`u`, or `u, v, [w], p`).
    pub output_names: Vec<String>,
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
        self.domain.min.len()
    }

    /// Number of network outputs the PDE needs.
    pub fn outputs(&self) -> usize {
        match self.pde {
            PdeConfig::Poisson { .. } => 1,
            PdeConfig::NavierStokes { .. } => self.dim() + 1,
        }
    }

    /// The constants, evaluated in order.
    ///
    /// # Errors
    /// [`Error::Config`] for an expression that does not parse or uses an unknown name.
    pub fn constants(&self) -> Result<Vec<(String, f64)>> {
        let mut out: Vec<(String, f64)> = Vec::new();
        for [name, src] in &self.constants {
            let bad = |m: String| Error::config(format!("constants.{name}"), m);
            let e = Expr::parse(src).map_err(|e| bad(e.caret()))?;
            let consts: Vec<(&str, f64)> = out.iter().map(|(n, v)| (n.as_str(), *v)).collect();
            let b = e.bind_with(&[], &consts).map_err(|e| bad(e.caret()))?;
            out.push((name.clone(), b.eval_f64(&[])));
        }
        Ok(out)
    }

    fn expr_field(&self, setting: &str, exprs: &[String]) -> Result<ExprField> {
        let consts = self.constants()?;
        let c: Vec<(&str, f64)> = consts.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        ExprField::new(exprs, self.dim(), 0.0, &c).map_err(|e| {
            let m = match e.caret() {
                Some(c) => format!("{e}\n{c}"),
                None => e.to_string(),
            };
            Error::config(setting, m)
        })
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
    /// solution; bad weights.
    pub fn problem(&self) -> Result<Problem> {
        let d = self.dim();
        if !(2..=3).contains(&d) || self.domain.max.len() != d {
            return Err(Error::config(
                "domain",
                format!(
                    "min and max must both have 2 or 3 coordinates, got {} and {}",
                    self.domain.min.len(),
                    self.domain.max.len()
                ),
            ));
        }
        for k in 0..d {
            let (a, b) = (self.domain.min[k], self.domain.max[k]);
            if !(a.is_finite() && b.is_finite() && a < b && (b - a).is_finite()) {
                return Err(Error::config(
                    "domain",
                    format!(
                        "coordinate {k}: min {a} must be below max {b}, both finite and their difference too"
                    ),
                ));
            }
        }
        let faces: f64 = (0..d)
            .map(|k| {
                (0..d)
                    .filter(|&j| j != k)
                    .map(|j| self.domain.max[j] - self.domain.min[j])
                    .product::<f64>()
            })
            .sum();
        if !(2.0 * faces).is_finite() {
            return Err(Error::config(
                "domain",
                "the box's boundary measure overflows f64",
            ));
        }
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
        if let PdeConfig::NavierStokes { nu } = self.pde
            && !(nu.is_finite() && nu > 0.0)
        {
            return Err(Error::config(
                "pde.nu",
                format!("the viscosity must be positive, got {nu}"),
            ));
        }
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
            Some(e) => Some(self.expr_field("exact", e)?),
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
            Some(v) => Some(sample_box(&self.domain, v.points, v.seed)),
            None => None,
        };
        let bc = self.expr_field("boundary", &self.boundary)?;
        let interior = sample_box(&self.domain, self.points.interior, self.points.seed);
        let boundary = sample_faces(
            &self.domain,
            self.points.boundary,
            self.points.seed.wrapping_add(1),
        );
        let loss = match &self.pde {
            PdeConfig::Poisson { source } => {
                let f = self.expr_field("pde.source", std::slice::from_ref(source))?;
                PinnLoss::poisson(&f, interior, boundary, &bc, self.weights)?
            }
            PdeConfig::NavierStokes { nu } => {
                PinnLoss::navier_stokes(*nu, interior, boundary, &bc, self.weights)?
            }
        }
        .with_chunk_size(self.points.chunk_size)
        .map_err(|_| Error::config("points.chunk_size", "must be at least 1"))?;
        let output_names = match self.pde {
            PdeConfig::Poisson { .. } => vec!["u".to_owned()],
            PdeConfig::NavierStokes { .. } => ["u", "v", "w"][..d]
                .iter()
                .chain(&["p"])
                .map(|s| s.to_string())
                .collect(),
        };
        Ok(Problem {
            loss,
            exact,
            validation,
            output_names,
            activation,
        })
    }
}

/// The most collocation or validation points of one kind: their coordinates, values and
/// per-point loss terms must fit in memory next to the chunk tapes.
pub const MAX_POINTS: usize = 100_000_000;

/// `n` points uniform in the box, from a ChaCha8 stream seeded with `seed`.
pub fn sample_box(domain: &DomainConfig, n: usize, seed: u64) -> Points {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = domain.min.len();
    let mut cols = vec![Vec::with_capacity(n); d];
    for _ in 0..n {
        for (k, c) in cols.iter_mut().enumerate() {
            c.push(rng.random_range(domain.min[k]..domain.max[k]));
        }
    }
    Points::from_columns(cols).expect("internal: a valid box")
}

/// `n` points uniform on the faces of the box: a face is chosen with probability
/// proportional to its length (2-D) or area (3-D), then a point uniform on it.
pub fn sample_faces(domain: &DomainConfig, n: usize, seed: u64) -> Points {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = domain.min.len();
    let len: Vec<f64> = (0..d).map(|k| domain.max[k] - domain.min[k]).collect();
    // Face (k, side) is normal to axis k; its measure is the product of the other lengths.
    let measure: Vec<f64> = (0..d)
        .map(|k| (0..d).filter(|&j| j != k).map(|j| len[j]).product())
        .collect();
    let total: f64 = 2.0 * measure.iter().sum::<f64>();
    let mut cols = vec![Vec::with_capacity(n); d];
    for _ in 0..n {
        let mut r = rng.random_range(0.0..total);
        let mut face = (d - 1, 1);
        'pick: for (k, &m) in measure.iter().enumerate() {
            for side in 0..2 {
                if r < m {
                    face = (k, side);
                    break 'pick;
                }
                r -= m;
            }
        }
        for (j, c) in cols.iter_mut().enumerate() {
            let v = if j == face.0 {
                if face.1 == 0 {
                    domain.min[j]
                } else {
                    domain.max[j]
                }
            } else {
                rng.random_range(domain.min[j]..domain.max[j])
            };
            c.push(v);
        }
    }
    Points::from_columns(cols).expect("internal: a valid box")
}

/// One row of the loss history.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossRecord {
    /// Iteration (from 0): the loss of the parameters before step `iteration`.
    pub iteration: usize,
    /// The learning rate of that step.
    pub learning_rate: f64,
    /// The loss and its terms.
    pub loss: LossTerms,
    /// Seconds since the (possibly resumed) run started.
    pub seconds: f64,
}

/// What a checkpoint file holds: the network, the optimiser's state and the history, so
/// that a run resumes exactly where it stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The network's parameters.
    pub mlp: Mlp,
    /// Adam's moments and step count.
    pub adam: Adam,
    /// The loss history so far.
    pub history: Vec<LossRecord>,
}

impl Checkpoint {
    /// Writes the checkpoint as JSON, atomically (a temporary file renamed into place).
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string(self).expect("internal: a checkpoint serialises");
        crate::io::write_atomically(path, json.as_bytes())
    }

    /// Reads a checkpoint written by [`Checkpoint::save`].
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read; [`Error::Config`] if it is not a
    /// consistent checkpoint.
    pub fn load(path: &Path) -> Result<Checkpoint> {
        let s = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
        let c: Checkpoint = serde_json::from_str(&s).map_err(|e| {
            Error::config(
                "checkpoint",
                format!("{} is not a checkpoint: {e}", path.display()),
            )
        })?;
        Ok(c)
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// How [`fit`] reports and saves.
#[derive(Clone, Debug, Default)]
pub struct FitOptions {
    /// Iterations to reach in total (counting steps the optimiser already took).
    pub iterations: usize,
    /// The learning-rate schedule.
    pub schedule: Schedule,
    /// Hide the progress bar (it is hidden anyway when stderr is not a terminal).
    pub quiet: bool,
    /// Save a [`Checkpoint`] at this path every `checkpoint_every` iterations (and at the
    /// end).
    pub checkpoint: Option<PathBuf>,
    /// Checkpoint interval (0: only at the end).
    pub checkpoint_every: usize,
}

/// Trains `mlp` with `adam` on `loss` from step `adam.steps()` up to `opts.iterations`,
/// appending one [`LossRecord`] per step to `history`.
///
/// # Errors
/// [`Error::Config`] for zero iterations, a bad schedule, or a non-finite loss (the run
/// diverged: lower the learning rate); errors of the loss or of writing checkpoints.
pub fn fit(
    mlp: &mut Mlp,
    adam: &mut Adam,
    loss: &PinnLoss,
    opts: &FitOptions,
    history: &mut Vec<LossRecord>,
) -> Result<()> {
    let start = adam.steps() as usize;
    let total = opts.iterations;
    if total == 0 {
        return Err(Error::config("optimizer.iterations", "must be at least 1"));
    }
    opts.schedule.validate(adam.config().learning_rate)?;
    let bar = if opts.quiet || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(
                "{bar:30} {pos}/{len} loss {msg} [{elapsed_precise} < {eta_precise}]",
            )
            .expect("internal: progress template"),
        );
        b.set_position(start as u64);
        b
    };
    let t0 = Instant::now();
    let base_lr = adam.config().learning_rate;
    let mut params = mlp.params();
    for k in start..total {
        let (terms, grad) = loss.value_and_grad(mlp)?;
        if !terms.total.is_finite() {
            bar.abandon();
            return Err(Error::config(
                "optimizer.learning_rate",
                format!(
                    "the loss became {} at iteration {k}; lower the learning rate",
                    terms.total
                ),
            ));
        }
        let lr = opts.schedule.rate(base_lr, k, total);
        history.push(LossRecord {
            iteration: k,
            learning_rate: lr,
            loss: terms,
            seconds: t0.elapsed().as_secs_f64(),
        });
        adam.step(&mut params, &grad, lr)?;
        mlp.set_params(&params)?;
        bar.set_message(format!("{:.3e}", terms.total));
        bar.inc(1);
        if let Some(path) = &opts.checkpoint
            && opts.checkpoint_every > 0
            && (k + 1) % opts.checkpoint_every == 0
        {
            save_checkpoint(path, mlp, adam, history)?;
        }
    }
    bar.finish_and_clear();
    if let Some(path) = &opts.checkpoint {
        save_checkpoint(path, mlp, adam, history)?;
    }
    Ok(())
}

fn save_checkpoint(path: &Path, mlp: &Mlp, adam: &Adam, history: &[LossRecord]) -> Result<()> {
    Checkpoint {
        mlp: mlp.clone(),
        adam: adam.clone(),
        history: history.to_vec(),
    }
    .save(path)
}

/// The loss history as CSV: `iteration,learning_rate,loss,pde,continuity,boundary,seconds`.
pub fn history_csv(history: &[LossRecord]) -> String {
    let mut s = String::from("iteration,learning_rate,loss,pde,continuity,boundary,seconds\n");
    for r in history {
        s.push_str(&format!(
            "{},{:e},{:e},{:e},{:e},{:e},{:.3}\n",
            r.iteration,
            r.learning_rate,
            r.loss.total,
            r.loss.pde,
            r.loss.continuity,
            r.loss.boundary,
            r.seconds
        ));
    }
    s
}

/// Plots the loss history to a PNG: `log₁₀` of the total loss (black) and of the PDE
/// (blue), continuity (green) and boundary (red) terms against the iteration, with a grey
/// line at every power of ten. The plot carries no text (axis labels need fonts, which
/// the bitmap backend does not bring).
///
/// # Errors
/// [`Error::Io`] if the image cannot be written.
pub fn plot_history(history: &[LossRecord], path: &Path) -> Result<()> {
    // Drawn under a temporary name (ending in .png, which tells plotters the format) and
    // renamed, so that a failure leaves neither a partial plot nor the temporary file.
    let name = path
        .file_name()
        .map_or("plot".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp.png"));
    let r = draw_history(history, &tmp)
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| io_error(path, e)));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

fn draw_history(history: &[LossRecord], path: &Path) -> Result<()> {
    use plotters::prelude::*;
    let err = |e: String| Error::Io {
        path: path.to_path_buf(),
        message: e,
    };
    type Term = fn(&LossRecord) -> f64;
    let series: [(Term, RGBColor); 4] = [
        (|r| r.loss.pde, BLUE),
        (|r| r.loss.continuity, GREEN),
        (|r| r.loss.boundary, RED),
        (|r| r.loss.total, BLACK),
    ];
    let logs = |f: fn(&LossRecord) -> f64| -> Vec<(f64, f64)> {
        history
            .iter()
            .filter(|r| f(r) > 0.0 && f(r).is_finite())
            .map(|r| (r.iteration as f64, f(r).log10()))
            .collect()
    };
    let all: Vec<(f64, f64)> = series.iter().flat_map(|(f, _)| logs(*f)).collect();
    let (lo, hi) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    let (lo, hi) = if lo.is_finite() {
        (lo.floor(), hi.ceil().max(lo.floor() + 1.0))
    } else {
        (0.0, 1.0)
    };
    let xmax = history.last().map_or(1, |r| r.iteration.max(1)) as f64;
    let root = BitMapBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .margin(20)
        .build_cartesian_2d(0.0..xmax, lo..hi)
        .map_err(|e| err(e.to_string()))?;
    let grey = RGBColor(200, 200, 200);
    let mut decade = lo;
    while decade <= hi {
        chart
            .draw_series(LineSeries::new([(0.0, decade), (xmax, decade)], grey))
            .map_err(|e| err(e.to_string()))?;
        decade += 1.0;
    }
    chart
        .draw_series(LineSeries::new(
            [(0.0, lo), (xmax, lo), (xmax, hi), (0.0, hi), (0.0, lo)],
            BLACK,
        ))
        .map_err(|e| err(e.to_string()))?;
    for (f, color) in series {
        chart
            .draw_series(LineSeries::new(logs(f), color.stroke_width(2)))
            .map_err(|e| err(e.to_string()))?;
    }
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(())
}

/// How [`train`] runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrainOptions {
    /// Hide the progress bar.
    pub quiet: bool,
    /// Continue from `checkpoint.json` in the output directory if it exists.
    pub resume: bool,
}

/// The relative L2 error of one output against the exact solution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldError {
    /// The output's name (`u`, `v`, `w`, `p`).
    pub name: String,
    /// `‖û − u‖₂ / ‖u‖₂` over the validation points. For the Navier–Stokes pressure,
    /// which the equations fix only up to a constant, both means are removed first.
    pub relative_l2: f64,
}

/// What [`train`] returns.
#[derive(Clone, Debug)]
pub struct TrainReport {
    /// The trained network.
    pub mlp: Mlp,
    /// The loss history (including steps of a resumed run).
    pub history: Vec<LossRecord>,
    /// Relative L2 errors per output, when validation was asked for.
    pub errors: Vec<FieldError>,
    /// The loss after the last step.
    pub final_loss: LossTerms,
    /// Wall-clock seconds of this call's training.
    pub seconds: f64,
    /// The files written: `loss.csv`, `loss.png`, `checkpoint.json`.
    pub files: Vec<PathBuf>,
}

/// Trains the network a [`PinnConfig`] describes and writes into `out_dir`:
/// `checkpoint.json` (network, optimiser state, history), `loss.csv` and `loss.png`.
///
/// # Errors
/// [`Error::Config`] for every setting that cannot be used (see [`PinnConfig::problem`]),
/// or a checkpoint that does not fit the configuration when resuming; [`Error::Io`] if
/// the files cannot be written; errors of the loss.
pub fn train(config: &PinnConfig, opts: &TrainOptions, out_dir: &Path) -> Result<TrainReport> {
    let problem = config.problem()?;
    std::fs::create_dir_all(out_dir).map_err(|e| io_error(out_dir, e))?;
    let ckpt = out_dir.join("checkpoint.json");
    let n_out = config.outputs();
    let (mut mlp, mut adam, mut history) = if opts.resume && ckpt.exists() {
        let c = Checkpoint::load(&ckpt)?;
        let fresh = Mlp::new(
            config.dim(),
            &config.network.hidden,
            n_out,
            problem.activation,
            0,
        )?;
        if c.mlp.num_params() != fresh.num_params()
            || c.mlp.activation() != fresh.activation()
            || c.mlp.layers().len() != fresh.layers().len()
        {
            return Err(Error::config(
                "checkpoint",
                format!(
                    "{} holds a different network than the configuration",
                    ckpt.display()
                ),
            ));
        }
        (c.mlp, c.adam, c.history)
    } else {
        let mlp = Mlp::new(
            config.dim(),
            &config.network.hidden,
            n_out,
            problem.activation,
            config.network.seed,
        )?;
        let adam = Adam::new(config.optimizer.adam(), mlp.num_params())?;
        (mlp, adam, Vec::new())
    };
    let t0 = Instant::now();
    fit(
        &mut mlp,
        &mut adam,
        &problem.loss,
        &FitOptions {
            iterations: config.optimizer.iterations,
            schedule: config.optimizer.schedule,
            quiet: opts.quiet,
            checkpoint: Some(ckpt.clone()),
            checkpoint_every: config.optimizer.checkpoint_every,
        },
        &mut history,
    )?;
    let seconds = t0.elapsed().as_secs_f64();
    let final_loss = problem.loss.value(&mlp)?;
    let csv = out_dir.join("loss.csv");
    crate::io::write_atomically(&csv, history_csv(&history).as_bytes())?;
    let png = out_dir.join("loss.png");
    plot_history(&history, &png)?;
    let errors = problem.errors(&mlp)?;
    Ok(TrainReport {
        mlp,
        history,
        errors,
        final_loss,
        seconds,
        files: vec![ckpt, csv, png],
    })
}

/// Evaluates a checkpoint without training: the loss on the configuration's points and
/// the errors against the exact solution (when validation is configured).
///
/// # Errors
/// As [`PinnConfig::problem`] and [`Checkpoint::load`]; [`Error::Config`] if the
/// checkpoint's network does not fit the problem.
pub fn evaluate(config: &PinnConfig, checkpoint: &Path) -> Result<(LossTerms, Vec<FieldError>)> {
    let problem = config.problem()?;
    let c = Checkpoint::load(checkpoint)?;
    let loss = problem.loss.value(&c.mlp)?;
    Ok((loss, problem.errors(&c.mlp)?))
}

impl Problem {
    /// Relative L2 errors of every output on the validation points (empty without
    /// validation).
    ///
    /// # Errors
    /// Errors of evaluating the network or the exact solution.
    pub fn errors(&self, mlp: &Mlp) -> Result<Vec<FieldError>> {
        let (Some(exact), Some(pts)) = (&self.exact, &self.validation) else {
            return Ok(Vec::new());
        };
        let pred = sample(mlp, pts)?;
        let truth = sample(exact, pts)?;
        let ns = matches!(self.loss.pde(), super::loss::Pde::NavierStokes { .. });
        Ok(self
            .output_names
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let centred = ns && name == "p";
                FieldError {
                    name: name.clone(),
                    relative_l2: relative_l2(&pred[k], &truth[k], centred),
                }
            })
            .collect())
    }
}

/// `‖a − b‖₂ / ‖b‖₂`, after removing both means when `centred`.
pub fn relative_l2(a: &[f64], b: &[f64], centred: bool) -> f64 {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (ma, mb) = if centred {
        (mean(a), mean(b))
    } else {
        (0.0, 0.0)
    };
    let (mut num, mut den) = (0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        num += ((x - ma) - (y - mb)).powi(2);
        den += (y - mb).powi(2);
    }
    (num / den).sqrt()
}
