//! The case file's equations problem: `[pinn.pde] kind = "equations"` with its inputs,
//! outputs and equations, the `[[pinn.conditions]]` on faces of the domain, the
//! `[[pinn.data]]` fitted at measured points and the `[pinn.unknowns]`, built into a
//! [`Loss`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::build::Reference;
use super::conditions::ConditionConfig;
use super::equations::{ExprResidual, Names};
use super::{Loss, Term};
use crate::error::{Error, Result};
use crate::field::expr::{Definitions, Expr};
use crate::pinn::sampling::{Sampler, sample_in};

/// Measured values fitted at their points: a CSV file (relative to the case directory)
/// whose header names every input and some outputs (each output column found is fitted),
/// or samples of a reference solution nabla computes (`reference = "burgers"`, with its
/// viscosity `nu`, at `points` uniform points of the domain drawn with `seed`) for an
/// inverse problem whose data are made by code.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// The CSV file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// A reference solution instead of a file: `"burgers"` (see
    /// [`crate::pinn::burgers_cole_hopf`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The reference's viscosity, an expression of the constants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nu: Option<String>,
    /// The number of reference samples.
    #[serde(default)]
    pub points: usize,
    /// The seed of the samples' points.
    #[serde(default)]
    pub seed: u64,
    /// The term's weight (default 1).
    #[serde(default = "one")]
    pub weight: f64,
}

fn one() -> f64 {
    1.0
}

/// What the built equations problem holds beside its loss.
#[derive(Clone)]
pub struct Equations {
    /// The loss.
    pub loss: Loss,
    /// The names of the inputs, outputs and unknowns.
    pub names: Names,
    /// The unknowns' initial values, in the order of [`Names::coefficients`].
    pub unknowns: Vec<f64>,
    /// Whether each term is a condition or data (`true`) or an equation (`false`).
    pub on_boundary: Vec<bool>,
    /// What the trained network is compared with, if anything.
    pub reference: Option<Reference>,
    /// The points of that comparison, one column per input.
    pub validation: Option<Vec<Vec<f64>>>,
    /// How the interior points were drawn (box, count, sampler, seed), to draw them anew.
    pub(super) interior: (Vec<f64>, Vec<f64>, usize, Sampler, u64),
}

impl Equations {
    /// The same problem with the equations' points drawn as set `j` (seed `seed + j`;
    /// set 0 is the problem's own): the conditions and data keep theirs.
    ///
    /// # Errors
    /// Errors of the sampling (none for settings that built the problem).
    pub fn resampled(&self, j: usize) -> Result<Equations> {
        let (lo, hi, n, sampler, seed) = &self.interior;
        let pts = sample_in(lo, hi, *n, *sampler, seed.wrapping_add(j as u64))?;
        let mut e = self.clone();
        e.loss = e.loss.with_points(0, pts)?;
        Ok(e)
    }
}

/// The settings the equations problem is built from (parts of the `[pinn]` table).
pub(crate) struct Settings<'a> {
    pub inputs: &'a [String],
    pub outputs: &'a [String],
    pub equations: &'a [String],
    pub weights: &'a [f64],
    pub conditions: &'a [ConditionConfig],
    pub data: &'a [DataConfig],
    pub unknowns: &'a BTreeMap<String, f64>,
    pub min: &'a [f64],
    pub max: &'a [f64],
    pub interior: usize,
    pub sampler: Sampler,
    pub seed: u64,
    pub chunk_size: usize,
    pub dir: &'a Path,
}

fn names_ok(what: &str, list: &[String], taken: &[&str]) -> Result<()> {
    for (i, n) in list.iter().enumerate() {
        crate::field::expr::check_name(n)
            .or_else(|why| {
                // Coordinates and t are fine as inputs and outputs.
                if ["x", "y", "z", "t"].contains(&n.as_str()) {
                    Ok(())
                } else {
                    Err(why)
                }
            })
            .map_err(|why| {
                Error::config(
                    format!("{what}.{i}"),
                    format!("'{n}' cannot be a name: {why}"),
                )
            })?;
        if list[..i].contains(n) || taken.contains(&n.as_str()) {
            return Err(Error::config(
                format!("{what}.{i}"),
                format!(
                    "'{n}' is given twice (inputs, outputs, unknowns and constants need distinct names)"
                ),
            ));
        }
    }
    Ok(())
}

/// Builds the loss: the equations on `interior` points of the box, each condition on
/// its faces, each data file at its points.
pub(crate) fn build(
    s: &Settings<'_>,
    constants: &[(String, f64)],
    definitions: &Definitions,
) -> Result<Equations> {
    let d = s.inputs.len();
    if d == 0 || s.outputs.is_empty() || s.equations.is_empty() {
        return Err(Error::config(
            "pde",
            "an equations problem needs inputs, outputs and equations, e.g. inputs = [\"x\", \"t\"], outputs = [\"u\"], equations = [\"d(u, t) - d(u, x, x)\"]",
        ));
    }
    if s.min.len() != d || s.max.len() != d {
        return Err(Error::config(
            "domain",
            format!(
                "min and max need one value per input ({}), got {} and {}",
                s.inputs.join(", "),
                s.min.len(),
                s.max.len()
            ),
        ));
    }
    let consts: Vec<&str> = constants.iter().map(|(n, _)| n.as_str()).collect();
    names_ok("pde.inputs", s.inputs, &consts)?;
    let mut taken = consts.clone();
    taken.extend(s.inputs.iter().map(String::as_str));
    names_ok("pde.outputs", s.outputs, &taken)?;
    taken.extend(s.outputs.iter().map(String::as_str));
    let unknown_names: Vec<String> = s.unknowns.keys().cloned().collect();
    names_ok("unknowns", &unknown_names, &taken)?;
    let mut unknowns = Vec::with_capacity(unknown_names.len());
    for (n, &v) in s.unknowns {
        if !v.is_finite() {
            return Err(Error::config(
                format!("unknowns.{n}"),
                format!("an initial guess must be finite, got {v}"),
            ));
        }
        unknowns.push(v);
    }
    if !s.weights.is_empty() && s.weights.len() != s.equations.len() {
        return Err(Error::config(
            "pde.weights",
            format!(
                "give one weight per equation ({}), got {}",
                s.equations.len(),
                s.weights.len()
            ),
        ));
    }
    let mut names = Names::new(s.inputs, s.outputs);
    names.coefficients = unknown_names.clone();
    names.constants = constants.to_vec();
    let defs = Some(definitions);
    let mut terms = Vec::new();
    let mut on_boundary = Vec::new();
    let interior = sample_in(s.min, s.max, s.interior, s.sampler, s.seed)
        .map_err(|e| rekey(e, "points.interior"))?;
    // The equations share one term, so that the network and its derivatives are computed
    // once per point for all of them; component i is scaled by √(k·wᵢ), which makes the
    // term's mean square over its k components Σᵢ wᵢ·mean(rᵢ²), the weighted sum of the
    // equations' own mean squares.
    let k = s.equations.len();
    let mut scales = Vec::with_capacity(k);
    for i in 0..k {
        let w = s.weights.get(i).copied().unwrap_or(1.0);
        if !(w.is_finite() && w >= 0.0) {
            return Err(Error::config(
                format!("pde.weights.{i}"),
                format!("a loss weight must be finite and non-negative, got {w}"),
            ));
        }
        scales.push((k as f64 * w).sqrt());
    }
    let r = ExprResidual::new(s.equations, &names, defs)
        .map_err(|e| match e {
            Error::Config { setting, message } => Error::config(format!("pde.{setting}"), message),
            other => other,
        })?
        .with_scales(&scales);
    terms.push(Term::new("equations", interior, r)?);
    on_boundary.push(false);
    for (c, cond) in s.conditions.iter().enumerate() {
        let built = super::conditions::terms(c, cond, s, constants, &names, defs)?;
        on_boundary.extend(built.iter().map(|_| true));
        terms.extend(built);
    }
    for (k, data) in s.data.iter().enumerate() {
        let key = format!("data.{k}");
        let (pts, outs, what) = super::data::data_samples(&key, data, s, constants)?;
        let mut dn = names.clone();
        dn.data = outs
            .iter()
            .map(|(o, _)| format!("{}_data", s.outputs[*o]))
            .collect();
        let eqs: Vec<String> = outs
            .iter()
            .map(|(o, _)| format!("{0} - {0}_data", s.outputs[*o]))
            .collect();
        let r = ExprResidual::new(&eqs, &dn, None)?;
        terms.push(
            Term::new(format!("data {k} ({what})"), pts, r)?
                .with_data(outs.into_iter().map(|(_, v)| v).collect())?
                .with_weight(data.weight)
                .map_err(|e| rekey(e, &format!("{key}.weight")))?,
        );
        on_boundary.push(true);
    }
    if !unknowns.is_empty() && s.data.is_empty() {
        return Err(Error::config(
            "unknowns",
            format!(
                "{} cannot be identified without measurements: add [[pinn.data]] with values of the outputs",
                unknown_names.join(", ")
            ),
        ));
    }
    // Every unknown must appear in an equation or condition.
    for (k, n) in unknown_names.iter().enumerate() {
        let used = s
            .equations
            .iter()
            .chain(s.conditions.iter().flat_map(|c| c.expressions()))
            .any(|e| {
                Expr::parse_with_derivatives(e)
                    .map(|x| x.names().iter().any(|(m, _)| m == n))
                    .unwrap_or(false)
            });
        if !used {
            return Err(Error::config(
                format!("unknowns.{n}"),
                format!("unknown {k} ('{n}') appears in no equation or condition"),
            ));
        }
    }
    let loss = Loss::new(d, s.outputs.len(), terms)?
        .with_coefficients(unknowns.len())
        .with_chunk_size(s.chunk_size)
        .map_err(|e| rekey(e, "points.chunk_size"))?;
    Ok(Equations {
        loss,
        names,
        unknowns,
        on_boundary,
        reference: None,
        validation: None,
        interior: (
            s.min.to_vec(),
            s.max.to_vec(),
            s.interior,
            s.sampler,
            s.seed,
        ),
    })
}

/// The error `e` about the setting `key`.
pub(super) fn rekey(e: Error, key: &str) -> Error {
    match e {
        Error::Config { message, .. } => Error::config(key, message),
        other => other,
    }
}
