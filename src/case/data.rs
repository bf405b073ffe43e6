//! Fields from data in a case: the data file, the reconstruction settings, and every data
//! field built once (its k-d tree too) for all times.

use std::path::{Path, PathBuf};

use super::config::{
    AtSpec, DataRef, PointsSpec, ReconstructionSpec, SamplesSpec, StencilSpec, WeightsSpec,
};
use super::load::Case;
use crate::error::{Error, Result};
use crate::field::data::{DataField, Location, Reconstruction, Weights, mesh_samples_with};
use crate::io::{self, Mesh};

/// The mesh of `[points]` as read, for the data fields that read the same file, and the
/// centres of its cells where they are the case's points.
pub(super) struct Read {
    pub(super) mesh: Mesh,
    pub(super) centres: Option<Vec<[f64; 3]>>,
}

/// The file data fields are reconstructed from.
pub(super) struct Source {
    /// The file, as named in case.toml (relative to the case directory).
    pub(super) name: PathBuf,
    /// Its points, cells and arrays.
    pub(super) mesh: Mesh,
    /// 2 for a CSV file without a z column, else 3.
    pub(super) dim: usize,
    /// The number of points of the file (with several ranks, `mesh` holds only the
    /// arrays' values at this rank's points, for the comparisons).
    pub(super) points: usize,
    /// The centres of the mesh's cells, where the case's points are those centres.
    pub(super) centres: Option<Vec<[f64; 3]>>,
}

/// A data field of the case, built.
pub(super) struct Built {
    /// The field's name.
    pub(super) name: String,
    pub(super) field: DataField,
    /// What it was built from, for the summary.
    pub(super) what: String,
}

/// The time of the OpenFOAM case directory the case reads (as data file, else as its mesh),
/// if it reads one: the value of the time directory chosen by `time` (default the latest).
pub(super) fn openfoam_time(case: &Case) -> Result<Option<f64>> {
    let (file, time) = match (&case.spec.data, &case.spec.points) {
        (Some(d), _) => (&d.file, &d.time),
        (None, PointsSpec::Mesh { file, time, .. }) => (file, time),
        _ => return Ok(None),
    };
    Ok(openfoam_at(&case.dir.join(file), time.as_deref())?.map(|(_, _, t)| t))
}

/// The OpenFOAM case directory at `path` (a `.foam` file names its directory) and its time
/// directory chosen by `time` (default the latest): directory, time name, time value.
pub(super) fn openfoam_at(
    path: &Path,
    time: Option<&str>,
) -> Result<Option<(PathBuf, String, f64)>> {
    let Some(dir) = io::openfoam_dir(path) else {
        return Ok(None);
    };
    let selection = match time {
        None | Some("latest") => io::TimeSelection::Latest,
        Some(t) => io::TimeSelection::List(vec![t.to_string()]),
    };
    Ok(io::select_openfoam_times(&dir, &selection)?
        .into_iter()
        .next()
        .map(|(name, value)| (dir, name, value)))
}

/// With `[output] openfoam = true`: the OpenFOAM case and time the results go back into
/// (the points' case directory at the time read), checked before anything runs.
///
/// # Errors
/// [`Error::Config`]-like errors about `output.openfoam` for points that are not an
/// OpenFOAM case's cells, a series, or several ranks.
pub(super) fn write_back_target(case: &Case, ranks: usize) -> Result<Option<(PathBuf, String)>> {
    if !case.spec.output.openfoam {
        return Ok(None);
    }
    let bad = |m: &str| {
        Err(case
            .input
            .error_key("output.openfoam", format!("output.openfoam: {m}")))
    };
    let PointsSpec::Mesh { file, time, at } = &case.spec.points else {
        return bad(
            "writes results back into an OpenFOAM case: give [points] kind = \"mesh\" with the case directory as file and at = \"cells\"",
        );
    };
    if *at != Some(crate::case::config::AtSpec::Cells) {
        return bad("the results go back as cell fields: evaluate at = \"cells\"");
    }
    if case.spec.times.is_some() || ranks > 1 {
        return bad(
            "one time on one process: remove `times` (the case's time is the OpenFOAM time read) and run without MPI ranks",
        );
    }
    let Some((dir, name, _)) = openfoam_at(&case.dir.join(file), time.as_deref())? else {
        return bad(&format!(
            "{} is not an OpenFOAM case directory",
            file.display()
        ));
    };
    // Checked before the run, so that a refusal leaves everything as it was.
    if let Ok(rd) = std::fs::read_dir(dir.join(&name)) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let is_file = std::fs::symlink_metadata(e.path()).is_ok_and(|m| m.is_file());
            if (n.ends_with("_nabla") || n.ends_with("_nabla.gz")) && !is_file {
                return bad(&format!(
                    "{} is a symbolic link or not a regular file where a result would go; refused (move it away)",
                    e.path().display()
                ));
            }
        }
    }
    Ok(Some((dir, name)))
}

/// The arrays computed (not those read from the case) written into the OpenFOAM case `dir`
/// at `time` as `<name>_nabla`, after `VTK/` is in place; arrays of other than 1, 3, 6 or
/// 9 components (no OpenFOAM field type holds them) and arrays holding a value that is not
/// finite (OpenFOAM reads none; the summary counts them) are left out.
pub(super) fn write_back_fields(
    dir: &Path,
    time: &str,
    kept: &[(String, usize, Vec<f64>)],
) -> Result<Vec<PathBuf>> {
    let names: Vec<String> = kept.iter().map(|(n, _, _)| format!("{n}_nabla")).collect();
    let fields: Vec<(&str, usize, &[f64])> = kept
        .iter()
        .zip(&names)
        .filter(|((_, k, v), _)| [1, 3, 6, 9].contains(k) && v.iter().all(|x| x.is_finite()))
        .map(|((_, k, v), name)| (name.as_str(), *k, v.as_slice()))
        .collect();
    io::write_openfoam_cell_fields(dir, time, &fields)
}

/// Whether the data file is the mesh file of `[points]` (no `[data] file`, some field
/// with `data`), which [`source`] then takes as the points read it.
pub(super) fn reads_points_file(case: &Case) -> bool {
    case.spec.data.is_none()
        && case.spec.fields.iter().any(|f| f.data.is_some())
        && matches!(&case.spec.points, PointsSpec::Mesh { file, .. } if !is_csv(&case.dir.join(file)))
}

fn is_csv(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// The data file, read, when some field has `data = …`: `[data] file`, else the mesh or
/// CSV file of `[points]` (`read`: that mesh as the points read it, see
/// [`reads_points_file`]).
pub(super) fn source(case: &Case, read: Option<Read>) -> Result<Option<Source>> {
    let Some(first) = case.spec.fields.iter().find_map(|f| f.data.as_ref()) else {
        return Ok(None);
    };
    let (name, time) = match (&case.spec.data, &case.spec.points) {
        (Some(d), _) => (d.file.clone(), d.time.clone()),
        (None, PointsSpec::Mesh { file, time, .. }) => (file.clone(), time.clone()),
        (None, PointsSpec::Csv { file }) => (file.clone(), None),
        (None, _) => {
            return Err(case.input.error_at(
                &first.span(),
                None,
                "a field has `data` but the case has no data file: give `[data] file = \"…\"` \
                 (a .vtu, .vtp, .vtk or .csv file) or points of kind \"mesh\" or \"csv\""
                    .into(),
            ));
        }
    };
    let (mesh, dim, centres) = match read {
        Some(read) if reads_points_file(case) => (read.mesh, 3, read.centres),
        _ => {
            let (mesh, dim) = io::read_any(&case.dir.join(&name), time.as_deref())?;
            (mesh, dim, None)
        }
    };
    let points = mesh.points.len();
    Ok(Some(Source {
        name,
        mesh,
        dim,
        points,
        centres,
    }))
}

/// Every data field of the case, built from `source`.
pub(super) fn build(case: &Case, source: Option<&Source>) -> Result<Vec<Built>> {
    let mut out = Vec::new();
    for (i, f) in case.spec.fields.iter().enumerate() {
        let (Some(data), Some(src)) = (&f.data, source) else {
            continue;
        };
        let at = |message: String| case.input.error_at(&data.span(), None, message);
        // A reconstruction setting: where this field sets it, else where [reconstruction]
        // does, else at the field's data.
        let setting_at = |setting: &str, message: String| {
            let own = format!("field.{i}.reconstruction.{setting}");
            let shared = format!("reconstruction.{setting}");
            let exact = |path: &str| {
                let parent = path.rsplit_once('.').map_or("", |p| p.0);
                let (s, p) = (case.input.span_of(path), case.input.span_of(parent));
                s.filter(|s| Some(s) != p.as_ref())
            };
            match exact(&own).or_else(|| exact(&shared)) {
                Some(span) => case.input.error_at(&span, None, message),
                None => at(message),
            }
        };
        let mut settings = case.spec.reconstruction.clone();
        if let Some(o) = &f.reconstruction {
            settings = merge(settings, o);
        }
        let opts = reconstruction(&settings);
        let names: Vec<&str> = match data.get_ref() {
            DataRef::One(n) => vec![n.as_str()],
            DataRef::Many(v) => v.iter().map(String::as_str).collect(),
        };
        let asked = settings.samples.map(|s| match s {
            SamplesSpec::Cells => Location::Cells,
            SamplesSpec::Points => Location::Points,
        });
        let location = Location::choose(&src.mesh, &names, asked)
            .map_err(|e| at(format!("field '{}': {e} in {}", f.name, src.name.display())))?;
        let samples = mesh_samples_with(&src.mesh, &names, location, src.centres.as_deref())
            .map_err(|e| {
                let e = match e {
                    Error::Data(m) => m,
                    other => other.to_string(),
                };
                at(format!("field '{}': {e} in {}", f.name, src.name.display()))
            })?;
        let field = DataField::new(
            &samples.points,
            src.dim,
            samples.values,
            samples.components,
            &opts,
        );
        let mut field = field.map_err(|e| {
            let prefix = format!("field '{}' from {}", f.name, src.name.display());
            match e {
                Error::Config { setting, message } => setting_at(
                    &setting,
                    format!("{prefix}: reconstruction.{setting}: {message}"),
                ),
                Error::Data(m) => at(format!("{prefix}: {m}")),
                other => at(format!("{prefix}: {other}")),
            }
        })?;
        // Lattice, line and slice points outside every cell of the mesh get no values.
        // Where the case's points are the samples themselves (the centres of the data's
        // own cells for cell data, its points for point data), every point has data
        // without a look at the cells, and the test is not built (a second at 10⁶ cells).
        let own_samples = reads_points_file(case)
            && matches!(&case.spec.points, PointsSpec::Mesh { at, .. }
                if (*at == Some(AtSpec::Cells)) == (location == Location::Cells));
        if let Some(c) = src.mesh.cells.as_ref().filter(|_| !own_samples) {
            field = field
                .within(&src.mesh.points, c)
                .map_err(|e| at(format!("field '{}': {e}", f.name)))?;
        }
        let mut stencil = "nearest samples";
        let rings = match settings.stencil {
            Some(StencilSpec::Rings) => true,
            Some(StencilSpec::Nearest) => false,
            None => location == Location::Points,
        };
        if let Some(c) = samples.neighbours.as_ref().filter(|_| rings) {
            field = field.with_cells(c).map_err(|e| at(e.to_string()))?;
            stencil = "mesh rings";
        }
        let where_ = match location {
            Location::Points => "point values at the points".to_string(),
            Location::Cells => {
                let faces: usize = samples.patches.iter().map(|p| p.used).sum();
                let mut w = format!(
                    "cell values at {} cell centres and {faces} boundary values at face centres",
                    samples.cells
                );
                let parts: Vec<String> = samples
                    .patches
                    .iter()
                    .map(|p| {
                        let mut s = format!("{} {}", p.name, p.used);
                        if !p.why.is_empty() {
                            s += &format!(" ({}", p.why);
                            if p.left_out > 0 && p.used > 0 {
                                s += &format!(", {} left out", p.left_out);
                            }
                            s += ")";
                        }
                        s
                    })
                    .collect();
                if !parts.is_empty() {
                    w += &format!(" [{}]", parts.join("; "));
                }
                w
            }
        };
        let axes: Vec<&str> = field.axes().iter().map(|&a| ["x", "y", "z"][a]).collect();
        let mut what = format!(
            "data field {}: {} of {}, {where_}, degree {}, {} neighbours ({stencil}), \
             fitted in {}",
            f.name,
            describe(data.get_ref()),
            src.name.display(),
            opts.degree,
            field.neighbours(),
            axes.join(", ")
        );
        if let Some(why) = field.reduction() {
            what += &format!(" ({why})");
        }
        if field.merged() > 0 {
            what += &format!("; {} coincident samples merged", field.merged());
        }
        out.push(Built {
            name: f.name.clone(),
            field,
            what,
        });
    }
    Ok(out)
}

/// The settings of `over` where given, else those of `base`.
fn merge(base: ReconstructionSpec, over: &ReconstructionSpec) -> ReconstructionSpec {
    ReconstructionSpec {
        degree: over.degree.or(base.degree),
        neighbours: over.neighbours.or(base.neighbours),
        weights: over.weights.or(base.weights),
        dim: over.dim.or(base.dim),
        samples: over.samples.or(base.samples),
        stencil: over.stencil.or(base.stencil),
    }
}

fn reconstruction(s: &ReconstructionSpec) -> Reconstruction {
    let d = Reconstruction::default();
    Reconstruction {
        degree: s.degree.unwrap_or(d.degree),
        neighbours: s.neighbours,
        weights: match s.weights {
            Some(WeightsSpec::Uniform) => Weights::Uniform,
            Some(WeightsSpec::Gaussian) | None => Weights::Gaussian,
        },
        dim: s.dim,
    }
}

fn describe(r: &DataRef) -> String {
    match r {
        DataRef::One(n) => n.clone(),
        DataRef::Many(v) => format!("[{}]", v.join(", ")),
    }
}
