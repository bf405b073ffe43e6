//! OpenFOAM cells as VTK cells: each cell's faces (turned outward) are matched against the
//! VTK primitives — hexahedron (12), wedge (13), pyramid (14), tetrahedron (10) — with VTK's
//! vertex order, and every other cell is kept whole as a VTK polyhedron (42) with its faces.
//!
//! A cell is a primitive only when its faces are exactly the primitive's faces, in VTK's
//! vertex order and orientation (VTK's face tables, outward): OpenFOAM's `cellMatcher`
//! accepts the same cells.

use super::polymesh::PolyMesh;
use crate::io::Cells;
use crate::io::geometry::cell_faces;

/// VTK's faces of a primitive, outward (see [`cell_faces`]).
fn faces(kind: u8) -> &'static [&'static [usize]] {
    cell_faces(kind).unwrap_or(&[])
}

/// VTK cell types.
pub(crate) const VTK_TETRA: u8 = 10;
/// VTK hexahedron.
pub(crate) const VTK_HEXAHEDRON: u8 = 12;
/// VTK wedge.
pub(crate) const VTK_WEDGE: u8 = 13;
/// VTK pyramid.
pub(crate) const VTK_PYRAMID: u8 = 14;
/// VTK polyhedron.
pub(crate) const VTK_POLYHEDRON: u8 = 42;

/// The faces of one cell, outward, reused from cell to cell.
#[derive(Default)]
struct CellFaces {
    points: Vec<usize>,
    ends: Vec<usize>,
}

impl CellFaces {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn face(&self, i: usize) -> &[usize] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.points[start..self.ends[i]]
    }

    fn clear(&mut self) {
        self.points.clear();
        self.ends.clear();
    }

    /// Pushes a face, reversed where the cell is its neighbour (OpenFOAM's normals point
    /// out of the owner).
    fn push(&mut self, face: &[usize], reversed: bool) {
        if reversed {
            // OpenFOAM's reverseFace: the first point stays, the rest run backwards.
            self.points.push(face[0]);
            self.points.extend(face[1..].iter().rev());
        } else {
            self.points.extend_from_slice(face);
        }
        self.ends.push(self.points.len());
    }

    /// The neighbour of `v` across an edge that leaves the face `base`.
    fn opposite(&self, v: usize, base: usize) -> Option<usize> {
        let b = self.face(base);
        (0..self.len()).filter(|&i| i != base).find_map(|i| {
            let f = self.face(i);
            let k = f.iter().position(|&p| p == v)?;
            let n = f.len();
            [f[(k + 1) % n], f[(k + n - 1) % n]]
                .into_iter()
                .find(|p| !b.contains(p))
        })
    }

    /// The one point of the cell not on face `base`.
    fn apex(&self, base: usize) -> Option<usize> {
        let b = self.face(base);
        self.points.iter().copied().find(|p| !b.contains(p))
    }

    /// Whether the cell's faces are exactly `table` over `verts`, same orientation.
    fn is(&self, table: &[&[usize]], verts: &[usize]) -> bool {
        if self.len() != table.len() {
            return false;
        }
        for (i, a) in verts.iter().enumerate() {
            if verts[..i].contains(a) {
                return false;
            }
        }
        let mut used = [false; 6];
        table.iter().all(|tf| {
            (0..self.len()).any(|i| {
                let f = self.face(i);
                if used[i] || f.len() != tf.len() {
                    return false;
                }
                let Some(k) = f.iter().position(|&p| p == verts[tf[0]]) else {
                    return false;
                };
                let same = (0..f.len()).all(|j| f[(k + j) % f.len()] == verts[tf[j]]);
                if same {
                    used[i] = true;
                }
                same
            })
        })
    }

    /// The VTK primitive this cell is, with its points in VTK's order.
    fn primitive(&self, out: &mut Vec<usize>) -> Option<u8> {
        out.clear();
        let n = self.len();
        let tris = (0..n).filter(|&i| self.face(i).len() == 3).count();
        let quads = (0..n).filter(|&i| self.face(i).len() == 4).count();
        let first = |len: usize| (0..n).find(|&i| self.face(i).len() == len);
        let (kind, table): (u8, &[&[usize]]) = match (n, tris, quads) {
            (4, 4, 0) => {
                // Base 0 1 2 with its normal towards 3: the outward face reversed.
                let f = self.face(0);
                out.extend([f[0], f[2], f[1], self.apex(0)?]);
                (VTK_TETRA, faces(VTK_TETRA))
            }
            (5, 4, 1) => {
                let q = first(4)?;
                let f = self.face(q);
                out.extend([f[0], f[3], f[2], f[1], self.apex(q)?]);
                (VTK_PYRAMID, faces(VTK_PYRAMID))
            }
            (5, 2, 3) => {
                // Base 0 1 2 with its normal inward (the outward face reversed), 3 4 5
                // across the quads.
                let t = first(3)?;
                let f = self.face(t);
                let (a, b, c) = (f[0], f[2], f[1]);
                out.extend([a, b, c]);
                for v in [a, b, c] {
                    out.push(self.opposite(v, t)?);
                }
                (VTK_WEDGE, faces(VTK_WEDGE))
            }
            (6, 0, 6) => {
                // Base 0 1 2 3 with its normal inward: the outward face reversed.
                let f = self.face(0);
                let base = [f[0], f[3], f[2], f[1]];
                out.extend(base);
                for v in base {
                    out.push(self.opposite(v, 0)?);
                }
                (VTK_HEXAHEDRON, faces(VTK_HEXAHEDRON))
            }
            _ => return None,
        };
        self.is(table, out).then_some(kind)
    }
}

/// The cells of `mesh` as VTK cells (see the module docs); `cells.faces` holds the face
/// stream of the polyhedra.
pub(crate) fn vtk_cells(mesh: &PolyMesh) -> Cells {
    let n = mesh.n_cells;
    // Each cell's faces: (face, whether the cell is its neighbour), by counting sort.
    let mut start = vec![0usize; n + 1];
    for &c in mesh.owner.iter().chain(&mesh.neighbour) {
        start[c + 1] += 1;
    }
    for c in 0..n {
        start[c + 1] += start[c];
    }
    let mut fill = start.clone();
    let mut cell_faces = vec![(0usize, false); start[n]];
    for (f, &c) in mesh.owner.iter().enumerate() {
        cell_faces[fill[c]] = (f, false);
        fill[c] += 1;
    }
    for (f, &c) in mesh.neighbour.iter().enumerate() {
        cell_faces[fill[c]] = (f, true);
        fill[c] += 1;
    }

    let mut cells = Cells {
        connectivity: Vec::with_capacity(8 * n),
        offsets: Vec::with_capacity(n),
        types: Vec::with_capacity(n),
        ..Default::default()
    };
    let mut any_poly = false;
    let mut cf = CellFaces::default();
    let mut verts = Vec::new();
    for c in 0..n {
        cf.clear();
        for &(f, rev) in &cell_faces[start[c]..start[c + 1]] {
            cf.push(mesh.face(f), rev);
        }
        match cf.primitive(&mut verts) {
            Some(kind) => {
                cells.connectivity.extend(verts.iter().map(|&p| p as u64));
                cells.types.push(kind);
            }
            None => {
                if !any_poly {
                    any_poly = true;
                    cells.face_offsets = vec![0; c];
                }
                // The cell's points in the order they first appear on its faces.
                let first = cells.connectivity.len();
                for &p in &cf.points {
                    if !cells.connectivity[first..].contains(&(p as u64)) {
                        cells.connectivity.push(p as u64);
                    }
                }
                cells.faces.push(cf.len() as u64);
                for i in 0..cf.len() {
                    let f = cf.face(i);
                    cells.faces.push(f.len() as u64);
                    cells.faces.extend(f.iter().map(|&p| p as u64));
                }
                cells.types.push(VTK_POLYHEDRON);
            }
        }
        cells.offsets.push(cells.connectivity.len() as u64);
        if any_poly {
            cells.face_offsets.push(cells.faces.len() as u64);
        }
    }
    cells
}
