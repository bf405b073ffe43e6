//! An equations problem built from the `[pinn]` settings, and what it is validated
//! against.

use super::config::{Settings, build, rekey};
use crate::error::{Error, Result};
use crate::field::expr::Expr;
use crate::pinn::sampling::{Sampler, sample_in};

/// What an equations problem is validated against.
#[derive(Clone, Debug)]
pub enum Reference {
    /// One expression of the inputs per output.
    Exact(Vec<crate::field::expr::Bound>),
    /// The Cole–Hopf solution of viscous Burgers with viscosity ν.
    Burgers(f64),
}

impl Reference {
    /// The reference's outputs at the points `cols` (one column per input).
    ///
    /// # Errors
    /// Errors of the Burgers reference (see [`crate::pinn::burgers_cole_hopf`]).
    pub fn values(&self, cols: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        let n = cols.first().map_or(0, Vec::len);
        match self {
            Reference::Exact(b) => Ok(b
                .iter()
                .map(|e| {
                    let mut at = vec![0.0; cols.len()];
                    (0..n)
                        .map(|i| {
                            for (a, c) in at.iter_mut().zip(cols) {
                                *a = c[i];
                            }
                            e.eval_f64(&at)
                        })
                        .collect()
                })
                .collect()),
            Reference::Burgers(nu) => Ok(vec![crate::pinn::burgers_cole_hopf_batch(
                &cols[0], &cols[1], *nu,
            )?]),
        }
    }
}

impl crate::pinn::PinnConfig {
    /// [`PinnConfig::problem`](crate::pinn::PinnConfig::problem) for `kind = "equations"`.
    pub(crate) fn equations_problem(&self) -> Result<crate::pinn::Problem> {
        use crate::pinn::config::{Objective, PdeConfig};
        let PdeConfig::Equations {
            inputs,
            outputs,
            equations,
            weights,
        } = &self.pde
        else {
            return Err(Error::config("pde", "internal: not an equations problem"));
        };
        for (key, given) in [
            ("boundary", !self.boundary.is_empty()),
            ("points.boundary", self.points.boundary != 0),
            (
                "weights",
                self.weights != crate::pinn::LossWeights::default(),
            ),
        ] {
            if given {
                return Err(Error::config(
                    key,
                    "is for the built-in kinds; an equations problem gives each condition its values, points and weight in [[pinn.conditions]], and each equation its weight in pde.weights",
                ));
            }
        }
        if !(1..=16).contains(&inputs.len()) {
            return Err(Error::config(
                "pde.inputs",
                format!("give 1 to 16 inputs, got {}", inputs.len()),
            ));
        }
        super::super::history::check_min_loss_reduction(self.min_loss_reduction)?;
        if self.derivatives != crate::eval::Derivatives::Auto {
            return Err(Error::config(
                "derivatives",
                "an equations problem computes its derivatives by jets; remove the setting",
            ));
        }
        let consts = self.constants()?;
        let defs = self.definitions_with(&consts)?;
        let activation: crate::pinn::Activation = self.network.activation.parse()?;
        crate::pinn::Mlp::new(
            inputs.len(),
            &self.network.hidden,
            outputs.len(),
            activation,
            0,
        )?;
        self.optimizer.adam().validate()?;
        self.optimizer
            .schedule
            .validate(self.optimizer.learning_rate)?;
        if self.optimizer.iterations == 0 {
            return Err(Error::config("optimizer.iterations", "must be at least 1"));
        }
        if self.points.interior == 0 {
            return Err(Error::config("points.interior", "must be at least 1"));
        }
        if let Some(r) = &self.points.refine {
            r.validate(
                self.points.resample_every,
                self.optimizer.iterations,
                self.points.interior,
            )?;
        }
        let mut built = build(
            &Settings {
                inputs,
                outputs,
                equations,
                weights,
                conditions: &self.conditions,
                data: &self.data,
                unknowns: &self.unknowns,
                min: &self.domain.min,
                max: &self.domain.max,
                interior: self.points.interior,
                sampler: self.points.sampler,
                seed: self.points.seed,
                chunk_size: self.points.chunk_size,
                dir: &self.dir,
            },
            &consts,
            &defs,
        )?;
        let c: Vec<(&str, f64)> = consts.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let in_names: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let reference = match (
            &self.exact,
            self.validation
                .as_ref()
                .and_then(|v| v.reference.as_deref()),
        ) {
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    "validation.reference",
                    "give either exact = [...] or validation.reference, not both",
                ));
            }
            (Some(e), None) => {
                if e.len() != outputs.len() {
                    return Err(Error::config(
                        "exact",
                        format!(
                            "give one expression per output ({}), got {}",
                            outputs.len(),
                            e.len()
                        ),
                    ));
                }
                let b = e
                    .iter()
                    .enumerate()
                    .map(|(i, src)| {
                        Expr::parse(src)
                            .and_then(|x| x.bind_defined(&in_names, &c, &defs))
                            .map_err(|x| Error::config(format!("exact.{i}"), x.caret()))
                    })
                    .collect::<Result<_>>()?;
                Some(Reference::Exact(b))
            }
            (None, Some("burgers")) => {
                let nu = consts.iter().find(|(n, _)| n == "nu").map(|&(_, v)| v);
                match nu {
                    Some(nu) if in_names == ["x", "t"] && outputs.len() == 1 => {
                        Some(Reference::Burgers(nu))
                    }
                    _ => {
                        return Err(Error::config(
                            "validation.reference",
                            "\"burgers\" needs inputs [\"x\", \"t\"], one output and a constant nu",
                        ));
                    }
                }
            }
            (None, Some(other)) => {
                return Err(Error::config(
                    "validation.reference",
                    format!("unknown reference '{other}'; the one known is \"burgers\""),
                ));
            }
            (None, None) => None,
        };
        let validation = match &self.validation {
            Some(_) if reference.is_none() => {
                return Err(Error::config(
                    "validation",
                    "errors are asked for but there is no exact solution; add `exact = [...]` or validation.reference",
                ));
            }
            Some(v) if v.points == 0 => {
                return Err(Error::config("validation.points", "must be at least 1"));
            }
            Some(v) => Some(
                sample_in(
                    &self.domain.min,
                    &self.domain.max,
                    v.points,
                    Sampler::Uniform,
                    v.seed,
                )
                .map_err(|e| rekey(e, "validation.points"))?,
            ),
            None => None,
        };
        built.reference = reference;
        built.validation = validation;
        let listed = self
            .validation
            .as_ref()
            .map_or(&[][..], |v| &v.up_to_constant[..]);
        if let Some(n) = listed.iter().find(|n| !outputs.contains(n)) {
            return Err(Error::config(
                "validation.up_to_constant",
                format!(
                    "'{n}' is not an output; the outputs are {}",
                    outputs.join(", ")
                ),
            ));
        }
        Ok(crate::pinn::Problem {
            loss: Objective::Equations(Box::new(built)),
            exact: None,
            validation: None,
            up_to_constant: outputs.iter().map(|n| listed.contains(n)).collect(),
            output_names: outputs.clone(),
            activation,
        })
    }
}
