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
pub(super) fn read_pieces(path: &Path, data: DataSet) -> Result<Mesh> {
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
    let (limit, mut bytes) = (super::max_input_bytes(), 0u64);
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
        let file = folder.join(&name);
        bytes = bytes.saturating_add(std::fs::metadata(&file).map_or(0, |m| m.len()));
        if bytes > limit {
            return Err(input(format!(
                "its pieces up to `{name}` have {bytes} bytes together, more than the limit \
                 of {limit} bytes (NABLA_MAX_INPUT_BYTES raises it)"
            )));
        }
        meshes.push(super::read_mesh(&file)?);
    }
    merge(meshes).map_err(input)
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
        append_arrays(&mut out.point_data, m.point_data, k, "point")?;
        append_arrays(&mut out.cell_data, m.cell_data, k, "cell")?;
    }
    if let Some(c) = &out.cells {
        c.check(out.points.len())?;
    }
    Ok(out)
}

/// Appends piece `k`'s arrays to the arrays of the pieces before it, by name.
fn append_arrays(
    all: &mut [PointArray],
    mut more: Vec<PointArray>,
    k: usize,
    what: &str,
) -> std::result::Result<(), String> {
    let names = |v: &[PointArray]| {
        let mut n: Vec<(String, usize)> =
            v.iter().map(|a| (a.name.clone(), a.components)).collect();
        n.sort();
        n
    };
    if names(all) != names(&more) {
        return Err(format!(
            "piece {k} has the {what} arrays {:?}; expected those of piece 0, {:?} (name, \
             components)",
            names(&more),
            names(all)
        ));
    }
    for a in all.iter_mut() {
        // Present: the names were just compared.
        if let Some(i) = more.iter().position(|m| m.name == a.name) {
            let m = more.swap_remove(i);
            a.values.extend_from_slice(&m.values);
        }
    }
    Ok(())
}
