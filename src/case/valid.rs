//! Data fields on points that are not the data's own (a lattice, a line, a slice, another
//! mesh): which points have data, written as `vtkValidPointMask` (the array ParaView's
//! resampling filters write: 1 where there is data, 0 elsewhere), and the 3-D points that
//! OpenFOAM's 2-D velocity is evaluated on over a 2-D lattice.
//!
//! Where a point has no data, every array of a data field is NaN (the field is not
//! extrapolated; see `nabla::field::data::locate` for the test). Those NaN are announced
//! (the mask, and a line of the summary) and so are not counted as non-finite values:
//! `--strict` fails only on values that are not finite at points with data.

use std::collections::HashSet;

use super::config::PointsSpec;
use super::data::{Built, Source};
use super::fields::BuiltField;
use super::load::Case;
use crate::error::Result;
use crate::eval::{Array, Points};

/// The name of the mask array, as ParaView's resampling filters write it.
pub(super) const MASK: &str = "vtkValidPointMask";

/// Which points have data: a point has it when every data field of the case has.
pub(super) struct Valid {
    /// Per point.
    pub(super) valid: Vec<bool>,
    /// Seconds the point location took.
    pub(super) seconds: f64,
}

impl Valid {
    /// The mask over `points`, when the case has data fields and the points are not the
    /// data file's own (those always have data, and get no mask).
    pub(super) fn new(
        case: &Case,
        source: Option<&Source>,
        data: &[Built],
        points: &Points,
    ) -> Option<Valid> {
        let src = source?;
        if data.is_empty() || own_points(case, src) {
            return None;
        }
        let t0 = std::time::Instant::now();
        let rows: Vec<[f64; 3]> = (0..points.len()).map(|i| points.point(i)).collect();
        let mut valid = vec![true; rows.len()];
        for b in data {
            for (v, f) in valid.iter_mut().zip(b.field.valid(&rows)) {
                *v &= f;
            }
        }
        Some(Valid {
            valid,
            seconds: t0.elapsed().as_secs_f64(),
        })
    }

    /// The `vtkValidPointMask` array: 1 where there is data, 0 elsewhere.
    pub(super) fn array(&self) -> Array {
        Array {
            name: MASK.into(),
            components: 1,
            values: self.valid.iter().map(|&v| f64::from(u8::from(v))).collect(),
        }
    }

    /// Sets every component of the data fields' arrays (and their `error(…)`) to NaN at
    /// the points without data: also the components that are 0 by construction there
    /// (derivatives along the axis 2-D data does not vary on, the z of planar arrays).
    pub(super) fn blank(&self, written: &mut [Array], built: &[BuiltField<'_>]) {
        let names: HashSet<String> = built
            .iter()
            .filter(|b| b.data)
            .flat_map(|b| b.ops.iter().map(|op| op.array_name(&b.name)))
            .flat_map(|n| [format!("error({n})"), n])
            .collect();
        for a in written.iter_mut().filter(|a| names.contains(&a.name)) {
            let c = a.components.max(1);
            for (p, v) in a.values.chunks_mut(c).enumerate() {
                if !self.valid.get(p).copied().unwrap_or(true) {
                    v.fill(f64::NAN);
                }
            }
        }
    }

    /// The points without data among the first `owned`.
    pub(super) fn outside(&self, owned: usize) -> usize {
        self.valid[..owned.min(self.valid.len())]
            .iter()
            .filter(|v| !**v)
            .count()
    }
}

/// The summary's line: `outside` of `total` points without data, located in `seconds`.
pub(super) fn note(outside: usize, total: usize, seconds: f64) -> String {
    format!(
        "{outside} of {total} points outside the data ({MASK} = 0): the data fields' arrays \
         are NaN there (not extrapolated), and not counted as non-finite values (located in \
         {seconds:.3} s)"
    )
}

/// Whether the case's points are the data file's own points.
fn own_points(case: &Case, src: &Source) -> bool {
    matches!(&case.spec.points,
        PointsSpec::Mesh { file, .. } | PointsSpec::Csv { file } if *file == src.name)
}

/// `points` in 3-D (z = 0), for the fields evaluated on 3-D points over 2-D ones (see
/// `fields::lifted_dim`).
pub(super) fn lifted(points: &Points) -> Result<Points> {
    let mut cols: Vec<Vec<f64>> = (0..points.dim())
        .map(|a| (0..points.len()).map(|i| points.point(i)[a]).collect())
        .collect();
    cols.resize(3, vec![0.0; points.len()]);
    Points::from_columns(cols)
}
