//! A multilayer perceptron whose weights and biases go onto a tape as leaves.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::autodiff::{Tape, Var};
use crate::error::{Error, Result};
use crate::field::Field;

/// The nonlinearity between layers, built from tape ops so that it can be differentiated
/// to any order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `tanh z`, the usual PINN choice.
    Tanh,
    /// `sin z` (SIREN-like; records `cos z` beside it for the VJP).
    Sin,
    /// `softplus z = ln(1 + eᶻ)`, written as `max(z, 0) + ln(1 + e^(−|z|))` so that it
    /// does not overflow; `max(z, 0) = (z + |z|)/2`.
    Softplus,
}

impl Activation {
    /// Every activation, in the order their names are listed in error messages.
    pub const ALL: [Activation; 3] = [Activation::Tanh, Activation::Sin, Activation::Softplus];

    /// The name used in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Tanh => "tanh",
            Activation::Sin => "sin",
            Activation::Softplus => "softplus",
        }
    }

    /// The activation applied elementwise to `z`, as tape ops.
    pub fn apply<'t>(self, z: Var<'t>) -> Var<'t> {
        match self {
            Activation::Tanh => z.tanh(),
            Activation::Sin => z.sin(),
            Activation::Softplus => z.softplus(),
        }
    }
}

impl std::str::FromStr for Activation {
    type Err = Error;

    /// The activation named `s`; an unknown name is an [`Error::Config`] that lists the
    /// valid names.
    fn from_str(s: &str) -> Result<Self> {
        Activation::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Activation::ALL.iter().map(|a| a.name()).collect();
                Error::config(
                    "network.activation",
                    format!(
                        "unknown activation '{s}'; valid activations are: {}",
                        names.join(", ")
                    ),
                )
            })
    }
}

/// One affine layer `z = h·W + b`: `W` is `inputs × outputs`, stored column-major (the
/// tape's layout), `b` has `outputs` entries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// Width of the layer's input.
    pub inputs: usize,
    /// Width of the layer's output.
    pub outputs: usize,
    /// `inputs × outputs` weights, column-major.
    pub weights: Vec<f64>,
    /// `outputs` biases.
    pub bias: Vec<f64>,
}

/// The most inputs a network takes: space, time and a few parameters of a PDE fit well
/// within it.
pub const MAX_INPUTS: usize = 16;

/// A multilayer perceptron `Rᵈ → Rᵐ` (d from 1 to [`MAX_INPUTS`]: space, time, extra
/// inputs): affine layers with an activation between them and none after the last.
///
/// Its weights and biases are the parameters of a physics-informed training: [`Mlp::on_tape`]
/// puts them on a tape as leaves ([`Tape::var`]), so gradients with respect to them can be
/// taken through any operator of the network's output. As a [`Field`] (for the evaluator
/// and VTK output) it puts them on as constants; there it is evaluated on points of as many
/// coordinates as it has inputs (the evaluator's points have 2 or 3).
///
/// Parameters are ordered layer by layer, each layer's weights (column-major) before its
/// biases: the order of [`Mlp::params`], [`Mlp::set_params`] and [`MlpVars::params`].
///
/// ```
/// use nabla::pinn::{Activation, Mlp};
/// use nabla::field::Field;
/// let net = Mlp::new(2, &[16, 16], 1, Activation::Tanh, 7).unwrap();
/// assert_eq!(net.components(), 1);
/// assert_eq!(net.num_params(), 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1);
/// let json = net.to_json();
/// assert_eq!(Mlp::from_json(&json).unwrap(), net); // restored exactly
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "MlpData")]
pub struct Mlp {
    input_dim: usize,
    activation: Activation,
    layers: Vec<Layer>,
}

/// What a checkpoint holds before [`Mlp::validate`] accepts it: deserialising an [`Mlp`]
/// goes through this, so a network read with serde always has consistent shapes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MlpData {
    input_dim: usize,
    activation: Activation,
    layers: Vec<Layer>,
}

impl TryFrom<MlpData> for Mlp {
    type Error = Error;

    fn try_from(d: MlpData) -> Result<Mlp> {
        let m = Mlp {
            input_dim: d.input_dim,
            activation: d.activation,
            layers: d.layers,
        };
        m.validate()?;
        Ok(m)
    }
}

impl Mlp {
    /// A network with `input_dim` (1 to [`MAX_INPUTS`]) inputs, hidden layers of the given widths and
    /// `outputs` components, initialised by Glorot/Xavier: weights uniform in `±√(6 /
    /// (fan_in + fan_out))` from a ChaCha8 stream seeded with `seed`, biases zero.
    ///
    /// # Errors
    /// [`Error::Config`] for an input dimension outside `1..=MAX_INPUTS`, no hidden layers,
    /// or a zero width (hidden or output).
    pub fn new(
        input_dim: usize,
        hidden: &[usize],
        outputs: usize,
        activation: Activation,
        seed: u64,
    ) -> Result<Mlp> {
        if !(1..=MAX_INPUTS).contains(&input_dim) {
            return Err(Error::config(
                "network.inputs",
                format!("a network takes 1 to {MAX_INPUTS} inputs, got {input_dim}"),
            ));
        }
        if hidden.is_empty() {
            return Err(Error::config(
                "network.hidden",
                "no hidden layers; give at least one width, e.g. hidden = [32, 32]",
            ));
        }
        if let Some(k) = hidden.iter().position(|&w| w == 0) {
            return Err(Error::config(
                "network.hidden",
                format!("hidden layer {k} has width 0; widths must be at least 1"),
            ));
        }
        if outputs == 0 {
            return Err(Error::config(
                "network.outputs",
                "the network has 0 outputs; it needs at least 1",
            ));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let widths: Vec<usize> = std::iter::once(input_dim)
            .chain(hidden.iter().copied())
            .chain(std::iter::once(outputs))
            .collect();
        let mut layers = Vec::new();
        for (k, (&fan_in, &fan_out)) in widths.iter().zip(widths.iter().skip(1)).enumerate() {
            // Widths come from a configuration: every size is checked, every buffer is
            // allocated fallibly (a width of usize::MAX is an error, not a panic).
            let too_wide = || {
                Error::config(
                    "network.hidden",
                    format!("layer {k} ({fan_in} x {fan_out}) has more weights than fit in memory"),
                )
            };
            let n = fan_in
                .checked_mul(fan_out)
                .filter(|&n| n <= isize::MAX as usize / 8)
                .ok_or_else(too_wide)?;
            let mut weights = Vec::new();
            weights.try_reserve_exact(n).map_err(|_| too_wide())?;
            let mut bias = Vec::new();
            bias.try_reserve_exact(fan_out).map_err(|_| too_wide())?;
            // fan_in + fan_out ≤ 2·usize::MAX: summed in f64, where it cannot overflow.
            let a = (6.0 / (fan_in as f64 + fan_out as f64)).sqrt();
            weights.extend((0..n).map(|_| rng.random_range(-a..a)));
            bias.resize(fan_out, 0.0);
            layers.push(Layer {
                inputs: fan_in,
                outputs: fan_out,
                weights,
                bias,
            });
        }
        Ok(Mlp {
            input_dim,
            activation,
            layers,
        })
    }

    /// Number of input coordinates.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// Number of output components.
    pub fn outputs(&self) -> usize {
        self.layers
            .last()
            .expect("internal: an MLP has layers")
            .outputs
    }

    /// The activation between layers.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The affine layers, input to output.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The network's outputs at points given as input columns (`cols[k][i]`: input `k`
    /// of point `i`, any number of inputs), as output columns; computed in chunks in
    /// parallel, each point on its own (so the result does not depend on the threads).
    ///
    /// # Errors
    /// [`Error::Config`] for a column count other than [`Mlp::input_dim`] or columns of
    /// different lengths.
    pub fn predict(&self, cols: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        use rayon::prelude::*;
        let n = cols.first().map_or(0, Vec::len);
        if cols.len() != self.input_dim || cols.iter().any(|c| c.len() != n) {
            return Err(Error::config(
                "network.inputs",
                format!(
                    "{} columns of points for a network of {} inputs (or columns of different lengths)",
                    cols.len(),
                    self.input_dim
                ),
            ));
        }
        const CHUNK: usize = 1024;
        let parts: Vec<Result<Vec<Vec<f64>>>> = (0..n)
            .step_by(CHUNK)
            .collect::<Vec<_>>()
            .par_iter()
            .map(|&s| {
                let e = (s + CHUNK).min(n);
                let tape = Tape::new();
                let x: Vec<Var<'_>> = cols
                    .iter()
                    .map(|c| tape.constant_from_slice(e - s, 1, &c[s..e]))
                    .collect();
                let net = self.on_tape(&tape, false);
                net.forward(&x)
                    .iter()
                    .map(|o| o.with_values(|_, _, v| v.to_vec()))
                    .collect()
            })
            .collect();
        let mut out = vec![Vec::with_capacity(n); self.outputs()];
        for p in parts {
            for (o, v) in out.iter_mut().zip(p?) {
                o.extend(v);
            }
        }
        Ok(out)
    }

    /// Total number of weights and biases.
    pub fn num_params(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.weights.len() + l.bias.len())
            .sum()
    }

    /// All parameters as one flat vector (layer by layer, weights then biases).
    pub fn params(&self) -> Vec<f64> {
        let mut p = Vec::with_capacity(self.num_params());
        for l in &self.layers {
            p.extend_from_slice(&l.weights);
            p.extend_from_slice(&l.bias);
        }
        p
    }

    /// Sets every parameter from a flat vector in the order of [`Mlp::params`].
    ///
    /// # Errors
    /// [`Error::Config`] if the length differs from [`Mlp::num_params`].
    pub fn set_params(&mut self, p: &[f64]) -> Result<()> {
        if p.len() != self.num_params() {
            return Err(Error::config(
                "network.params",
                format!(
                    "{} values for a network with {} parameters",
                    p.len(),
                    self.num_params()
                ),
            ));
        }
        let mut off = 0;
        for l in &mut self.layers {
            let (nw, nb) = (l.weights.len(), l.bias.len());
            l.weights.copy_from_slice(&p[off..off + nw]);
            l.bias.copy_from_slice(&p[off + nw..off + nw + nb]);
            off += nw + nb;
        }
        Ok(())
    }

    /// The parameters on `tape`: leaves that require gradients when `trainable`, constants
    /// otherwise.
    pub fn on_tape<'t>(&self, tape: &'t Tape, trainable: bool) -> MlpVars<'t> {
        let put = |r: usize, c: usize, d: &[f64]| {
            if trainable {
                tape.var_from_slice(r, c, d)
            } else {
                tape.constant_from_slice(r, c, d)
            }
        };
        MlpVars {
            tape,
            activation: self.activation,
            layers: self
                .layers
                .iter()
                .map(|l| {
                    (
                        put(l.inputs, l.outputs, &l.weights),
                        put(1, l.outputs, &l.bias),
                    )
                })
                .collect(),
        }
    }

    /// The parameters as JSON (a checkpoint); [`Mlp::from_json`] restores them exactly
    /// (serde_json writes the shortest representation that reads back to the same f64,
    /// and its `float_roundtrip` parser reads it back to that f64).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("internal: an MLP serialises")
    }

    /// A network from [`Mlp::to_json`]'s output, checked for consistency.
    ///
    /// # Errors
    /// [`Error::Config`] for malformed JSON or layer shapes that do not chain.
    pub fn from_json(s: &str) -> Result<Mlp> {
        serde_json::from_str(s)
            .map_err(|e| Error::config("checkpoint", format!("not a network checkpoint: {e}")))
    }

    /// Checks that the layers chain from `input_dim` and every buffer has its length.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::config("checkpoint", m));
        if !(1..=MAX_INPUTS).contains(&self.input_dim) {
            return bad(format!(
                "input dimension {} (must lie in 1..={MAX_INPUTS})",
                self.input_dim
            ));
        }
        if self.layers.len() < 2 {
            return bad("a network needs at least one hidden layer".into());
        }
        let mut width = self.input_dim;
        for (k, l) in self.layers.iter().enumerate() {
            if l.inputs != width || l.outputs == 0 {
                return bad(format!(
                    "layer {k} maps {} to {} values after a layer of width {width}",
                    l.inputs, l.outputs
                ));
            }
            // Checked: a shape whose product wraps must not match a short buffer.
            if l.inputs.checked_mul(l.outputs) != Some(l.weights.len()) || l.bias.len() != l.outputs
            {
                return bad(format!(
                    "layer {k} has {} weights and {} biases for a {} x {} layer",
                    l.weights.len(),
                    l.bias.len(),
                    l.inputs,
                    l.outputs
                ));
            }
            width = l.outputs;
        }
        Ok(())
    }
}

/// The parameters of an [`Mlp`] on one tape, ready to evaluate the network on batches.
pub struct MlpVars<'t> {
    tape: &'t Tape,
    activation: Activation,
    layers: Vec<(Var<'t>, Var<'t>)>,
}

impl<'t> MlpVars<'t> {
    /// The parameter variables in the order of [`Mlp::params`]: each layer's weights
    /// (`inputs × outputs`) then its bias (`1 × outputs`).
    pub fn params(&self) -> Vec<Var<'t>> {
        self.layers.iter().flat_map(|&(w, b)| [w, b]).collect()
    }

    /// The network at a batch of points given as coordinate columns (`N × 1` each): the
    /// output components, each `N × 1`.
    pub fn forward(&self, x: &[Var<'t>]) -> Vec<Var<'t>> {
        let mut h = self.tape.stack(x);
        let last = self.layers.len() - 1;
        for (k, &(w, b)) in self.layers.iter().enumerate() {
            let z = h.matmul(w) + b;
            h = if k < last {
                self.activation.apply(z)
            } else {
                z
            };
        }
        (0..h.cols()).map(|j| h.col(j)).collect()
    }
}

impl Field for Mlp {
    fn components(&self) -> usize {
        self.outputs()
    }

    /// The network with its parameters as constants of `tape`. Points of a number of
    /// coordinates other than [`Mlp::input_dim`] give invalid outputs, and the tape
    /// reports an [`Error::Operator`] saying so (the trait returns no `Result`).
    fn eval<'t>(&self, tape: &'t Tape, x: &[Var<'t>]) -> Vec<Var<'t>> {
        if x.len() != self.input_dim {
            let e = Error::Operator {
                op: "network".into(),
                message: format!(
                    "a network of {} inputs evaluated on points of {} coordinates",
                    self.input_dim,
                    x.len()
                ),
            };
            return (0..self.outputs())
                .map(|_| tape.invalid(e.clone()))
                .collect();
        }
        self.on_tape(tape, false).forward(x)
    }
}
