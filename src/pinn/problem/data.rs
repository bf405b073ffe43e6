//! The data terms of an equations problem: measured values read from a CSV file, or
//! samples of a reference solution nabla computes.

use std::path::Path;

use super::config::{DataConfig, Settings, rekey};
use crate::error::{Error, Result};
use crate::field::expr::Expr;
use crate::pinn::sampling::{Sampler, sample_in};

/// A data term's points, its output columns `(output, values)` and a description: from its
/// file, or samples of its reference.
#[allow(clippy::type_complexity)]
pub(super) fn data_samples(
    key: &str,
    data: &DataConfig,
    s: &Settings<'_>,
    constants: &[(String, f64)],
) -> Result<(Vec<Vec<f64>>, Vec<(usize, Vec<f64>)>, String)> {
    match (&data.file, data.reference.as_deref()) {
        (Some(file), None) => {
            if data.nu.is_some() || data.points != 0 {
                return Err(Error::config(
                    key,
                    "nu and points belong to a reference; a file gives its own points",
                ));
            }
            let (p, o) = read_data(&s.dir.join(file), s.inputs, s.outputs)?;
            Ok((p, o, file.display().to_string()))
        }
        (None, Some("burgers")) => {
            if s.inputs != ["x", "t"] || s.outputs.len() != 1 {
                return Err(Error::config(
                    format!("{key}.reference"),
                    "\"burgers\" needs inputs [\"x\", \"t\"] and one output",
                ));
            }
            let c: Vec<(&str, f64)> = constants.iter().map(|(n, v)| (n.as_str(), *v)).collect();
            let src = data.nu.as_deref().ok_or_else(|| {
                Error::config(format!("{key}.nu"), "the reference's viscosity is missing")
            })?;
            let nu = Expr::parse(src)
                .and_then(|e| e.bind_with(&[], &c))
                .map_err(|e| Error::config(format!("{key}.nu"), e.caret()))?
                .eval_f64(&[]);
            let pts = sample_in(s.min, s.max, data.points, Sampler::Uniform, data.seed)
                .map_err(|e| rekey(e, &format!("{key}.points")))?;
            let u = crate::pinn::burgers_cole_hopf_batch(&pts[0], &pts[1], nu)
                .map_err(|e| rekey(e, &format!("{key}.nu")))?;
            Ok((pts, vec![(0, u)], format!("Burgers, ν = {nu:e}")))
        }
        (None, Some(other)) => Err(Error::config(
            format!("{key}.reference"),
            format!("unknown reference '{other}'; the one known is \"burgers\""),
        )),
        _ => Err(Error::config(
            key,
            "give either file = \"...csv\" or reference = \"burgers\"",
        )),
    }
}

/// A data file's input columns and its output columns `(output, values)`.
#[allow(clippy::type_complexity)]
fn read_data(
    path: &Path,
    inputs: &[String],
    outputs: &[String],
) -> Result<(Vec<Vec<f64>>, Vec<(usize, Vec<f64>)>)> {
    let bytes = crate::io::read::read_input(path)?;
    let input = |line: Option<usize>, message: String| Error::Input {
        path: path.into(),
        line,
        column: None,
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(&bytes[..]);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| input(Some(1), format!("cannot read the header row: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let col = |n: &str| header.iter().position(|h| h == n);
    let mut in_cols = Vec::with_capacity(inputs.len());
    for n in inputs {
        in_cols.push(col(n).ok_or_else(|| {
            input(
                Some(1),
                format!(
                    "no column '{n}'; the header must name every input ({})",
                    inputs.join(", ")
                ),
            )
        })?);
    }
    let out_cols: Vec<(usize, usize)> = outputs
        .iter()
        .enumerate()
        .filter_map(|(o, n)| col(n).map(|c| (o, c)))
        .collect();
    if out_cols.is_empty() {
        return Err(input(
            Some(1),
            format!("no output column; expected one of {}", outputs.join(", ")),
        ));
    }
    let mut pts = vec![Vec::new(); inputs.len()];
    let mut vals = vec![Vec::new(); out_cols.len()];
    for (i, rec) in reader.records().enumerate() {
        let line = rec
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map(|p| p.line() as usize)
            .unwrap_or(i + 2);
        let rec = rec.map_err(|e| input(Some(line), e.to_string()))?;
        let num = |c: usize| -> Result<f64> {
            let f = rec.get(c).unwrap_or("");
            match f.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(input(
                    Some(line),
                    format!("'{f}' in column '{}' is not a finite number", header[c]),
                )),
            }
        };
        for (k, &c) in in_cols.iter().enumerate() {
            pts[k].push(num(c)?);
        }
        for (k, &(_, c)) in out_cols.iter().enumerate() {
            vals[k].push(num(c)?);
        }
    }
    if pts[0].is_empty() {
        return Err(input(None, "no rows".into()));
    }
    Ok((pts, out_cols.iter().map(|&(o, _)| o).zip(vals).collect()))
}
