//! Reading measured data without a mesh: a CSV file of points and their values.

use std::collections::HashMap;
use std::path::Path;

use super::{Mesh, PointArray};

/// The longest field (a number, a column name) a CSV file may have. The CSV parser holds
/// a record in one buffer that it grows by doubling: a field of gigabytes would ask for
/// twice that at once and abort the process. Numbers and names are far shorter.
pub const MAX_FIELD_BYTES: usize = 1 << 16;

/// The first field of `bytes` (as the CSV parser splits them: at commas and line breaks
/// outside double quotes; `#` comment lines skipped) longer than `limit` bytes: its line,
/// its column (1-based, counted in fields) and `limit + 1`. One pass, no allocation.
fn longest_field_over(bytes: &[u8], limit: usize) -> Option<(usize, usize, usize)> {
    let (mut line, mut column, mut len) = (1usize, 1usize, 0usize);
    let (mut quoted, mut at_line_start, mut comment) = (false, true, false);
    for &b in bytes {
        if comment {
            if b == b'\n' {
                (comment, at_line_start) = (false, true);
                line += 1;
            }
            continue;
        }
        if at_line_start && b == b'#' && !quoted {
            comment = true;
            continue;
        }
        at_line_start = false;
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                (column, len) = (column + 1, 0);
                continue;
            }
            b'\n' if !quoted => {
                (line, column, len, at_line_start) = (line + 1, 1, 0, true);
                continue;
            }
            b'\n' => line += 1,
            _ => {}
        }
        len += 1;
        if len > limit {
            return Some((line, column, limit + 1));
        }
    }
    None
}
use crate::{Error, Result};

/// Reads a CSV file with a header row: the coordinates `x`, `y` and optionally `z` (any
/// order, names case-insensitive, ParaView's `Points:0`, `Points:1`, `Points:2` too), then
/// any other numeric columns. A column named `NAME:k` (as ParaView's CSV export writes the
/// components of a vector `NAME`) becomes component `k` of the array `NAME`; every other
/// column is a scalar array under its own name.
///
/// Returns the points (z = 0 without a `z` column) as a [`Mesh`] without cells, whose
/// `point_data` holds the arrays, and the number of coordinates (2 or 3).
///
/// # Errors
/// [`Error::Io`] for a file that cannot be read, a path that is not a regular file (a FIFO,
/// a device) or a file over [`max_input_bytes`](super::max_input_bytes); [`Error::Input`],
/// with the line and column,
/// for a missing coordinate column, a duplicate column, a row with the wrong number of
/// fields, a field that is not a number, non-finite coordinates, array components that do
/// not run `0, 1, …` without gaps, or a file with no rows.
pub fn read_csv(path: &Path) -> Result<(Mesh, usize)> {
    let bytes = super::read::read_input(path)?;
    let input = |line: Option<usize>, column: Option<usize>, message: String| Error::Input {
        path: path.into(),
        line,
        column,
        message,
    };
    if let Some((line, column, len)) = longest_field_over(&bytes, MAX_FIELD_BYTES) {
        return Err(input(
            Some(line),
            Some(column),
            format!(
                "a field of {len} bytes or more; expected a number or a column name of at most \
                 {MAX_FIELD_BYTES} bytes"
            ),
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(&bytes[..]);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| input(Some(1), None, format!("cannot read the header row: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    // Where each column goes: coordinate k, or component k of array a.
    enum Slot {
        Coord(usize),
        Comp(usize, usize),
    }
    let mut slots = Vec::with_capacity(header.len());
    let mut names: Vec<String> = Vec::new();
    // Where each array is in `names`: linear in the number of columns.
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut comps: Vec<Vec<bool>> = Vec::new();
    let mut coords = [None; 3];
    for (col, h) in header.iter().enumerate() {
        let lower = h.to_ascii_lowercase();
        let coord = match lower.as_str() {
            "x" | "points:0" => Some(0),
            "y" | "points:1" => Some(1),
            "z" | "points:2" => Some(2),
            _ => None,
        };
        if let Some(k) = coord {
            if coords[k].replace(col).is_some() {
                return Err(input(
                    Some(1),
                    Some(col + 1),
                    format!("a second {} column `{h}`; expected one", ["x", "y", "z"][k]),
                ));
            }
            slots.push(Slot::Coord(k));
            continue;
        }
        let (name, k) = match h.rsplit_once(':') {
            Some((n, k)) if !n.is_empty() && k.parse::<usize>().is_ok() => {
                (n.to_string(), k.parse::<usize>().unwrap_or(0))
            }
            _ => (h.clone(), 0),
        };
        if name.is_empty() {
            return Err(input(
                Some(1),
                Some(col + 1),
                "an empty column name; expected a name for every column".into(),
            ));
        }
        let a = match index.get(&name) {
            Some(&a) => a,
            None => {
                index.insert(name.clone(), names.len());
                names.push(name.clone());
                comps.push(Vec::new());
                names.len() - 1
            }
        };
        if k >= header.len() {
            return Err(input(
                Some(1),
                Some(col + 1),
                format!(
                    "component {k} of `{name}` in a file of {} columns",
                    header.len()
                ),
            ));
        }
        if comps[a].len() <= k {
            comps[a].resize(k + 1, false);
        }
        if std::mem::replace(&mut comps[a][k], true) {
            return Err(input(
                Some(1),
                Some(col + 1),
                format!("column `{h}` appears twice; expected distinct column names"),
            ));
        }
        slots.push(Slot::Comp(a, k));
    }
    if coords[0].is_none() || coords[1].is_none() {
        return Err(input(
            Some(1),
            None,
            format!(
                "the header has no {} column; expected x, y and optionally z (found: {})",
                if coords[0].is_none() { "x" } else { "y" },
                header.join(", ")
            ),
        ));
    }
    for (name, c) in names.iter().zip(&comps) {
        if let Some(k) = c.iter().position(|&b| !b) {
            return Err(input(
                Some(1),
                None,
                format!(
                    "array `{name}` has no component {k}; expected `{name}:{k}` among the columns"
                ),
            ));
        }
    }
    let dim = if coords[2].is_some() { 3 } else { 2 };
    let mut points = Vec::new();
    let mut values: Vec<Vec<f64>> = comps.iter().map(|_| Vec::new()).collect();
    let mut row_vals = vec![0.0; header.len()];
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize);
            input(line, None, format!("cannot read the row: {e}"))
        })?;
        let line = record.position().map(|p| p.line() as usize);
        if record.len() != header.len() {
            return Err(input(
                line,
                None,
                format!(
                    "{} fields; expected {} as in the header",
                    record.len(),
                    header.len()
                ),
            ));
        }
        for (col, field) in record.iter().enumerate() {
            row_vals[col] = field.parse::<f64>().map_err(|_| {
                input(
                    line,
                    Some(col + 1),
                    format!(
                        "`{}` in column `{}`; expected a number",
                        field.escape_debug(),
                        header[col]
                    ),
                )
            })?;
        }
        let mut p = [0.0; 3];
        for (col, slot) in slots.iter().enumerate() {
            match *slot {
                Slot::Coord(k) => p[k] = row_vals[col],
                Slot::Comp(..) => {}
            }
        }
        if let Some(k) = (0..3).find(|&k| !p[k].is_finite()) {
            return Err(input(
                line,
                coords[k].map(|c| c + 1),
                format!(
                    "coordinate {} is {}; expected a finite number",
                    ["x", "y", "z"][k],
                    p[k]
                ),
            ));
        }
        points.push(p);
        // Every component of every array has its column: each value goes to its place
        // in one pass over the columns.
        let row = points.len() - 1;
        for (col, slot) in slots.iter().enumerate() {
            if let Slot::Comp(a, k) = *slot {
                let n = comps[a].len();
                if values[a].len() < (row + 1) * n {
                    values[a].resize((row + 1) * n, 0.0);
                }
                values[a][row * n + k] = row_vals[col];
            }
        }
    }
    if points.is_empty() {
        return Err(input(
            None,
            None,
            "no rows after the header; expected at least one point".into(),
        ));
    }
    let point_data = names
        .into_iter()
        .zip(comps)
        .zip(values)
        .map(|((n, c), v)| PointArray::new(n, c.len(), v))
        .collect();
    Ok((
        Mesh {
            points,
            cells: None,
            point_data,
            cell_data: Vec::new(),
            patches: Vec::new(),
        },
        dim,
    ))
}
