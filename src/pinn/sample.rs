//! Collocation sampling: the domain box, and uniform points in it and on its faces.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::eval::Points;

/// The most collocation or validation points of one kind: their coordinates, values and
/// per-point loss terms must fit in memory next to the chunk tapes.
pub const MAX_POINTS: usize = 100_000_000;

/// The box `[min, max]` that holds the collocation points (2 or 3 coordinates).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DomainConfig {
    /// Lower corner.
    pub min: Vec<f64>,
    /// Upper corner.
    pub max: Vec<f64>,
}

impl DomainConfig {
    /// Checks that the domain is a 2-D or 3-D box that points can be drawn from.
    ///
    /// # Errors
    /// [`Error::Config`] (setting `domain`) when `min` and `max` do not both have 2 or 3
    /// coordinates, a coordinate is not finite, `min ≥ max` on an axis, a side length
    /// overflows, or the boundary's measure overflows or is zero (underflow).
    pub fn validate(&self) -> Result<()> {
        let d = self.min.len();
        if !(2..=3).contains(&d) || self.max.len() != d {
            return Err(Error::config(
                "domain",
                format!(
                    "min and max must both have 2 or 3 coordinates, got {} and {}",
                    self.min.len(),
                    self.max.len()
                ),
            ));
        }
        for (k, (&a, &b)) in self.min.iter().zip(&self.max).enumerate() {
            if !(a.is_finite() && b.is_finite() && a < b && (b - a).is_finite()) {
                return Err(Error::config(
                    "domain",
                    format!(
                        "coordinate {k}: min {a} must be below max {b}, both finite and their difference too"
                    ),
                ));
            }
        }
        let faces: f64 = face_measures(self).iter().sum();
        if !(2.0 * faces).is_finite() {
            return Err(Error::config(
                "domain",
                "the box's boundary measure overflows f64",
            ));
        }
        if faces <= 0.0 {
            return Err(Error::config(
                "domain",
                "the box's boundary measure underflows to 0; scale the domain",
            ));
        }
        Ok(())
    }
}

/// The measure of the face normal to each axis (the product of the other side lengths).
fn face_measures(domain: &DomainConfig) -> Vec<f64> {
    let len: Vec<f64> = domain
        .min
        .iter()
        .zip(&domain.max)
        .map(|(a, b)| b - a)
        .collect();
    (0..len.len())
        .map(|k| {
            len.iter()
                .enumerate()
                .filter(|&(j, _)| j != k)
                .map(|(_, l)| l)
                .product()
        })
        .collect()
}

/// Checks the domain and the count `n` (`1..=MAX_POINTS`) before sampling.
fn check(domain: &DomainConfig, n: usize) -> Result<()> {
    domain.validate()?;
    if n == 0 || n > MAX_POINTS {
        return Err(Error::config(
            "points",
            format!("the number of points must lie in 1..={MAX_POINTS}, got {n}"),
        ));
    }
    Ok(())
}

/// `n` points uniform in the box, from a ChaCha8 stream seeded with `seed`.
///
/// # Errors
/// [`Error::Config`] for a domain that [`DomainConfig::validate`] rejects, or `n` outside
/// `1..=MAX_POINTS`.
pub fn sample_box(domain: &DomainConfig, n: usize, seed: u64) -> Result<Points> {
    check(domain, n)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = domain.min.len();
    let mut cols = vec![Vec::with_capacity(n); d];
    for _ in 0..n {
        for (c, (&a, &b)) in cols.iter_mut().zip(domain.min.iter().zip(&domain.max)) {
            // a < b, both finite: checked by `check`.
            c.push(rng.random_range(a..b));
        }
    }
    Points::from_columns(cols)
}

/// `n` points uniform on the faces of the box: a face is chosen with probability
/// proportional to its length (2-D) or area (3-D), then a point uniform on it.
///
/// # Errors
/// As [`sample_box`].
pub fn sample_faces(domain: &DomainConfig, n: usize, seed: u64) -> Result<Points> {
    check(domain, n)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = domain.min.len();
    // Face (k, side) is normal to axis k; its measure is the product of the other lengths.
    let measure = face_measures(domain);
    // Positive and finite: checked by `check`.
    let total: f64 = 2.0 * measure.iter().sum::<f64>();
    let mut cols = vec![Vec::with_capacity(n); d];
    for _ in 0..n {
        let mut r = rng.random_range(0.0..total);
        // d ≥ 2 (checked), so d − 1 does not underflow.
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
        for (j, (c, (&a, &b))) in cols
            .iter_mut()
            .zip(domain.min.iter().zip(&domain.max))
            .enumerate()
        {
            let v = if j == face.0 {
                if face.1 == 0 { a } else { b }
            } else {
                rng.random_range(a..b)
            };
            c.push(v);
        }
    }
    Points::from_columns(cols)
}
