//! foamToVTK's multiblock layout (`.vtm`): the internal mesh (`.vtu`) with its point and
//! cell data, and the boundary patches (`.vtp`, one per patch) with the solver's values
//! on their faces.
//!
//! ```text
//! <VTKFile type='vtkMultiBlockDataSet' ...>
//!   <vtkMultiBlockDataSet>
//!     <DataSet name='internal' file='cavity_20/internal.vtu' />
//!     <Block name='boundary'>
//!       <DataSet name='movingWall' file='cavity_20/boundary/movingWall.vtp' />
//!       ...
//! ```

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::listing::{Element, confined, input_error, parse_xml};
use super::merge::bytes_of;
use super::read::{read_input_within, read_mesh_within};
use super::{Cells, Mesh, Patch};
use crate::{Error, Result};

/// A data set the `.vtm` lists: its block name, file and line.
struct Listed {
    name: String,
    file: String,
    line: usize,
}

/// The mesh of the `.vtm` file `path`: the `internal` data set, with one [`Patch`] per
/// data set of the `boundary` block (see [`read_mesh`](super::read_mesh)). Every file is
/// read within what the files before it left of `limit`.
pub(super) fn read_vtm(path: &Path, limit: u64) -> Result<Mesh> {
    let bytes = read_input_within(path, limit)?;
    let root = parse_xml(path, &bytes)?;
    let err = |line: usize, message: String| input_error(path, Some(line), message);
    if root.name != "VTKFile" || root.attribute("type") != Some("vtkMultiBlockDataSet") {
        return Err(err(
            root.line,
            format!(
                "the root element is <{}{}>; expected <VTKFile type=\"vtkMultiBlockDataSet\">",
                root.name,
                root.attribute("type")
                    .map_or(String::new(), |t| format!(" type=\"{t}\""))
            ),
        ));
    }
    let mut blocks = None;
    for child in &root.children {
        match child.name.as_str() {
            "vtkMultiBlockDataSet" if blocks.is_none() => blocks = Some(child),
            "FieldData" => {}
            other => {
                return Err(err(
                    child.line,
                    format!(
                        "unexpected <{other}>; expected one <vtkMultiBlockDataSet> (and \
                         <FieldData>)"
                    ),
                ));
            }
        }
    }
    let blocks =
        blocks.ok_or_else(|| err(root.line, "no <vtkMultiBlockDataSet> element".into()))?;
    let (internal, patches) = layout(blocks, &err)?;
    let Some(internal) = internal else {
        return Err(err(
            blocks.line,
            "no data set named `internal`; expected foamToVTK's layout: <DataSet \
             name=\"internal\" file=\"….vtu\"/> and a <Block name=\"boundary\"> of patches"
                .into(),
        ));
    };

    let folder = path.parent().unwrap_or(Path::new("."));
    let mut left = limit.saturating_sub(bytes.len() as u64);
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut open = |listed: &Listed, ext: &str, left: &mut u64| -> Result<(PathBuf, Mesh)> {
        let real = confined(folder, &listed.file)
            .map_err(|m| err(listed.line, format!("block `{}`: {m}", listed.name)))?;
        let right_ext = Path::new(&listed.file)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case(ext));
        if !right_ext {
            return Err(err(
                listed.line,
                format!(
                    "block `{}` is `{}`; expected a .{ext} file",
                    listed.name, listed.file
                ),
            ));
        }
        if !seen.insert(real.clone()) {
            return Err(err(
                listed.line,
                format!("the file `{}` is listed twice", listed.file),
            ));
        }
        let mesh = read_mesh_within(&real, *left)?;
        *left = left.checked_sub(bytes_of(&mesh)).ok_or_else(|| {
            err(
                listed.line,
                format!(
                    "its files up to `{}` take more than the limit of {limit} bytes in memory \
                     together (NABLA_MAX_INPUT_BYTES raises it)",
                    listed.file
                ),
            )
        })?;
        Ok((real, mesh))
    };
    let (internal_path, mut mesh) = open(&internal, "vtu", &mut left)?;
    let mut index: HashMap<[u64; 3], u64> = HashMap::with_capacity(mesh.points.len());
    for (i, p) in mesh.points.iter().enumerate() {
        index.entry(key(p)).or_insert(i as u64);
    }
    for listed in &patches {
        let (real, patch) = open(listed, "vtp", &mut left)?;
        mesh.patches.push(patch_of(
            &listed.name,
            &real,
            patch,
            &index,
            &internal_path,
        )?);
    }
    Ok(mesh)
}

/// The internal data set and the boundary patches a `<vtkMultiBlockDataSet>` lists.
fn layout(
    blocks: &Element,
    err: &impl Fn(usize, String) -> Error,
) -> Result<(Option<Listed>, Vec<Listed>)> {
    let listed = |e: &Element| -> Option<Listed> {
        e.attribute("file").map(|f| Listed {
            name: e.attribute("name").unwrap_or("").to_string(),
            file: f.to_string(),
            line: e.line,
        })
    };
    let mut internal = None;
    let mut patches = Vec::new();
    let mut boundary_seen = false;
    for child in &blocks.children {
        let name = child.attribute("name").unwrap_or("");
        match (child.name.as_str(), name) {
            ("DataSet", "internal") => {
                if internal.is_some() {
                    return Err(err(child.line, "a second `internal` data set".into()));
                }
                internal = Some(listed(child).ok_or_else(|| {
                    err(
                        child.line,
                        "the `internal` data set names no file; expected file=\"….vtu\"".into(),
                    )
                })?);
            }
            ("Block", "boundary") => {
                if boundary_seen {
                    return Err(err(child.line, "a second `boundary` block".into()));
                }
                boundary_seen = true;
                for p in &child.children {
                    if p.name != "DataSet" {
                        return Err(err(
                            p.line,
                            format!(
                                "<{}> in the `boundary` block; expected one <DataSet> per patch",
                                p.name
                            ),
                        ));
                    }
                    // A data set without a file is VTK's empty block: a patch with no faces.
                    if let Some(l) = listed(p) {
                        if l.name.is_empty() {
                            return Err(err(
                                p.line,
                                "a patch without a name; expected name=\"PATCH\"".into(),
                            ));
                        }
                        if patches.iter().any(|q: &Listed| q.name == l.name) {
                            return Err(err(
                                p.line,
                                format!("the patch `{}` is listed twice", l.name),
                            ));
                        }
                        patches.push(l);
                    }
                }
            }
            (kind, name) => {
                return Err(err(
                    child.line,
                    format!(
                        "<{kind} name=\"{name}\"> is not read; nabla reads foamToVTK's layout: \
                         the data set `internal` (the mesh) and the block `boundary` (its \
                         patches)"
                    ),
                ));
            }
        }
    }
    Ok((internal, patches))
}

/// The exact coordinates of a point as a key (−0 and +0 alike).
fn key(p: &[f64; 3]) -> [u64; 3] {
    p.map(|x| (x + 0.0).to_bits())
}

/// The patch `name` read from `file`: its polygons renumbered to the internal mesh's
/// points (each patch point is the internal point with the same coordinates), its cell
/// data as the values on its faces.
fn patch_of(
    name: &str,
    file: &Path,
    patch: Mesh,
    index: &HashMap<[u64; 3], u64>,
    internal: &Path,
) -> Result<Patch> {
    let err = |message: String| input_error(file, None, message);
    let cells = patch.cells.unwrap_or_default();
    if let Some((f, &t)) = cells
        .types
        .iter()
        .enumerate()
        .find(|(_, t)| !matches!(t, 5 | 7 | 9))
    {
        return Err(err(format!(
            "patch `{name}`: cell {f} has VTK type {t}; expected polygons (faces) only"
        )));
    }
    let mut map = Vec::with_capacity(patch.points.len());
    for (i, p) in patch.points.iter().enumerate() {
        let Some(&j) = index.get(&key(p)) else {
            return Err(err(format!(
                "patch `{name}`: point {i} at {p:?} is no point of the internal mesh {}; \
                 expected the patch's points among the mesh's (exactly the same coordinates)",
                internal.display()
            )));
        };
        map.push(j);
    }
    let connectivity = cells
        .connectivity
        .iter()
        .map(|&p| map[p as usize]) // checked against the patch's points by read_mesh
        .collect();
    Ok(Patch {
        name: name.to_string(),
        faces: Cells {
            connectivity,
            offsets: cells.offsets,
            types: vec![7; cells.types.len()],
            ..Cells::default()
        },
        face_data: patch.cell_data,
        conditions: Vec::new(),
    })
}
