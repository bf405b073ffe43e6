//! The arrays of the data file a computed array is compared with (`[field.compare]`): at
//! the same points, or at the cell centres the data file's cell arrays.

use super::data;
use super::load::Case;
use super::summary::Reference;
use crate::error::Result;
use crate::eval::Array;
use crate::io::PointArray;

/// The arrays of the data file `src` at the case's points: its cell arrays where the case
/// evaluates at the cell centres (`cells`), else its point arrays; with their kind and the
/// number of places they hold values at.
pub(super) fn arrays_at(src: &data::Source, cells: bool) -> (&[PointArray], &'static str, usize) {
    if cells {
        (&src.mesh.cell_data, "cell", src.mesh.num_cells())
    } else {
        (&src.mesh.point_data, "point", src.points)
    }
}

/// The array `name` of the data file to compare the computed array `a` with: point data
/// (cell data at the cell centres) with `a`'s shape, so the output points must be the data
/// file's points (or its cells' centres).
pub(super) fn compared<'a>(
    case: &Case,
    source: Option<&'a data::Source>,
    (total, cells): (usize, bool),
    name: &str,
    a: &Array,
) -> Result<Reference<'a>> {
    let Some(src) = source else {
        return Err(case.input.error(format!(
            "compare {name}: the case has no data file to take '{name}' from"
        )));
    };
    let (arrays, kind, count) = arrays_at(src, cells);
    let Some(r) = arrays.iter().find(|r| r.name == name) else {
        let names: Vec<&str> = arrays.iter().map(|a| a.name.as_str()).collect();
        return Err(case.input.error(format!(
            "compare: {} has no {kind} array '{name}'; its {kind} arrays are: {}",
            src.name.display(),
            names.join(", ")
        )));
    };
    // With several ranks both hold this rank's points only; the counts are of all points.
    if r.components != a.components || count != total || r.values.len() != a.values.len() {
        return Err(case.input.error(format!(
            "compare: '{name}' of {} has {} components at {} points, but {} has {} at {} \
             points; expected the same shape (the output points must be the data file's)",
            src.name.display(),
            r.components,
            count,
            a.name,
            a.components,
            total
        )));
    }
    Ok(Reference::Array(r))
}
