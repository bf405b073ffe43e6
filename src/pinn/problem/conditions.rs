//! The `[[pinn.conditions]]` of an equations problem: where (faces of the domain, or a
//! region given by an expression of the inputs), what (values of outputs, normal
//! derivatives, general residuals, or periodic pairs of faces), on how many points and
//! with what weight; each built into [`Term`]s of the loss.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Term;
use super::config::{Settings, rekey};
use super::equations::{ExprResidual, Names};
use super::region::{self, Relation};
use crate::error::{Error, Result};
use crate::field::expr::{Definitions, Expr};
use crate::pinn::sampling::{face_counts, sample_on_faces};

/// One condition: where (`on`: faces of the domain such as `"t = 0"` or
/// `["x = -1", "x = 1"]`; or `region`: an expression such as `"x^2 + y^2 = 0.25"`, a
/// surface, or `"x^2 + y^2 < 0.25"`, a volume), what (values of outputs, normal
/// derivatives of outputs, general residuals, or `periodic`: expressions equal on two
/// opposite faces), on how many points and with what weight.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionConfig {
    /// The faces, each `"<input> = <value>"` with the value an end of that input's
    /// interval (an expression of the constants: `"x = -L"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<Faces>,
    /// A region instead of faces: `"<lhs> <op> <rhs>"` with expressions of the inputs
    /// and `op` one of `=` (the surface `lhs = rhs`: points of the domain moved onto it
    /// by Newton's method along the exact gradient of `lhs − rhs`), `<`, `<=`, `>`, `>=`
    /// (the volume where it holds: points of the domain kept where it does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Values of outputs there (Dirichlet): `{ u = "-sin(pi*x)" }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
    /// Normal derivatives of outputs there (Neumann): `{ u = "0" }`. On a face the
    /// normal points out of the domain; on a region's surface it is the unit gradient of
    /// `lhs − rhs` over the inputs other than `t`, pointing to where `lhs − rhs` grows.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub normal: BTreeMap<String, String>,
    /// General residuals there, in the equations' syntax.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub equations: Vec<String>,
    /// Periodic pairs: on two opposite faces (`on = ["x = -1", "x = 1"]`), each of these
    /// expressions (`["u", "d(u, x)"]`) takes the same value at a point of the lower face
    /// and at the same point moved to the upper face.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub periodic: Vec<String>,
    /// Points on the faces (shared between them in proportion to their measure), in the
    /// region, or pairs of a periodic condition.
    pub points: usize,
    /// The term's weight (default 1).
    #[serde(default = "one")]
    pub weight: f64,
}

fn one() -> f64 {
    1.0
}

/// One face or several.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Faces {
    /// `"t = 0"`.
    One(String),
    /// `["x = -1", "x = 1"]`.
    Many(Vec<String>),
}

impl Faces {
    fn list(&self) -> Vec<&str> {
        match self {
            Faces::One(s) => vec![s.as_str()],
            Faces::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

impl ConditionConfig {
    /// Every expression of the condition (values, normal derivatives, equations,
    /// periodic), to find the names it uses.
    pub(super) fn expressions(&self) -> impl Iterator<Item = &String> {
        self.equations
            .iter()
            .chain(self.values.values())
            .chain(self.normal.values())
            .chain(&self.periodic)
    }
}

/// An error of `ExprResidual::new` about `equations.<i>`, said of `key.<i>`.
fn rekey_list(e: Error, key: &str) -> Error {
    match e {
        Error::Config { setting, message } => {
            let i = setting.strip_prefix("equations").unwrap_or("");
            Error::config(format!("{key}{i}"), message)
        }
        other => other,
    }
}

/// The terms of condition `c`.
pub(super) fn terms(
    c: usize,
    cond: &ConditionConfig,
    s: &Settings<'_>,
    constants: &[(String, f64)],
    names: &Names,
    defs: Option<&Definitions>,
) -> Result<Vec<Term>> {
    let key = format!("conditions.{c}");
    if cond.values.is_empty()
        && cond.normal.is_empty()
        && cond.equations.is_empty()
        && cond.periodic.is_empty()
    {
        return Err(Error::config(
            key,
            "says nothing: give values = { u = \"...\" }, normal = { u = \"...\" }, equations = [\"...\"] or periodic = [\"u\"]",
        ));
    }
    let pick = |map: &BTreeMap<String, String>, what: &str| -> Result<Vec<(usize, String)>> {
        map.iter()
            .map(|(o, e)| match s.outputs.iter().position(|x| x == o) {
                Some(k) => Ok((k, e.clone())),
                None => Err(Error::config(
                    format!("{key}.{what}.{o}"),
                    format!(
                        "'{o}' is not an output; the outputs are {}",
                        s.outputs.join(", ")
                    ),
                )),
            })
            .collect()
    };
    let values = pick(&cond.values, "values")?;
    let normal = pick(&cond.normal, "normal")?;
    let seed = s.seed.wrapping_add(1 + c as u64);
    let weighted = |t: Term| {
        t.with_weight(cond.weight)
            .map_err(|e| rekey(e, &format!("{key}.weight")))
    };
    // The values, normal-derivative (its residual and data) and equations terms at one
    // set of points, in that order.
    let at = |name: String,
              pts: Vec<Vec<f64>>,
              normal: Option<(ExprResidual, Vec<Vec<f64>>)>|
     -> Result<Vec<Term>> {
        let mut terms = Vec::new();
        if !values.is_empty() {
            let res =
                ExprResidual::condition(&format!("{key}.values"), &values, None, names, defs)?;
            terms.push(weighted(Term::new(name.clone(), pts.clone(), res)?)?);
        }
        if let Some((res, data)) = normal {
            terms.push(weighted(
                Term::new(name.clone(), pts.clone(), res)?.with_data(data)?,
            )?);
        }
        if !cond.equations.is_empty() {
            let res = ExprResidual::new(&cond.equations, names, defs)
                .map_err(|e| rekey_list(e, &format!("{key}.equations")))?;
            terms.push(weighted(Term::new(name, pts, res)?)?);
        }
        Ok(terms)
    };
    let on = match (&cond.on, &cond.region) {
        (Some(_), Some(_)) => {
            return Err(Error::config(
                key,
                "gives both on (faces) and region; give one of them",
            ));
        }
        (None, None) => {
            return Err(Error::config(
                key,
                "says nowhere: give on = \"x = 0\" (faces of the domain) or region = \"x^2 + y^2 = 0.25\" (an expression of the inputs)",
            ));
        }
        (Some(on), None) => on,
        (None, Some(text)) => {
            if !cond.periodic.is_empty() {
                return Err(Error::config(
                    format!("{key}.periodic"),
                    "pairs two opposite faces of the domain (on = [\"x = -1\", \"x = 1\"]), not a region",
                ));
            }
            if cond.points == 0 {
                return Err(Error::config(format!("{key}.points"), "must be at least 1"));
            }
            let rkey = format!("{key}.region");
            let inputs = s.inputs;
            let r = region::parse(
                &rkey,
                text,
                inputs,
                constants,
                defs.unwrap_or(&Definitions::default()),
            )?;
            if !normal.is_empty() && r.relation != Relation::Equal {
                return Err(Error::config(
                    format!("{key}.normal"),
                    format!(
                        "'{text}' is a volume; a normal derivative needs a surface, such as region = \"x^2 + y^2 = 0.25\""
                    ),
                ));
            }
            let pts = r.sample(s.min, s.max, cond.points, s.sampler, seed)?;
            let name = format!("condition {c} ({})", text.trim());
            let normal = if normal.is_empty() {
                None
            } else {
                let over = &names.laplacian_over;
                let res = ExprResidual::normal_condition(
                    &format!("{key}.normal"),
                    &normal,
                    over,
                    names,
                    defs,
                )?;
                Some((res, r.normals(&pts, over)?))
            };
            return at(name, pts, normal);
        }
    };
    let faces = faces(&key, on, s, constants)?;
    if !cond.periodic.is_empty() {
        if !(values.is_empty() && normal.is_empty() && cond.equations.is_empty()) {
            return Err(Error::config(
                format!("{key}.periodic"),
                "periodic pairs take a condition of their own; give values, normal derivatives and equations in another",
            ));
        }
        let [(a, sa, ref ta), (b, sb, ref tb)] = faces[..] else {
            return Err(Error::config(
                format!("{key}.on"),
                format!(
                    "a periodic condition pairs two opposite faces of one input, such as on = [\"x = -1\", \"x = 1\"]; got {} faces",
                    faces.len()
                ),
            ));
        };
        if a != b || sa == sb {
            return Err(Error::config(
                format!("{key}.on"),
                format!(
                    "'{ta}' and '{tb}' are not opposite faces of one input; a periodic condition pairs the two ends of one input's interval"
                ),
            ));
        }
        let (lo_text, hi_text) = if sa { (tb, ta) } else { (ta, tb) };
        let pts = sample_on_faces(s.min, s.max, &[(a, false)], cond.points, s.sampler, seed)
            .map_err(|e| rekey(e, &format!("{key}.points")))?;
        let mut partners = pts.clone();
        partners[a].iter_mut().for_each(|v| *v = s.max[a]);
        let res = ExprResidual::new(&cond.periodic, names, defs)
            .map_err(|e| rekey_list(e, &format!("{key}.periodic")))?;
        let name = format!("condition {c} (periodic: {lo_text} and {hi_text})");
        return Ok(vec![weighted(
            Term::new(name, pts, res)?.with_partners(partners)?,
        )?]);
    }
    // One term per face, so that a normal derivative has its face's sign; the points
    // are shared in proportion to the faces' measures, face after face.
    let sides: Vec<(usize, bool)> = faces.iter().map(|&(a, side, _)| (a, side)).collect();
    let mut out = Vec::new();
    let all = sample_on_faces(s.min, s.max, &sides, cond.points, s.sampler, seed)
        .map_err(|e| rekey(e, &format!("{key}.points")))?;
    let counts = face_counts(s.min, s.max, &sides, cond.points);
    let mut from = 0;
    for (&(axis, side, ref text), &n) in faces.iter().zip(&counts) {
        let range = from..from + n;
        from += n;
        if n == 0 {
            return Err(Error::config(
                format!("{key}.points"),
                format!(
                    "{} points leave the face {text} without any; give at least one per face",
                    cond.points
                ),
            ));
        }
        let pts: Vec<Vec<f64>> = all.iter().map(|col| col[range.clone()].to_vec()).collect();
        let name = format!("condition {c} ({text})");
        let normal = if normal.is_empty() {
            None
        } else {
            let sign = if side { 1.0 } else { -1.0 };
            let res = ExprResidual::condition(
                &format!("{key}.normal"),
                &normal,
                Some((axis, sign)),
                names,
                defs,
            )?;
            Some((res, Vec::new()))
        };
        out.extend(at(name, pts, normal)?);
    }
    Ok(out)
}

/// The faces a condition names: (axis, upper side, text).
fn faces(
    key: &str,
    on: &Faces,
    s: &Settings<'_>,
    constants: &[(String, f64)],
) -> Result<Vec<(usize, bool, String)>> {
    let c: Vec<(&str, f64)> = constants.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let mut out: Vec<(usize, bool, String)> = Vec::new();
    let list = on.list();
    if list.is_empty() {
        return Err(Error::config(format!("{key}.on"), "names no face"));
    }
    for text in list {
        let bad = |m: String| Error::config(format!("{key}.on"), format!("'{text}': {m}"));
        let Some((lhs, rhs)) = text.split_once('=') else {
            return Err(bad("expected a face such as \"x = 0\"".into()));
        };
        let name = lhs.trim();
        let Some(axis) = s.inputs.iter().position(|n| n == name) else {
            return Err(bad(format!(
                "'{name}' is not an input; the inputs are {} (a region given by an expression is region = \"...\")",
                s.inputs.join(", ")
            )));
        };
        let v = Expr::parse(rhs.trim())
            .and_then(|e| e.bind_with(&[], &c))
            .map_err(|e| bad(e.caret()))?
            .eval_f64(&[]);
        let (lo, hi) = (s.min[axis], s.max[axis]);
        let side = if v == lo {
            false
        } else if v == hi {
            true
        } else {
            return Err(bad(format!(
                "{name} = {v} is not a face of the domain: {name} runs over [{lo}, {hi}] (a surface inside it is region = \"{name} = {v}\")"
            )));
        };
        if out.iter().any(|&(a, sd, _)| a == axis && sd == side) {
            return Err(bad("the face is named twice".into()));
        }
        out.push((axis, side, text.trim().to_owned()));
    }
    Ok(out)
}
