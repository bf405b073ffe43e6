//! Reading ParaView's parallel files (`.pvtu`, `.pvtp`): the pieces they list, each read
//! as a file of its own and merged into one mesh, as ParaView's reader merges them.

use std::collections::HashSet;
use std::path::Path;

use vtkio::model::{DataSet, Piece};

use super::{Mesh, PointArray};
use crate::{Error, Result};

/// The most pieces a parallel file may list: more than any run of ranks writes, few
/// enough that a small file cannot make the reader open millions of files.
const MAX_PIECES: usize = 1 << 16;

/// The mesh of the parallel file `path` (already parsed into `data`): its pieces, read
/// with [`read_mesh`](super::read_mesh) from the same folder, one after the other. Points
/// on the border of two pieces are in both and stay twice (ParaView's reader keeps them
/// too; a data field merges coincident samples).
///
/// The pieces share one budget of `limit` bytes: each is read within what the pieces
/// before it left of it (its file, its compressed arrays inflated), and then uses up its
/// size in memory; so a few small files (or links to one file) cannot claim more than
/// the limit together.
pub(super) fn read_pieces(path: &Path, data: DataSet, limit: u64) -> Result<Mesh> {
    let input = |message: String| Error::Input {
        path: path.into(),
        line: None,
        column: None,
        message,
    };
    // Each piece's file name; `None` for a piece held inline.
    fn sources<P>(pieces: Vec<Piece<P>>) -> Vec<Option<String>> {
        let source = |p| match p {
            Piece::Source(name, _) => Some(name),
            _ => None,
        };
        pieces.into_iter().map(source).collect()
    }
    let (pieces, ext) = match data {
        DataSet::UnstructuredGrid { pieces, .. } => (sources(pieces), "vtu"),
        DataSet::PolyData { pieces, .. } => (sources(pieces), "vtp"),
        _ => {
            return Err(input(
                "expected a PUnstructuredGrid (.pvtu) or PPolyData (.pvtp) file".into(),
            ));
        }
    };
    if pieces.is_empty() || pieces.len() > MAX_PIECES {
        return Err(input(format!(
            "the file lists {} pieces; expected 1 to {MAX_PIECES}",
            pieces.len()
        )));
    }
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut left = limit;
    let mut seen = HashSet::new();
    let mut meshes = Vec::with_capacity(pieces.len());
    for (k, piece) in pieces.into_iter().enumerate() {
        let Some(name) = piece else {
            return Err(input(format!(
                "piece {k} holds its data inline; expected Source=\"NAME.{ext}\", a file \
                 beside this one"
            )));
        };
        let plain = Path::new(&name)
            .file_name()
            .is_some_and(|f| f == name.as_str())
            && name != ".."
            && !name.contains('\\');
        let right_ext = Path::new(&name)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case(ext));
        if !plain || !right_ext {
            return Err(input(format!(
                "piece {k} is `{name}`; expected the name of a .{ext} file in the same folder"
            )));
        }
        if !seen.insert(name.clone()) {
            return Err(input(format!("piece `{name}` is listed twice")));
        }
        let mesh = super::read::read_mesh_within(&folder.join(&name), left)?;
        let used = bytes_of(&mesh);
        left = left.checked_sub(used).ok_or_else(|| {
            input(format!(
                "its pieces up to `{name}` take more than the limit of {limit} bytes in \
                 memory together (NABLA_MAX_INPUT_BYTES raises it)"
            ))
        })?;
        meshes.push(mesh);
    }
    merge(meshes).map_err(input)
}

/// The bytes `mesh` holds: points, cells and arrays (its patches too).
pub(super) fn bytes_of(mesh: &Mesh) -> u64 {
    let cells = mesh.cells.as_ref().map_or(0, |c| {
        8 * (c.connectivity.len() + c.offsets.len()) + c.types.len()
    });
    let arrays: usize = (mesh.point_data.iter().chain(&mesh.cell_data))
        .map(|a| 8 * a.values.len())
        .sum();
    let patches: usize = (mesh.patches.iter())
        .map(|p| {
            let faces = 8 * (p.faces.connectivity.len() + p.faces.offsets.len());
            faces
                + p.face_data
                    .iter()
                    .map(|a| 8 * a.values.len())
                    .sum::<usize>()
        })
        .sum();
    (24 * mesh.points.len() + cells + arrays + patches) as u64
}

/// The pieces one after the other: points, cells (renumbered), point and cell arrays
/// (each piece must have the same arrays, by name and components).
fn merge(pieces: Vec<Mesh>) -> std::result::Result<Mesh, String> {
    let mut pieces = pieces.into_iter().enumerate();
    let Some((_, mut out)) = pieces.next() else {
        return Err("no pieces".into());
    };
    for (k, m) in pieces {
        let base = out.points.len() as u64;
        match (&mut out.cells, m.cells) {
            (Some(all), Some(c)) => {
                let shift = all.connectivity.len() as u64;
                all.connectivity
                    .extend(c.connectivity.iter().map(|&p| p + base));
                all.offsets.extend(c.offsets.iter().map(|&o| o + shift));
                all.types.extend_from_slice(&c.types);
            }
            (None, None) => {}
            _ => {
                return Err(format!(
                    "piece {k} has cells where piece 0 has none, or the reverse"
                ));
            }
        }
        out.points.extend_from_slice(&m.points);
        let cells = out.num_cells();
        append_arrays(
            &mut out.point_data,
            m.point_data,
            k,
            "point",
            out.points.len(),
        )?;
        append_arrays(&mut out.cell_data, m.cell_data, k, "cell", cells)?;
    }
    if let Some(c) = &out.cells {
        c.check(out.points.len())?;
    }
    Ok(out)
}

/// Appends piece `k`'s arrays to the arrays of the pieces before it, by name (which must
/// be unique within a piece); each must then hold `n` tuples (points or cells).
fn append_arrays(
    all: &mut [PointArray],
    more: Vec<PointArray>,
    k: usize,
    what: &str,
    n: usize,
) -> std::result::Result<(), String> {
    let names = |v: &[PointArray]| {
        let mut n: Vec<(String, usize)> =
            v.iter().map(|a| (a.name.clone(), a.components)).collect();
        n.sort();
        n
    };
    let (before, mine) = (names(all), names(&more));
    if let Some(w) = mine.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(format!(
            "piece {k} has two {what} arrays named `{}`; expected each name once",
            w[0].0
        ));
    }
    if before != mine {
        return Err(format!(
            "piece {k} has the {what} arrays {mine:?}; expected those of piece 0, {before:?} \
             (name, components)"
        ));
    }
    for m in more {
        // Present, once, with as many components: the lists were just compared.
        if let Some(a) = all.iter_mut().find(|a| a.name == m.name) {
            a.values.extend_from_slice(&m.values);
        }
    }
    for a in all.iter() {
        if Some(a.values.len()) != n.checked_mul(a.components) {
            return Err(format!(
                "{what} array `{}` has {} values over the pieces; expected {n} {what}s × {} \
                 components",
                a.name,
                a.values.len(),
                a.components
            ));
        }
    }
    Ok(())
}
