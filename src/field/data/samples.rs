//! The samples of a data field: checked, reduced to the fitted coordinates (a one-cell-thick
//! 2-D mesh loses its thin axis), coincident samples merged, and a k-d tree over them.

use kiddo::ImmutableKdTree;

use crate::error::{Error, Result};

/// An axis left out of the fit, and why.
pub(crate) type Dropped = (usize, String);

/// Checked samples and their k-d tree.
pub(crate) struct Samples {
    /// Positions, with every coordinate that is not fitted set to 0.
    pub pos: Vec<[f64; 3]>,
    /// Values, `m` per sample, sample-major.
    pub values: Vec<f64>,
    /// The fitted coordinates (2 or 3 of x, y, z).
    pub axes: Vec<usize>,
    /// Why an axis was dropped, if one was.
    pub dropped: Option<Dropped>,
    /// Number of input samples merged into others because they coincide.
    pub merged: usize,
    /// The merged sample each input point became.
    pub index: Vec<usize>,
    /// Mesh neighbours of each merged sample (points sharing a cell), CSR: the neighbours
    /// of sample `i` are `adjacency[start[i]..start[i + 1]]`; empty without cells.
    pub start: Vec<usize>,
    pub adjacency: Vec<usize>,
    pub tree: ImmutableKdTree<f64, 3>,
}

/// Checks points and values and builds [`Samples`]. `dim` forces 2 (fit in x and y) or 3
/// coordinates; `None` detects a degenerate axis.
pub(crate) fn build(
    points: &[[f64; 3]],
    point_dim: usize,
    values: &[f64],
    m: usize,
    dim: Option<usize>,
) -> Result<Samples> {
    let data = |msg: String| Error::Data(msg);
    if m == 0 {
        return Err(data("a data field needs at least one component".into()));
    }
    if points.is_empty() {
        return Err(data(
            "no samples; expected at least one point with values".into(),
        ));
    }
    let expected = points.len().checked_mul(m);
    if expected != Some(values.len()) {
        return Err(data(format!(
            "{} values for {} points of {m} components; expected {}",
            values.len(),
            points.len(),
            points.len().saturating_mul(m)
        )));
    }
    if let Some(i) = points.iter().position(|p| p.iter().any(|v| !v.is_finite())) {
        return Err(data(format!(
            "sample {i} has a non-finite coordinate {:?}; expected finite coordinates",
            points[i]
        )));
    }
    let bad = values.iter().filter(|v| !v.is_finite()).count();
    if bad > 0 {
        let first = values.iter().position(|v| !v.is_finite()).unwrap_or(0);
        let (i, c) = (first / m, first % m);
        return Err(data(format!(
            "{bad} non-finite values (NaN or inf); the first is component {c} of sample {i} at \
             {:?}: {}",
            points[i], values[first]
        )));
    }
    let (axes, dropped) = fitted_axes(points, point_dim, dim)?;
    let mut pos: Vec<[f64; 3]> = points
        .iter()
        .map(|p| {
            let mut q = [0.0; 3];
            for &a in &axes {
                q[a] = p[a];
            }
            q
        })
        .collect();
    // Merge coincident samples (the two planes of a one-cell-thick mesh, seen in the plane,
    // coincide pairwise): average their values.
    let mut order: Vec<usize> = (0..pos.len()).collect();
    order.sort_by(|&i, &j| {
        (pos[i][0].total_cmp(&pos[j][0]))
            .then(pos[i][1].total_cmp(&pos[j][1]))
            .then(pos[i][2].total_cmp(&pos[j][2]))
            .then(i.cmp(&j))
    });
    let mut merged_pos = Vec::with_capacity(pos.len());
    let mut merged_val = Vec::with_capacity(values.len());
    let mut merged = 0;
    let mut index = vec![0; pos.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && pos[order[end]] == pos[order[start]] {
            end += 1;
        }
        let group = &order[start..end];
        if group.len() > 1 && dropped.is_none() {
            let (i, j) = (group[0], group[1]);
            if values[i * m..(i + 1) * m] != values[j * m..(j + 1) * m] {
                return Err(data(format!(
                    "samples {i} and {j} coincide at {:?} but have different values; expected \
                     distinct sample positions",
                    points[i]
                )));
            }
        }
        merged += group.len() - 1;
        for &i in group {
            index[i] = merged_pos.len();
        }
        merged_pos.push(pos[group[0]]);
        for c in 0..m {
            let sum: f64 = group.iter().map(|&i| values[i * m + c]).sum();
            merged_val.push(sum / group.len() as f64);
        }
        start = end;
    }
    pos = merged_pos;
    let tree = ImmutableKdTree::new_from_slice(&pos);
    Ok(Samples {
        pos,
        values: merged_val,
        axes,
        dropped,
        merged,
        index,
        start: Vec::new(),
        adjacency: Vec::new(),
        tree,
    })
}

/// The coordinates to fit in. With `dim = None`, an axis of 3-D samples is dropped when all
/// samples lie on at most two planes across it (OpenFOAM's one-cell-thick 2-D meshes) or
/// when its extent is below 10⁻³ of the largest extent.
fn fitted_axes(
    points: &[[f64; 3]],
    point_dim: usize,
    dim: Option<usize>,
) -> Result<(Vec<usize>, Option<Dropped>)> {
    let all: Vec<usize> = (0..point_dim).collect();
    match dim {
        Some(d) if !(2..=3).contains(&d) => {
            return Err(Error::config(
                "dim",
                format!("{d} coordinates; expected 2 or 3"),
            ));
        }
        Some(3) if point_dim == 2 => {
            return Err(Error::config(
                "dim",
                "3 coordinates asked for 2-D samples; expected 2",
            ));
        }
        Some(d) => return Ok(((0..d).collect(), None)),
        None if point_dim == 2 => return Ok((all, None)),
        None => {}
    }
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for p in points {
        for a in 0..3 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    let extent: Vec<f64> = (0..3).map(|a| hi[a] - lo[a]).collect();
    let largest = extent.iter().cloned().fold(0.0, f64::max);
    // The thinnest axis is the candidate.
    let thin = (0..3)
        .min_by(|&a, &b| extent[a].total_cmp(&extent[b]))
        .unwrap_or(2);
    let planes = points
        .iter()
        .all(|p| p[thin] == lo[thin] || p[thin] == hi[thin]);
    let name = ["x", "y", "z"][thin];
    let others_min = (0..3)
        .filter(|&a| a != thin)
        .map(|a| extent[a])
        .fold(f64::INFINITY, f64::min);
    let why = if planes && extent[thin] < others_min {
        Some(format!(
            "every sample lies on one of two planes {name} = {} and {name} = {}",
            lo[thin], hi[thin]
        ))
    } else if extent[thin] < 1e-3 * largest {
        Some(format!(
            "the samples' extent in {name} ({}) is below 1e-3 of their largest extent ({largest})",
            extent[thin]
        ))
    } else {
        None
    };
    Ok(match why {
        Some(w) => ((0..3).filter(|&a| a != thin).collect(), Some((thin, w))),
        None => (all, None),
    })
}

impl Samples {
    /// Records which samples share a cell: `cells` yields the input point indices of each
    /// cell (checked against the number of input points by the caller).
    pub fn set_cells<'a>(&mut self, cells: impl Iterator<Item = &'a [u64]>) {
        let n = self.pos.len();
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        for cell in cells {
            for &a in cell {
                for &b in cell {
                    let (a, b) = (self.index[a as usize], self.index[b as usize]);
                    if a != b {
                        pairs.push((a, b));
                    }
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        self.start = vec![0; n + 1];
        for &(a, _) in &pairs {
            self.start[a + 1] += 1;
        }
        for i in 0..n {
            self.start[i + 1] += self.start[i];
        }
        self.adjacency = pairs.into_iter().map(|(_, b)| b).collect();
    }

    /// The samples within whole rings of mesh neighbours around sample `centre`, ring after
    /// ring until there are at least `k` (or no more rings), into `out`.
    pub fn rings(&self, centre: usize, k: usize, out: &mut Vec<usize>) {
        out.clear();
        out.push(centre);
        let mut ring_start = 0;
        while out.len() < k && ring_start < out.len() {
            let ring_end = out.len();
            for r in ring_start..ring_end {
                let i = out[r];
                for &j in &self.adjacency[self.start[i]..self.start[i + 1]] {
                    if !out.contains(&j) {
                        out.push(j);
                    }
                }
            }
            ring_start = ring_end;
        }
    }
}
