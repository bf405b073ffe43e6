//! OpenFOAM cells as VTK cells: each cell's faces (turned outward) are matched against the
//! VTK primitives — hexahedron (12), wedge (13), pyramid (14), tetrahedron (10) — with VTK's
//! vertex order, and every other cell is kept whole as a VTK polyhedron (42) with its faces.
//!
//! A cell is a primitive only when its faces are exactly the primitive's faces, in VTK's
//! vertex order and orientation (VTK's face tables, outward): OpenFOAM's `cellMatcher`
//! accepts the same cells.

use rayon::prelude::*;

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
    vtk_cells_in(mesh, 8192)
}

/// [`vtk_cells`], the cells made in parallel in blocks of `block` cells.
fn vtk_cells_in(mesh: &PolyMesh, block: usize) -> Cells {
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

    // Cells in parallel blocks, each block's cells in order; the blocks then joined.
    let block = block.max(1);
    let blocks: Vec<Cells> = (0..n.div_ceil(block))
        .into_par_iter()
        .map(|b| {
            let range = b * block..((b + 1) * block).min(n);
            let mut cells = Cells {
                connectivity: Vec::with_capacity(8 * range.len()),
                offsets: Vec::with_capacity(range.len()),
                types: Vec::with_capacity(range.len()),
                face_offsets: Vec::with_capacity(range.len()),
                ..Default::default()
            };
            let mut cf = CellFaces::default();
            let mut verts = Vec::new();
            for c in range {
                cf.clear();
                for &(f, rev) in &cell_faces[start[c]..start[c + 1]] {
                    cf.push(mesh.face(f), rev);
                }
                push_cell(&cf, &mut verts, &mut cells);
            }
            cells
        })
        .collect();
    // Offsets from the start of the whole; the face stream's only where some cell is a
    // polyhedron.
    let any_poly = blocks.iter().any(|b| !b.faces.is_empty());
    let mut cells = Cells {
        connectivity: Vec::with_capacity(blocks.iter().map(|b| b.connectivity.len()).sum()),
        offsets: Vec::with_capacity(n),
        types: Vec::with_capacity(n),
        ..Default::default()
    };
    for b in blocks {
        let (base, face_base) = (cells.connectivity.len() as u64, cells.faces.len() as u64);
        cells.offsets.extend(b.offsets.iter().map(|&o| o + base));
        cells.connectivity.extend_from_slice(&b.connectivity);
        cells.types.extend_from_slice(&b.types);
        if any_poly {
            cells
                .face_offsets
                .extend(b.face_offsets.iter().map(|&o| o + face_base));
            cells.faces.extend_from_slice(&b.faces);
        }
    }
    cells
}

/// Appends the cell of faces `cf` to `cells`: a primitive with its points in VTK's order,
/// or a polyhedron with its points (in the order they first appear on its faces) and its
/// face stream; `cells.face_offsets` gets the end of its face stream either way.
fn push_cell(cf: &CellFaces, verts: &mut Vec<usize>, cells: &mut Cells) {
    match cf.primitive(verts) {
        Some(kind) => {
            cells.connectivity.extend(verts.iter().map(|&p| p as u64));
            cells.types.push(kind);
        }
        None => {
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
    cells.face_offsets.push(cells.faces.len() as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` disjoint tetrahedra, every `every`-th (none for 0) with its base split into three
    /// triangles around its centre (a polyhedron of 6 faces), each face owned by its cell,
    /// outward.
    fn tetrahedra(n: usize, every: usize) -> PolyMesh {
        let mut mesh = PolyMesh {
            points: Vec::new(),
            face_ends: Vec::new(),
            face_points: Vec::new(),
            owner: Vec::new(),
            neighbour: Vec::new(),
            n_cells: n,
            patches: Vec::new(),
        };
        for c in 0..n {
            let o = mesh.points.len();
            let x = c as f64 * 2.0;
            mesh.points.extend([
                [x, 0.0, 0.0],
                [x + 1.0, 0.0, 0.0],
                [x, 1.0, 0.0],
                [x, 0.0, 1.0],
                [x + 1.0 / 3.0, 1.0 / 3.0, 0.0],
            ]);
            let split = every != 0 && c % every == 0;
            let base: &[[usize; 3]] = if split {
                &[[0, 2, 4], [2, 1, 4], [1, 0, 4]]
            } else {
                &[[0, 2, 1]]
            };
            for f in base.iter().chain(&[[0, 1, 3], [1, 2, 3], [2, 0, 3]]) {
                mesh.face_points.extend(f.iter().map(|&k| o + k));
                mesh.face_ends.push(mesh.face_points.len());
                mesh.owner.push(c);
            }
        }
        mesh
    }

    #[test]
    fn blocks_of_any_size_give_the_cells_of_one_pass() {
        let mesh = tetrahedra(3000, 7);
        let one = vtk_cells_in(&mesh, usize::MAX);
        assert_eq!(one.len(), 3000);
        let polyhedra = one.types.iter().filter(|&&t| t == VTK_POLYHEDRON).count();
        assert_eq!(polyhedra, 3000_usize.div_ceil(7));
        assert_eq!(
            one.types.iter().filter(|&&t| t == VTK_TETRA).count(),
            3000 - polyhedra
        );
        for c in 0..3000 {
            let faces = one.polyhedron_faces(c);
            if c % 7 == 0 {
                let faces = faces.expect("a polyhedron has its faces");
                assert_eq!(faces.len(), 6, "cell {c}");
                assert!(
                    faces.iter().all(|f| f.iter().all(|&p| p / 5 == c as u64)),
                    "cell {c}"
                );
            } else {
                assert!(faces.is_none(), "cell {c}");
            }
        }
        for block in [1, 7, 1000, 2999] {
            assert_eq!(vtk_cells_in(&mesh, block), one, "blocks of {block}");
        }
        // Without polyhedra, no face stream at all.
        let tets = vtk_cells_in(&tetrahedra(50, 0), 8);
        assert!(tets.faces.is_empty() && tets.face_offsets.is_empty());
        assert!(tets.types.iter().all(|&t| t == VTK_TETRA));
    }
}
