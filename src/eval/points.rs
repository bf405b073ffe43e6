//! Points: the coordinates the evaluator works on, one column per coordinate.

use crate::error::{Error, Result};

/// Points in 2-D or 3-D, stored as one contiguous column per coordinate.
#[derive(Clone, Debug, PartialEq)]
pub struct Points {
    cols: Vec<Vec<f64>>,
}

impl Points {
    /// Points from coordinate columns (`cols[0]` holds every x, …); 2 or 3 columns of
    /// equal, non-zero length and finite values.
    pub fn from_columns(cols: Vec<Vec<f64>>) -> Result<Self> {
        if !(2..=3).contains(&cols.len()) {
            return Err(Error::Points(format!(
                "points must be 2-D or 3-D, got {} coordinates",
                cols.len()
            )));
        }
        let n = cols[0].len();
        if n == 0 {
            return Err(Error::Points("the point set is empty".into()));
        }
        if let Some(k) = cols.iter().position(|c| c.len() != n) {
            return Err(Error::Points(format!(
                "coordinate {k} has {} values, coordinate 0 has {n}",
                cols[k].len()
            )));
        }
        for (k, c) in cols.iter().enumerate() {
            if let Some(i) = c.iter().position(|v| !v.is_finite()) {
                return Err(Error::Points(format!(
                    "point {i} has a non-finite coordinate {k}: {}",
                    c[i]
                )));
            }
        }
        Ok(Points { cols })
    }

    /// Points from rows `[x, y, z]`, keeping the first `dim` (2 or 3) coordinates.
    pub fn from_rows(dim: usize, rows: &[[f64; 3]]) -> Result<Self> {
        if !(2..=3).contains(&dim) {
            return Err(Error::Points(format!(
                "points must be 2-D or 3-D, got {dim}"
            )));
        }
        Self::from_columns(
            (0..dim)
                .map(|k| rows.iter().map(|p| p[k]).collect())
                .collect(),
        )
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.cols[0].len()
    }

    /// Always false: a point set is never empty.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Number of coordinates (2 or 3).
    pub fn dim(&self) -> usize {
        self.cols.len()
    }

    /// Coordinate column `k`.
    ///
    /// # Panics
    /// When `k >= dim()`, as slice indexing does; [`Points::get_col`] returns `None`
    /// instead.
    pub fn col(&self, k: usize) -> &[f64] {
        match self.get_col(k) {
            Some(c) => c,
            None => panic!("Points::col: coordinate {k} of {}-D points", self.dim()),
        }
    }

    /// Coordinate column `k`, or `None` when `k >= dim()`.
    pub fn get_col(&self, k: usize) -> Option<&[f64]> {
        self.cols.get(k).map(Vec::as_slice)
    }

    /// Point `i` as `[x, y, z]` (z = 0 in 2-D).
    ///
    /// # Panics
    /// When `i >= len()`, as slice indexing does; [`Points::get_point`] returns `None`
    /// instead.
    pub fn point(&self, i: usize) -> [f64; 3] {
        match self.get_point(i) {
            Some(p) => p,
            None => panic!("Points::point: point {i} of a set of {} points", self.len()),
        }
    }

    /// Point `i` as `[x, y, z]` (z = 0 in 2-D), or `None` when `i >= len()`.
    pub fn get_point(&self, i: usize) -> Option<[f64; 3]> {
        let mut p = [0.0; 3];
        // At most 3 columns (checked at construction), so `zip` covers each one.
        for (x, c) in p.iter_mut().zip(&self.cols) {
            *x = *c.get(i)?;
        }
        Some(p)
    }
}
