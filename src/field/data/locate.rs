//! Where a data field has data: inside the cells of the mesh its samples came from (a
//! point-in-cell test), or, for a cloud without cells, within the reach of the samples'
//! stencils. Points outside get no values (NaN) instead of an extrapolation.
//!
//! **Meshes.** A point is inside when it lies in at least one cell. Candidates come from
//! k-d trees of the cell centres, one per size class (cells whose radius — the largest
//! distance from the centre to a corner — lies in one power of two): a cell can hold `q`
//! only if its centre is within its radius of `q`, so querying each class within its
//! largest radius finds every cell that can hold `q`, and no cell is missed however
//! anisotropic the mesh (cells 100 times longer than thick next to a wall). Each candidate
//! gets an exact test:
//! - tetrahedra, hexahedra, voxels, wedges, pyramids, pentagonal and hexagonal prisms (and
//!   the quadratic tetrahedron, hexahedron, wedge and pyramid, by their corners): the planes
//!   of their faces (the Newell normal through the face's centroid, oriented away from the
//!   cell's centroid), so a convex cell is tested exactly and two cells sharing a face use
//!   the same plane (no gap between them);
//! - polyhedra (VTK type 42) and any other 3-D cell: the planes of the convex hull of their
//!   corners (nabla's reader keeps a polyhedron's points, not its faces), found by trying
//!   every plane through three corners — O(n⁴) for n corners, for the rare cells that need
//!   it;
//! - 2-D data (a one-cell-thick OpenFOAM mesh, or cells in a plane), tested in the plane of
//!   the fitted coordinates: the convex hull of the cell's corners projected onto it.
//!
//! A point within [`TOLERANCE`] times the cell's radius of a face counts as inside, so
//! points on faces, walls and corners are inside; a warped face (four corners not in one
//! plane) widens that band by its corners' largest distance from its plane, so that its
//! corners are inside too. Building is O(C log C) for C cells,
//! a query O(log C) plus its candidates; [`Domain::mask`] runs over points in parallel, and
//! its answer for a point does not depend on the order of the tests (inside any cell), so
//! not on the number of threads either.
//!
//! **Clouds** (scattered samples, a CSV file): a point is inside when it is no farther
//! from its nearest sample than that sample's own stencil reaches — the distance from the
//! sample to the farthest of its `k` nearest samples (itself included; `k` the field's
//! stencil size). Inside a cloud of spacing s this is about 2 s in 2-D: lattice points up
//! to about two spacings beyond the outermost samples keep their (extrapolated, and
//! counted as such) values; farther ones, and points in the middle of holes wider than
//! about four spacings, are outside.

use kiddo::{ImmutableKdTree, SquaredEuclidean};
use rayon::prelude::*;
use std::num::NonZero;

use crate::error::{Error, Result};
use crate::io::Cells;

/// Distance from a face, relative to the cell's radius, within which a point still counts
/// as inside (points on faces computed in floating point, slightly warped quadrilateral
/// faces).
pub const TOLERANCE: f64 = 1e-6;

/// How many of the cells with the nearest centres are tried before the size classes.
const FIRST: usize = 4;

/// Where a data field has data (see the [module docs](self)).
pub struct Domain {
    /// The coordinates the test is made in (2 or 3 of x, y, z); the others are ignored.
    axes: Vec<usize>,
    kind: Kind,
}

enum Kind {
    Mesh(MeshCells),
    Cloud {
        tree: ImmutableKdTree<f64, 3>,
        /// Squared reach of each sample.
        reach2: Vec<f64>,
    },
}

/// The cells of a mesh that have the dimension of the test.
struct MeshCells {
    /// The mesh's points with every coordinate that is not tested set to 0.
    points: Vec<[f64; 3]>,
    /// Corners of each usable cell, CSR: cell `c` is `corners[start[c]..start[c + 1]]`.
    corners: Vec<u32>,
    start: Vec<usize>,
    /// How each cell is tested.
    shape: Vec<Shape>,
    centre: Vec<[f64; 3]>,
    radius: Vec<f64>,
    /// The bounding box of each cell, grown by the tolerance: a cheap first rejection of
    /// the candidates (near a wall, the thin cells stacked within the radius of a long one).
    bbox: Vec<[[f64; 3]; 2]>,
    classes: Vec<SizeClass>,
    /// All cell centres: the nearest few are tried first (they hold most points inside).
    all: ImmutableKdTree<f64, 3>,
    /// The two tested coordinates of 2-D data.
    plane: (usize, usize),
}

/// The cells whose radius lies in one power of two.
struct SizeClass {
    tree: ImmutableKdTree<f64, 3>,
    /// The cells, by the tree's item numbers.
    cells: Vec<u32>,
    /// The largest radius in the class.
    reach: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// By the planes of the faces of a table (VTK's local numbering).
    Faces(&'static [&'static [usize]]),
    /// By the planes of the convex hull of the corners.
    Hull,
    /// In the plane: the convex hull of the projected corners.
    Planar,
}

/// The faces of VTK's primitive of type `t` (io::geometry's table).
fn faces(t: u8) -> &'static [&'static [usize]] {
    crate::io::geometry::cell_faces(t).unwrap_or(&[])
}

/// How a cell of VTK type `t` with `n` points is tested in `dim` coordinates, and how many
/// of its points are corners; `None` when it has no volume there (vertices, lines; faces
/// in 3-D).
fn shape(t: u8, n: usize, dim: usize) -> Option<(Shape, usize)> {
    let three = match t {
        10 | 24 => Some((Shape::Faces(faces(10)), 4)),
        11 => Some((Shape::Faces(faces(11)), 8)),
        12 | 25 | 29 | 33 => Some((Shape::Faces(faces(12)), 8)),
        13 | 26 | 32 => Some((Shape::Faces(faces(13)), 6)),
        14 | 27 => Some((Shape::Faces(faces(14)), 5)),
        15 => Some((Shape::Faces(faces(15)), 10)),
        16 => Some((Shape::Faces(faces(16)), 12)),
        // Polyhedron, Lagrange and Bézier volumes, higher-order: by their points' hull.
        42 | 71 | 72 | 73 | 74 | 79 | 80 | 81 | 82 => Some((Shape::Hull, n)),
        _ => None,
    };
    let two = matches!(
        t,
        5..=9 | 22 | 23 | 28 | 30 | 31 | 34 | 36 | 37 | 69 | 70 | 77 | 78
    );
    match (dim, three) {
        (3, Some((s, k))) if n >= k && k >= 4 => Some((s, k)),
        (2, Some((_, k))) if n >= k => Some((Shape::Planar, k)),
        (2, None) if two && n >= 3 => Some((Shape::Planar, n)),
        _ => None,
    }
}

impl Domain {
    /// The domain of a cloud of `samples` (in the coordinates `axes`) reconstructed with
    /// stencils of `k` samples: the points no farther from their nearest sample than the
    /// farthest of that sample's `k` nearest samples. O(N k log N), in parallel: on
    /// threads of its own (as many as rayon's pool has), not rayon's, so that it may run
    /// inside a lazy initialisation that rayon's workers wait on (a worker waiting in a
    /// rayon join could steal a task that waits on the same initialisation).
    pub fn cloud(samples: &[[f64; 3]], axes: &[usize], k: usize) -> Domain {
        let pos: Vec<[f64; 3]> = samples.iter().map(|p| project(p, axes)).collect();
        let tree = ImmutableKdTree::new_from_slice(&pos);
        let k = NonZero::new(k.min(pos.len())).unwrap_or(NonZero::<usize>::MIN);
        let mut reach2 = vec![0.0; pos.len()];
        let threads = rayon::current_num_threads().max(1);
        let chunk = pos.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            for (out, at) in reach2.chunks_mut(chunk).zip(pos.chunks(chunk)) {
                let tree = &tree;
                scope.spawn(move || {
                    for (r, p) in out.iter_mut().zip(at) {
                        *r = tree
                            .nearest_n_within::<SquaredEuclidean>(p, f64::INFINITY, k, false)
                            .iter()
                            .map(|nb| nb.distance)
                            .fold(0.0, f64::max);
                    }
                });
            }
        });
        Domain {
            axes: axes.to_vec(),
            kind: Kind::Cloud { tree, reach2 },
        }
    }

    /// The domain covered by the `cells` over `points`, tested in the coordinates `axes`
    /// (all three, or the two of 2-D data, where cells are tested as projected onto their
    /// plane). Cells without volume there (vertices, lines, and faces in 3-D) are left out.
    ///
    /// # Errors
    /// [`Error::Data`] when the cells refer to a point that does not exist, or `axes` is
    /// not 2 or 3 distinct coordinates.
    pub fn mesh(points: &[[f64; 3]], cells: &Cells, axes: &[usize]) -> Result<Domain> {
        if !(2..=3).contains(&axes.len()) || axes.iter().any(|&a| a > 2) {
            return Err(Error::Data(format!(
                "a domain is tested in 2 or 3 of the coordinates 0, 1, 2; got {axes:?}"
            )));
        }
        cells
            .check(points.len())
            .map_err(|m| Error::Data(format!("the cells do not fit the points: {m}")))?;
        let dim = axes.len();
        let pts: Vec<[f64; 3]> = points.iter().map(|p| project(p, axes)).collect();
        let mut corners = Vec::new();
        let mut start = vec![0];
        let mut shapes = Vec::new();
        let mut from = 0usize;
        for (&end, &t) in cells.offsets.iter().zip(&cells.types) {
            let ids = &cells.connectivity[from..end as usize];
            from = end as usize;
            let Some((s, k)) = shape(t, ids.len(), dim) else {
                continue;
            };
            corners.extend(ids[..k].iter().map(|&i| i as u32));
            start.push(corners.len());
            shapes.push(s);
        }
        let n = shapes.len();
        let geometry: Vec<([f64; 3], f64, [[f64; 3]; 2])> = (0..n)
            .into_par_iter()
            .map(|c| {
                let ids = &corners[start[c]..start[c + 1]];
                let mut m = [0.0; 3];
                let mut b = [[f64::INFINITY; 3], [f64::NEG_INFINITY; 3]];
                for &i in ids {
                    let p = pts[i as usize];
                    for d in 0..3 {
                        m[d] += p[d];
                        b[0][d] = b[0][d].min(p[d]);
                        b[1][d] = b[1][d].max(p[d]);
                    }
                }
                let m = m.map(|v| v / ids.len() as f64);
                let r = ids
                    .iter()
                    .map(|&i| dist2(&pts[i as usize], &m))
                    .fold(0.0, f64::max)
                    .sqrt();
                let grow = 2.0 * TOLERANCE * r;
                b[0] = b[0].map(|v| v - grow);
                b[1] = b[1].map(|v| v + grow);
                (m, r, b)
            })
            .collect();
        let centre: Vec<[f64; 3]> = geometry.iter().map(|g| g.0).collect();
        let radius: Vec<f64> = geometry.iter().map(|g| g.1).collect();
        let bbox: Vec<[[f64; 3]; 2]> = geometry.iter().map(|g| g.2).collect();
        // Size classes: one power of two of the radius each.
        let mut order: Vec<(i32, u32)> = radius
            .iter()
            .enumerate()
            .map(|(c, &r)| (size_class(r), c as u32))
            .collect();
        order.sort_unstable();
        let mut classes = Vec::new();
        for group in order.chunk_by(|a, b| a.0 == b.0) {
            let cells: Vec<u32> = group.iter().map(|g| g.1).collect();
            let centres: Vec<[f64; 3]> = cells.iter().map(|&c| centre[c as usize]).collect();
            let reach = cells
                .iter()
                .map(|&c| radius[c as usize])
                .fold(0.0, f64::max);
            classes.push(SizeClass {
                tree: ImmutableKdTree::new_from_slice(&centres),
                cells,
                reach,
            });
        }
        let all = ImmutableKdTree::new_from_slice(&centre);
        Ok(Domain {
            axes: axes.to_vec(),
            kind: Kind::Mesh(MeshCells {
                points: pts,
                corners,
                start,
                shape: shapes,
                centre,
                radius,
                bbox,
                classes,
                all,
                plane: (axes[0], axes[1]),
            }),
        })
    }

    /// The number of cells the test uses (0 for a cloud, or a mesh without cells of the
    /// tested dimension).
    pub fn cells(&self) -> usize {
        match &self.kind {
            Kind::Mesh(m) => m.shape.len(),
            Kind::Cloud { .. } => 0,
        }
    }

    /// The coordinates the test is made in.
    pub fn axes(&self) -> &[usize] {
        &self.axes
    }

    /// Whether the point `p` is inside (coordinates not tested are ignored).
    pub fn contains(&self, p: &[f64; 3]) -> bool {
        self.contains_with(p, &mut Scratch::default())
    }

    /// [`Domain::contains`] for every point, in parallel.
    pub fn mask(&self, points: &[[f64; 3]]) -> Vec<bool> {
        points
            .par_iter()
            .map_init(Scratch::default, |s, p| self.contains_with(p, s))
            .collect()
    }

    pub(crate) fn contains_with(&self, p: &[f64; 3], scratch: &mut Scratch) -> bool {
        let q = project(p, &self.axes);
        match &self.kind {
            Kind::Cloud { tree, reach2 } => {
                let nb = tree.nearest_one::<SquaredEuclidean>(&q);
                nb.distance <= reach2[nb.item as usize]
            }
            Kind::Mesh(m) => m.contains(&q, scratch),
        }
    }
}

/// Buffers of one worker.
#[derive(Default)]
pub(crate) struct Scratch {
    corners: Vec<[f64; 3]>,
    planar: Vec<[f64; 2]>,
    hull: Vec<[f64; 2]>,
}

impl MeshCells {
    fn contains(&self, q: &[f64; 3], s: &mut Scratch) -> bool {
        // Most points inside lie in one of the cells with the nearest centres; the size
        // classes then find every other cell that can hold the point.
        let first = NonZero::new(FIRST.min(self.shape.len())).unwrap_or(NonZero::<usize>::MIN);
        for nb in self
            .all
            .nearest_n_within::<SquaredEuclidean>(q, f64::INFINITY, first, false)
        {
            if self.candidate(nb.item as usize, nb.distance, q, s) {
                return true;
            }
        }
        for class in &self.classes {
            let r = class.reach * (1.0 + 2.0 * TOLERANCE);
            for nb in class.tree.within_unsorted::<SquaredEuclidean>(q, r * r) {
                let c = class.cells[nb.item as usize] as usize;
                if self.candidate(c, nb.distance, q, s) {
                    return true;
                }
            }
        }
        false
    }

    /// Whether cell `c`, whose centre is at squared distance `d2` from `q`, holds `q`:
    /// cheap rejections by its radius and box, then the exact test.
    fn candidate(&self, c: usize, d2: f64, q: &[f64; 3], s: &mut Scratch) -> bool {
        let rc = self.radius[c] * (1.0 + 2.0 * TOLERANCE);
        let [lo, hi] = &self.bbox[c];
        d2 <= rc * rc && (0..3).all(|d| lo[d] <= q[d] && q[d] <= hi[d]) && self.in_cell(c, q, s)
    }

    /// The exact test of cell `c`.
    fn in_cell(&self, c: usize, q: &[f64; 3], s: &mut Scratch) -> bool {
        s.corners.clear();
        s.corners.extend(
            self.corners[self.start[c]..self.start[c + 1]]
                .iter()
                .map(|&i| self.points[i as usize]),
        );
        let tol = TOLERANCE * self.radius[c];
        match self.shape[c] {
            Shape::Faces(faces) => in_faces(&s.corners, &self.centre[c], faces, q, tol),
            Shape::Hull => in_hull(&s.corners, q, tol),
            Shape::Planar => {
                let corners = std::mem::take(&mut s.corners);
                let inside = in_polygon(&corners, q, self.plane, tol, s);
                s.corners = corners;
                inside
            }
        }
    }
}

/// Whether `q` is on the inner side (within `tol`) of every face plane of a convex cell.
fn in_faces(v: &[[f64; 3]], centre: &[f64; 3], faces: &[&[usize]], q: &[f64; 3], tol: f64) -> bool {
    for face in faces {
        // Newell's normal and the face's centroid: the same plane for the two cells
        // sharing the face, also where its four corners are not quite coplanar.
        let mut n = [0.0; 3];
        let mut f = [0.0; 3];
        for (k, &i) in face.iter().enumerate() {
            let a = v[i];
            let b = v[face[(k + 1) % face.len()]];
            n[0] += (a[1] - b[1]) * (a[2] + b[2]);
            n[1] += (a[2] - b[2]) * (a[0] + b[0]);
            n[2] += (a[0] - b[0]) * (a[1] + b[1]);
            (0..3).for_each(|d| f[d] += a[d]);
        }
        let f = f.map(|x| x / face.len() as f64);
        let norm = dot(&n, &n).sqrt();
        if norm == 0.0 {
            continue;
        }
        let side = dot(&n, &sub(centre, &f));
        let out = dot(&n, &sub(q, &f)) * if side > 0.0 { -1.0 } else { 1.0 };
        // A warped face (corners off the plane, as curved and skewed blocks make them)
        // widens the band by its corners' distance from the plane: its corners, the mesh's
        // points, are inside, and the two cells sharing it overlap rather than gap.
        let warp = face
            .iter()
            .map(|&i| dot(&n, &sub(&v[i], &f)).abs())
            .fold(0.0, f64::max);
        if out > tol * norm + warp {
            return false;
        }
    }
    true
}

/// Whether `q` is inside (within `tol`) the convex hull of the points `v`: on the inner
/// side of every plane through three of them that has all of them on one side.
fn in_hull(v: &[[f64; 3]], q: &[f64; 3], tol: f64) -> bool {
    let n = v.len();
    let mut planes = 0;
    for i in 0..n {
        for j in i + 1..n {
            for k in j + 1..n {
                let nrm = cross(&sub(&v[j], &v[i]), &sub(&v[k], &v[i]));
                let len = dot(&nrm, &nrm).sqrt();
                if len == 0.0 {
                    continue;
                }
                let slack = tol * len;
                let (mut above, mut below) = (false, false);
                for p in v {
                    let d = dot(&nrm, &sub(p, &v[i]));
                    above |= d > slack;
                    below |= d < -slack;
                }
                if above && below {
                    continue;
                }
                planes += 1;
                let d = dot(&nrm, &sub(q, &v[i]));
                if (below && d > slack) || (above && d < -slack) {
                    return false;
                }
            }
        }
    }
    planes > 0
}

/// Whether `q` is inside (within `tol`) the convex hull of the points `v` seen in the
/// plane of the coordinates `(a, b)`.
fn in_polygon(
    v: &[[f64; 3]],
    q: &[f64; 3],
    (a, b): (usize, usize),
    tol: f64,
    s: &mut Scratch,
) -> bool {
    let pts = &mut s.planar;
    pts.clear();
    pts.extend(v.iter().map(|p| [p[a], p[b]]));
    pts.sort_by(|x, y| x[0].total_cmp(&y[0]).then(x[1].total_cmp(&y[1])));
    pts.dedup();
    if pts.len() < 3 {
        return false;
    }
    // Andrew's monotone chain: the hull, counter-clockwise, lower then upper half.
    let turn = |o: &[f64; 2], p: &[f64; 2], r: &[f64; 2]| {
        (p[0] - o[0]) * (r[1] - o[1]) - (p[1] - o[1]) * (r[0] - o[0])
    };
    let hull = &mut s.hull;
    hull.clear();
    for half in 0..2 {
        let floor = hull.len();
        for k in 0..pts.len() {
            let p = pts[if half == 0 { k } else { pts.len() - 1 - k }];
            while hull.len() >= floor + 2
                && turn(&hull[hull.len() - 2], &hull[hull.len() - 1], &p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    if hull.len() < 3 {
        return false;
    }
    let p = [q[a], q[b]];
    (0..hull.len()).all(|i| {
        let (s, e) = (&hull[i], &hull[(i + 1) % hull.len()]);
        let len = ((e[0] - s[0]).powi(2) + (e[1] - s[1]).powi(2)).sqrt();
        turn(s, e, &p) >= -tol * len
    })
}

/// The power of two of a radius (0 for a degenerate cell).
fn size_class(r: f64) -> i32 {
    if r > 0.0 && r.is_finite() {
        r.log2().floor() as i32
    } else {
        i32::MIN
    }
}

/// `p` with every coordinate that is not in `axes` set to 0.
fn project(p: &[f64; 3], axes: &[usize]) -> [f64; 3] {
    let mut q = [0.0; 3];
    for &a in axes {
        q[a] = p[a];
    }
    q
}

fn dist2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    (0..3).map(|d| (a[d] - b[d]) * (a[d] - b[d])).sum()
}

fn sub(a: &[f64; 3], b: &[f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: &[f64; 3], b: &[f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
