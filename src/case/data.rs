//! Fields from data in a case: the data file, the reconstruction settings, and every data
//! field built once (its k-d tree too) for all times.

use std::path::{Path, PathBuf};

use super::config::{DataRef, PointsSpec, ReconstructionSpec, WeightsSpec};
use super::load::Case;
use crate::error::{Error, Result};
use crate::field::data::{DataField, Reconstruction, Weights};
use crate::io::{self, Mesh, PointArray};

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
}

/// A data field of the case, built.
pub(super) struct Built {
    /// The field's name.
    pub(super) name: String,
    pub(super) field: DataField,
    /// What it was built from, for the summary.
    pub(super) what: String,
}

/// Reads a VTK or CSV file by its extension.
pub(super) fn read(path: &Path) -> Result<(Mesh, usize)> {
    let csv = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if csv {
        io::read_csv(path)
    } else {
        Ok((io::read_mesh(path)?, 3))
    }
}

/// The data file, read, when some field has `data = …`: `[data] file`, else the mesh or
/// CSV file of `[points]`.
pub(super) fn source(case: &Case) -> Result<Option<Source>> {
    let Some(first) = case.spec.fields.iter().find_map(|f| f.data.as_ref()) else {
        return Ok(None);
    };
    let name = match (&case.spec.data, &case.spec.points) {
        (Some(d), _) => d.file.clone(),
        (None, PointsSpec::Mesh { file } | PointsSpec::Csv { file }) => file.clone(),
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
    let (mesh, dim) = read(&case.dir.join(&name))?;
    let points = mesh.points.len();
    Ok(Some(Source {
        name,
        mesh,
        dim,
        points,
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
        let (values, m, location) = values(&src.mesh, data.get_ref())
            .map_err(|e| at(format!("field '{}': {e} in {}", f.name, src.name.display())))?;
        let cells = location == "cell";
        let centroids;
        let points: &[[f64; 3]] = if cells {
            centroids = src.mesh.cell_centroids();
            &centroids
        } else {
            &src.mesh.points
        };
        let field = DataField::new(points, src.dim, values, m, &opts);
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
        if let Some(c) = &src.mesh.cells {
            field = field
                .within(&src.mesh.points, c)
                .map_err(|e| at(format!("field '{}': {e}", f.name)))?;
        }
        let mut stencil = "nearest samples";
        if let (false, Some(c)) = (cells, &src.mesh.cells) {
            field = field.with_cells(c).map_err(|e| at(e.to_string()))?;
            stencil = "mesh rings";
        }
        let axes: Vec<&str> = field.axes().iter().map(|&a| ["x", "y", "z"][a]).collect();
        let mut what = format!(
            "data field {}: {location} array {} of {}, degree {}, {} neighbours ({stencil}), \
             fitted in {}",
            f.name,
            describe(data.get_ref()),
            src.name.display(),
            opts.degree,
            field.neighbours(),
            axes.join(", ")
        );
        if let Some((a, why)) = field.dropped_axis() {
            what += &format!(
                " (2-D data: {why}; derivatives along {} are 0)",
                ["x", "y", "z"][a]
            );
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

/// The values of the arrays `r` (point data, else cell data), point-major, their component
/// count, and where they live (`point` or `cell`).
fn values(
    mesh: &Mesh,
    r: &DataRef,
) -> std::result::Result<(Vec<f64>, usize, &'static str), String> {
    let find = |name: &str| -> std::result::Result<(&PointArray, &'static str), String> {
        mesh.point_array(name)
            .map(|a| (a, "point"))
            .or_else(|| mesh.cell_array(name).map(|a| (a, "cell")))
            .ok_or_else(|| {
                let list: Vec<String> = mesh
                    .point_data
                    .iter()
                    .map(|a| format!("{} ({})", a.name, a.components))
                    .chain(
                        mesh.cell_data
                            .iter()
                            .map(|a| format!("{} ({}, cell data)", a.name, a.components)),
                    )
                    .collect();
                format!(
                    "no array named '{name}'; the available arrays (components) are: {}",
                    if list.is_empty() {
                        "none".to_string()
                    } else {
                        list.join(", ")
                    }
                )
            })
    };
    match r {
        DataRef::One(name) => {
            let (a, loc) = find(name)?;
            Ok((a.values.clone(), a.components, loc))
        }
        DataRef::Many(names) => {
            if names.is_empty() {
                return Err(
                    "an empty list of arrays; expected one scalar array per component".into(),
                );
            }
            let cols: Vec<(&PointArray, &'static str)> = names
                .iter()
                .map(|n| find(n))
                .collect::<std::result::Result<_, _>>()?;
            if let Some((a, _)) = cols.iter().find(|(a, _)| a.components != 1) {
                return Err(format!(
                    "array '{}' has {} components; a list takes one scalar array per component",
                    a.name, a.components
                ));
            }
            if cols.iter().any(|(_, l)| *l != cols[0].1) {
                return Err("the listed arrays mix point data and cell data".into());
            }
            let n = cols[0].0.values.len();
            let m = cols.len();
            let mut v = vec![0.0; n * m];
            for (c, (a, _)) in cols.iter().enumerate() {
                for (i, &x) in a.values.iter().enumerate() {
                    v[i * m + c] = x;
                }
            }
            Ok((v, m, cols[0].1))
        }
    }
}
