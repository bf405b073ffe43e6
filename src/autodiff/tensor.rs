//! Owned 2-D f64 tensors: the values that go onto and come off a tape.

use nalgebra::DMatrix;

use crate::error::{Error, Result};

/// A dense 2-D tensor of f64, stored column-major like [`nalgebra::DMatrix`].
///
/// Rows are the points of a batch, columns are components. A tensor with one row and
/// no batch (a parameter, a reduced value) is simply `1 × c`; a scalar is `1 × 1`.
/// Column-major storage keeps each component of a batch contiguous, so elementwise
/// work on one component is a straight loop over a slice.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

/// The number of elements of a `rows × cols` tensor, if it is one that can exist: the
/// product must not overflow and the values must fit in one allocation (at most
/// `isize::MAX` bytes, the limit of a `Vec`). Every shape a tensor or a tape node takes is
/// checked with this, so `rows * cols` is never computed with wrapping arithmetic.
pub(crate) fn checked_len(rows: usize, cols: usize) -> Option<usize> {
    const MAX_ELEMENTS: usize = isize::MAX as usize / std::mem::size_of::<f64>();
    rows.checked_mul(cols).filter(|&n| n <= MAX_ELEMENTS)
}

impl Tensor {
    /// A tensor from column-major data. Returns `None` when `data.len() != rows * cols`
    /// (including when `rows * cols` overflows).
    pub fn from_col_major(rows: usize, cols: usize, data: Vec<f64>) -> Option<Self> {
        (checked_len(rows, cols) == Some(data.len())).then_some(Tensor { rows, cols, data })
    }

    /// A tensor from row-major data (the order in which one writes a matrix down).
    /// Returns `None` when `data.len() != rows * cols` (including when `rows * cols`
    /// overflows).
    pub fn from_row_major(rows: usize, cols: usize, data: &[f64]) -> Option<Self> {
        if checked_len(rows, cols) != Some(data.len()) {
            return None;
        }
        // Column j of the result is every `cols`-th value from j; an empty tensor (a zero
        // dimension) has no columns to walk, or empty ones.
        let out = (0..cols)
            .flat_map(|j| data.iter().skip(j).step_by(cols).take(rows).copied())
            .collect();
        Some(Tensor {
            rows,
            cols,
            data: out,
        })
    }

    /// A single column (an `n × 1` batch of scalars).
    pub fn column(data: Vec<f64>) -> Self {
        Tensor {
            rows: data.len(),
            cols: 1,
            data,
        }
    }

    /// A single row (a `1 × n` tensor without batch rows).
    pub fn row(data: Vec<f64>) -> Self {
        Tensor {
            rows: 1,
            cols: data.len(),
            data,
        }
    }

    /// A `1 × 1` tensor.
    pub fn scalar(v: f64) -> Self {
        Tensor {
            rows: 1,
            cols: 1,
            data: vec![v],
        }
    }

    /// A tensor filled with `v`, or [`Error::DataLength`] (with `len` 0) when
    /// `rows × cols` overflows or exceeds what one allocation can hold, and
    /// [`Error::Operator`] when the memory cannot be allocated.
    pub fn try_full(rows: usize, cols: usize, v: f64) -> Result<Self> {
        let len = checked_len(rows, cols).ok_or(Error::DataLength { rows, cols, len: 0 })?;
        let mut data = Vec::new();
        data.try_reserve_exact(len).map_err(|_| Error::Operator {
            op: "tensor".into(),
            message: format!("cannot allocate a {rows} x {cols} tensor"),
        })?;
        data.resize(len, v);
        Ok(Tensor { rows, cols, data })
    }

    /// A tensor filled with `v`.
    ///
    /// # Panics
    /// When `rows × cols` overflows or exceeds `isize::MAX` bytes, as `vec![v; n]` does
    /// ("capacity overflow"). [`Tensor::try_full`] returns an error instead.
    pub fn full(rows: usize, cols: usize, v: f64) -> Self {
        let Some(len) = checked_len(rows, cols) else {
            panic!(
                "Tensor::full: a {rows} x {cols} tensor does not fit in memory (capacity overflow)"
            );
        };
        Tensor {
            rows,
            cols,
            data: vec![v; len],
        }
    }

    /// A tensor of zeros.
    ///
    /// # Panics
    /// As [`Tensor::full`]; [`Tensor::try_full`] is the fallible form.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self::full(rows, cols, 0.0)
    }

    /// A tensor of ones: the cotangent `v = 1` of the seed article.
    ///
    /// # Panics
    /// As [`Tensor::full`]; [`Tensor::try_full`] is the fallible form.
    pub fn ones(rows: usize, cols: usize) -> Self {
        Self::full(rows, cols, 1.0)
    }

    /// The tensor that is zero except for a one at `(i, j)`: a one-hot cotangent.
    ///
    /// # Panics
    /// When `(i, j)` is outside `rows × cols` (as indexing does), or as [`Tensor::full`].
    /// [`Tensor::try_one_hot`] returns an error instead.
    pub fn one_hot(rows: usize, cols: usize, i: usize, j: usize) -> Self {
        match Self::try_one_hot(rows, cols, i, j) {
            Ok(t) => t,
            Err(e) => panic!("Tensor::one_hot: {e}"),
        }
    }

    /// [`Tensor::one_hot`], with [`Error::Operator`] for an index outside the shape and
    /// the errors of [`Tensor::try_full`].
    pub fn try_one_hot(rows: usize, cols: usize, i: usize, j: usize) -> Result<Self> {
        if i >= rows || j >= cols {
            return Err(Error::Operator {
                op: "one_hot".into(),
                message: format!("index ({i}, {j}) is outside a {rows} x {cols} tensor"),
            });
        }
        let mut t = Self::try_full(rows, cols, 0.0)?;
        // In range: i < rows and j < cols, so j·rows + i < rows·cols = data.len().
        if let Some(x) = t.data.get_mut(j * rows + i) {
            *x = 1.0;
        }
        Ok(t)
    }

    /// `n` evenly spaced values from `a` to `b` inclusive, as an `n × 1` column
    /// (`torch.linspace`). The last value is exactly `b`.
    ///
    /// # Panics
    /// When `n` values do not fit in one allocation, as `Vec` does ("capacity overflow").
    /// [`Tensor::try_linspace`] returns an error instead.
    pub fn linspace(a: f64, b: f64, n: usize) -> Self {
        match Self::try_linspace(a, b, n) {
            Ok(t) => t,
            Err(e) => panic!("Tensor::linspace: {e}"),
        }
    }

    /// [`Tensor::linspace`], with the errors of [`Tensor::try_full`] for an `n` whose
    /// values cannot be allocated.
    pub fn try_linspace(a: f64, b: f64, n: usize) -> Result<Self> {
        let mut t = Self::try_full(n, 1, 0.0)?;
        let values = (0..n).map(|k| {
            if n == 1 {
                a
            } else if k + 1 == n {
                b
            } else {
                a + (b - a) * (k as f64) / ((n - 1) as f64)
            }
        });
        for (x, v) in t.data.iter_mut().zip(values) {
            *x = v;
        }
        Ok(t)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// `(rows, cols)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// All values, column-major.
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// Consumes the tensor into its column-major values.
    pub fn into_vec(self) -> Vec<f64> {
        self.data
    }

    /// Column `j` as a slice (contiguous thanks to column-major storage).
    ///
    /// # Panics
    /// When `j >= cols`, as slice indexing does; [`Tensor::get_col`] returns `None`
    /// instead.
    pub fn col(&self, j: usize) -> &[f64] {
        match self.get_col(j) {
            Some(c) => c,
            None => panic!(
                "Tensor::col: column {j} is outside a tensor of shape {:?}",
                self.shape()
            ),
        }
    }

    /// Column `j` as a slice, or `None` when `j >= cols`.
    pub fn get_col(&self, j: usize) -> Option<&[f64]> {
        if j >= self.cols {
            return None;
        }
        // j < cols, so (j + 1)·rows ≤ rows·cols = data.len(): no overflow, in range.
        self.data.get(j * self.rows..(j + 1) * self.rows)
    }

    /// The value at row `i`, column `j`, or `None` outside the shape (like
    /// [`slice::get`]). `t[(i, j)]` is the panicking form.
    pub fn get(&self, i: usize, j: usize) -> Option<f64> {
        if i >= self.rows || j >= self.cols {
            return None;
        }
        // i < rows and j < cols, so j·rows + i < rows·cols = data.len().
        self.data.get(j * self.rows + i).copied()
    }

    /// A copy as a nalgebra matrix.
    pub fn to_dmatrix(&self) -> DMatrix<f64> {
        DMatrix::from_column_slice(self.rows, self.cols, &self.data)
    }

    /// A tensor from a nalgebra matrix.
    pub fn from_dmatrix(m: &DMatrix<f64>) -> Self {
        Tensor {
            rows: m.nrows(),
            cols: m.ncols(),
            data: m.as_slice().to_vec(),
        }
    }
}

impl From<DMatrix<f64>> for Tensor {
    fn from(m: DMatrix<f64>) -> Self {
        let (rows, cols) = m.shape();
        Tensor {
            rows,
            cols,
            data: m.data.into(),
        }
    }
}

/// `t[(i, j)]`: the value at row `i`, column `j`.
///
/// # Panics
/// When `(i, j)` is outside the shape, as slice indexing does; [`Tensor::get`] returns
/// `None` instead.
impl std::ops::Index<(usize, usize)> for Tensor {
    type Output = f64;
    fn index(&self, (i, j): (usize, usize)) -> &f64 {
        if i >= self.rows || j >= self.cols {
            panic!(
                "index ({i}, {j}) is outside a tensor of shape {:?}",
                self.shape()
            );
        }
        // In range: i < rows and j < cols, so j·rows + i < rows·cols = data.len().
        &self.data[j * self.rows + i]
    }
}
