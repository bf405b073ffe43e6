//! Where the samples of a mesh's arrays are taken: the solver's cell values (with the
//! patches' boundary values) or the point values.

use crate::io::Mesh;

/// Where the samples of a mesh's arrays are taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// Point data at the mesh's points.
    Points,
    /// Cell data at the cell centres, plus the boundary patches' values at their face
    /// centres.
    Cells,
}

impl Location {
    /// Where the samples of the arrays `names` of `mesh` are taken: as `asked`, or cells
    /// where the mesh has every one of them as cell data (a finite-volume solver's values),
    /// else points.
    ///
    /// # Errors
    /// A sentence (in the case file's terms, `samples = "cells"`) when cells are asked for
    /// arrays that are not cell data of a mesh with cells, or points for arrays that are
    /// cell data only.
    ///
    /// ```
    /// use nabla::field::data::Location;
    /// use nabla::io::{Mesh, PointArray};
    /// let mesh = Mesh { points: vec![[0.0; 3]], point_data: vec![PointArray::new("p", 1, vec![1.0])], ..Mesh::default() };
    /// assert_eq!(Location::choose(&mesh, &["p"], None), Ok(Location::Points));
    /// assert!(Location::choose(&mesh, &["p"], Some(Location::Cells)).is_err());
    /// ```
    pub fn choose(
        mesh: &Mesh,
        names: &[&str],
        asked: Option<Location>,
    ) -> std::result::Result<Location, String> {
        let cells = mesh.cells.is_some() && names.iter().all(|n| mesh.cell_array(n).is_some());
        let points = names.iter().all(|n| mesh.point_array(n).is_some());
        match asked {
            Some(Location::Cells) if !cells => Err(format!(
                "samples = \"cells\" but {} is not cell data of a mesh with cells{}",
                names.join(", "),
                if points {
                    " (it is point data: samples = \"points\")"
                } else {
                    ""
                }
            )),
            Some(Location::Points) if !points && cells => Err(format!(
                "samples = \"points\" but {} is cell data, not point data (samples = \"cells\" \
                 takes it at the cell centres)",
                names.join(", ")
            )),
            Some(asked) => Ok(asked),
            None if cells => Ok(Location::Cells),
            None => Ok(Location::Points),
        }
    }
}
