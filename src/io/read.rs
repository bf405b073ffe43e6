//! Reading the points and cells of VTK files.

use std::cell::Cell;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Once;

use vtkio::Vtk;
use vtkio::model::{Attribute, Attributes, DataSet, IOBuffer, Piece, VertexNumbers};

use super::appended::{check_compressed_sizes, raw_appended_to_base64};
use super::legacy::{check_counts, field_block, line_of, strip_dataset_field};
use super::{Cells, Mesh, PointArray};
use crate::{Error, Result};

/// The default of [`max_input_bytes`]: 4 GiB.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 4 << 30;

/// The most bytes a mesh or data file may have, and the most its compressed arrays may
/// inflate to (together): [`DEFAULT_MAX_INPUT_BYTES`] (4 GiB), or the environment variable
/// `NABLA_MAX_INPUT_BYTES` (a number of bytes) where it is set. Every allocation a file
/// controls is bounded by this limit (or by the file's size), so a small file cannot claim
/// gigabytes.
pub fn max_input_bytes() -> u64 {
    std::env::var("NABLA_MAX_INPUT_BYTES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_MAX_INPUT_BYTES)
}

/// Reads an input file whole, refusing what is not a regular file (a FIFO would block
/// forever, `/dev/zero` never ends) and files over [`max_input_bytes`]; reads at most the
/// limit even where the file grows meanwhile.
pub(crate) fn read_input(path: &Path) -> Result<Vec<u8>> {
    read_input_within(path, max_input_bytes())
}

/// [`read_input`] with a limit of `limit` bytes (what is left of a budget shared by several
/// files).
pub(crate) fn read_input_within(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let io = |message: String| Error::Io {
        path: path.into(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| io(format!("cannot read the file: {e}")))?;
    if !meta.is_file() {
        let ft = meta.file_type();
        let what = if ft.is_dir() {
            "a directory"
        } else {
            special_kind(&ft)
        };
        return Err(io(format!("the path is {what}; expected a regular file")));
    }
    if meta.len() > limit {
        return Err(io(format!(
            "the file has {} bytes, more than the limit of {limit} bytes \
             (NABLA_MAX_INPUT_BYTES raises it)",
            meta.len()
        )));
    }
    let file = std::fs::File::open(path).map_err(|e| io(format!("cannot read the file: {e}")))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io(format!("cannot read the file: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(io(format!(
            "the file grew past the limit of {limit} bytes while it was read"
        )));
    }
    Ok(bytes)
}

/// What a file that is neither regular nor a directory is.
#[cfg(unix)]
fn special_kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// What a file that is neither regular nor a directory is.
#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "not a regular file"
}

thread_local! {
    /// Whether panics on this thread are expected and caught (no message printed).
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Whether a panic on this thread now is one [`catch_quietly`] catches (a malformed file
/// inside vtkio), not a bug: the MPI abort hook lets those pass.
#[cfg(feature = "mpi")]
pub(crate) fn panics_are_caught() -> bool {
    QUIET.with(Cell::get)
}

/// Runs `f`, catching a panic without printing its message: a panic hook installed once
/// stays silent on threads inside such a call and hands every other panic to the hook that
/// was there before, so threads that panic elsewhere at the same time still report.
fn catch_quietly<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let out = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    out
}

/// The kind of file, from its extension.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Legacy,
    Xml,
    /// `.pvtu` / `.pvtp`: XML that lists the files of its pieces.
    Parallel,
}

/// Reads the points and cells of a VTK file.
///
/// A `.pvtu` or `.pvtp` file (ParaView's parallel files, such as an MPI run of nabla
/// writes) is read as the mesh of its pieces, which must be `.vtu` / `.vtp` files in its
/// folder with the same arrays, read one after the other; points on the border of two
/// pieces stay twice, as in ParaView. Their files may together have at most
/// [`max_input_bytes`].
///
/// A `.vtm` file (a multiblock data set as OpenFOAM's `foamToVTK` writes it) is read as
/// its `internal` data set (a `.vtu`: the mesh, its point and cell data) with one
/// [`Patch`](super::Patch) per data set of its `boundary` block (a `.vtp` per patch): the
/// patch's polygons in the internal mesh's point numbering (each patch point is the
/// internal point with exactly the same coordinates), its cell data as
/// [`Patch::face_data`](super::Patch::face_data) and no conditions (the file names none).
/// The files it lists are relative paths inside the `.vtm`'s folder (no `..`, no absolute
/// path, no symbolic link out of it), each listed once, and share one budget of
/// [`max_input_bytes`] as the pieces of a parallel file do. A series file (`.vtm.series`,
/// `.pvd`; see [`read_series`](super::read_series)) is read as the file of its first
/// (lowest) time.
///
/// Supported: legacy `.vtk` (binary big-endian, as VTK writes it, or ASCII; data sets
/// `UNSTRUCTURED_GRID`, `POLYDATA`, `STRUCTURED_GRID`; a `FIELD` block before the points, as
/// `foamToVTK -legacy` writes it, is skipped) and XML `.vtu` (`UnstructuredGrid`) and `.vtp`
/// (`PolyData`), inline or appended (base64 or raw, as ParaView saves them), uncompressed or
/// compressed (zlib, lz4, lzma), as `foamToVTK` and ParaView write them. Point-data and
/// cell-data arrays (XML `DataArray`s, legacy `SCALARS`, `VECTORS`, `TENSORS` and `FIELD`
/// arrays; any numeric type) are read into [`Mesh::point_data`] and [`Mesh::cell_data`];
/// arrays that are not numbers are skipped.
///
/// # Errors
///
/// [`Error::Io`] for an unknown extension, a file that cannot be read, a path that is not a
/// regular file (a FIFO, a device) or a file over [`max_input_bytes`] (4 GiB unless
/// `NABLA_MAX_INPUT_BYTES` says otherwise); [`Error::Input`] for a file that does not parse
/// (with the line where vtkio stopped, for a legacy file), is truncated, has no points, has
/// cells that do not fit its points, announces more values than the file can hold, or has
/// compressed arrays that inflate past [`max_input_bytes`] (checked from their headers,
/// before anything is inflated). Both name the file and what was expected. No input panics,
/// and vtkio's panics on malformed files are caught without printing anything.
pub fn read_mesh(path: &Path) -> Result<Mesh> {
    read_mesh_within(path, max_input_bytes())
}

/// [`read_mesh`] with `limit` in place of [`max_input_bytes`] (what is left of it for the
/// pieces of a parallel file).
pub(super) fn read_mesh_within(path: &Path, limit: u64) -> Result<Mesh> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let kind = match ext.as_deref() {
        Some("vtk") => Kind::Legacy,
        Some("vtu") | Some("vtp") => Kind::Xml,
        Some("pvtu") | Some("pvtp") => Kind::Parallel,
        Some("vtm") => return super::multiblock::read_vtm(path, limit),
        Some("series") | Some("pvd") => {
            // The first time of the series: the mesh a case over the series evaluates on.
            let series = super::read_series(path)?;
            let (_, first) = &series[0]; // read_series lists at least one file
            return read_mesh_within(first, limit);
        }
        other => {
            return Err(Error::Io {
                path: path.into(),
                message: format!(
                    "unknown extension {}; expected .vtk (legacy VTK), .vtu or .vtp (XML VTK), \
                     .pvtu or .pvtp (their pieces), .vtm (foamToVTK's multiblock), .vtm.series \
                     or .pvd (a series: its first time)",
                    other.map_or("(none)".to_string(), |e| format!(".{e}"))
                ),
            });
        }
    };
    let bytes = read_input_within(path, limit)?;
    let input = |message: String| Error::Input {
        path: path.into(),
        line: None,
        column: None,
        message,
    };
    let at_line = |line: usize, message: String| Error::Input {
        path: path.into(),
        line: Some(line),
        column: None,
        message,
    };
    // vtkio may panic on malformed input (slicing past the end of a base64 block, asserts on
    // cell counts); a panic there is one more way for the file to be bad.
    let parsed = match kind {
        Kind::Legacy => {
            check_counts(&bytes).map_err(|(line, m)| at_line(line, m))?;
            let stripped = strip_dataset_field(&bytes);
            // Where the FIELD block was cut out, and how long it was.
            let (cut_at, removed) =
                field_block(&bytes).map_or((usize::MAX, 0), |r| (r.start, r.len()));
            catch_quietly(|| match vtkio::parser::parse_be(&stripped) {
                Ok((_, vtk)) => Ok(vtk),
                Err(e) => {
                    // Where the parser stopped: the input left over at its error.
                    let mut left = None;
                    let _ = e.map(|inner| left = Some((inner.input.len(), inner.code)));
                    let (line, what) = match left {
                        Some((rest, code)) => {
                            let mut at = stripped.len().saturating_sub(rest);
                            if at >= cut_at {
                                at += removed;
                            }
                            let what = match format!("{code:?}").as_str() {
                                "Digit" | "Float" => "a number".to_string(),
                                "Tag" => "a keyword or section".to_string(),
                                "Eof" | "Complete" => "more data".to_string(),
                                other => format!("something else ({other})"),
                            };
                            (Some(line_of(&bytes, at)), what)
                        }
                        None => (None, "more data".into()),
                    };
                    let place = if line.is_some() {
                        "this line"
                    } else {
                        "the file"
                    };
                    Err((
                        line,
                        format!(
                            "vtkio cannot parse {place} as legacy VTK (expected {what}; a legacy \
                             file is `# vtk DataFile Version`, a title, ASCII or BINARY \
                             (big-endian), then DATASET with POINTS)"
                        ),
                    ))
                }
            })
        }
        Kind::Xml | Kind::Parallel => {
            let xml = raw_appended_to_base64(&bytes)
                .map_err(|e| input(format!("malformed raw appended data: {e}")))?;
            check_compressed_sizes(&xml, limit).map_err(input)?;
            catch_quietly(|| {
                Vtk::parse_xml(&*xml)
                    .map_err(|e| (None, format!("not an XML VTK file vtkio can read: {e}")))
            })
        }
    };
    let parsed = parsed
        .map_err(|payload| {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            input(format!(
                "malformed or truncated VTK file (vtkio stopped on an internal check: {what})"
            ))
        })?
        .map_err(|(line, m)| match line {
            Some(l) => at_line(l, m),
            None => input(m),
        })?;
    if kind == Kind::Parallel {
        return super::merge::read_pieces(path, parsed.data, limit);
    }
    let mesh = mesh_from_data_set(parsed.data, kind == Kind::Legacy).map_err(input)?;
    Ok(mesh)
}

/// The one inline piece of a data set.
fn single_piece<P>(pieces: Vec<Piece<P>>) -> std::result::Result<P, String> {
    let n = pieces.len();
    let mut pieces = pieces.into_iter();
    match (pieces.next(), n) {
        (Some(Piece::Inline(p)), 1) => Ok(*p),
        (None, _) => Err("the data set has no piece; expected one piece with points".into()),
        (Some(_), 1) => {
            Err("the piece refers to another file; expected the points in this file".into())
        }
        _ => Err(format!("the data set has {n} pieces; expected one")),
    }
}

/// The mesh of a parsed file; `legacy` tells how vtkio's offsets are laid out.
fn mesh_from_data_set(data: DataSet, legacy: bool) -> std::result::Result<Mesh, String> {
    let (points, cells, attributes) = match data {
        DataSet::UnstructuredGrid { pieces, .. } => {
            let piece = single_piece(pieces)?;
            let (connectivity, offsets) = xml_layout(piece.cells.cell_verts, "cells", legacy)?;
            let types = piece.cells.types.iter().map(|&t| t as u8).collect();
            (
                piece.points,
                Some(Cells {
                    connectivity,
                    offsets,
                    types,
                    ..Default::default()
                }),
                piece.data,
            )
        }
        DataSet::PolyData { pieces, .. } => {
            let piece = single_piece(pieces)?;
            let mut cells = Cells::default();
            // VTK's order and cell types for poly data (vtkPolyData::GetCellType).
            if let Some(verts) = piece.verts {
                append(&mut cells, verts, "verts", legacy, |k| {
                    if k == 1 { 1 } else { 2 }
                })?;
            }
            if let Some(lines) = piece.lines {
                append(&mut cells, lines, "lines", legacy, |k| {
                    if k == 2 { 3 } else { 4 }
                })?;
            }
            if let Some(polys) = piece.polys {
                append(&mut cells, polys, "polys", legacy, |k| match k {
                    3 => 5,
                    4 => 9,
                    _ => 7,
                })?;
            }
            if let Some(strips) = piece.strips {
                append(&mut cells, strips, "strips", legacy, |_| 6)?;
            }
            (piece.points, Some(cells), piece.data)
        }
        DataSet::StructuredGrid { pieces, .. } => {
            let piece = single_piece(pieces)?;
            (piece.points, None, piece.data)
        }
        other => {
            let kind = match other {
                DataSet::ImageData { .. } => "image data (STRUCTURED_POINTS)",
                DataSet::RectilinearGrid { .. } => "a rectilinear grid",
                _ => "field data",
            };
            return Err(format!(
                "the file holds {kind}, which has no point list; expected an unstructured grid, \
                 poly data or a structured grid"
            ));
        }
    };
    let points = points_f64(points)?;
    if let Some(cells) = &cells {
        cells.check(points.len())?;
    }
    let num_cells = cells.as_ref().map_or(0, Cells::len);
    let Attributes { point, cell } = attributes;
    Ok(Mesh {
        point_data: data_arrays(point, points.len(), "point")?,
        cell_data: data_arrays(cell, num_cells, "cell")?,
        points,
        cells,
        patches: Vec::new(),
    })
}

/// The numeric arrays of one attribute list, each checked to hold `n` tuples.
fn data_arrays(
    attributes: Vec<Attribute>,
    n: usize,
    what: &str,
) -> std::result::Result<Vec<PointArray>, String> {
    let mut out = Vec::new();
    let mut push = |name: String, components: usize, data: IOBuffer| {
        let Some(values) = data.cast_into::<f64>() else {
            return Ok(()); // strings or bits: not a field
        };
        if components == 0 || Some(values.len()) != n.checked_mul(components) {
            return Err(format!(
                "{what} array `{name}` has {} values; expected {n} {what}s × {components} \
                 components",
                values.len()
            ));
        }
        out.push(PointArray::new(name, components, values));
        Ok(())
    };
    for a in attributes {
        match a {
            Attribute::DataArray(d) => {
                let k = d.num_comp();
                push(d.name, k, d.data)?
            }
            Attribute::Field { data_array, .. } => {
                for f in data_array {
                    let k = f.num_comp();
                    push(f.name, k, f.data)?
                }
            }
        }
    }
    Ok(out)
}

/// Appends cells given in either vtkio layout, typing each from its number of points.
fn append(
    cells: &mut Cells,
    numbers: VertexNumbers,
    what: &str,
    legacy: bool,
    cell_type: impl Fn(u64) -> u8,
) -> std::result::Result<(), String> {
    let (connectivity, offsets) = xml_layout(numbers, what, legacy)?;
    let base = cells.connectivity.len() as u64;
    let mut start = 0;
    for &end in &offsets {
        cells.types.push(cell_type(end.saturating_sub(start)));
        cells.offsets.push(base + end);
        start = end;
    }
    cells.connectivity.extend(connectivity);
    Ok(())
}

/// Connectivity and end offsets from either of vtkio's layouts, checked (vtkio's own
/// conversion asserts, and panics, on inconsistent input). Offsets of a legacy file
/// (`legacy`; version 5 files have `OFFSETS`) start with a zero, which is dropped.
fn xml_layout(
    numbers: VertexNumbers,
    what: &str,
    legacy: bool,
) -> std::result::Result<(Vec<u64>, Vec<u64>), String> {
    match numbers {
        VertexNumbers::Legacy {
            num_cells,
            vertices,
        } => {
            let mut connectivity = Vec::with_capacity(vertices.len());
            // Each cell takes at least one entry of `vertices`: the count in the header does
            // not size the allocation.
            let mut offsets = Vec::with_capacity((num_cells as usize).min(vertices.len()));
            let mut i = 0;
            while i < vertices.len() {
                let n = vertices[i] as usize;
                let cell = vertices.get(i + 1..i + 1 + n).ok_or_else(|| {
                    format!(
                        "{what}: cell {} has {n} points but the list ends first",
                        offsets.len()
                    )
                })?;
                connectivity.extend(cell.iter().map(|&v| u64::from(v)));
                offsets.push(connectivity.len() as u64);
                i += 1 + n;
            }
            if offsets.len() != num_cells as usize {
                return Err(format!(
                    "{what}: the header announces {num_cells} cells but the list has {}",
                    offsets.len()
                ));
            }
            Ok((connectivity, offsets))
        }
        VertexNumbers::XML {
            connectivity,
            mut offsets,
        } => {
            if legacy {
                if offsets.first() != Some(&0) {
                    return Err(format!(
                        "{what}: OFFSETS start at {:?}; expected a leading 0",
                        offsets.first()
                    ));
                }
                offsets.remove(0);
            }
            Ok((connectivity, offsets))
        }
    }
}

/// Points as `[f64; 3]`, checked: a whole number of finite points, at least one.
fn points_f64(buf: IOBuffer) -> std::result::Result<Vec<[f64; 3]>, String> {
    let flat: Vec<f64> = buf
        .cast_into::<f64>()
        .ok_or("the points are not numbers; expected float or double coordinates")?;
    if flat.is_empty() {
        return Err("the file has no points; expected at least one".into());
    }
    if !flat.len().is_multiple_of(3) {
        return Err(format!(
            "{} point coordinates; expected 3 per point",
            flat.len()
        ));
    }
    let points: Vec<[f64; 3]> = flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
    if let Some(i) = points.iter().position(|p| p.iter().any(|x| !x.is_finite())) {
        return Err(format!(
            "point {i} has a non-finite coordinate {:?}; expected finite coordinates",
            points[i]
        ));
    }
    Ok(points)
}
