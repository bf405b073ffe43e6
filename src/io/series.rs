//! Time series of files: foamToVTK's and ParaView's `.vtm.series` (JSON) and VTK's `.pvd`
//! collections, listing one file per time.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::listing::{confined, input_error, parse_xml};
use super::read::{max_input_bytes, read_input_within};
use crate::Result;

/// The most times a series may list.
const MAX_TIMES: usize = 1 << 16;

/// Whether `path` names a series file: `….series` (`cavity.vtm.series`) or `….pvd`.
pub fn is_series(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("series") || e.eq_ignore_ascii_case("pvd"))
}

/// The times and files of a series file, sorted by time: a `.vtm.series` (or any
/// `….series`) file as foamToVTK and ParaView write it,
/// `{"file-series-version": "1.0", "files": [{"name": "cavity_20.vtm", "time": 0.1}, …]}`,
/// or a `.pvd` collection, `<VTKFile type="Collection"><Collection><DataSet timestep="0.1"
/// file="cavity_20.vtu"/>…`.
///
/// Each listed file must be a regular file inside the series file's folder (a relative
/// path without `..`, not leading out through a symbolic link); the paths returned are
/// its real paths. The files themselves are not read.
///
/// ```
/// # fn main() -> nabla::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// for f in ["a_1.vtu", "a_0.vtu"] {
///     std::fs::write(dir.path().join(f), "").unwrap();
/// }
/// let series = dir.path().join("a.vtu.series");
/// std::fs::write(&series, r#"{"file-series-version": "1.0", "files": [
///     {"name": "a_1.vtu", "time": 0.5}, {"name": "a_0.vtu", "time": 0}]}"#).unwrap();
/// let times = nabla::io::read_series(&series)?;
/// assert_eq!(times[0].0, 0.0);
/// assert!(times[1].1.ends_with("a_1.vtu"));
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) for a series file that cannot be read or is not a
/// regular file; [`Error::Input`](crate::Error::Input), naming the series file (and the
/// line where known), for malformed JSON or XML, an empty list, a time that is not a
/// finite number, a time listed twice, a listed file that is missing, not a regular
/// file, or outside the folder, and a `.pvd` with several parts per time.
pub fn read_series(path: &Path) -> Result<Vec<(f64, PathBuf)>> {
    let bytes = read_input_within(path, max_input_bytes())?;
    let pvd = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("pvd"));
    let listed = if pvd {
        pvd_entries(path, &bytes)?
    } else {
        json_entries(path, &bytes)?
    };
    if listed.is_empty() || listed.len() > MAX_TIMES {
        return Err(input_error(
            path,
            None,
            format!(
                "the series lists {} files; expected 1 to {MAX_TIMES}",
                listed.len()
            ),
        ));
    }
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::with_capacity(listed.len());
    for (time, name, line) in listed {
        let err = |m: String| input_error(path, line, m);
        if !time.is_finite() {
            return Err(err(format!(
                "`{name}` is at time {time}; expected a finite number"
            )));
        }
        let real = confined(folder, &name).map_err(err)?;
        let meta = std::fs::metadata(&real)
            .map_err(|e| err(format!("the listed file `{name}` cannot be opened: {e}")))?;
        if !meta.is_file() {
            return Err(err(format!(
                "the listed file `{name}` is not a regular file"
            )));
        }
        if is_series(&real) {
            return Err(err(format!(
                "the listed file `{name}` is a series itself; expected one data file per time"
            )));
        }
        out.push((time, real, name, line));
    }
    // Sorted by time, as ParaView shows them; the same time twice is ambiguous.
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    if let Some(w) = out.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(input_error(
            path,
            w[1].3,
            format!(
                "time {} is listed twice (`{}` and `{}`); expected one file per time",
                w[0].0, w[0].2, w[1].2
            ),
        ));
    }
    Ok(out.into_iter().map(|(t, p, ..)| (t, p)).collect())
}

/// The `(time, file, line)` entries of a `.series` JSON file.
fn json_entries(path: &Path, bytes: &[u8]) -> Result<Vec<(f64, String, Option<usize>)>> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        name: String,
        time: f64,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Series {
        #[serde(rename = "file-series-version")]
        version: String,
        files: Vec<File>,
    }
    let series: Series = serde_json::from_slice(bytes).map_err(|e| {
        input_error(
            path,
            Some(e.line()),
            format!(
                "{e}; expected a file series: {{\"file-series-version\": \"1.0\", \"files\": \
                 [{{\"name\": \"FILE\", \"time\": NUMBER}}, …]}}"
            ),
        )
    })?;
    if series.version != "1.0" {
        return Err(input_error(
            path,
            None,
            format!(
                "file-series-version is \"{}\"; expected \"1.0\"",
                series.version
            ),
        ));
    }
    Ok(series
        .files
        .into_iter()
        .map(|f| (f.time, f.name, None))
        .collect())
}

/// The `(time, file, line)` entries of a `.pvd` collection.
fn pvd_entries(path: &Path, bytes: &[u8]) -> Result<Vec<(f64, String, Option<usize>)>> {
    let root = parse_xml(path, bytes)?;
    let err = |line: usize, m: String| input_error(path, Some(line), m);
    if root.name != "VTKFile" || root.attribute("type") != Some("Collection") {
        return Err(err(
            root.line,
            format!(
                "the root element is <{}>; expected <VTKFile type=\"Collection\">",
                root.name
            ),
        ));
    }
    let mut out = Vec::new();
    for c in &root.children {
        if c.name != "Collection" {
            return Err(err(
                c.line,
                format!("unexpected <{}>; expected <Collection>", c.name),
            ));
        }
        for d in &c.children {
            if d.name != "DataSet" {
                return Err(err(
                    d.line,
                    format!(
                        "unexpected <{}>; expected <DataSet timestep=… file=…/>",
                        d.name
                    ),
                ));
            }
            if d.attribute("part").is_some_and(|p| p.trim() != "0") {
                return Err(err(
                    d.line,
                    "a data set of part other than 0; expected one file per time (several \
                     parts of one time are not read)"
                        .into(),
                ));
            }
            let file = d.attribute("file").ok_or_else(|| {
                err(
                    d.line,
                    "a <DataSet> without file=…; expected the file of its time".into(),
                )
            })?;
            let time = d.attribute("timestep").ok_or_else(|| {
                err(
                    d.line,
                    "a <DataSet> without timestep=…; expected its time".into(),
                )
            })?;
            let time: f64 = time.trim().parse().map_err(|_| {
                err(
                    d.line,
                    format!("timestep=\"{time}\" is not a number; expected the file's time"),
                )
            })?;
            out.push((time, file.to_string(), Some(d.line)));
        }
    }
    Ok(out)
}
