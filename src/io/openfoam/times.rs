//! The time directories of a case and the choice among them.

use std::path::Path;

use crate::{Error, Result};

/// Which time directories to read.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum TimeSelection {
    /// The latest time (OpenFOAM's `-latestTime`; the default).
    #[default]
    Latest,
    /// Every time, `0` included.
    All,
    /// These times, by directory name (`0.5`) or by value (`0.50` finds `0.5`).
    List(Vec<String>),
}

/// The time directories of `dir`: numeric names, by value.
pub(crate) fn times_in(dir: &Path) -> Result<Vec<(String, f64)>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Io {
        path: dir.into(),
        message: format!("cannot list the case directory: {e}"),
    })?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::Io {
            path: dir.into(),
            message: format!("cannot list the case directory: {e}"),
        })?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let value = match name.parse::<f64>() {
            Ok(v)
                if v.is_finite()
                    && name
                        .bytes()
                        .all(|b| !b.is_ascii_alphabetic() || b == b'e' || b == b'E') =>
            {
                v
            }
            _ => continue,
        };
        if entry.path().is_dir() {
            out.push((name, value));
        }
    }
    out.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    Ok(out)
}

/// The time of `times` that `want` names: the directory of that name, else the one of that
/// value (to a relative 1e-9).
pub(crate) fn find_time<'t>(times: &'t [(String, f64)], want: &str) -> Option<&'t (String, f64)> {
    if want == "latest" || want == "latestTime" {
        return times.last();
    }
    times.iter().find(|(n, _)| n == want).or_else(|| {
        let v: f64 = want.parse().ok()?;
        times
            .iter()
            .find(|(_, t)| (t - v).abs() <= 1e-9 * t.abs().max(v.abs()).max(1e-300))
    })
}

/// The times of `times` that `selection` chooses, in order; an error names a time that is
/// not there and lists those that are.
pub(crate) fn select(
    case_dir: &Path,
    times: &[(String, f64)],
    selection: &TimeSelection,
) -> Result<Vec<(String, f64)>> {
    let none = || Error::Io {
        path: case_dir.into(),
        message: "the case has no time directory (such as 0); expected at least one".into(),
    };
    match selection {
        TimeSelection::Latest => times.last().cloned().map(|t| vec![t]).ok_or_else(none),
        TimeSelection::All => {
            if times.is_empty() {
                Err(none())
            } else {
                Ok(times.to_vec())
            }
        }
        TimeSelection::List(list) => list
            .iter()
            .map(|want| {
                find_time(times, want)
                    .cloned()
                    .ok_or_else(|| missing_time(case_dir, times, want))
            })
            .collect(),
    }
}

/// The error for a time that is not in `times`.
pub(crate) fn missing_time(case_dir: &Path, times: &[(String, f64)], want: &str) -> Error {
    let names: Vec<&str> = times.iter().map(|(n, _)| n.as_str()).collect();
    Error::Io {
        path: case_dir.into(),
        message: format!(
            "no time directory `{want}`; the case has {}",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ),
    }
}
