//! The `k` nearest samples of a point, as one rule whatever finds them: the `k` samples of
//! smallest squared distance `((q₀ − p₀)² + (q₁ − p₁)²) + (q₂ − p₂)²`, equal distances
//! ordered by rank (the samples' order by position: x, then y, then z), listed in that
//! order. A stencil so depends only on the samples and the point, not on how a search
//! structure happens to visit equidistant samples, nor on the order the samples came in
//! (on a lattice the 20 nearest of a point take 2 of its 8 equidistant corners: those
//! first in that order).
//!
//! Two searches give that same list. A uniform grid of bins, each holding a few samples,
//! scanned in the 3³ block around the point's bin (a larger block where the `k`-th distance
//! is not surely inside it), the samples beyond a bound from the previous query dropped
//! before they are sorted: a few hundred distances and no tree descent. It serves samples spread evenly over their box (meshes of similar cells, a
//! jittered lattice, a uniform cloud); where they crowd (a mesh refined at a wall, a cloud
//! in a corner of its box) the bins would hold hundreds, and the k-d tree answers instead:
//! its `k + 1` nearest, and where the `k`-th and the next tie, every sample as close as the
//! `k`-th, sorted by the rule.

use std::num::NonZero;

use kiddo::{ImmutableKdTree, SquaredEuclidean};

/// Squared distance, summed as kiddo's `SquaredEuclidean` sums it (the same bits).
#[inline]
fn dist2(q: &[f64; 3], p: &[f64; 3]) -> f64 {
    let d = [q[0] - p[0], q[1] - p[1], q[2] - p[2]];
    d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
}

/// The samples in bins of a uniform grid over their bounding box.
pub(crate) struct Grid {
    lo: [f64; 3],
    /// Bin widths; an axis along which every sample has the same coordinate has one bin.
    size: [f64; 3],
    /// Bins per unit length (0 on an axis with one bin).
    inv: [f64; 3],
    bins: [usize; 3],
    /// Where each bin's samples start in `pts` and `idx` (one more entry than bins).
    start: Vec<usize>,
    pts: Vec<[f64; 3]>,
    idx: Vec<usize>,
    /// The samples' ranks (see [`from_tree`]), in the bins' order.
    rank: Vec<usize>,
    /// A distance below which the rounding of a bin index cannot matter.
    margin: f64,
    /// Which grid this is, so that a thread's [`Scratch`] bounds a query only by the
    /// samples of the same grid (one thread serves several fields in turn).
    id: u64,
}

/// The next [`Grid`]'s `id`.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Grid {
    /// Bins for the `k`-nearest queries of `pos`, or `None` where the samples crowd into
    /// few bins (see the module docs) or there are too few of them for bins to pay.
    pub fn new(pos: &[[f64; 3]], rank: &[usize], k: usize) -> Option<Grid> {
        let n = pos.len();
        if n < 64 || k == 0 || rank.len() != n {
            return None;
        }
        let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
        for p in pos {
            for a in 0..3 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        let extent: Vec<f64> = (0..3).map(|a| hi[a] - lo[a]).collect();
        let largest = extent.iter().cloned().fold(0.0, f64::max);
        if !(largest > 0.0 && largest.is_finite()) {
            return None;
        }
        // An axis thinner than this is flat (one bin): 2-D and 1-D samples.
        let live: Vec<usize> = (0..3).filter(|&a| extent[a] > largest * 1e-9).collect();
        let d = live.len() as i32;
        // Samples per bin such that the k-th neighbour of an evenly spread sample lies
        // about 0.85 bin widths away: the 3³ block around the point's bin then holds it
        // (about 8 samples per bin for k = 20 in 3-D).
        let unit_ball = [2.0, std::f64::consts::PI, 4.0 / 3.0 * std::f64::consts::PI];
        let per_bin = (k as f64 / (unit_ball[live.len() - 1] * 0.85f64.powi(d))).max(1.0);
        let volume: f64 = live.iter().map(|&a| extent[a]).product();
        let width = (volume * per_bin / n as f64).powf(1.0 / d as f64);
        let mut bins = [1usize; 3];
        let mut size = [1.0f64; 3];
        let mut inv = [0.0f64; 3];
        for &a in &live {
            let b = (extent[a] / width).ceil().clamp(1.0, n as f64);
            bins[a] = b as usize;
            size[a] = extent[a] / b;
            inv[a] = b / extent[a];
        }
        let total = bins.iter().try_fold(1usize, |t, &b| t.checked_mul(b))?;
        if total > 4 * n + 64 {
            return None;
        }
        let mut grid = Grid {
            lo,
            size,
            inv,
            bins,
            start: vec![0; total + 1],
            pts: Vec::new(),
            idx: Vec::new(),
            rank: Vec::new(),
            margin: largest * 1e-12,
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        };
        let of: Vec<usize> = pos.iter().map(|p| grid.flat(grid.bin(p))).collect();
        for &b in &of {
            grid.start[b + 1] += 1;
        }
        // The occupancy an average sample sees in its own bin: far above the aim, the
        // samples crowd and the tree is the better search.
        let seen: f64 = grid.start.iter().map(|&c| (c as f64).powi(2)).sum::<f64>() / n as f64;
        if seen > 4.0 * per_bin + 8.0 {
            return None;
        }
        for b in 0..total {
            grid.start[b + 1] += grid.start[b];
        }
        let mut next = grid.start.clone();
        grid.pts = vec![[0.0; 3]; n];
        grid.idx = vec![0; n];
        grid.rank = vec![0; n];
        for (i, &b) in of.iter().enumerate() {
            grid.pts[next[b]] = pos[i];
            grid.idx[next[b]] = i;
            grid.rank[next[b]] = rank[i];
            next[b] += 1;
        }
        Some(grid)
    }

    /// The bin of a point (a point outside the box: the nearest bin).
    #[inline]
    fn bin(&self, p: &[f64; 3]) -> [usize; 3] {
        [0, 1, 2].map(|a| self.bin_along(a, p[a]))
    }

    /// The bin along axis `a` of the coordinate `v`.
    #[inline]
    fn bin_along(&self, a: usize, v: f64) -> usize {
        let t = (v - self.lo[a]) * self.inv[a];
        // Truncation is the floor here; NaN (not possible for checked samples) and
        // negatives go to bin 0.
        if t > 0.0 {
            (t as usize).min(self.bins[a] - 1)
        } else {
            0
        }
    }

    #[inline]
    fn flat(&self, c: [usize; 3]) -> usize {
        (c[2] * self.bins[1] + c[1]) * self.bins[0] + c[0]
    }

    /// The `k` nearest samples of `q` by the rule, appended to `out` in its order.
    /// `scratch` carries the samples the thread's previous query of this grid found: the
    /// farthest of them from `q` bounds the `k`-th distance of `q` where they are `k`, so
    /// the bins' samples beyond it are dropped unsorted. The bound only leaves out samples that cannot
    /// be among the `k`, so the answer is the same with or without it.
    pub fn nearest(&self, q: &[f64; 3], k: usize, scratch: &mut Scratch, out: &mut Vec<usize>) {
        let k = k.max(1);
        let n = self.idx.len();
        let mut bound = f64::INFINITY;
        // A tighter guess than the bound, which need not hold: the previous k-th distance
        // plus half the step. Where fewer than k samples of the block fall within it, the
        // block is scanned again with the bound; where k do, the k nearest are among them.
        let mut filter = f64::INFINITY;
        if scratch.grid == self.id && scratch.near.len() == k && k < n {
            let far = scratch.near.iter().map(|p| dist2(q, p)).fold(0.0, f64::max);
            bound = far.sqrt() * (1.0 + 1e-12) + self.margin;
            let step = dist2(q, &scratch.at).sqrt();
            filter = bound.min(scratch.kth * (1.0 + 1e-9) + 0.5 * step + self.margin);
        }
        let best = &mut scratch.best;
        let c = self.bin(q);
        // Bins around c to hold the ball of radius `b`.
        let around = |b: f64| {
            (0..3)
                .map(|a| (b * self.inv[a]).ceil().min(self.bins[a] as f64) as usize)
                .max()
                .unwrap_or(1)
        };
        // The 3³ block to begin with (the bins are sized for it), the bound filtering
        // what it holds; a bound far beyond it (the previous query was elsewhere) is no
        // help, and its own k-th sample gives the next.
        if around(bound) > 3 {
            (bound, filter) = (f64::INFINITY, f64::INFINITY);
        }
        let mut r = 1;
        // How far q is from the slab of bin j along axis a (0 inside it).
        let gap = |a: usize, j: usize| {
            let from = self.lo[a] + j as f64 * self.size[a];
            ((from - q[a]).max(q[a] - (from + self.size[a])) - self.margin).max(0.0)
        };
        loop {
            let bound2 = filter * filter;
            // The block of bins within Chebyshev distance r of c, inside the grid; of each
            // row along x (contiguous samples) only the bins the bound's ball can reach.
            let lo = c.map(|v| v.saturating_sub(r));
            let hi = [0, 1, 2].map(|a| (c[a] + r).min(self.bins[a] - 1));
            best.clear();
            for z in lo[2]..=hi[2] {
                let dz = gap(2, z);
                for y in lo[1]..=hi[1] {
                    let dy = gap(1, y);
                    let left = bound2 - (dy * dy + dz * dz);
                    if left < 0.0 {
                        continue;
                    }
                    let (mut x0, mut x1) = (lo[0], hi[0]);
                    if left.is_finite() {
                        let w = left.sqrt() + self.margin;
                        x0 = x0.max(self.bin_along(0, q[0] - w));
                        x1 = x1.min(self.bin_along(0, q[0] + w));
                    }
                    if x0 > x1 {
                        continue;
                    }
                    let row =
                        self.start[self.flat([x0, y, z])]..self.start[self.flat([x1, y, z]) + 1];
                    for (j, p) in row.clone().zip(&self.pts[row]) {
                        let d = dist2(q, p);
                        if d <= bound2 {
                            best.push((d.to_bits(), self.rank[j], j));
                        }
                    }
                }
            }
            // How far around q the block surely reaches.
            let mut reach = f64::INFINITY;
            for a in 0..3 {
                if lo[a] > 0 {
                    reach = reach.min(q[a] - (self.lo[a] + lo[a] as f64 * self.size[a]));
                }
                if hi[a] + 1 < self.bins[a] {
                    reach = reach.min(self.lo[a] + (hi[a] + 1) as f64 * self.size[a] - q[a]);
                }
            }
            let whole = reach == f64::INFINITY;
            if best.len() >= k || (whole && filter == bound) {
                if best.len() > k {
                    best.select_nth_unstable(k - 1);
                    best.truncate(k);
                }
                let reach = reach - self.margin;
                let kth = best.iter().map(|e| f64::from_bits(e.0)).fold(0.0, f64::max);
                if whole || (reach > 0.0 && kth < reach * reach) {
                    best.sort_unstable();
                    break;
                }
                // These k samples bound the k-th distance: the bins of that ball.
                bound = bound.min(kth.sqrt() * (1.0 + 1e-12) + self.margin);
                filter = bound;
                r = around(bound).max(r + 1);
            } else if filter < bound {
                // The guess was short: the same block with the bound.
                filter = bound;
            } else {
                r += 1;
            }
        }
        scratch.near.clear();
        scratch.near.extend(best.iter().map(|e| self.pts[e.2]));
        scratch.grid = self.id;
        scratch.at = *q;
        scratch.kth = best.last().map_or(0.0, |e| f64::from_bits(e.0).sqrt());
        out.extend(best.iter().map(|e| self.idx[e.2]));
    }
}

/// A thread's buffers for the queries, and the samples its previous query found.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Candidates as (the bits of d², which order as d² does for d² ≥ 0, rank, place in
    /// the bins' order or sample index): in the rule's order as tuples.
    pub best: Vec<(u64, usize, usize)>,
    /// The previous query: its grid (0: none), point, k nearest samples and the distance
    /// of the k-th.
    grid: u64,
    at: [f64; 3],
    near: Vec<[f64; 3]>,
    kth: f64,
}

/// The `k` nearest samples of `q` by the rule, from the k-d tree over `pos`.
pub(crate) fn from_tree(
    tree: &ImmutableKdTree<f64, 3>,
    pos: &[[f64; 3]],
    rank: &[usize],
    q: &[f64; 3],
    k: usize,
    best: &mut Vec<(u64, usize, usize)>,
    out: &mut Vec<usize>,
) {
    let k = k.max(1);
    let more = NonZero::new(k + 1).unwrap_or(NonZero::<usize>::MIN);
    let entry = |i: u64| {
        let i = i as usize;
        (dist2(q, &pos[i]).to_bits(), rank[i], i)
    };
    best.clear();
    let found = tree.nearest_n_within::<SquaredEuclidean>(q, f64::INFINITY, more, false);
    best.extend(found.iter().map(|nb| entry(nb.item)));
    best.sort_unstable();
    if best.len() > k && best[k].0 == best[k - 1].0 {
        // The k-th and the next are as far: take every sample as close, in the rule's order.
        let r = f64::from_bits(best[k - 1].0);
        best.clear();
        let found = tree.within_unsorted::<SquaredEuclidean>(q, r);
        best.extend(found.iter().map(|nb| entry(nb.item)));
        best.sort_unstable();
    }
    best.truncate(k);
    out.extend(best.iter().map(|e| e.2));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every sample's distance, sorted by the rule: the list the searches must give.
    fn brute(pos: &[[f64; 3]], rank: &[usize], q: &[f64; 3], k: usize) -> Vec<usize> {
        let mut all: Vec<(f64, usize)> = pos
            .iter()
            .enumerate()
            .map(|(i, p)| (dist2(q, p), i))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(rank[a.1].cmp(&rank[b.1])));
        all.iter().take(k).map(|e| e.1).collect()
    }

    /// Both searches against every distance; ranks reversed, so that a search breaking
    /// ties by index would fail.
    fn check(pos: &[[f64; 3]], queries: &[[f64; 3]], k: usize, want_grid: bool) {
        let rank: Vec<usize> = (0..pos.len()).rev().collect();
        let tree = ImmutableKdTree::new_from_slice(pos);
        let grid = Grid::new(pos, &rank, k);
        assert_eq!(grid.is_some(), want_grid);
        let (mut scratch, mut a, mut b) = (Scratch::default(), Vec::new(), Vec::new());
        for q in queries {
            let want = brute(pos, &rank, q, k);
            a.clear();
            from_tree(&tree, pos, &rank, q, k, &mut scratch.best, &mut a);
            assert_eq!(a, want, "tree at {q:?}");
            if let Some(g) = &grid {
                // With the previous query's bound, and without.
                for s in [&mut scratch, &mut Scratch::default()] {
                    b.clear();
                    g.nearest(q, k, s, &mut b);
                    assert_eq!(b, want, "grid at {q:?}");
                }
            }
        }
    }

    #[test]
    fn a_lattice_takes_equidistant_samples_by_rank() {
        // A 12³ lattice, queries at its points (ties everywhere), between them and outside.
        let n = 12;
        let pos: Vec<[f64; 3]> = (0..n * n * n)
            .map(|i| [(i % n) as f64, ((i / n) % n) as f64, (i / (n * n)) as f64])
            .collect();
        let mut queries: Vec<[f64; 3]> = pos.iter().step_by(7).copied().collect();
        queries.extend([
            [5.5, 5.5, 5.5],
            [-3.0, 4.0, 20.0],
            [0.0, 0.0, 0.0],
            [11.0, 11.0, 11.0],
        ]);
        for k in [1, 6, 20, 27, 50] {
            check(&pos, &queries, k, true);
        }
    }

    #[test]
    fn planes_lines_and_crowds_agree_with_every_distance() {
        let mut seed = 7u64;
        let mut rnd = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let plane: Vec<[f64; 3]> = (0..900).map(|_| [rnd(), 3.0 * rnd(), 0.0]).collect();
        let line: Vec<[f64; 3]> = (0..300).map(|_| [0.0, rnd(), 0.0]).collect();
        let cube: Vec<[f64; 3]> = (0..2000).map(|_| [rnd(), rnd(), rnd()]).collect();
        // Most samples in a corner a thousandth of the box: the tree answers.
        let mut crowd: Vec<[f64; 3]> = (0..2000)
            .map(|_| [1e-3 * rnd(), 1e-3 * rnd(), 1e-3 * rnd()])
            .collect();
        crowd.push([1.0, 1.0, 1.0]);
        let queries: Vec<[f64; 3]> = (0..200)
            .map(|_| [1.2 * rnd() - 0.1, 3.0 * rnd(), rnd()])
            .collect();
        for k in [1, 10, 20] {
            check(&plane, &queries, k, true);
            check(&line, &queries, k, true);
            check(&cube, &queries, k, true);
            check(&crowd, &queries, k, false);
        }
        // Queries in small steps (each bounded by the one before, the guess often short
        // where the samples are random), through samples denser on one side.
        let walk: Vec<[f64; 3]> = (0..300)
            .map(|i| [i as f64 / 300.0, 0.5, 0.3 + i as f64 / 1000.0])
            .collect();
        let graded: Vec<[f64; 3]> = (0..3000).map(|_| [rnd().powi(2), rnd(), rnd()]).collect();
        for k in [5, 20, 35] {
            check(&cube, &walk, k, true);
            check(&graded, &walk, k, true);
        }
        // One thread's scratch serving two fields in turn (a dense and a sparse cloud):
        // the previous query's neighbours bound nothing for the other field's samples.
        let sparse: Vec<[f64; 3]> = (0..150).map(|_| [rnd(), rnd(), rnd()]).collect();
        let rank: Vec<usize> = (0..cube.len()).collect();
        let (dense_grid, sparse_grid) = (
            Grid::new(&cube, &rank, 20).unwrap(),
            Grid::new(&sparse, &rank[..sparse.len()], 20).unwrap(),
        );
        let mut scratch = Scratch::default();
        for q in &walk {
            for (g, pos) in [(&dense_grid, &cube), (&sparse_grid, &sparse)] {
                let mut got = Vec::new();
                g.nearest(q, 20, &mut scratch, &mut got);
                assert_eq!(got, brute(pos, &rank[..pos.len()], q, 20), "at {q:?}");
            }
        }
        // More neighbours asked than samples: all of them.
        check(&cube[..100], &queries, 150, true);
    }
}
