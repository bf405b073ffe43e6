//! The vol fields of a time directory: `internalField` (one value per cell) and each
//! patch's `boundaryField` entry (its condition's `type`, and its `value` where it has one).
//!
//! A patch's entry is found as OpenFOAM finds it: the patch's own name first, then its
//! groups (`inGroups`, and constraint types such as `empty`; the last such entry wins),
//! then the quoted regular expressions (the last that matches wins). `empty` patches need
//! no entry.

use std::path::Path;
use std::rc::Rc;

use super::dict::{Dict, Entry, Item, Key, Loc, Parser, Value, header};
use super::files::{Budget, read_foam_file};
use super::lexer::{Lexer, parse_scalar};
use super::polymesh::BoundaryPatch;
use crate::Result;

/// The components of a vol field's class in the file, and as read (a symmetric tensor is
/// expanded to the full 9).
pub(crate) fn vol_components(class: &str) -> Option<(&'static str, usize, usize)> {
    match class {
        "volScalarField" => Some(("scalar", 1, 1)),
        "volVectorField" => Some(("vector", 3, 3)),
        "volSymmTensorField" => Some(("symmTensor", 6, 9)),
        "volTensorField" => Some(("tensor", 9, 9)),
        _ => None,
    }
}

/// What a field holds on one patch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PatchField {
    /// The condition's `type` (`fixedValue`, `zeroGradient`, `calculated`, …).
    pub kind: String,
    /// The `value` entry, one value per face and component, where there is one.
    pub values: Option<Vec<f64>>,
}

/// A vol field read from a time directory.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    /// The field's name (the file's name).
    pub name: String,
    /// Components per value as read: 1, 3 or 9.
    pub components: usize,
    /// One value per cell and component.
    pub cells: Vec<f64>,
    /// What the field holds on each patch of the mesh (`None` on `empty` and processor
    /// patches).
    pub patches: Vec<Option<PatchField>>,
}

/// Reads the vol field `name` at `path` over a mesh of `n_cells` cells and `patches`.
pub(crate) fn read_field(
    path: &Path,
    name: &str,
    n_cells: usize,
    patches: &[BoundaryPatch],
    budget: &Budget,
) -> Result<Field> {
    let src = Rc::new(read_foam_file(path, budget)?);
    let mut lx = Lexer::new(&src, budget.left());
    let head = header(&mut lx)?;
    let Some((ty, k, out_k)) = vol_components(&head.class) else {
        return Err(src.error(format!(
            "the field `{name}` is of class `{}`; expected volScalarField, volVectorField, \
             volSymmTensorField or volTensorField (values in cells)",
            if head.class.is_empty() {
                "(no FoamFile header)"
            } else {
                &head.class
            }
        )));
    };
    let mut dict = Parser::new(budget).file(src.clone(), &mut lx)?;
    // The cell values are moved out of the dictionary, not copied.
    let internal = dict
        .entries
        .iter_mut()
        .find(|e| matches!(&e.key, Key::Word(w) if w == "internalField"))
        .and_then(|e| match &mut e.value {
            Value::Stream(items) => Some((std::mem::take(items), e.loc.clone())),
            Value::Dict(_) => None,
        });
    let (items, loc) = internal.ok_or_else(|| {
        src.error("no `internalField` entry; expected `internalField uniform …;` or `nonuniform …`")
    })?;
    let cells = expand(
        values(items, &loc, ty, k, n_cells, "internalField (one per cell)")?,
        k,
    );
    let boundary = match dict.get("boundaryField").map(|e| &e.value) {
        Some(Value::Dict(d)) => d,
        _ => {
            return Err(
                src.error("no `boundaryField { … }` dictionary; expected one entry per patch")
            );
        }
    };
    let mut out = Vec::with_capacity(patches.len());
    for patch in patches {
        if !patch.is_boundary() {
            out.push(None);
            continue;
        }
        let entry = find_entry(boundary, patch).ok_or_else(|| {
            src.error(format!(
                "boundaryField has no entry for patch `{}` (type {}); expected one by its \
                 name, one of its groups ({}) or a regular expression in quotes",
                patch.name,
                patch.kind,
                if patch.groups.is_empty() {
                    "none".to_string()
                } else {
                    patch.groups.join(", ")
                }
            ))
        })?;
        let Value::Dict(d) = &entry.value else {
            return Err(entry.loc.error(format!(
                "boundaryField: the entry for patch `{}` is not a dictionary; expected `{{ type \
                 …; }}`",
                patch.name
            )));
        };
        let kind = d.word("type").ok_or_else(|| {
            entry.loc.error(format!(
                "boundaryField: patch `{}` has no `type TYPE;`",
                patch.name
            ))
        })?;
        let values = match d.stream("value") {
            Some((items, loc)) => Some(expand(
                values(
                    items.to_vec(),
                    loc,
                    ty,
                    k,
                    patch.size,
                    &format!("boundaryField {} value (one per face)", patch.name),
                )?,
                k,
            )),
            None => None,
        };
        out.push(Some(PatchField {
            kind: kind.to_string(),
            values,
        }));
    }
    Ok(Field {
        name: name.to_string(),
        components: out_k,
        cells,
        patches: out,
    })
}

/// The boundaryField entry of `patch` (see the module docs).
fn find_entry<'d>(boundary: &'d Dict, patch: &BoundaryPatch) -> Option<&'d Entry> {
    let word = |e: &&Entry, pred: &dyn Fn(&str) -> bool| {
        matches!(&e.key, Key::Word(w) if pred(w)) && matches!(e.value, Value::Dict(_))
    };
    if let Some(e) = boundary
        .entries
        .iter()
        .find(|e| word(e, &|w| w == patch.name))
    {
        return Some(e);
    }
    if let Some(e) = boundary
        .entries
        .iter()
        .rev()
        .find(|e| word(e, &|w| patch.groups.iter().any(|g| g == w)))
    {
        return Some(e);
    }
    boundary
        .entries
        .iter()
        .rev()
        .find(|e| matches!(&e.key, Key::Pattern(_, re) if re.is_match(&patch.name)))
}

/// A symmetric tensor `xx xy xz yy yz zz` as the full row-major 3 × 3 tensor.
fn expand(values: Vec<f64>, k: usize) -> Vec<f64> {
    if k != 6 {
        return values;
    }
    values
        .chunks_exact(6)
        .flat_map(|s| [s[0], s[1], s[2], s[1], s[3], s[4], s[2], s[4], s[5]])
        .collect()
}

/// The `n` values of `k` components of an entry: `uniform VALUE` or
/// `nonuniform List<TYPE> N ( … )`, finite.
fn values(
    mut items: Vec<Item>,
    loc: &Loc,
    ty: &str,
    k: usize,
    n: usize,
    what: &str,
) -> Result<Vec<f64>> {
    let expected = || {
        format!(
            "{what}: expected `uniform VALUE` or `nonuniform List<{ty}> {n} ( … )` with {k} \
             component{} per value",
            if k == 1 { "" } else { "s" }
        )
    };
    let finite = |v: Vec<f64>| -> Result<Vec<f64>> {
        match v.iter().position(|x| !x.is_finite()) {
            Some(i) => Err(loc.error(format!(
                "{what}: value {} (component {}) is {}; expected finite numbers",
                i / k,
                i % k,
                v[i]
            ))),
            None => Ok(v),
        }
    };
    match items.as_mut_slice() {
        [Item::Word(u), rest @ ..] if u.as_str() == "uniform" => {
            let one: Option<Vec<f64>> = match rest {
                [Item::Num(x)] | [Item::Word(x)] if k == 1 => parse_scalar(x).map(|v| vec![v]),
                [Item::Punct(b'('), inner @ .., Item::Punct(b')')] if inner.len() == k => inner
                    .iter()
                    .map(|i| match i {
                        Item::Num(x) | Item::Word(x) => parse_scalar(x),
                        _ => None,
                    })
                    .collect(),
                _ => None,
            };
            let one = finite(one.ok_or_else(|| loc.error(expected()))?)?;
            let total = n.saturating_mul(k);
            let mut out = Vec::with_capacity(total);
            for _ in 0..n {
                out.extend_from_slice(&one);
            }
            Ok(out)
        }
        [Item::Word(u), rest @ ..] if u.as_str() == "nonuniform" => match rest {
            [
                Item::Word(_),
                Item::Scalars {
                    ty: t,
                    k: kk,
                    values,
                },
            ] => {
                if *kk != k || t.as_str() != ty {
                    return Err(loc.error(format!(
                        "{what}: a List<{t}>; expected List<{ty}> (the field's class)"
                    )));
                }
                if values.len() != n * k {
                    return Err(
                        loc.error(format!("{what}: {} values; expected {n}", values.len() / k))
                    );
                }
                finite(std::mem::take(values))
            }
            // An empty list may come without its type.
            [Item::Num(z), Item::Punct(b'('), Item::Punct(b')')] if z.as_str() == "0" && n == 0 => {
                Ok(Vec::new())
            }
            _ => Err(loc.error(expected())),
        },
        _ => Err(loc.error(expected())),
    }
}
