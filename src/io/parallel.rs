//! ParaView's parallel files: a `.pvti`, `.pvtp` or `.pvtu` that lists the pieces one file per
//! rank holds, with the names, types and components of their point arrays.
//!
//! ```xml
//! <VTKFile type="PImageData" version="1.0" byte_order="LittleEndian" header_type="UInt64">
//!   <PImageData WholeExtent="0 63 0 63 0 63" GhostLevel="0" Origin="0 0 0" Spacing="…">
//!     <PPointData><PDataArray type="Float64" Name="curl(U)" NumberOfComponents="3"/></PPointData>
//!     <Piece Extent="0 63 0 63 0 32" Source="u_0.vti"/>
//!   </PImageData>
//! </VTKFile>
//! ```

use std::path::Path;

use super::encode::{Precision, check_names, check_xml_text, io_error};
use super::write::{ImageGrid, xml_escape};
use crate::error::Result;

/// The VTK type name of values written at `precision`.
fn type_name(precision: Precision) -> &'static str {
    match precision {
        Precision::Float32 => "Float32",
        Precision::Float64 => "Float64",
    }
}

/// The `<PPointData>` (or `<PCellData>`, as `element` says) of arrays given as (name,
/// components).
fn data_arrays(element: &str, arrays: &[(String, usize)], precision: Precision) -> String {
    let mut xml = format!("    <{element}>\n");
    for (name, components) in arrays {
        xml.push_str(&format!(
            "      <PDataArray type=\"{}\" Name=\"{}\" NumberOfComponents=\"{components}\"/>\n",
            if super::xml::mask_array(name, *components) {
                "Int8"
            } else {
                type_name(precision)
            },
            xml_escape(name)
        ));
    }
    xml.push_str(&format!("    </{element}>\n"));
    xml
}

/// Checks that a piece's file name is a plain name in the parallel file's folder, which
/// XML can hold.
fn check_piece(path: &Path, name: &str) -> Result<()> {
    if name.is_empty() || name.contains('/') || name.contains('\\') {
        return Err(io_error(
            path,
            format!("piece file `{name}`; expected a file name in the same folder"),
        ));
    }
    check_xml_text(path, "piece file name", name)
}

/// Checks the arrays a parallel file lists (point arrays, then cell arrays), as the
/// single-file writers check theirs: names XML can hold, distinct within each list, 1 to
/// `i32::MAX` components.
fn check_listed(path: &Path, arrays: &[(String, usize)], cells: &[(String, usize)]) -> Result<()> {
    for list in [arrays, cells] {
        check_names(path, list.iter().map(|(n, c)| (n.as_str(), *c)))?;
    }
    Ok(())
}

/// Checks a lattice and its pieces as VTK can hold them: the whole lattice as
/// [`write_vti`](super::write_vti) checks it (1 to 2³¹ points along each axis, a finite
/// origin, positive finite spacings), and each piece at least 1 point along each axis,
/// inside the whole lattice.
fn check_lattice(
    path: &Path,
    whole: &ImageGrid,
    pieces: &[([usize; 3], [usize; 3], String)],
) -> Result<()> {
    let limit = i32::MAX as usize;
    if whole.dims.iter().any(|&d| d == 0 || d - 1 > limit) {
        return Err(io_error(
            path,
            format!(
                "lattice dimensions {:?}; expected 1 to {} points along each axis",
                whole.dims,
                limit as u64 + 1
            ),
        ));
    }
    if whole.spacing.iter().any(|s| !(s.is_finite() && *s > 0.0))
        || whole.origin.iter().any(|o| !o.is_finite())
    {
        return Err(io_error(
            path,
            format!(
                "lattice origin {:?}, spacing {:?}; expected a finite origin and positive spacings",
                whole.origin, whole.spacing
            ),
        ));
    }
    for (start, dims, name) in pieces {
        let inside = (0..3).all(|d| {
            dims[d] >= 1
                && start[d]
                    .checked_add(dims[d])
                    .is_some_and(|end| end <= whole.dims[d])
        });
        if !inside {
            return Err(io_error(
                path,
                format!(
                    "piece `{name}` at {start:?} of dimensions {dims:?}; expected at least 1 \
                     point along each axis, inside the lattice of dimensions {:?}",
                    whole.dims
                ),
            ));
        }
    }
    Ok(())
}

/// Writes `path` (`.pvti`): the lattice `whole` cut into `pieces`, each (first point index
/// along each axis, points along each axis, file name), whose point arrays are `arrays`
/// (name, components) at `precision`. The pieces are written by
/// [`write_vti_piece_with`](super::write_vti_piece_with).
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) naming the file when its name does not end in `.pvti`,
/// a piece name is not a plain file name or has a control character, an array name is
/// empty, given twice or has a control character, a component count is 0 or beyond
/// `i32::MAX`, the lattice is not one [`write_vti`](super::write_vti) writes (no points
/// along an axis, more than 2³¹, an origin or spacing that is not finite, a spacing that
/// is not positive), a piece is empty or reaches outside the lattice, or the file cannot
/// be written; nothing is left on disk then.
pub fn write_pvti(
    path: &Path,
    whole: &ImageGrid,
    pieces: &[([usize; 3], [usize; 3], String)],
    arrays: &[(String, usize)],
    precision: Precision,
) -> Result<()> {
    check_ext(path, "pvti")?;
    check_listed(path, arrays, &[])?;
    check_lattice(path, whole, pieces)?;
    let extent = |start: [usize; 3], dims: [usize; 3]| {
        (0..3)
            .map(|d| format!("{} {}", start[d], (start[d] + dims[d]).saturating_sub(1)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let v3 = |v: [f64; 3]| format!("{:?} {:?} {:?}", v[0], v[1], v[2]);
    let mut xml = String::from(
        "<?xml version=\"1.0\"?>\n<VTKFile type=\"PImageData\" version=\"1.0\" \
         byte_order=\"LittleEndian\" header_type=\"UInt64\">\n",
    );
    xml.push_str(&format!(
        "  <PImageData WholeExtent=\"{}\" GhostLevel=\"0\" Origin=\"{}\" Spacing=\"{}\">\n",
        extent([0; 3], whole.dims),
        v3(whole.origin),
        v3(whole.spacing)
    ));
    xml.push_str(&data_arrays("PPointData", arrays, precision));
    for (start, dims, name) in pieces {
        check_piece(path, name)?;
        xml.push_str(&format!(
            "    <Piece Extent=\"{}\" Source=\"{}\"/>\n",
            extent(*start, *dims),
            xml_escape(name)
        ));
    }
    xml.push_str("  </PImageData>\n</VTKFile>\n");
    super::write_atomically(path, xml.as_bytes())
}

/// Writes `path` (`.pvtp`): the point cloud held by the `.vtp` files `pieces`, whose point
/// arrays are `arrays` (name, components) at `precision`; points are `Float64`.
///
/// # Errors
/// As [`write_pvti`] (names, components, pieces), for a name ending in `.pvtp`.
pub fn write_pvtp(
    path: &Path,
    pieces: &[String],
    arrays: &[(String, usize)],
    precision: Precision,
) -> Result<()> {
    check_ext(path, "pvtp")?;
    unstructured(path, "PPolyData", pieces, arrays, &[], precision)
}

/// Writes `path` (`.pvtu`): the mesh held by the `.vtu` files `pieces` (each a share of the
/// cells with the points they use, written by [`write_vtu_with`](super::write_vtu_with)),
/// whose point arrays are `arrays` and cell arrays `cell_arrays` (name, components) at
/// `precision`; points are `Float64`. A point on the border of two pieces is in both, as
/// in the pieces VTK itself writes.
///
/// # Errors
/// As [`write_pvti`] (names, components, pieces), for a name ending in `.pvtu`; a point
/// array and a cell array may share a name.
pub fn write_pvtu(
    path: &Path,
    pieces: &[String],
    arrays: &[(String, usize)],
    cell_arrays: &[(String, usize)],
    precision: Precision,
) -> Result<()> {
    check_ext(path, "pvtu")?;
    unstructured(
        path,
        "PUnstructuredGrid",
        pieces,
        arrays,
        cell_arrays,
        precision,
    )
}

/// The `.pvtp` or `.pvtu` file of `kind` (`PPolyData` or `PUnstructuredGrid`).
fn unstructured(
    path: &Path,
    kind: &str,
    pieces: &[String],
    arrays: &[(String, usize)],
    cell_arrays: &[(String, usize)],
    precision: Precision,
) -> Result<()> {
    check_listed(path, arrays, cell_arrays)?;
    let mut xml = format!(
        "<?xml version=\"1.0\"?>\n<VTKFile type=\"{kind}\" version=\"1.0\" \
         byte_order=\"LittleEndian\" header_type=\"UInt64\">\n  <{kind} GhostLevel=\"0\">\n"
    );
    xml.push_str(&data_arrays("PPointData", arrays, precision));
    if !cell_arrays.is_empty() {
        xml.push_str(&data_arrays("PCellData", cell_arrays, precision));
    }
    xml.push_str(
        "    <PPoints>\n      <PDataArray type=\"Float64\" NumberOfComponents=\"3\"/>\n    \
         </PPoints>\n",
    );
    for name in pieces {
        check_piece(path, name)?;
        xml.push_str(&format!("    <Piece Source=\"{}\"/>\n", xml_escape(name)));
    }
    xml.push_str(&format!("  </{kind}>\n</VTKFile>\n"));
    super::write_atomically(path, xml.as_bytes())
}

/// Checks that `path` ends in `.ext`.
fn check_ext(path: &Path, ext: &str) -> Result<()> {
    if path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
    {
        Ok(())
    } else {
        Err(io_error(
            path,
            format!(
                "expected a file name ending in .{ext}, which is how ParaView picks its reader"
            ),
        ))
    }
}
