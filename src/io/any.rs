//! Reading whatever a user names: an OpenFOAM case directory (or the `.foam` file ParaView
//! opens it by), a VTK file, or a CSV file.

use std::path::{Path, PathBuf};

use super::Mesh;
use crate::error::Result;

/// The OpenFOAM case directory `path` names, if it names one: a directory with a
/// `constant` folder (or a decomposed case's `processor0`), or the `.foam` / `.OpenFOAM`
/// file ParaView opens a case by.
pub fn openfoam_dir(path: &Path) -> Option<PathBuf> {
    let marker = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e == "foam" || e == "OpenFOAM");
    let dir = if marker {
        path.parent().map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })?
    } else {
        path
    };
    (dir.is_dir() && (dir.join("constant").is_dir() || dir.join("processor0").is_dir()))
        .then(|| dir.to_path_buf())
}

/// Reads a mesh: an OpenFOAM case directory at `time` (default the latest), or a VTK
/// file by its extension ([`read_mesh`](super::read_mesh)).
///
/// # Errors
/// Those of [`read_openfoam`](super::read_openfoam) and [`read_mesh`](super::read_mesh).
pub fn read_mesh_at(path: &Path, time: Option<&str>) -> Result<Mesh> {
    match openfoam_dir(path) {
        Some(dir) => super::read_openfoam(&dir, time.unwrap_or("latest"), None),
        None => super::read_mesh(path),
    }
}

/// [`read_mesh_at`], or a CSV file ([`read_csv`](super::read_csv)) by its extension; with
/// the dimension of the points (2 for a CSV file without a z column, else 3).
///
/// # Errors
/// Those of [`read_mesh_at`] and [`read_csv`](super::read_csv).
pub fn read_any(path: &Path, time: Option<&str>) -> Result<(Mesh, usize)> {
    let csv = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if csv {
        super::read_csv(path)
    } else {
        Ok((read_mesh_at(path, time)?, 3))
    }
}
