//! What a mesh file holds: points, cells in VTK's XML layout, and point and cell arrays.

use super::PointArray;

/// The cells of a mesh in VTK's XML layout, which [`write_vtu`](super::write_vtu) writes back
/// unchanged.
///
/// Cell `c` has type `types[c]` (a VTK cell type code: 10 tetrahedron, 12 hexahedron, …) and
/// the points `connectivity[offsets[c - 1]..offsets[c]]` (from 0 for `c = 0`): `offsets`
/// holds the end of each cell, without a leading zero.
///
/// **Polyhedra** (type 42, `VTK_POLYHEDRON`: the cells of an OpenFOAM mesh that are no VTK
/// primitive) also need their faces, which VTK's XML format stores as a face stream beside the
/// cells: polyhedron `c` is `faces[face_offsets[c - 1]..face_offsets[c]]` = the number of
/// faces, then for each face its number of points and the points (mesh point numbering,
/// ordered so that the right-hand normal points out of the cell). A cell that is no
/// polyhedron has an empty range there; a mesh without polyhedra leaves both vectors empty.
/// Polyhedra are kept whole as VTK polyhedra (not cut into primitives as `foamToVTK
/// -poly-decomp` would); [`Cells::polyhedron_faces`] reads them. Code that builds cells of
/// primitives only writes `..Default::default()` for these two fields. (VTK's own
/// `faceoffsets` array marks the other cells with -1; the writer converts.)
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cells {
    /// Point indices of all cells, one cell after the other.
    pub connectivity: Vec<u64>,
    /// End of each cell in `connectivity`.
    pub offsets: Vec<u64>,
    /// VTK cell type code of each cell.
    pub types: Vec<u8>,
    /// The face stream of the polyhedra (see above); empty without polyhedra.
    pub faces: Vec<u64>,
    /// End of each cell's face stream in `faces` (one per cell, or empty without polyhedra).
    pub face_offsets: Vec<u64>,
}

impl Cells {
    /// Number of cells.
    pub fn len(&self) -> usize {
        self.types.len()
    }

    /// Whether there are no cells.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    /// The faces of cell `c` if it is a polyhedron with a face stream: each face as its
    /// points, outward. `None` for other cells, or where the stream is malformed.
    pub fn polyhedron_faces(&self, c: usize) -> Option<Vec<&[u64]>> {
        if self.face_offsets.is_empty() || c >= self.face_offsets.len() {
            return None;
        }
        let start = if c == 0 {
            0
        } else {
            self.face_offsets[c - 1] as usize
        };
        let stream = self.faces.get(start..self.face_offsets[c] as usize)?;
        let (&n, mut rest) = stream.split_first()?;
        let mut out = Vec::with_capacity((n as usize).min(rest.len()));
        for _ in 0..n {
            let (&k, tail) = rest.split_first()?;
            let face = tail.get(..k as usize)?;
            out.push(face);
            rest = &tail[k as usize..];
        }
        rest.is_empty().then_some(out)
    }

    /// Checks that the three arrays describe `len()` cells over `num_points` points: one offset
    /// per cell, offsets non-decreasing and ending at the end of `connectivity`, every point
    /// index below `num_points`. Returns what is wrong otherwise.
    pub fn check(&self, num_points: usize) -> std::result::Result<(), String> {
        if self.offsets.len() != self.types.len() {
            return Err(format!(
                "{} cell offsets for {} cell types; expected one offset per cell",
                self.offsets.len(),
                self.types.len()
            ));
        }
        let mut prev = 0;
        for (c, &off) in self.offsets.iter().enumerate() {
            if off < prev {
                return Err(format!(
                    "cell offsets decrease at cell {c} ({off} after {prev}); expected non-decreasing offsets"
                ));
            }
            prev = off;
        }
        if prev != self.connectivity.len() as u64 {
            return Err(format!(
                "the last cell offset is {prev} but the connectivity has {} entries; expected them equal",
                self.connectivity.len()
            ));
        }
        if let Some((k, &p)) = self
            .connectivity
            .iter()
            .enumerate()
            .find(|&(_, &p)| p >= num_points as u64)
        {
            return Err(format!(
                "connectivity entry {k} is point {p}, but there are {num_points} points"
            ));
        }
        self.check_faces(num_points)
    }

    /// The first polyhedron (type 42) without a face stream, which VTK cannot read back.
    pub(crate) fn polyhedron_without_faces(&self) -> Option<usize> {
        if !self.face_offsets.is_empty() {
            return None;
        }
        self.types.iter().position(|&t| t == 42)
    }

    /// Checks the polyhedra's face streams, where there are any: one end per cell, non-decreasing, ending at the
    /// end of `faces`; a well-formed stream of at least 4 faces of at least 3 points (below
    /// `num_points`) for every type-42 cell and none for the others.
    fn check_faces(&self, num_points: usize) -> std::result::Result<(), String> {
        const POLYHEDRON: u8 = 42;
        if self.face_offsets.is_empty() {
            // Polyhedra read from a VTK file come without faces (vtkio does not read them):
            // they are kept, and the writer refuses them (see `polyhedra_without_faces`).
            return if self.faces.is_empty() {
                Ok(())
            } else {
                Err("a face stream without face offsets".into())
            };
        }
        if self.face_offsets.len() != self.types.len() {
            return Err(format!(
                "{} face offsets for {} cells; expected one per cell",
                self.face_offsets.len(),
                self.types.len()
            ));
        }
        let mut prev = 0;
        for (c, (&end, &t)) in self.face_offsets.iter().zip(&self.types).enumerate() {
            if end < prev || end as usize > self.faces.len() {
                return Err(format!(
                    "the face stream of cell {c} ends at {end}, after {prev}, in a stream of {}; \
                     expected non-decreasing ends within the stream",
                    self.faces.len()
                ));
            }
            if t == POLYHEDRON {
                let faces = self
                    .polyhedron_faces(c)
                    .ok_or_else(|| format!("the face stream of polyhedron {c} is malformed"))?;
                if faces.len() < 4 || faces.iter().any(|f| f.len() < 3) {
                    return Err(format!(
                        "polyhedron {c} has {} faces; expected at least 4 faces of at least 3 \
                         points",
                        faces.len()
                    ));
                }
                if let Some(&p) = faces
                    .iter()
                    .flat_map(|f| f.iter())
                    .find(|&&p| p >= num_points as u64)
                {
                    return Err(format!(
                        "a face of polyhedron {c} has point {p}, but there are {num_points} points"
                    ));
                }
            } else if end != prev {
                return Err(format!(
                    "cell {c} of type {t} has a face stream; expected one for polyhedra (type 42) only"
                ));
            }
            prev = end;
        }
        if prev as usize != self.faces.len() {
            return Err(format!(
                "the face streams end at {prev} but `faces` has {} entries",
                self.faces.len()
            ));
        }
        Ok(())
    }
}

/// The points of a VTK file, its cells where the file has them, and its data arrays.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mesh {
    /// Point coordinates, as read (float32 files are converted exactly).
    pub points: Vec<[f64; 3]>,
    /// The cells: those of an `UnstructuredGrid`, or the verts, lines, polys and strips of a
    /// `PolyData` (in that order, typed as VTK types them); `None` for a structured grid.
    pub cells: Option<Cells>,
    /// The point-data arrays (one value per point and component; any numeric type,
    /// converted to f64 exactly), in file order.
    pub point_data: Vec<PointArray>,
    /// The cell-data arrays (one value per cell and component), in file order.
    pub cell_data: Vec<PointArray>,
    /// The boundary patches, where the input says where the domain ends and what the
    /// solver holds there (an OpenFOAM case's `boundary` with each field's `boundaryField`,
    /// or the boundary blocks of foamToVTK's `.vtm`); empty for a plain VTK file.
    pub patches: Vec<Patch>,
}

/// A boundary patch: faces on the boundary of a [`Mesh`] and the values a solver holds on
/// them (a finite-volume solver's boundary values live at the face centres).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Patch {
    /// The patch's name (`movingWall`, `inlet`, …).
    pub name: String,
    /// The faces, as polygons of the mesh's point indices: face `f` is
    /// `connectivity[offsets[f - 1]..offsets[f]]` (VTK's layout, type 7 per face).
    pub faces: Cells,
    /// One value per face and component for each field the patch holds a value of
    /// (a fixed value, or the value a condition evaluated to), in input order.
    pub face_data: Vec<PointArray>,
    /// The boundary condition of each array of `face_data` where the input names it
    /// (OpenFOAM's `fixedValue`, `zeroGradient`, …), by array name; empty when unknown.
    pub conditions: Vec<(String, String)>,
}

impl Patch {
    /// The boundary condition of the array `name`, where the input named one.
    pub fn condition(&self, name: &str) -> Option<&str> {
        self.conditions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.as_str())
    }

    /// The face-data array called `name`, if the patch holds one.
    pub fn face_array(&self, name: &str) -> Option<&PointArray> {
        self.face_data.iter().find(|a| a.name == name)
    }
}

impl Mesh {
    /// Number of cells (0 without cells).
    pub fn num_cells(&self) -> usize {
        self.cells.as_ref().map_or(0, Cells::len)
    }

    /// Bounding box: `[[x_min, x_max], [y_min, y_max], [z_min, z_max]]`; infinite (min > max)
    /// for a mesh without points.
    pub fn bounds(&self) -> [[f64; 2]; 3] {
        let mut b = [[f64::INFINITY, f64::NEG_INFINITY]; 3];
        for p in &self.points {
            for d in 0..3 {
                b[d][0] = b[d][0].min(p[d]);
                b[d][1] = b[d][1].max(p[d]);
            }
        }
        b
    }

    /// The centroid of each cell: the mean of its points (where cell data lives, for a
    /// finite-volume solver's cell values). Empty without cells.
    pub fn cell_centroids(&self) -> Vec<[f64; 3]> {
        let Some(cells) = &self.cells else {
            return Vec::new();
        };
        let mut start = 0usize;
        cells
            .offsets
            .iter()
            .map(|&end| {
                let end = end as usize;
                let ids = cells.connectivity.get(start..end).unwrap_or(&[]);
                start = end;
                let mut c = [0.0; 3];
                for &i in ids {
                    let p = self.points.get(i as usize).copied().unwrap_or([0.0; 3]);
                    (0..3).for_each(|d| c[d] += p[d]);
                }
                let n = ids.len().max(1) as f64;
                c.map(|v| v / n)
            })
            .collect()
    }

    /// The point-data array called `name`, if there is one.
    pub fn point_array(&self, name: &str) -> Option<&PointArray> {
        self.point_data.iter().find(|a| a.name == name)
    }

    /// The cell-data array called `name`, if there is one.
    pub fn cell_array(&self, name: &str) -> Option<&PointArray> {
        self.cell_data.iter().find(|a| a.name == name)
    }
}
