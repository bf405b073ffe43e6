//! Values that are not finite as they are written: every value is checked after its
//! conversion to the file's precision (`[output] precision`), so that a value beyond
//! `f32`'s range, which `Float32` would write as infinite, counts as not finite like a NaN.
//!
//! Flushing towards 0 is rounding, not a warning: a value below `f32`'s smallest normal
//! number (1.2·10⁻³⁸) is written as the nearest subnormal `f32` or 0, an absolute error
//! of at most 7·10⁻⁴⁶ (half the smallest subnormal), as every `Float32` value is rounded
//! to the nearest `f32`. Only NaN and infinity make a value unusable in ParaView.
//!
//! The computed arrays are checked as they are recorded (`summary`); the input arrays
//! carried into the output (a mesh's or CSV file's point arrays, a mesh's cell arrays)
//! here, once, before anything runs.

use super::arrays;
use super::load::Case;
use super::points::Geometry;
use crate::error::{Error, Result};
use crate::eval::Points;
use crate::io::{PointArray, Precision};

/// Whether `v` is finite once written at `precision`.
pub(super) fn finite_as(precision: Precision, v: f64) -> bool {
    match precision {
        Precision::Float64 => v.is_finite(),
        Precision::Float32 => (v as f32).is_finite(),
    }
}

/// Why a value that is finite as an `f64` is written as infinite: `" (beyond ±3.4e38,
/// the range of Float32)"`, or nothing.
pub(super) fn why_not_finite(v: f64) -> &'static str {
    if v.is_finite() {
        " (beyond ±3.4e38, the range of [output] precision = \"float32\")"
    } else {
        ""
    }
}

/// The input arrays the run writes beside its results (the carried point arrays of
/// `carried`, under the names they get beside the `computed` arrays and as `[output]
/// arrays` selects them, and a mesh's cell arrays), checked after conversion to the
/// file's precision: one warning per array with values that are not finite, naming the
/// first. With `strict`, the first such array is an error and nothing is written.
///
/// # Errors
/// [`Error::Operator`] (`--strict`) as described.
pub(super) fn check_carried(
    case: &Case,
    geometry: &Geometry,
    points: &Points,
    carried: &[PointArray],
    computed: &[String],
    strict: bool,
) -> Result<Vec<String>> {
    let precision = case.spec.output.precision;
    let mut warnings = Vec::new();
    let names = arrays::written_carried_names(case, computed, carried);
    for (a, name) in carried.iter().zip(names) {
        let Some(name) = name else { continue };
        if let Some((count, k, v)) = first_bad(a, precision) {
            let i = k / a.components.max(1);
            let p = points.point(i);
            warnings.push(format!(
                "input array {name} (carried into the output): {count} of {} values are not \
                 finite (NaN or infinite); the first is {v:?}{} at point {i}, (x, y, z) = \
                 ({:?}, {:?}, {:?})",
                a.values.len(),
                why_not_finite(v),
                p[0],
                p[1],
                p[2]
            ));
        }
    }
    if let Geometry::Mesh(mesh) = geometry {
        for a in &mesh.cell_data {
            if let Some((count, k, v)) = first_bad(a, precision) {
                warnings.push(format!(
                    "input cell array {} (carried into the output): {count} of {} values are \
                     not finite (NaN or infinite); the first is {v:?}{} at cell {}",
                    a.name,
                    a.values.len(),
                    why_not_finite(v),
                    k / a.components.max(1)
                ));
            }
        }
    }
    match warnings.first() {
        Some(w) if strict => Err(Error::Operator {
            op: "--strict".into(),
            message: format!("{w}; nothing is written"),
        }),
        _ => Ok(warnings),
    }
}

/// How many values of `a` are not finite at `precision`, and the first: its index and
/// value.
fn first_bad(a: &PointArray, precision: Precision) -> Option<(usize, usize, f64)> {
    let mut bad = a
        .values
        .iter()
        .enumerate()
        .filter(|(_, v)| !finite_as(precision, **v));
    let (k, &v) = bad.next()?;
    Some((1 + bad.count(), k, v))
}
