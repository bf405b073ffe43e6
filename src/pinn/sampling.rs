//! Collocation sampling in a box of any dimension (space, space-time, extra inputs): `n`
//! points in the box or on chosen faces of it, uniform random or low-discrepancy.
//!
//! Every sampler works in the unit cube `[0, 1)ᵈ` and maps a point `u` to `lo + u·(hi −
//! lo)`, clamped to `[lo, hi]` against rounding: no point lies outside the closed box.
//! Uniform points are drawn directly in the box, exactly as [`super::sample_box`] draws
//! them, so the two agree on a 2-D or 3-D box.
//!
//! Time is an input like any other: the space-time box of `x ∈ [−1, 1]`, `t ∈ [0, 1]` is
//! `lo = [−1, 0]`, `hi = [1, 1]`, its initial slice the face `(1, false)` and its spatial
//! boundary the faces `(0, false)` and `(0, true)`.

use rand::seq::SliceRandom;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::sample::MAX_POINTS;
use crate::error::{Error, Result};

/// The most coordinates a point may have: the dimensions of the Sobol sampler (its
/// direction numbers, from Joe and Kuo, stop at 256), and far more than a network of a
/// PDE's inputs takes.
pub const MAX_DIM: usize = 256;

/// How the points of a box are drawn.
///
/// Case files name them `"uniform"`, `"hammersley"`, `"sobol"` and `"latin_hypercube"`.
/// Each is deterministic given the seed; a new seed gives new points (for resampling the
/// collocation points every few steps), with the one exception noted at
/// [`Sampler::Hammersley`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampler {
    /// Independent uniform points from a ChaCha8 stream seeded with the seed.
    #[default]
    Uniform,
    /// The Hammersley set: point `i` of `n` has first coordinate `(i + ½)/n` and, on axis
    /// `k ≥ 1`, the radical inverse of `i + 1` in the `k`-th prime base (2, 3, 5, 7, …).
    /// Both choices keep every point off the boundary (the midpoints `(i + ½)/n` never
    /// reach 0 or 1, and the radical inverse of a positive integer lies strictly between
    /// them), as DeepXDE does by skipping the corner point `[0, 0, …]`. Seed 0 gives this
    /// set itself; any other seed shifts it by a random vector modulo 1 (a
    /// Cranley–Patterson rotation, from a ChaCha8 stream seeded with the seed), which keeps
    /// its low discrepancy and gives new points for a new seed; shifted points may then
    /// touch the lower faces.
    Hammersley,
    /// Owen-scrambled Sobol points (Burley's hash-based scramble, the `sobol_burley`
    /// crate), the scramble chosen by the seed. The crate gives at most 2¹⁶ points per
    /// sequence, as `f32` (a resolution of 2⁻²³ of the side): larger sets are unions of
    /// blocks of 2¹⁶ points, each its own scramble. Balanced best when `n` is a power of 2.
    Sobol,
    /// Latin hypercube: on every axis each of the `n` strata `[j/n, (j + 1)/n)` holds
    /// exactly one point, at a uniform position within it; the strata are paired across
    /// axes by independent random permutations. Permutations and positions come from a
    /// ChaCha8 stream seeded with the seed.
    LatinHypercube,
}

impl Sampler {
    /// Every sampler, in the order their names are listed in error messages.
    pub const ALL: [Sampler; 4] = [
        Sampler::Uniform,
        Sampler::Hammersley,
        Sampler::Sobol,
        Sampler::LatinHypercube,
    ];

    /// The name used in case files.
    pub fn name(self) -> &'static str {
        match self {
            Sampler::Uniform => "uniform",
            Sampler::Hammersley => "hammersley",
            Sampler::Sobol => "sobol",
            Sampler::LatinHypercube => "latin_hypercube",
        }
    }
}

impl std::str::FromStr for Sampler {
    type Err = Error;

    /// The sampler named `s`; an unknown name is an [`Error::Config`] (setting `sampler`)
    /// that lists the valid names.
    fn from_str(s: &str) -> Result<Self> {
        Sampler::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Sampler::ALL.iter().map(|a| a.name()).collect();
                Error::config(
                    "sampler",
                    format!(
                        "unknown sampler '{s}'; valid samplers are: {}",
                        names.join(", ")
                    ),
                )
            })
    }
}

/// `n` points in the box `[lo, hi]` (any dimension from 1 to [`MAX_DIM`]), as coordinate
/// columns: `cols[k][i]` is coordinate `k` of point `i`.
///
/// The points lie in the closed box; how they are spread is the [`Sampler`]'s.
///
/// # Errors
/// [`Error::Config`]: setting `domain` when `lo` and `hi` differ in length, are empty or
/// longer than [`MAX_DIM`], a bound is not finite, `lo ≥ hi` on an axis or a side length
/// overflows; setting `points` when `n` is 0 or above 10⁸ (refused before anything is
/// allocated) or the columns cannot be allocated.
///
/// # Example
/// ```
/// use nabla::pinn::{Sampler, sample_in};
/// // 64 points in the space-time box x ∈ [−1, 1], t ∈ [0, 1].
/// let cols = sample_in(&[-1.0, 0.0], &[1.0, 1.0], 64, Sampler::Sobol, 7).unwrap();
/// assert_eq!((cols.len(), cols[0].len()), (2, 64));
/// assert!(cols[0].iter().all(|x| (-1.0..=1.0).contains(x)));
/// assert!(cols[1].iter().all(|t| (0.0..=1.0).contains(t)));
/// // The same seed, the same points.
/// assert_eq!(cols, sample_in(&[-1.0, 0.0], &[1.0, 1.0], 64, Sampler::Sobol, 7).unwrap());
/// ```
pub fn sample_in(
    lo: &[f64],
    hi: &[f64],
    n: usize,
    sampler: Sampler,
    seed: u64,
) -> Result<Vec<Vec<f64>>> {
    check_box(lo, hi)?;
    check_count(n)?;
    draw(lo, hi, n, sampler, seed)
}

/// `n` points on the chosen faces of the box `[lo, hi]`, as coordinate columns like
/// [`sample_in`].
///
/// A face is `(axis, side)`: the points whose coordinate `axis` is `lo[axis]` (side
/// `false`) or `hi[axis]` (side `true`), which is set exactly. The faces share the points
/// in proportion to their measure, the product of the other side lengths (on a 1-D box
/// each face is one point and has an equal share). The shares are rounded
/// deterministically so that the counts sum to `n`, each within 1 of its exact share:
/// face `j` gets `round(n·Sⱼ) − round(n·Sⱼ₋₁)`, where `Sⱼ` is the share of faces `0..=j`
/// (a face may get 0 points when `n` is smaller than the number of faces). The faces
/// follow the order given, and the points of each face are drawn in that face's box of
/// one dimension less by `sampler` with seed `seed ^ j·0x9E3779B97F4A7C15` (face 0 with
/// `seed` itself), so faces of equal sides do not get the same points.
///
/// # Errors
/// As [`sample_in`], and [`Error::Config`] (setting `faces`) for an empty list of faces,
/// an axis not below the dimension, or a face listed twice.
pub fn sample_on_faces(
    lo: &[f64],
    hi: &[f64],
    faces: &[(usize, bool)],
    n: usize,
    sampler: Sampler,
    seed: u64,
) -> Result<Vec<Vec<f64>>> {
    check_box(lo, hi)?;
    check_count(n)?;
    let d = lo.len();
    if faces.is_empty() {
        return Err(Error::config(
            "faces",
            "no faces given; name at least one as (axis, side)",
        ));
    }
    for (j, &(axis, side)) in faces.iter().enumerate() {
        if axis >= d {
            return Err(Error::config(
                "faces",
                format!("face {j} is normal to axis {axis}, but the box has {d} axes (0..{d})"),
            ));
        }
        if faces[..j].contains(&(axis, side)) {
            let s = if side { "hi" } else { "lo" };
            return Err(Error::config(
                "faces",
                format!("face {j} (axis {axis}, {s}) is listed twice"),
            ));
        }
    }
    let counts = face_counts(lo, hi, faces, n);
    let mut cols = columns(d, n)?;
    for (j, (&(axis, side), &m)) in faces.iter().zip(&counts).enumerate() {
        if m == 0 {
            continue;
        }
        let fixed = if side { hi[axis] } else { lo[axis] };
        let face_seed = seed ^ (j as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let (flo, fhi): (Vec<f64>, Vec<f64>) = (0..d)
            .filter(|&k| k != axis)
            .map(|k| (lo[k], hi[k]))
            .unzip();
        // A 1-D box's face is a point: nothing to draw. Otherwise the face is a valid box
        // of d − 1 ≥ 1 axes (its sides are sides of the checked box).
        let mut on_face = if d == 1 {
            Vec::new().into_iter()
        } else {
            draw(&flo, &fhi, m, sampler, face_seed)?.into_iter()
        };
        for (k, c) in cols.iter_mut().enumerate() {
            if k == axis {
                c.extend(std::iter::repeat_n(fixed, m));
            } else {
                c.extend(
                    on_face
                        .next()
                        .expect("internal: a face column per free axis"),
                );
            }
        }
    }
    Ok(cols)
}

/// How many of `n` points each face gets: proportional to its measure, by cumulative
/// rounding (the counts sum to `n`, each within 1 of its exact share).
pub(crate) fn face_counts(lo: &[f64], hi: &[f64], faces: &[(usize, bool)], n: usize) -> Vec<usize> {
    // Measures in logs: a product of many sides may overflow or underflow where the
    // shares (ratios of measures) are harmless.
    let ln_side: Vec<f64> = lo.iter().zip(hi).map(|(a, b)| (b - a).ln()).collect();
    let total_ln: f64 = ln_side.iter().sum();
    let ln_m: Vec<f64> = faces.iter().map(|&(k, _)| total_ln - ln_side[k]).collect();
    let top = ln_m.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = ln_m.iter().map(|l| (l - top).exp()).collect();
    // The largest face has weight 1: the sum is at least 1 and finite.
    let sum: f64 = w.iter().sum();
    let mut counts = Vec::with_capacity(faces.len());
    let (mut acc, mut prev) = (0.0, 0usize);
    for (j, wj) in w.iter().enumerate() {
        acc += wj;
        let bound = if j + 1 == w.len() {
            n
        } else {
            // acc ≤ sum up to rounding: clamp so the bounds never pass n.
            ((n as f64 * acc / sum).round() as usize).min(n)
        };
        let bound = bound.max(prev);
        counts.push(bound - prev);
        prev = bound;
    }
    counts
}

/// Checks that `[lo, hi]` is a box points can be drawn from.
fn check_box(lo: &[f64], hi: &[f64]) -> Result<()> {
    let d = lo.len();
    if d == 0 || hi.len() != d {
        return Err(Error::config(
            "domain",
            format!(
                "lo and hi must have the same number of coordinates, at least 1, got {} and {}",
                lo.len(),
                hi.len()
            ),
        ));
    }
    if d > MAX_DIM {
        return Err(Error::config(
            "domain",
            format!("{d} coordinates; at most {MAX_DIM} are supported"),
        ));
    }
    for (k, (&a, &b)) in lo.iter().zip(hi).enumerate() {
        if !(a.is_finite() && b.is_finite() && a < b && (b - a).is_finite()) {
            return Err(Error::config(
                "domain",
                format!(
                    "coordinate {k}: lo {a} must be below hi {b}, both finite and their difference too"
                ),
            ));
        }
    }
    Ok(())
}

/// Checks the count `n` (`1..=MAX_POINTS`) before anything is allocated.
fn check_count(n: usize) -> Result<()> {
    if n == 0 || n > MAX_POINTS {
        return Err(Error::config(
            "points",
            format!("the number of points must lie in 1..={MAX_POINTS}, got {n}"),
        ));
    }
    Ok(())
}

/// `d` empty columns with room for `n` values each, allocated fallibly.
fn columns(d: usize, n: usize) -> Result<Vec<Vec<f64>>> {
    let mut cols = Vec::with_capacity(d);
    for _ in 0..d {
        let mut c = Vec::new();
        c.try_reserve_exact(n).map_err(|_| {
            Error::config(
                "points",
                format!("{n} points of {d} coordinates do not fit in memory"),
            )
        })?;
        cols.push(c);
    }
    Ok(cols)
}

/// `n` points in the checked box `[lo, hi]`.
fn draw(lo: &[f64], hi: &[f64], n: usize, sampler: Sampler, seed: u64) -> Result<Vec<Vec<f64>>> {
    let d = lo.len();
    let mut cols = columns(d, n)?;
    if sampler == Sampler::Uniform {
        // Point by point, coordinate by coordinate: the order of `sample_box`.
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for _ in 0..n {
            for (c, (&a, &b)) in cols.iter_mut().zip(lo.iter().zip(hi)) {
                // rand may round onto b; never past it.
                c.push(rng.random_range(a..b).clamp(a, b));
            }
        }
        return Ok(cols);
    }
    match sampler {
        Sampler::Uniform => unreachable!("internal: drawn above"),
        Sampler::Hammersley => hammersley(&mut cols, n, seed),
        Sampler::Sobol => sobol(&mut cols, n, seed),
        Sampler::LatinHypercube => latin_hypercube(&mut cols, n, seed)?,
    }
    for (c, (&a, &b)) in cols.iter_mut().zip(lo.iter().zip(hi)) {
        let w = b - a;
        for v in c.iter_mut() {
            *v = (a + *v * w).clamp(a, b);
        }
    }
    Ok(cols)
}

/// The Hammersley set in `[0, 1)ᵈ` (see [`Sampler::Hammersley`]), shifted modulo 1 unless
/// `seed` is 0.
fn hammersley(cols: &mut [Vec<f64>], n: usize, seed: u64) {
    let primes = primes(cols.len().saturating_sub(1));
    let nf = n as f64;
    cols[0].extend((0..n).map(|i| (i as f64 + 0.5) / nf));
    for (c, &p) in cols[1..].iter_mut().zip(&primes) {
        c.extend((1..=n as u64).map(|i| radical_inverse(i, p)));
    }
    if seed != 0 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for c in cols.iter_mut() {
            let shift: f64 = rng.random();
            for v in c.iter_mut() {
                let s = *v + shift;
                // Both below 1: s < 2, and s − 1 is exact (Sterbenz).
                *v = if s >= 1.0 { s - 1.0 } else { s };
            }
        }
    }
}

/// The first `k` primes.
fn primes(k: usize) -> Vec<u64> {
    let mut p: Vec<u64> = Vec::with_capacity(k);
    let mut c = 2;
    while p.len() < k {
        if p.iter().take_while(|&&q| q * q <= c).all(|&q| c % q != 0) {
            p.push(c);
        }
        c += 1;
    }
    p
}

/// The radical inverse of `i` in base `b`: its base-`b` digits mirrored about the point,
/// `Σ dⱼ b⁻ʲ⁻¹` for `i = Σ dⱼ bʲ`; in `(0, 1)` for `i ≥ 1`.
fn radical_inverse(mut i: u64, b: u64) -> f64 {
    let inv = 1.0 / b as f64;
    let (mut x, mut f) = (0.0, inv);
    while i > 0 {
        x += (i % b) as f64 * f;
        i /= b;
        f *= inv;
    }
    x
}

/// The points per Sobol sequence of `sobol_burley`.
const SOBOL_BLOCK: usize = 1 << 16;

/// Owen-scrambled Sobol points in `[0, 1)ᵈ`: blocks of [`SOBOL_BLOCK`] points, each with
/// its own scramble seed drawn from a ChaCha8 stream seeded with `seed`.
fn sobol(cols: &mut [Vec<f64>], n: usize, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut start = 0;
    while start < n {
        let m = (n - start).min(SOBOL_BLOCK);
        let block_seed = rng.next_u32();
        for (k, c) in cols.iter_mut().enumerate() {
            // k < MAX_DIM = sobol_burley::NUM_DIMENSIONS, i < 2¹⁶: both fit u32.
            c.extend(
                (0..m as u32).map(|i| f64::from(sobol_burley::sample(i, k as u32, block_seed))),
            );
        }
        start += m;
    }
}

/// A Latin hypercube in `[0, 1)ᵈ` (see [`Sampler::LatinHypercube`]).
fn latin_hypercube(cols: &mut [Vec<f64>], n: usize, seed: u64) -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut strata: Vec<usize> = Vec::new();
    strata
        .try_reserve_exact(n)
        .map_err(|_| Error::config("points", format!("{n} strata do not fit in memory")))?;
    strata.extend(0..n);
    let nf = n as f64;
    for c in cols.iter_mut() {
        strata.shuffle(&mut rng);
        for &s in &strata {
            let u: f64 = rng.random();
            // (s + u)/n < 1 in exact arithmetic; rounding may reach 1, so stay below it.
            c.push(((s as f64 + u) / nf).min(1.0 - f64::EPSILON / 2.0));
        }
    }
    Ok(())
}
