//! The fields of a case, ready to evaluate: expression fields with their operators and
//! exact answers, the trained network as fields, and the check that every output array
//! has a name of its own.

use std::collections::BTreeMap;

use super::config::FieldSpec;
use super::load::{Case, Input};
use super::{data, mms, network};
use crate::autodiff::{Tape, Var};
use crate::error::Result;
use crate::eval::Operator;
use crate::field::Field;
use crate::field::expr::ExprField;
use crate::pinn::{Mlp, PinnConfig};

/// A field ready to evaluate, with its requested operators and exact answers.
pub(super) struct BuiltField<'a> {
    pub(super) name: String,
    pub(super) field: Box<dyn Field + 'a>,
    pub(super) ops: Vec<Operator>,
    pub(super) exact: BTreeMap<Operator, ExprField>,
    /// Arrays of the data file to compare with, by operator.
    pub(super) compare: BTreeMap<Operator, String>,
    /// The dimension of the points it is evaluated on: the case's, or 3 for a
    /// 3-component data field fitted in x and y on 2-D points (see [`lifted_dim`]).
    pub(super) dim: usize,
    /// Whether it is a data field (NaN outside the data, see `valid`).
    pub(super) data: bool,
}

/// The dimension of the points a field of `m` components fitted in `axes` is evaluated on,
/// for `d`-D points: 3-D for OpenFOAM's 2-D velocity (3 components, fitted in x and y:
/// its third component is kept and reconstructed like the others, and its operators are
/// those of a 3-D field that does not vary along z, as ParaView shows them), else `d`.
pub(super) fn lifted_dim(m: usize, axes: &[usize], d: usize) -> usize {
    if d == 2 && m == 3 && axes == [0, 1] {
        3
    } else {
        d
    }
}

/// Some components of another field (the velocity and the pressure of one network), and
/// the field that is its time derivative where it has one of its own (a data field of a
/// series).
struct Select<'a> {
    inner: &'a dyn Field,
    comps: Vec<usize>,
    ddt: Option<&'a dyn Field>,
}

impl Field for Select<'_> {
    fn components(&self) -> usize {
        self.comps.len()
    }

    fn eval<'t>(&self, tape: &'t Tape, x: &[Var<'t>]) -> Vec<Var<'t>> {
        let all = self.inner.eval(tape, x);
        self.comps.iter().map(|&c| all[c]).collect()
    }

    fn eval_ddt<'t>(&self, tape: &'t Tape, x: &[Var<'t>]) -> Option<Vec<Var<'t>>> {
        let all = match self.ddt {
            Some(f) => f.eval(tape, x),
            None => self.inner.eval_ddt(tape, x)?,
        };
        Some(self.comps.iter().map(|&c| all[c]).collect())
    }
}

/// The time derivatives of the data fields: why there are none, checked (built later,
/// per time), or built for this time.
pub(super) enum DataDdt<'m> {
    /// The data holds one time: `ddt` of a data field is an error saying this.
    Unavailable(String),
    /// A series: built with each time's data.
    Checked,
    /// Built for the time being evaluated.
    Built(&'m [data::Built]),
}

/// Checks every field once, with an untrained network of the configured shape, before
/// any output exists: expressions, operators against shapes, exact answers, the `[mms]`
/// fields, the network's settings, and the names of all arrays. `d` is the dimension of
/// the points and `t` the first time.
/// `source` is the data file (of the data fields) and `points` the number of points, for
/// the arrays of `[field.compare]`.
pub(super) fn check(
    case: &Case,
    d: usize,
    t: f64,
    data: &[data::Built],
    ddt: &DataDdt<'_>,
    source: Option<&data::Source>,
    points: usize,
) -> Result<Vec<String>> {
    let untrained = match &case.spec.pinn {
        Some(cfg) => Some(network::check(case, cfg, d)?),
        None => None,
    };
    let built = build(case, d, t, untrained.as_ref(), data, ddt)?;
    check_compare(case, &built, source, points, d)?;
    if built.is_empty() {
        return Err(case.input.error(
            "nothing to compute: the case has no fields; add a [[field]] with `name` and \
             `value` (expressions) or `data` (arrays of a data file), or a [pinn] table"
                .into(),
        ));
    }
    check_names(case, &built)
}

/// Builds every field at time `t` for `d`-D points: the expression fields, then the
/// fields of `network` when the case has one.
pub(super) fn build<'m>(
    case: &Case,
    d: usize,
    t: f64,
    network: Option<&'m Mlp>,
    data: &'m [data::Built],
    ddt: &DataDdt<'m>,
) -> Result<Vec<BuiltField<'m>>> {
    let mut out: Vec<BuiltField<'m>> = Vec::new();
    for (i, f) in case.spec.fields.iter().enumerate() {
        let span = f
            .value
            .as_ref()
            .map(|v| v.span())
            .or_else(|| f.data.as_ref().map(|v| v.span()));
        let at = |message: String| match &span {
            Some(s) => case.input.error_at(s, None, message),
            None => case.input.error(message),
        };
        if out.iter().any(|b| b.name == f.name) {
            return Err(case.input.error_key(
                &format!("field.{i}.name"),
                format!("field '{}' is defined twice", f.name),
            ));
        }
        let mut fd = d;
        let field: Box<dyn Field + 'm> = match (&f.value, &f.data) {
            (Some(v), None) => {
                Box::new(
                    case.input
                        .expr_field(&format!("field '{}'", f.name), v, d, t)?,
                )
            }
            (None, Some(_)) => {
                let Some(b) = data.iter().find(|b| b.name == f.name) else {
                    return Err(at(format!("field '{}': its data was not read", f.name)));
                };
                let comps = (0..b.field.components()).collect();
                let in_time = (f.operators.iter())
                    .chain(f.exact.keys())
                    .chain(f.compare.keys())
                    .any(|o| o.in_time());
                let time_derivative = match ddt {
                    DataDdt::Unavailable(why) if in_time => {
                        return Err(at(format!("field '{}': ddt and DDt: {why}", f.name)));
                    }
                    DataDdt::Built(list) => list
                        .iter()
                        .find(|d| d.name == f.name)
                        .map(|d| &d.field as &dyn Field),
                    _ => None,
                };
                fd = lifted_dim(b.field.components(), b.field.axes(), d);
                if d == 2 && b.field.axes().contains(&2) {
                    return Err(at(format!(
                        "field '{}': the data varies along z (it is fitted in x, y, z), but \
                         the points have only x, y: evaluate it on 3-D points (a lattice with 3 \
                         counts, a CSV file with a z column), or fit it in x and y \
                         (`reconstruction.dim = 2`) if it does not vary along z",
                        f.name
                    )));
                }
                Box::new(Select {
                    inner: &b.field,
                    comps,
                    ddt: time_derivative,
                })
            }
            _ => {
                return Err(at(format!(
                    "field '{}': expected either `value` (expressions) or `data` (arrays of a \
                     data file), not both or neither",
                    f.name
                )));
            }
        };
        let mut built = spec_field(&case.input, f, field, [d, fd], t, span.unwrap_or(0..0))?;
        built.data = f.data.is_some();
        out.push(built);
    }
    if let Some(spec) = &case.spec.mms {
        mms::add_operators(spec, &case.input, &mut out, d)?;
    }
    if let (Some(cfg), Some(mlp)) = (&case.spec.pinn, network) {
        out.extend(network_fields(case, cfg, mlp, d, t)?);
    }
    Ok(out)
}

/// One `[[field]]` at time `t`, its operators checked against its shape; `[d, fd]`: the
/// dimension of the case's points (of exact answers) and of the points the field is
/// evaluated on (of its operators).
fn spec_field<'m>(
    input: &Input,
    f: &FieldSpec,
    field: Box<dyn Field + 'm>,
    [d, fd]: [usize; 2],
    t: f64,
    span: std::ops::Range<usize>,
) -> Result<BuiltField<'m>> {
    let m = field.components();
    let mut ops = vec![Operator::Value];
    for &op in &f.operators {
        op.components(m, fd)
            .map_err(|e| input.error_at(&span, None, format!("field '{}': {e}", f.name)))?;
        if !ops.contains(&op) {
            ops.push(op);
        }
    }
    let mut exact = BTreeMap::new();
    for (&op, ex) in &f.exact {
        let k = op.components(m, fd).map_err(|e| {
            input.error_at(&ex.span(), None, format!("field '{}': exact {e}", f.name))
        })?;
        let given = ex.get_ref().0.len();
        if given != k {
            return Err(input.error_at(
                &ex.span(),
                None,
                format!(
                    "field '{}': exact {} has {given} expressions; expected {k} (one per component)",
                    f.name,
                    op.name()
                ),
            ));
        }
        if !ops.contains(&op) {
            ops.push(op);
        }
        exact.insert(
            op,
            input.expr_field(
                &format!("field '{}', exact {}", f.name, op.name()),
                ex,
                d,
                t,
            )?,
        );
    }
    let mut compare = BTreeMap::new();
    for (&op, name) in &f.compare {
        op.components(m, fd).map_err(|e| {
            input.error_at(
                &name.span(),
                None,
                format!("field '{}': compare {e}", f.name),
            )
        })?;
        if f.exact.contains_key(&op) {
            return Err(input.error_at(
                &name.span(),
                None,
                format!(
                    "field '{}': {} has both an exact answer and an array to compare with; \
                     expected one",
                    f.name,
                    op.name()
                ),
            ));
        }
        if !ops.contains(&op) {
            ops.push(op);
        }
        compare.insert(op, name.get_ref().clone());
    }
    Ok(BuiltField {
        name: f.name.clone(),
        field,
        ops,
        exact,
        compare,
        dim: fd,
        data: false,
    })
}

/// The trained network as fields: `u` (Poisson), or `U` and `p` (Navier–Stokes), with
/// the exact solution (where the configuration gives one) for `u` and `U`. The
/// pressure gets no error array: the equations fix it only up to a constant.
fn network_fields<'a>(
    case: &Case,
    cfg: &PinnConfig,
    mlp: &'a Mlp,
    d: usize,
    t: f64,
) -> Result<Vec<BuiltField<'a>>> {
    let input = &case.input;
    let out = &case.spec.pinn_output;
    let owned = cfg.constants().map_err(|e| input.pinn_error(e))?;
    let defs = cfg
        .definitions_with(&owned)
        .map_err(|e| input.pinn_error(e))?;
    let consts: Vec<(&str, f64)> = owned.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let exact = |comps: std::ops::Range<usize>| -> Result<BTreeMap<Operator, ExprField>> {
        let Some(ex) = &cfg.exact else {
            return Ok(BTreeMap::new());
        };
        let f = ExprField::with_definitions(&ex[comps], d, 0.0, &consts, &defs)
            .map_err(|e| input.error_key("pinn.exact", format!("pinn.exact: {e}")))?;
        Ok(BTreeMap::from([(Operator::Value, f)]))
    };
    let with_value = |ops: &[Operator]| {
        let mut v = vec![Operator::Value];
        v.extend(ops.iter().filter(|&&o| o != Operator::Value));
        v
    };
    let select = |comps: Vec<usize>| {
        Box::new(Select {
            inner: mlp,
            comps,
            ddt: None,
        })
    };
    if let crate::pinn::PdeConfig::Equations { outputs, .. } = &cfg.pde {
        // Each output a scalar field of its own name, with the operators asked for; the
        // errors against `exact` are the summary's (its expressions are of the inputs,
        // which need not be the coordinates x, y, z). With `times`, a network of space and
        // time is evaluated at each time on the points.
        let at_time = cfg.time_input().filter(|_| case.spec.times.is_some());
        let field = |k: usize| -> Box<dyn Field + 'a> {
            match at_time {
                Some(time) => Box::new(super::spacetime::AtTime {
                    mlp,
                    comps: vec![k],
                    time,
                    space: cfg.dim() - 1,
                    t,
                }),
                None => select(vec![k]),
            }
        };
        return Ok(outputs
            .iter()
            .enumerate()
            .map(|(k, name)| BuiltField {
                name: name.clone(),
                field: field(k),
                ops: with_value(&out.operators),
                exact: BTreeMap::new(),
                compare: BTreeMap::new(),
                dim: d,
                data: false,
            })
            .collect());
    }
    if cfg.outputs() == 1 {
        return Ok(vec![BuiltField {
            name: "u".into(),
            field: select(vec![0]),
            ops: with_value(&out.operators),
            exact: exact(0..1)?,
            compare: BTreeMap::new(),
            dim: d,
            data: false,
        }]);
    }
    Ok(vec![
        BuiltField {
            name: "U".into(),
            field: select((0..d).collect()),
            ops: with_value(&out.operators),
            exact: exact(0..d)?,
            compare: BTreeMap::new(),
            dim: d,
            data: false,
        },
        BuiltField {
            name: "p".into(),
            field: select(vec![d]),
            ops: with_value(&out.pressure_operators),
            exact: BTreeMap::new(),
            compare: BTreeMap::new(),
            dim: d,
            data: false,
        },
    ])
}

/// Checks that every array the run will write has a name of its own, and that the
/// output name is a plain file name.
fn check_names(case: &Case, built: &[BuiltField<'_>]) -> Result<Vec<String>> {
    let input = &case.input;
    let bad_output = |n: &str| {
        n.is_empty()
            || n == "."
            || n == ".."
            || n.contains(['/', '\\'])
            || n.contains(char::is_control)
    };
    if bad_output(&case.name) {
        return Err(input.error_key(
            "output.name",
            format!(
                "output.name '{}': expected a plain file name, without folders",
                case.name
            ),
        ));
    }
    let mut names: Vec<String> = Vec::new();
    for b in built {
        if b.name.trim().is_empty() {
            return Err(input.error("field: a field needs a non-empty name".into()));
        }
        for op in &b.ops {
            let a = op.array_name(&b.name);
            let error = b.exact.contains_key(op) || b.compare.contains_key(op);
            names.push(a.clone());
            if error {
                names.push(format!("error({a})"));
            }
        }
    }
    if let Some(m) = &case.spec.mms {
        names.extend(mms::array_names(m));
    }
    let in_order = names.clone();
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        // Point at the last field of the file whose arrays include the name.
        let owner = case.spec.fields.iter().rposition(|f| {
            built.iter().any(|b| {
                b.name == f.name
                    && b.ops.iter().any(|op| {
                        let a = op.array_name(&b.name);
                        a == w[0] || format!("error({a})") == w[0]
                    })
            })
        });
        let message = format!(
            "two arrays would be named '{}': give the fields different names",
            w[0]
        );
        return Err(match owner {
            Some(i) => input.error_key(&format!("field.{i}.name"), message),
            None => input.error(message),
        });
    }
    Ok(in_order)
}

/// Checks every `[field.compare]` entry at its place in case.toml: the case must have a
/// data file (compare takes its arrays from the file of the data fields), the array must
/// be one of its point arrays, and have the computed array's components at the same
/// points (the output points must be the data file's).
fn check_compare(
    case: &Case,
    built: &[BuiltField<'_>],
    source: Option<&data::Source>,
    points: usize,
    d: usize,
) -> Result<()> {
    for (f, b) in case.spec.fields.iter().zip(built) {
        let m = b.field.components();
        for (&op, name) in &f.compare {
            let at = |message: String| case.input.error_at(&name.span(), None, message);
            let what = format!(
                "field '{}': compare {} = \"{}\"",
                f.name,
                op.name(),
                name.get_ref()
            );
            let Some(src) = source else {
                return Err(at(format!(
                    "{what}: `compare` needs a data field: it takes the array from the file \
                     that the case's data fields (`data = …`) are read from, at the same \
                     points, and this case has no data field"
                )));
            };
            // At a mesh's cell centres the data file's cell arrays are at the same places.
            let cells = matches!(
                case.spec.points,
                super::config::PointsSpec::Mesh {
                    at: Some(super::config::AtSpec::Cells),
                    ..
                }
            );
            let (arrays, kind, count) = super::compare::arrays_at(src, cells);
            let Some(r) = arrays.iter().find(|a| a.name == *name.get_ref()) else {
                let names: Vec<&str> = arrays.iter().map(|a| a.name.as_str()).collect();
                return Err(at(format!(
                    "{what}: {} has no {kind} array '{}'; its {kind} arrays are: {}",
                    src.name.display(),
                    name.get_ref(),
                    names.join(", ")
                )));
            };
            let c = op
                .components(m, d)
                .map_err(|e| at(format!("{what}: {e}")))?;
            if r.components != c || count != points {
                return Err(at(format!(
                    "{what}: '{}' of {} has {} components at {} points, but {} has {c} at {points} \
                     points; expected the same shape (the output points must be the data file's)",
                    name.get_ref(),
                    src.name.display(),
                    r.components,
                    count,
                    op.array_name(&f.name),
                )));
            }
        }
    }
    Ok(())
}
