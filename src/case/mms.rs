//! Manufactured solutions: the momentum and continuity source terms of the incompressible
//! Navier–Stokes equations, from a velocity field and a pressure field of the case.

use super::config::{Expressions, MmsSpec};
use super::fields::BuiltField;
use super::load::{Case, Input};
use super::summary::Recorder;
use super::summary::Reference;
use crate::error::{Error, Result};
use crate::eval::{Array, Operator};
use crate::field::expr::ExprField;

/// The `[mms]` table, checked: its viscosity and its exact source terms.
pub(super) struct Mms<'c> {
    spec: &'c MmsSpec,
    nu: f64,
    exact_momentum: Option<ExprField>,
    exact_continuity: Option<ExprField>,
}

impl<'c> Mms<'c> {
    /// The case's `[mms]` table, if it has one, with its exact expressions built at `t`
    /// for `d`-D points.
    pub(super) fn new(case: &'c Case, d: usize, t: f64) -> Result<Option<Self>> {
        let Some(spec) = &case.spec.mms else {
            return Ok(None);
        };
        let input = &case.input;
        let nu = input.number(&spec.nu, "mms.nu")?;
        Ok(Some(Mms {
            spec,
            nu,
            exact_momentum: exact(input, &spec.exact_momentum, "exact_momentum", d, d, t)?,
            exact_continuity: exact(input, &spec.exact_continuity, "exact_continuity", 1, d, t)?,
        }))
    }

    /// Computes the source terms at time `t` from the arrays recorded so far, and
    /// records them with their errors.
    pub(super) fn record(&self, rec: &mut Recorder, t: f64, n: usize, d: usize) -> Result<()> {
        let (momentum, continuity) = sources(
            &rec.arrays,
            &self.spec.velocity,
            &self.spec.pressure,
            self.nu,
            n,
            d,
        )?;
        for (a, ex) in [
            (momentum, &self.exact_momentum),
            (continuity, &self.exact_continuity),
        ] {
            let ex = ex.as_ref().map(|e| e.at_time(t));
            rec.record(a, ex.as_ref().map(Reference::Exact), t, None)?;
        }
        Ok(())
    }
}

/// An exact source term `mms.<what>` with `k` components, if given.
fn exact(
    input: &Input,
    e: &Option<toml::Spanned<Expressions>>,
    what: &str,
    k: usize,
    d: usize,
    t: f64,
) -> Result<Option<ExprField>> {
    let Some(e) = e else { return Ok(None) };
    if e.get_ref().0.len() != k {
        return Err(input.error_at(
            &e.span(),
            None,
            format!(
                "mms.{what} has {} expressions; expected {k}",
                e.get_ref().0.len()
            ),
        ));
    }
    input.expr_field(&format!("mms.{what}"), e, d, t).map(Some)
}

/// Checks that the velocity and the pressure are fields of the right shapes, and adds
/// the operators the source terms need to them.
pub(super) fn add_operators(
    spec: &MmsSpec,
    input: &Input,
    fields: &mut [BuiltField<'_>],
    d: usize,
) -> Result<()> {
    let find = |name: &str, what: &str| {
        fields.iter().position(|b| b.name == name).ok_or_else(|| {
            let names: Vec<&str> = fields.iter().map(|b| b.name.as_str()).collect();
            input.error_key(
                &format!("mms.{what}"),
                format!(
                    "mms.{what}: no field named '{name}'; fields are: {}",
                    names.join(", ")
                ),
            )
        })
    };
    let (u, p) = (
        find(&spec.velocity, "velocity")?,
        find(&spec.pressure, "pressure")?,
    );
    let (mu, mp) = (fields[u].field.components(), fields[p].field.components());
    if mu != d || mp != 1 {
        return Err(input.error_key(
            "mms",
            format!(
                "mms: needs a velocity with {d} components and a scalar pressure, got {mu} and {mp}"
            ),
        ));
    }
    for op in [Operator::Advection, Operator::Lap, Operator::Div] {
        if !fields[u].ops.contains(&op) {
            fields[u].ops.push(op);
        }
    }
    if !fields[p].ops.contains(&Operator::Grad) {
        fields[p].ops.push(Operator::Grad);
    }
    Ok(())
}

/// The names of the arrays the source terms add.
pub(super) fn array_names(spec: &MmsSpec) -> Vec<String> {
    let mut names = vec![
        "momentum_source".to_string(),
        "continuity_source".to_string(),
    ];
    if spec.exact_momentum.is_some() {
        names.push("error(momentum_source)".into());
    }
    if spec.exact_continuity.is_some() {
        names.push("error(continuity_source)".into());
    }
    names
}

/// Momentum `(u·∇)u + ∇p − ν∇²u` and continuity `∇·u` from the evaluated arrays.
fn sources(
    arrays: &[Array],
    u: &str,
    p: &str,
    nu: f64,
    n: usize,
    d: usize,
) -> Result<(Array, Array)> {
    let get = |name: String| {
        arrays
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| Error::Operator {
                op: "mms".into(),
                message: format!("internal: array {name} was not computed"),
            })
    };
    let adv = get(Operator::Advection.array_name(u))?;
    let gp = get(Operator::Grad.array_name(p))?;
    let lap = get(Operator::Lap.array_name(u))?;
    let div = get(Operator::Div.array_name(u))?;
    let mut momentum = vec![0.0; n * d];
    for (i, m) in momentum.iter_mut().enumerate() {
        *m = adv.values[i] + gp.values[i] - nu * lap.values[i];
    }
    Ok((
        Array {
            name: "momentum_source".into(),
            components: d,
            values: momentum,
        },
        Array {
            name: "continuity_source".into(),
            components: 1,
            values: div.values.clone(),
        },
    ))
}
