//! A case over a series of data files (foamToVTK's `.vtm.series`, a `.pvd`): the times it
//! runs over, each time's file read and its data fields rebuilt from that time's arrays,
//! and the data fields' time derivatives from the files of neighbouring times.
//!
//! The points and cells are the first time's; each later file must have as many points
//! and cells. `times = [...]` in case.toml chooses times of the series (each must be one of
//! them); `times` with a single data file is refused, since every time would be a copy of
//! the same data.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use super::config::PointsSpec;
use super::data::{self, Built, Source};
use super::load::Case;
use crate::error::{Error, Result};
use crate::field::time::ddt_weights;
use crate::io::{self, Mesh, PointArray};

/// The series a case runs over.
pub(super) struct Series {
    /// The series file, as case.toml names it.
    name: PathBuf,
    /// Every time of the series, sorted, with its file.
    all: Vec<(f64, PathBuf)>,
    /// The index in `all` of each time the case runs over, in order.
    chosen: Vec<usize>,
    /// Whether the case's points are the series' mesh: then each time's point arrays are
    /// carried into that time's file, and its cell arrays too.
    points_from_series: bool,
    /// Whether some data field asks for `ddt` or `DDt`.
    needs_ddt: bool,
    /// The first time's number of points and cells, which every time must have.
    shape: (usize, usize),
    /// The meshes read last, by index in `all` (a few: those of one time's stencil).
    cache: RefCell<Vec<(usize, Mesh)>>,
}

/// One time of the series, read and built.
pub(super) struct Time {
    /// The data file of this time (its mesh and arrays).
    pub(super) source: Source,
    /// The data fields, built from this time's arrays.
    pub(super) data: Vec<Built>,
    /// Their time derivatives (only where a field asks for one), by field name.
    pub(super) ddt: Vec<Built>,
    /// The point arrays to carry into this time's file, and the cell arrays of its mesh
    /// (where the case's points are the series' mesh).
    pub(super) carried: Option<(Vec<PointArray>, Vec<PointArray>)>,
}

/// The series file of the case, if its data file (or, without data fields, its mesh) is
/// one; `None` otherwise, after checking that `times` is not given with a data file of a
/// single time.
pub(super) fn series(case: &Case) -> Result<Option<Series>> {
    let has_data = case.spec.fields.iter().any(|f| f.data.is_some());
    let points_file = match &case.spec.points {
        PointsSpec::Mesh { file, .. } => Some(file),
        _ => None,
    };
    let data_file = match (&case.spec.data, points_file) {
        (Some(d), _) if has_data => Some(&d.file),
        (None, Some(f)) if has_data => Some(f),
        _ => None,
    };
    let name = match (data_file, points_file) {
        (Some(d), _) if io::is_series(d) => d,
        (_, Some(p)) if io::is_series(p) => p,
        (Some(d), _) => {
            if case.spec.times.is_some() {
                return Err(case.input.error_key(
                    "times",
                    format!(
                        "times: the data file {} holds one time, so every time would be a copy \
                         of the same data; give a series instead (a .vtm.series or .pvd file, \
                         whose times the case then runs over), or leave `times` out",
                        d.display()
                    ),
                ));
            }
            return Ok(None);
        }
        _ => return Ok(None),
    };
    let points_from_series = points_file == Some(name);
    if let (Some(d), Some(p)) = (data_file, points_file)
        && io::is_series(p)
        && d != p
    {
        return Err(case.input.error_key(
            "data.file",
            format!(
                "data.file {} and points.file {} are two different files of which the points' \
                 is a series; expected one series (the data's) over fixed points",
                d.display(),
                p.display()
            ),
        ));
    }
    let all = io::read_series(&case.dir.join(name))?;
    let chosen = choose(case, &all)?;
    let needs_ddt = case.spec.fields.iter().any(|f| {
        f.data.is_some()
            && (f.operators.iter())
                .chain(f.exact.keys())
                .chain(f.compare.keys())
                .any(|o| o.in_time())
    });
    let first = io::read_mesh(&all[0].1)?;
    Ok(Some(Series {
        name: name.clone(),
        shape: (first.points.len(), first.num_cells()),
        cache: RefCell::new(vec![(0, first)]),
        all,
        chosen,
        points_from_series,
        needs_ddt,
    }))
}

/// The indices of the times of `all` that `times = [...]` chooses (all of them without it).
fn choose(case: &Case, all: &[(f64, PathBuf)]) -> Result<Vec<usize>> {
    if case.spec.times.is_none() {
        return Ok((0..all.len()).collect());
    }
    let wanted = case.times()?;
    let list = || {
        let t: Vec<String> = all.iter().map(|(t, _)| format!("{t}")).collect();
        t.join(", ")
    };
    wanted
        .iter()
        .enumerate()
        .map(|(k, &t)| {
            // The series' own numbers; written in case.toml they may be off in the last bit.
            let near = |s: f64| (s - t).abs() <= 1e-12 * s.abs().max(t.abs()).max(1.0);
            all.iter().position(|&(s, _)| near(s)).ok_or_else(|| {
                case.input.error_key(
                    &format!("times.{k}"),
                    format!(
                        "times: {t} is not a time of the series; its times are {}",
                        list()
                    ),
                )
            })
        })
        .collect()
}

impl Series {
    /// The times the case runs over, the series' own numbers.
    pub(super) fn times(&self) -> Vec<f64> {
        self.chosen.iter().map(|&i| self.all[i].0).collect()
    }

    /// A line for the summary: the times run over, and the series they come from.
    pub(super) fn note(&self) -> String {
        let t: Vec<String> = self.times().iter().map(|t| format!("{t}")).collect();
        format!(
            "times t = {} of the series {} ({} of its {} times)",
            t.join(", "),
            self.name.display(),
            self.chosen.len(),
            self.all.len()
        )
    }

    /// Whether data fields can have a time derivative: why not, where they cannot.
    pub(super) fn ddt_unavailable(&self) -> Option<String> {
        (self.all.len() < 2).then(|| {
            format!(
                "the series {} has one time; ddt needs two or more",
                self.name.display()
            )
        })
    }

    /// The mesh of time `i` of the series, read (or from the cache) and checked against
    /// the first time's points and cells.
    fn mesh(&self, i: usize) -> Result<Mesh> {
        if let Some((_, m)) = self.cache.borrow().iter().find(|(j, _)| *j == i) {
            return Ok(m.clone());
        }
        let (t, file) = &self.all[i];
        let mesh = io::read_mesh(file)?;
        let shape = (mesh.points.len(), mesh.num_cells());
        if shape != self.shape {
            return Err(Error::Input {
                path: file.clone(),
                line: None,
                column: None,
                message: format!(
                    "the mesh at t = {t} of the series {} has {} points and {} cells, the \
                     first time's {} points and {} cells; expected the same mesh at every time",
                    self.name.display(),
                    shape.0,
                    shape.1,
                    self.shape.0,
                    self.shape.1
                ),
            });
        }
        let mut cache = self.cache.borrow_mut();
        if cache.len() >= 4 {
            cache.remove(0);
        }
        cache.push((i, mesh.clone()));
        Ok(mesh)
    }

    /// The `k`-th time the case runs over: its file read, its data fields built, their
    /// time derivatives where asked for, and the arrays to carry.
    pub(super) fn at(&self, case: &Case, k: usize) -> Result<Time> {
        let i = self.chosen[k];
        let (t, file) = &self.all[i];
        let mesh = self.mesh(i)?;
        let make = |mesh: Mesh, what: &str| Source {
            name: PathBuf::from(format!(
                "{} ({what} at t = {t}: {})",
                self.name.display(),
                short(file)
            )),
            points: mesh.points.len(),
            mesh,
            dim: 3,
            centres: None,
        };
        let carried = self.points_from_series.then(|| {
            let carried = super::carried_if(case, &mesh.point_data).to_vec();
            (carried, mesh.cell_data.clone())
        });
        if let Some((c, cells)) = &carried {
            super::names::check_carried(file, c)?;
            super::names::check_carried(file, cells)?;
        }
        let source = make(mesh, "data");
        let data = data::build(case, Some(&source))?;
        let ddt = if self.needs_ddt {
            let times: Vec<f64> = self.all.iter().map(|s| s.0).collect();
            let weights = ddt_weights(&times, i).map_err(|e| Error::Input {
                path: case.dir.join(&self.name),
                line: None,
                column: None,
                message: e.to_string(),
            })?;
            let mut meshes = Vec::with_capacity(weights.len());
            for &(j, w) in &weights {
                meshes.push((w, self.mesh(j)?));
            }
            let combined = combine(&meshes).map_err(|message| Error::Input {
                path: case.dir.join(&self.name),
                line: None,
                column: None,
                message,
            })?;
            data::build(case, Some(&make(combined, "ddt")))?
        } else {
            Vec::new()
        };
        Ok(Time {
            source,
            data,
            ddt,
            carried,
        })
    }
}

/// The last two components of a path (`cavity_20/internal.vtu`), for messages.
fn short(path: &Path) -> String {
    let n = path.components().count();
    let tail: PathBuf = path.components().skip(n.saturating_sub(2)).collect();
    tail.display().to_string()
}

/// The face array `name` of patch `p` of `mesh`, if that patch is `patch`.
fn patch_array<'m>(mesh: &'m Mesh, p: usize, patch: &str, name: &str) -> Option<&'m PointArray> {
    (mesh.patches.get(p))
        .filter(|q| q.name == patch)
        .and_then(|q| q.face_array(name))
}

/// The first mesh with every array replaced by `Σ w·array` over `meshes` (the same array,
/// by name, of each): point, cell and patch arrays. A reconstruction is linear in the
/// values, so the field reconstructed from these is the same sum of the fields of each
/// time: the time derivative of the local polynomial in time.
fn combine(meshes: &[(f64, Mesh)]) -> std::result::Result<Mesh, String> {
    let (_, first) = &meshes[0];
    let sum =
        |get: &dyn for<'m> Fn(&'m Mesh) -> Option<&'m PointArray>, what: &str, a: &PointArray| {
            let mut values = vec![0.0; a.values.len()];
            for (w, m) in meshes {
                let b = get(m)
                    .filter(|b| b.values.len() == a.values.len() && b.components == a.components);
                let Some(b) = b else {
                    return Err(format!(
                        "the {what} array `{}` is not at every time with the same shape; expected \
                     the same arrays at every time of the series",
                        a.name
                    ));
                };
                for (v, x) in values.iter_mut().zip(&b.values) {
                    *v += w * x;
                }
            }
            Ok(PointArray::new(a.name.clone(), a.components, values))
        };
    let mut out = first.clone();
    out.point_data = (first.point_data.iter())
        .map(|a| sum(&|m| m.point_array(&a.name), "point", a))
        .collect::<std::result::Result<_, _>>()?;
    out.cell_data = (first.cell_data.iter())
        .map(|a| sum(&|m| m.cell_array(&a.name), "cell", a))
        .collect::<std::result::Result<_, _>>()?;
    for (p, patch) in first.patches.iter().enumerate() {
        let what = format!("patch {}", patch.name);
        out.patches[p].face_data = (patch.face_data.iter())
            .map(|a| sum(&|m| patch_array(m, p, &patch.name, &a.name), &what, a))
            .collect::<std::result::Result<_, _>>()?;
    }
    Ok(out)
}
