//! Collocation sampling: uniform points in a box and on its faces.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::config::DomainConfig;
use crate::eval::Points;

/// The most collocation or validation points of one kind: their coordinates, values and
/// per-point loss terms must fit in memory next to the chunk tapes.
pub const MAX_POINTS: usize = 100_000_000;

/// `n` points uniform in the box, from a ChaCha8 stream seeded with `seed`.
pub fn sample_box(domain: &DomainConfig, n: usize, seed: u64) -> Points {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = domain.min.len();
    let mut cols = vec![Vec::with_capacity(n); d];
    for _ in 0..n {
        for (k, c) in cols.iter_mut().enumerate() {
            c.push(rng.random_range(domain.min[k]..domain.max[k]));
        }
    }
    Points::from_columns(cols).expect("internal: a valid box")
}

/// `n` points uniform on the faces of the box: a face is chosen with probability
/// proportional to its length (2-D) or area (3-D), then a point uniform on it.
pub fn sample_faces(domain: &DomainConfig, n: usize, seed: u64) -> Points {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = domain.min.len();
    let len: Vec<f64> = (0..d).map(|k| domain.max[k] - domain.min[k]).collect();
    // Face (k, side) is normal to axis k; its measure is the product of the other lengths.
    let measure: Vec<f64> = (0..d)
        .map(|k| (0..d).filter(|&j| j != k).map(|j| len[j]).product())
        .collect();
    let total: f64 = 2.0 * measure.iter().sum::<f64>();
    let mut cols = vec![Vec::with_capacity(n); d];
    for _ in 0..n {
        let mut r = rng.random_range(0.0..total);
        let mut face = (d - 1, 1);
        'pick: for (k, &m) in measure.iter().enumerate() {
            for side in 0..2 {
                if r < m {
                    face = (k, side);
                    break 'pick;
                }
                r -= m;
            }
        }
        for (j, c) in cols.iter_mut().enumerate() {
            let v = if j == face.0 {
                if face.1 == 0 {
                    domain.min[j]
                } else {
                    domain.max[j]
                }
            } else {
                rng.random_range(domain.min[j]..domain.max[j])
            };
            c.push(v);
        }
    }
    Points::from_columns(cols).expect("internal: a valid box")
}
