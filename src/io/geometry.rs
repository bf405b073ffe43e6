//! Where a finite-volume solver's values live: face centres and cell centres computed as
//! OpenFOAM computes them (`primitiveMeshFaceCentresAndAreas`,
//! `primitiveMeshCellCentresAndVols`), so that a cell value read from a solver's output is
//! placed at the very point the solver holds it.
//!
//! A face centre is the area-weighted mean of the centroids of the triangles that fan out
//! from the mean of the face's points; a cell centre is the volume-weighted mean of the
//! centroids of the pyramids that stand on its faces with their apex at the mean of the face
//! centres. For a hexahedron whose faces are not parallelograms this differs from the mean
//! of its eight points by O(h²) — enough to halve the order of a third-degree reconstruction
//! of the cell values, which is why the mean is not used.
//!
//! ```
//! use nabla::io::geometry::{cell_centres, face_centre};
//! use nabla::io::{Cells, Mesh};
//! // A unit square face: its centre is its middle, its area vector (0, 0, 1).
//! let pts = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]];
//! let (c, a) = face_centre(&pts, &[0, 1, 2, 3]);
//! assert_eq!((c, a), ([0.5, 0.5, 0.0], [0.0, 0.0, 1.0]));
//! // A tetrahedron's centre is the mean of its corners.
//! let mesh = Mesh {
//!     points: vec![[0.0; 3], [4.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 4.0]],
//!     cells: Some(Cells { connectivity: vec![0, 1, 2, 3], offsets: vec![4], types: vec![10], ..Default::default() }),
//!     ..Mesh::default()
//! };
//! let c = cell_centres(&mesh)[0];
//! assert!(c.iter().all(|v| (v - 1.0).abs() < 1e-15));
//! ```

use rayon::prelude::*;

use super::{Cells, Mesh};

/// VTK cell type codes with a fixed list of faces.
const TETRA: u8 = 10;
const VOXEL: u8 = 11;
const HEXAHEDRON: u8 = 12;
const WEDGE: u8 = 13;
const PYRAMID: u8 = 14;
const PENTAGONAL_PRISM: u8 = 15;
const HEXAGONAL_PRISM: u8 = 16;
const POLYHEDRON: u8 = 42;

/// The faces of a VTK cell of type `kind`, as lists of the cell's local vertex numbers in
/// VTK 9's order, each with its right-hand normal pointing out of the cell (the one table
/// of the crate: the OpenFOAM reader matches cells against it and point location tests
/// against it), or `None` for a type without a fixed list (2-D cells, polyhedra, lines,
/// vertices).
pub fn cell_faces(kind: u8) -> Option<&'static [&'static [usize]]> {
    Some(match kind {
        TETRA => &[&[0, 1, 3], &[1, 2, 3], &[2, 0, 3], &[0, 2, 1]],
        VOXEL => &[
            &[0, 2, 6, 4],
            &[1, 5, 7, 3],
            &[0, 4, 5, 1],
            &[2, 3, 7, 6],
            &[0, 1, 3, 2],
            &[4, 6, 7, 5],
        ],
        HEXAHEDRON => &[
            &[0, 4, 7, 3],
            &[1, 2, 6, 5],
            &[0, 1, 5, 4],
            &[3, 7, 6, 2],
            &[0, 3, 2, 1],
            &[4, 5, 6, 7],
        ],
        // VTK 9's wedge: the triangle 0 1 2 has its normal towards 3 4 5.
        WEDGE => &[
            &[0, 2, 1],
            &[3, 4, 5],
            &[0, 1, 4, 3],
            &[1, 2, 5, 4],
            &[2, 0, 3, 5],
        ],
        PYRAMID => &[
            &[0, 3, 2, 1],
            &[0, 1, 4],
            &[1, 2, 4],
            &[2, 3, 4],
            &[3, 0, 4],
        ],
        PENTAGONAL_PRISM => &[
            &[0, 4, 3, 2, 1],
            &[5, 6, 7, 8, 9],
            &[0, 1, 6, 5],
            &[1, 2, 7, 6],
            &[2, 3, 8, 7],
            &[3, 4, 9, 8],
            &[4, 0, 5, 9],
        ],
        HEXAGONAL_PRISM => &[
            &[0, 5, 4, 3, 2, 1],
            &[6, 7, 8, 9, 10, 11],
            &[0, 1, 7, 6],
            &[1, 2, 8, 7],
            &[2, 3, 9, 8],
            &[3, 4, 10, 9],
            &[4, 5, 11, 10],
            &[5, 0, 6, 11],
        ],
        _ => return None,
    })
}

fn add(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn scale(a: [f64; 3], s: f64) -> [f64; 3] {
    [a[0] * s, a[1] * s, a[2] * s]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

fn point(points: &[[f64; 3]], i: u64) -> [f64; 3] {
    usize::try_from(i)
        .ok()
        .and_then(|i| points.get(i))
        .copied()
        .unwrap_or([f64::NAN; 3])
}

/// The centre and the area vector (normal times area, by the right-hand rule of the point
/// order) of the polygon `face` (indices into `points`), as OpenFOAM computes them. An
/// index outside `points` gives NaN; an empty face gives zeros.
pub fn face_centre(points: &[[f64; 3]], face: &[u64]) -> ([f64; 3], [f64; 3]) {
    let n = face.len();
    if n == 0 {
        return ([0.0; 3], [0.0; 3]);
    }
    let p = |k: usize| point(points, face[k % n]);
    if n == 3 {
        let c = scale(add(add(p(0), p(1)), p(2)), 1.0 / 3.0);
        return (c, scale(cross(sub(p(1), p(0)), sub(p(2), p(0))), 0.5));
    }
    let mut mean = [0.0; 3];
    for k in 0..n {
        mean = add(mean, p(k));
    }
    let mean = scale(mean, 1.0 / n as f64);
    let mut sum_n = [0.0; 3];
    let mut sum_a = 0.0;
    let mut sum_ac = [0.0; 3];
    for k in 0..n {
        let (a, b) = (p(k), p(k + 1));
        let c = add(add(a, b), mean);
        let nk = cross(sub(b, a), sub(mean, a));
        let ak = norm(nk);
        sum_n = add(sum_n, nk);
        sum_a += ak;
        sum_ac = add(sum_ac, scale(c, ak));
    }
    if sum_a < 1e-300 {
        return (mean, [0.0; 3]);
    }
    (scale(sum_ac, 1.0 / (3.0 * sum_a)), scale(sum_n, 0.5))
}

/// The centre of the polyhedron bounded by `faces` (each a polygon of indices into
/// `points`, in either orientation), as OpenFOAM computes a cell centre; the mean of the
/// face centres for a cell of no volume.
pub fn polyhedron_centre<'a>(
    points: &[[f64; 3]],
    faces: impl Iterator<Item = &'a [u64]> + Clone,
) -> [f64; 3] {
    // On the stack for the cells of VTK's face tables and most polyhedra.
    let mut stack = [([0.0; 3], [0.0; 3]); 16];
    let mut heap = Vec::new();
    let mut count = 0;
    for f in faces {
        let c = face_centre(points, f);
        if count < stack.len() {
            stack[count] = c;
        } else {
            if heap.is_empty() {
                heap.extend_from_slice(&stack);
            }
            heap.push(c);
        }
        count += 1;
    }
    let centres = if count <= stack.len() {
        &stack[..count]
    } else {
        &heap[..]
    };
    if centres.is_empty() {
        return [f64::NAN; 3];
    }
    let mut est = [0.0; 3];
    for (c, _) in centres {
        est = add(est, *c);
    }
    let est = scale(est, 1.0 / centres.len() as f64);
    let mut sum = [0.0; 3];
    let mut vol = 0.0;
    for (c, a) in centres {
        // Three times the pyramid's volume; its sign says the face's orientation, which
        // a VTK cell's face table does not fix: the magnitude is what OpenFOAM adds for
        // outward faces of a convex cell.
        let v3 = dot(*a, sub(*c, est)).abs();
        let apex = add(scale(*c, 0.75), scale(est, 0.25));
        sum = add(sum, scale(apex, v3));
        vol += v3;
    }
    if vol > 1e-300 {
        scale(sum, 1.0 / vol)
    } else {
        est
    }
}

/// The centre of each cell of `mesh` where a finite-volume solver holds its value:
/// OpenFOAM's cell centre for volume cells (tetrahedra, voxels, hexahedra, wedges,
/// pyramids, and polyhedra by their faces), the face centre for polygons (triangles,
/// quads, polygons), the mean of the points for lines and vertices. Empty without cells.
pub fn cell_centres(mesh: &Mesh) -> Vec<[f64; 3]> {
    let Some(cells) = &mesh.cells else {
        return Vec::new();
    };
    // Each cell on its own, in parallel (the same bits in any order).
    let ends = &cells.offsets;
    let end = |c: usize| usize::try_from(ends[c]).unwrap_or(usize::MAX);
    (0..ends.len().min(cells.types.len()))
        .into_par_iter()
        .map(|c| {
            let start = if c == 0 { 0 } else { end(c - 1) };
            let ids = cells.connectivity.get(start..end(c)).unwrap_or(&[]);
            let kind = cells.types[c];
            let faces = (kind == POLYHEDRON).then(|| cells.polyhedron_faces(c));
            match faces.flatten() {
                Some(faces) => polyhedron_centre(&mesh.points, faces.iter().copied()),
                None => centre_of(&mesh.points, ids, kind),
            }
        })
        .collect()
}

/// The faces of cell `c` of `cells` (whose points are `ids`), each as its points: by the
/// face table of its type, or the face stream of a polyhedron; the edges of a 2-D cell;
/// empty for other cells.
pub fn faces_of(cells: &Cells, c: usize, ids: &[u64]) -> Vec<Vec<u64>> {
    let kind = cells.types.get(c).copied().unwrap_or(0);
    if kind == POLYHEDRON {
        return cells
            .polyhedron_faces(c)
            .map(|fs| fs.iter().map(|f| f.to_vec()).collect())
            .unwrap_or_default();
    }
    match cell_faces(kind) {
        Some(fs) if fs.iter().flat_map(|f| f.iter()).all(|&k| k < ids.len()) => fs
            .iter()
            .map(|f| f.iter().map(|&k| ids[k]).collect())
            .collect(),
        _ if matches!(kind, 5 | 7 | 9) && ids.len() >= 2 => (0..ids.len())
            .map(|k| vec![ids[k], ids[(k + 1) % ids.len()]])
            .collect(),
        _ => Vec::new(),
    }
}

fn centre_of(points: &[[f64; 3]], ids: &[u64], kind: u8) -> [f64; 3] {
    if let Some(faces) = cell_faces(kind)
        && faces.iter().flat_map(|f| f.iter()).all(|&k| k < ids.len())
    {
        // The faces' point indices on the stack (VTK's tables: at most 8 faces of 6).
        if faces.len() <= 8 && faces.iter().all(|f| f.len() <= 8) {
            let mut local = [[0u64; 8]; 8];
            for (l, f) in local.iter_mut().zip(faces.iter()) {
                for (x, &k) in l.iter_mut().zip(f.iter()) {
                    *x = ids[k];
                }
            }
            return polyhedron_centre(
                points,
                local.iter().zip(faces.iter()).map(|(l, f)| &l[..f.len()]),
            );
        }
        let local: Vec<Vec<u64>> = faces
            .iter()
            .map(|f| f.iter().map(|&k| ids[k]).collect())
            .collect();
        return polyhedron_centre(points, local.iter().map(Vec::as_slice));
    }
    match kind {
        // Triangle, polygon, quad, pixel (a quad with VTK's lattice order).
        5 | 7 | 9 => face_centre(points, ids).0,
        8 if ids.len() == 4 => face_centre(points, &[ids[0], ids[1], ids[3], ids[2]]).0,
        _ => {
            let mut c = [0.0; 3];
            for &i in ids {
                c = add(c, point(points, i));
            }
            scale(c, 1.0 / ids.len().max(1) as f64)
        }
    }
}

/// The point indices of each cell.
pub(crate) fn cell_points(cells: &Cells) -> impl Iterator<Item = &[u64]> {
    let mut start = 0usize;
    cells.offsets.iter().map(move |&end| {
        let end = usize::try_from(end).unwrap_or(usize::MAX);
        let ids = cells.connectivity.get(start..end).unwrap_or(&[]);
        start = end;
        ids
    })
}
