//! The expressions of a [`PinnConfig`]: its constants, evaluated in order; its
//! definitions; the viscosity as a number or an expression; the fields of the boundary
//! values, the exact solution and the source, checked finite where they are sampled.

use std::collections::HashMap;

use super::config::{PdeConfig, PinnConfig};
use crate::error::{Error, Result};
use crate::eval::Points;
use crate::field::expr::{Definitions, Expr, ExprField, check_name};

impl PinnConfig {
    /// The constants, evaluated in order; linear in their number (each is evaluated
    /// with the constants its expression names, found in a hash map).
    ///
    /// # Errors
    /// [`Error::Config`] for an expression that does not parse, uses an unknown name or
    /// is not finite (setting `constants.<name>`), and for a name that cannot name a
    /// constant or is given twice (setting `constants.<index>`, the entry itself).
    pub fn constants(&self) -> Result<Vec<(String, f64)>> {
        let mut out: Vec<(String, f64)> = Vec::with_capacity(self.constants.len());
        let mut known: HashMap<&str, (usize, f64)> = HashMap::with_capacity(self.constants.len());
        for (i, [name, src]) in self.constants.iter().enumerate() {
            let at_entry = |m: String| Error::config(format!("constants.{i}"), m);
            if let Err(why) = check_name(name) {
                return Err(at_entry(format!("'{name}' cannot name a constant: {why}")));
            }
            if let Some(&(j, _)) = known.get(name.as_str()) {
                return Err(at_entry(format!(
                    "'{name}' is given twice (first as constants.{j}); expected distinct names"
                )));
            }
            let bad = |m: String| Error::config(format!("constants.{name}"), m);
            let e = Expr::parse(src).map_err(|e| bad(e.caret()))?;
            let names = e.names();
            let used: Vec<(&str, f64)> =
                if names.iter().all(|(n, _)| known.contains_key(n.as_str())) {
                    names
                        .iter()
                        .filter_map(|(n, _)| {
                            known.get_key_value(n.as_str()).map(|(&m, &(_, v))| (m, v))
                        })
                        .collect()
                } else {
                    // An unknown name: the error lists every constant above it.
                    out.iter().map(|(n, v)| (n.as_str(), *v)).collect()
                };
            let b = e.bind_with(&[], &used).map_err(|e| bad(e.caret()))?;
            let v = b.eval_f64(&[]);
            if !v.is_finite() {
                return Err(bad(format!(
                    "`{src}` is {v:?}; expected a finite number (a NaN or infinite constant \
                     makes every loss NaN)"
                )));
            }
            known.insert(name.as_str(), (i, v));
            out.push((name.clone(), v));
        }
        Ok(out)
    }

    /// The definitions, checked against the constants and each other.
    ///
    /// # Errors
    /// [`Error::Config`] (setting `definitions.<index>`) for a name that cannot be
    /// defined, an expression that does not parse or uses an unknown name, and
    /// definitions that use themselves; and the errors of [`PinnConfig::constants`].
    pub fn definitions(&self) -> Result<Definitions> {
        self.definitions_with(&self.constants()?)
    }

    /// [`PinnConfig::definitions`] with the constants evaluated already (by
    /// [`PinnConfig::constants`]): each evaluation of 10⁵ constants is work worth doing once.
    ///
    /// # Errors
    /// Those of [`PinnConfig::definitions`] but the constants'.
    pub fn definitions_with(&self, consts: &[(String, f64)]) -> Result<Definitions> {
        let c: Vec<(&str, f64)> = consts.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let list: Vec<(&str, &str)> = self
            .definitions
            .iter()
            .map(|[n, e]| (n.as_str(), e.as_str()))
            .collect();
        Definitions::new(&list, &c).map_err(|e| {
            let src = &self.definitions[e.index()][1];
            let m = match e.column() {
                Some(col) => format!("{e}\n{src}\n{}^", " ".repeat(col.saturating_sub(1))),
                None => e.to_string(),
            };
            Error::config(format!("definitions.{}", e.index()), m)
        })
    }

    /// The viscosity of a Navier–Stokes problem (`None` for Poisson), checked.
    ///
    /// # Errors
    /// [`Error::Config`] (setting `pde.nu`) for an expression that does not parse or
    /// uses a name that is not a constant, and a viscosity that is not finite and
    /// positive; and the errors of [`PinnConfig::constants`].
    pub fn nu(&self) -> Result<Option<f64>> {
        self.nu_with(&self.constants()?)
    }

    /// [`PinnConfig::nu`] with the constants evaluated already.
    pub(super) fn nu_with(&self, consts: &[(String, f64)]) -> Result<Option<f64>> {
        let PdeConfig::NavierStokes { nu } = &self.pde else {
            return Ok(None);
        };
        let c: Vec<(&str, f64)> = consts.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let v = nu
            .value(&c)
            .map_err(|e| Error::config("pde.nu", e.caret()))?;
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::config(
                "pde.nu",
                format!("the viscosity must be positive, got {v}"),
            ));
        }
        Ok(Some(v))
    }

    /// The field of `exprs` (the setting `setting`) with the constants and definitions
    /// evaluated already: evaluating them once per problem keeps the work linear in
    /// their number.
    pub(super) fn expr_field_with(
        &self,
        setting: &str,
        exprs: &[String],
        consts: &[(String, f64)],
        defs: &Definitions,
    ) -> Result<ExprField> {
        let c: Vec<(&str, f64)> = consts.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        ExprField::with_definitions(exprs, self.dim(), 0.0, &c, defs).map_err(|e| {
            let m = match e.caret() {
                Some(c) => format!("{e}\n{c}"),
                None => e.to_string(),
            };
            Error::config(setting, m)
        })
    }
}

/// Checks that `field` is finite at every one of `points`: a NaN or infinite source or
/// boundary value would make the loss NaN at the first step, which reads like a diverged
/// training; named here as the setting it comes from, with the first such point.
pub(super) fn finite_at(setting: &str, field: &ExprField, points: &Points) -> Result<()> {
    let values = crate::eval::evaluate(
        field,
        points,
        &[crate::eval::Operator::Value],
        &crate::eval::EvalOptions::default(),
    )?;
    let Some(a) = values.first() else {
        return Ok(());
    };
    let c = a.components.max(1);
    if let Some(k) = a.values.iter().position(|v| !v.is_finite()) {
        let p = points.point(k / c);
        return Err(Error::config(
            setting,
            format!(
                "is {:?} at the sample point ({:?}, {:?}, {:?}); expected finite values \
                 everywhere in the domain",
                a.values[k], p[0], p[1], p[2]
            ),
        ));
    }
    Ok(())
}
