//! The `[constants]` and `[definitions]` tables of `case.toml`: constants evaluated in the
//! order of the file, each from the ones above it; definitions checked for unknown names
//! and circles. Every problem is reported at its line and column.

use std::collections::HashMap;

use super::config::{CaseFile, Number};
use super::load::Input;
use crate::error::Result;
use crate::field::expr::{Definitions, Expr, check_name};

/// The constants, in the order of the file, each evaluated with those above it. Linear
/// in the number of constants: each is evaluated with the constants its expression names,
/// found in a hash map.
pub(super) fn constants(input: &Input, spec: &CaseFile) -> Result<Vec<(String, f64)>> {
    let mut entries: Vec<_> = spec.constants.iter().collect();
    entries.sort_by_key(|(_, v)| v.span().start);
    // Where each name is in the file's order, to tell "below" from "unknown".
    let place: HashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(k, (n, _))| (n.as_str(), k))
        .collect();
    let mut out: Vec<(String, f64)> = Vec::with_capacity(entries.len());
    let mut known: HashMap<&str, f64> = HashMap::with_capacity(entries.len());
    for (k, &(name, value)) in entries.iter().enumerate() {
        let what = format!("constants.{name}");
        if let Err(why) = check_name(name) {
            return Err(input.error_key(
                &what,
                format!("constants: '{name}' cannot name a constant: {why}"),
            ));
        }
        let mut used: Vec<(&str, f64)> = Vec::new();
        let mut unknown = false;
        if let Number::Expr(src) = value.get_ref()
            && let Ok(e) = Expr::parse(src)
        {
            for (n, col) in e.names() {
                if let Some((&m, &v)) = known.get_key_value(n.as_str()) {
                    used.push((m, v));
                    continue;
                }
                let why = if n == *name {
                    format!("'{n}' uses itself")
                } else if let Some(&j) = place.get(n.as_str())
                    && j >= k
                {
                    let line = input.line_of(entries[j].1.span().start);
                    format!(
                        "'{n}' is defined below, on line {line}; a constant can use only the \
                         constants above it"
                    )
                } else if spec.definitions.contains_key(&n) {
                    format!(
                        "'{n}' is a definition (of x, y, z and t); a constant can use only \
                         numbers and the constants above it"
                    )
                } else {
                    // Unknown: the error lists every constant above it.
                    unknown = true;
                    continue;
                };
                return Err(input.error_at(&value.span(), Some(col), format!("{what}: {why}")));
            }
        }
        let above: Vec<(&str, f64)>;
        let consts = if unknown {
            above = out.iter().map(|(n, v)| (n.as_str(), *v)).collect();
            &above
        } else {
            &used
        };
        let v = input.number_with(value.get_ref(), &what, consts)?;
        known.insert(name.as_str(), v);
        out.push((name.clone(), v));
    }
    Ok(out)
}

/// The definitions, checked against the constants and each other.
pub(super) fn definitions(
    input: &Input,
    spec: &CaseFile,
    constants: &[(String, f64)],
) -> Result<Definitions> {
    let mut entries: Vec<_> = spec.definitions.iter().collect();
    entries.sort_by_key(|(_, v)| v.span().start);
    let list: Vec<(&str, &str)> = entries
        .iter()
        .map(|(k, v)| (k.as_str(), v.get_ref().as_str()))
        .collect();
    let consts: Vec<(&str, f64)> = constants.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    Definitions::new(&list, &consts).map_err(|e| {
        let (name, value) = entries[e.index()];
        let message = format!("definitions.{name}: {}", e.message());
        match e.column() {
            Some(col) => {
                let src = value.get_ref();
                let line: String = src
                    .chars()
                    .map(|c| if c.is_whitespace() { ' ' } else { c })
                    .collect();
                let pad = " ".repeat(col.saturating_sub(1));
                input.error_at(
                    &value.span(),
                    Some(col),
                    format!("{message}\n{line}\n{pad}^ {}", e.message()),
                )
            }
            None => input.error_key(&format!("definitions.{name}"), message),
        }
    })
}
