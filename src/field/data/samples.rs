//! The samples of a data field: checked, placed in the coordinates they are fitted in (a
//! [`Frame`]: scaled by a power of two near the largest coordinate, so that nothing
//! overflows or underflows and nothing is rounded; a one-cell-thick 2-D mesh loses its thin axis; samples on a line or an
//! oblique plane are fitted in the line's or the plane's own coordinates), coincident
//! samples merged and held in Morton order (near in space, near in memory), and a k-d tree
//! over them made on first use.

use std::sync::OnceLock;

use kiddo::ImmutableKdTree;
use rayon::prelude::*;

use super::frame::{Frame, frame};
use crate::error::{Error, Result};

/// An axis left out of the fit, and why.
pub(crate) type Dropped = (usize, String);

/// Checked samples (in Morton order) and their k-d tree.
pub(crate) struct Samples {
    /// Positions in the frame's local coordinates (beyond its dimension: 0).
    pub pos: Vec<[f64; 3]>,
    /// Values, `m` per sample, sample-major.
    pub values: Vec<f64>,
    /// The coordinates the samples are fitted in.
    pub frame: Frame,
    /// Why the fit has fewer coordinates than the points, if it has: a sentence that says
    /// what the derivatives across the dropped directions are.
    pub reduced: Option<String>,
    /// The one coordinate axis dropped as degenerate and why, if exactly one was.
    pub dropped: Option<Dropped>,
    /// Number of input samples merged into others because they coincide.
    pub merged: usize,
    /// The merged sample each input point became.
    pub index: Vec<usize>,
    /// Each sample's place in the order of positions (x, then y, then z): equidistant
    /// samples enter a stencil in this order.
    pub rank: Vec<usize>,
    /// Mesh neighbours of each merged sample (points sharing a cell), CSR: the neighbours
    /// of sample `i` are `adjacency[start[i]..start[i + 1]]`; empty without cells.
    pub start: Vec<usize>,
    pub adjacency: Vec<usize>,
    /// The k-d tree over `pos`, made on first use (a stencil from the grid of bins, the
    /// usual case, needs none: 0.15 s on one thread at 10⁶ samples).
    tree: OnceLock<ImmutableKdTree<f64, 3>>,
}

impl Samples {
    /// The k-d tree over the samples.
    pub fn tree(&self) -> &ImmutableKdTree<f64, 3> {
        self.tree
            .get_or_init(|| ImmutableKdTree::new_from_slice(&self.pos))
    }
}

/// Checks points and values and builds [`Samples`]. `dim` forces 2 (fit in x and y) or 3
/// coordinates; `None` detects degenerate directions (see [`frame`]).
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
    let (frame, reduced, dropped) = frame(points, point_dim, values, m, dim)?;
    let pos: Vec<[f64; 3]> = points.par_iter().map(|p| frame.local(p)).collect();
    // Merge coincident samples (the two planes of a one-cell-thick mesh, seen in the plane,
    // coincide pairwise). Every member of a group must have the first one's values.
    let order = sorted(&pos);
    // Where each group starts in `order` (a run of equal positions, as `groups` has them).
    let starts: Vec<usize> = (0..order.len())
        .into_par_iter()
        .filter(|&k| k == 0 || pos[order[k - 1]] != pos[order[k]])
        .collect();
    let group = |g: usize| &order[starts[g]..starts.get(g + 1).copied().unwrap_or(order.len())];
    let vals = |i: usize| &values[i * m..(i + 1) * m];
    let differ = (0..starts.len()).into_par_iter().find_map_first(|g| {
        let i = group(g)[0];
        group(g)
            .iter()
            .find(|&&j| vals(i) != vals(j))
            .map(|&j| (i, j))
    });
    if let Some((i, j)) = differ {
        let seen = if points[i] == points[j] {
            String::new()
        } else {
            format!(
                " ({:?} and {:?} in the fitted coordinates: {})",
                points[i],
                points[j],
                reduced.as_deref().unwrap_or("")
            )
        };
        return Err(data(format!(
            "samples {i} and {j} coincide at {:?}{seen} but have different values; expected \
             distinct sample positions",
            points[i]
        )));
    }
    // Each group as its first sample, with its values (every member's, exactly), in the
    // order of a Morton curve through the samples' box: samples near in space are near in
    // memory, so a stencil's samples share cache lines whatever order the points come in.
    // `rank` keeps each one's place in the (x, y, z) order, which breaks ties of distance.
    let lex_pos: Vec<[f64; 3]> = starts.par_iter().map(|&k| pos[order[k]]).collect();
    let rank = morton(&lex_pos);
    let merged_pos: Vec<[f64; 3]> = rank.par_iter().map(|&g| lex_pos[g]).collect();
    let merged_val: Vec<f64> = rank
        .par_iter()
        .flat_map_iter(|&g| vals(order[starts[g]]).iter().copied())
        .collect();
    let merged = order.len() - starts.len();
    let mut place = vec![0; starts.len()];
    for (new, &g) in rank.iter().enumerate() {
        place[g] = new;
    }
    let mut index = vec![0; pos.len()];
    for (g, &at) in place.iter().enumerate() {
        for &j in group(g) {
            index[j] = at;
        }
    }
    Ok(Samples {
        pos: merged_pos,
        values: merged_val,
        frame,
        reduced,
        dropped,
        merged,
        index,
        rank,
        start: Vec::new(),
        adjacency: Vec::new(),
        tree: OnceLock::new(),
    })
}

/// The order of the points along a Morton curve through their bounding box (the bits of
/// the coordinates, quantized to 21 bits each, interleaved; then the index).
fn morton(pos: &[[f64; 3]]) -> Vec<usize> {
    let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for p in pos {
        for a in 0..3 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    const TOP: f64 = ((1u64 << 21) - 1) as f64;
    let scale: Vec<f64> = (0..3)
        .map(|a| {
            if hi[a] > lo[a] {
                TOP / (hi[a] - lo[a])
            } else {
                0.0
            }
        })
        .collect();
    // The low 21 bits of v spread to every third bit.
    let spread = |v: u64| {
        let mut x = v & 0x1f_ffff;
        x = (x | x << 32) & 0x001f_0000_0000_ffff;
        x = (x | x << 16) & 0x001f_0000_ff00_00ff;
        x = (x | x << 8) & 0x100f_00f0_0f00_f00f;
        x = (x | x << 4) & 0x10c3_0c30_c30c_30c3;
        (x | x << 2) & 0x1249_2492_4924_9249
    };
    let mut keys: Vec<(u64, usize)> = pos
        .par_iter()
        .enumerate()
        .map(|(i, p)| {
            let q = |a: usize| (((p[a] - lo[a]) * scale[a]) as u64).min(TOP as u64);
            (spread(q(0)) | spread(q(1)) << 1 | spread(q(2)) << 2, i)
        })
        .collect();
    keys.par_sort_unstable();
    keys.into_par_iter().map(|k| k.1).collect()
}

/// Sample indices sorted by position (then index).
pub(super) fn sorted(pos: &[[f64; 3]]) -> Vec<usize> {
    // `f64::total_cmp`'s order as integers, so that the sort compares keys held in place
    // rather than positions looked up by index; with the index last, a total order: the
    // same result whatever the sort.
    let key = |x: f64| {
        let b = x.to_bits() as i64;
        b ^ ((((b >> 63) as u64) >> 1) as i64)
    };
    let mut keys: Vec<(i64, i64, i64, usize)> = pos
        .par_iter()
        .enumerate()
        .map(|(i, p)| (key(p[0]), key(p[1]), key(p[2]), i))
        .collect();
    keys.par_sort_unstable();
    keys.into_par_iter().map(|k| k.3).collect()
}

/// The runs of equal positions in `order` (from [`sorted`]).
pub(super) fn groups<'a>(
    order: &'a [usize],
    pos: &'a [[f64; 3]],
) -> impl Iterator<Item = &'a [usize]> {
    order.chunk_by(move |&i, &j| pos[i] == pos[j])
}

pub(super) fn fmt_point(p: &[f64; 3]) -> String {
    format!("({}, {}, {})", p[0], p[1], p[2])
}

/// Calls `f(a, b)` for every ordered pair of distinct samples `a`, `b` of each cell (input
/// point indices mapped to samples by `index`).
fn pairs(cells: &[&[u64]], index: &[usize], mut f: impl FnMut(usize, usize)) {
    for cell in cells {
        for &a in *cell {
            let a = index[a as usize];
            for &b in *cell {
                let b = index[b as usize];
                if a != b {
                    f(a, b);
                }
            }
        }
    }
}

impl Samples {
    /// Records which samples share a cell: `cells` holds the input point indices of each
    /// cell (checked against the number of input points by the caller). Each sample's
    /// neighbours, with repeats, are grouped by a counting sort, then each group is sorted
    /// and deduplicated in parallel: the lists of a sort of all pairs, without one (a
    /// sort of 15 million pairs on one thread took a second at 262 144 hexahedra).
    pub fn set_cells(&mut self, cells: &[&[u64]]) {
        let n = self.pos.len();
        let mut start = vec![0usize; n + 1];
        pairs(cells, &self.index, |a, _| start[a + 1] += 1);
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut all = vec![0usize; start[n]];
        let mut next = start.clone();
        pairs(cells, &self.index, |a, b| {
            all[next[a]] = b;
            next[a] += 1;
        });
        let mut lists = Vec::with_capacity(n);
        let mut rest = &mut all[..];
        for i in 0..n {
            let (list, tail) = rest.split_at_mut(start[i + 1] - start[i]);
            lists.push(list);
            rest = tail;
        }
        let unique: Vec<usize> = lists
            .into_par_iter()
            .map(|list| {
                list.sort_unstable();
                let mut len = 0;
                for r in 0..list.len() {
                    if r == 0 || list[r] != list[len - 1] {
                        list[len] = list[r];
                        len += 1;
                    }
                }
                len
            })
            .collect();
        self.adjacency = Vec::with_capacity(unique.iter().sum());
        self.start = Vec::with_capacity(n + 1);
        self.start.push(0);
        for (i, len) in unique.into_iter().enumerate() {
            self.adjacency
                .extend_from_slice(&all[start[i]..start[i] + len]);
            self.start.push(self.adjacency.len());
        }
    }

    /// The samples within whole rings of mesh neighbours around sample `centre`, ring after
    /// ring until there are at least `k` (or no more rings), into `out`, each once, in the
    /// order they are met.
    pub fn rings(&self, centre: usize, k: usize, out: &mut Vec<usize>) {
        out.clear();
        out.push(centre);
        // The first ring is the centre's list, which holds neither it nor a repeat.
        if k > 1 {
            out.extend_from_slice(&self.adjacency[self.start[centre]..self.start[centre + 1]]);
        }
        if out.len() >= k || out.len() == 1 {
            return;
        }
        SEEN.with_borrow_mut(|seen| {
            seen.reset(out);
            let mut ring_start = 1;
            while out.len() < k && ring_start < out.len() {
                let ring_end = out.len();
                for r in ring_start..ring_end {
                    let i = out[r];
                    for &j in &self.adjacency[self.start[i]..self.start[i + 1]] {
                        if seen.insert(j) {
                            out.push(j);
                        }
                    }
                }
                ring_start = ring_end;
            }
        });
    }
}

thread_local! {
    /// The samples already in a stencil of rings, per thread.
    static SEEN: std::cell::RefCell<Seen> = std::cell::RefCell::default();
}

/// A set of sample indices by open addressing (a linear scan of the stencil for each
/// neighbour cost 15 % of a small mesh's evaluation, whose boundary stencils take a
/// second ring of up to 75 samples), emptied by the slots it filled.
#[derive(Default)]
struct Seen {
    slots: Vec<usize>,
    filled: Vec<usize>,
}

impl Seen {
    const EMPTY: usize = usize::MAX;

    /// Empties the set, then holds `items`.
    fn reset(&mut self, items: &[usize]) {
        for &f in &self.filled {
            self.slots[f] = Self::EMPTY;
        }
        self.filled.clear();
        if self.slots.len() < 4 * items.len().max(16) {
            self.slots = vec![Self::EMPTY; (4 * items.len().max(16)).next_power_of_two()];
        }
        for &i in items {
            self.insert(i);
        }
    }

    /// Adds `v`; whether it was new.
    fn insert(&mut self, v: usize) -> bool {
        if 2 * (self.filled.len() + 1) > self.slots.len() {
            // At most half full: twice the slots (64 at first), the items again.
            let items: Vec<usize> = self.filled.iter().map(|&f| self.slots[f]).collect();
            self.filled.clear();
            self.slots = vec![Self::EMPTY; (2 * self.slots.len()).max(64)];
            for i in items {
                self.insert(i);
            }
        }
        let mask = self.slots.len() - 1;
        let mut at = (v as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(32) as usize
            & mask;
        loop {
            match self.slots[at] {
                Self::EMPTY => {
                    self.slots[at] = v;
                    self.filled.push(at);
                    return true;
                }
                x if x == v => return false,
                _ => at = (at + 1) & mask,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_follows_total_cmp_then_the_index() {
        let values = [
            -0.0,
            0.0,
            1.0,
            -1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            1e-310,
            -1e-310,
        ];
        let mut pos = Vec::new();
        for (k, &a) in values.iter().enumerate() {
            for &b in &values[k % 3..] {
                pos.push([a, b, values[(k * 7) % values.len()]]);
                pos.push([a, b, values[(k * 7) % values.len()]]);
            }
        }
        let mut expected: Vec<usize> = (0..pos.len()).collect();
        expected.sort_by(|&i, &j| {
            (pos[i][0].total_cmp(&pos[j][0]))
                .then(pos[i][1].total_cmp(&pos[j][1]))
                .then(pos[i][2].total_cmp(&pos[j][2]))
                .then(i.cmp(&j))
        });
        assert_eq!(sorted(&pos), expected);
    }

    /// The adjacency of the counting sort is that of a sort of all pairs (sorted, without
    /// repeats, without the sample itself), with coincident input points merged into one
    /// sample; the first ring is the centre and its list, and rings grow to k.
    #[test]
    fn adjacency_is_that_of_sorted_pairs() {
        // A 4 × 3 lattice of points, the last point a copy of the first (merged).
        let mut points: Vec<[f64; 3]> = (0..12)
            .map(|i| [(i % 4) as f64, (i / 4) as f64 * 1.5, 0.0])
            .collect();
        points.push(points[0]);
        let values = vec![1.0; points.len()];
        let mut s = build(&points, 2, &values, 1, Some(2)).unwrap();
        assert_eq!(s.index[12], s.index[0]);
        // Quadrilaterals, a triangle using the copy, and a repeated cell.
        let cells: Vec<Vec<u64>> = vec![
            vec![0, 1, 5, 4],
            vec![1, 2, 6, 5],
            vec![2, 3, 7, 6],
            vec![4, 5, 9, 8],
            vec![6, 7, 11, 10],
            vec![12, 1, 4],
            vec![2, 3, 7, 6],
        ];
        let slices: Vec<&[u64]> = cells.iter().map(|c| &c[..]).collect();
        s.set_cells(&slices);
        let mut pairs = Vec::new();
        for c in &cells {
            for &a in c {
                for &b in c {
                    let (a, b) = (s.index[a as usize], s.index[b as usize]);
                    if a != b {
                        pairs.push((a, b));
                    }
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        let mut got = Vec::new();
        for a in 0..s.pos.len() {
            got.extend(
                s.adjacency[s.start[a]..s.start[a + 1]]
                    .iter()
                    .map(|&b| (a, b)),
            );
        }
        assert_eq!(got, pairs);
        let centre = s.index[5];
        let mut ring = Vec::new();
        s.rings(centre, 2, &mut ring);
        let first = &s.adjacency[s.start[centre]..s.start[centre + 1]];
        assert_eq!(ring[0], centre);
        assert_eq!(&ring[1..], first);
        s.rings(centre, 1, &mut ring);
        assert_eq!(ring, vec![centre]);
        s.rings(centre, 12, &mut ring);
        let mut sorted = ring.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ring.len());
        assert!(ring.len() >= 10, "{ring:?}");
    }

    /// The set of a stencil's samples: new items once, repeats refused, across its growth
    /// and its resets.
    #[test]
    fn seen_set_holds_each_item_once() {
        let mut fresh = Seen::default();
        assert!(fresh.insert(7) && !fresh.insert(7));
        let mut seen = Seen::default();
        seen.reset(&[3, 5]);
        assert!(!seen.insert(3) && !seen.insert(5) && seen.insert(4));
        for round in 0..3 {
            seen.reset(&[usize::MAX - 1]);
            let items: Vec<usize> = (0..1000).map(|i| i * 7919 % 1013 + round).collect();
            let fresh: Vec<bool> = items.iter().map(|&i| seen.insert(i)).collect();
            let mut firsts = std::collections::HashSet::new();
            let expected: Vec<bool> = items.iter().map(|&i| firsts.insert(i)).collect();
            assert_eq!(fresh, expected);
            assert!(!seen.insert(usize::MAX - 1));
            assert!(!seen.insert(items[0]));
        }
        seen.reset(&[]);
        assert!(seen.insert(3));
    }
}
