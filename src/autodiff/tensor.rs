//! Owned 2-D f64 tensors: the values that go onto and come off a tape.

use nalgebra::DMatrix;

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

impl Tensor {
    /// A tensor from column-major data. Returns `None` when `data.len() != rows * cols`.
    pub fn from_col_major(rows: usize, cols: usize, data: Vec<f64>) -> Option<Self> {
        (data.len() == rows * cols).then_some(Tensor { rows, cols, data })
    }

    /// A tensor from row-major data (the order in which one writes a matrix down).
    /// Returns `None` when `data.len() != rows * cols`.
    pub fn from_row_major(rows: usize, cols: usize, data: &[f64]) -> Option<Self> {
        if data.len() != rows * cols {
            return None;
        }
        let mut out = vec![0.0; rows * cols];
        for i in 0..rows {
            for j in 0..cols {
                out[j * rows + i] = data[i * cols + j];
            }
        }
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

    /// A tensor filled with `v`.
    pub fn full(rows: usize, cols: usize, v: f64) -> Self {
        Tensor {
            rows,
            cols,
            data: vec![v; rows * cols],
        }
    }

    /// A tensor of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self::full(rows, cols, 0.0)
    }

    /// A tensor of ones: the cotangent `v = 1` of the seed article.
    pub fn ones(rows: usize, cols: usize) -> Self {
        Self::full(rows, cols, 1.0)
    }

    /// The tensor that is zero except for a one at `(i, j)`: a one-hot cotangent.
    pub fn one_hot(rows: usize, cols: usize, i: usize, j: usize) -> Self {
        let mut t = Self::zeros(rows, cols);
        t.data[j * rows + i] = 1.0;
        t
    }

    /// `n` evenly spaced values from `a` to `b` inclusive, as an `n × 1` column
    /// (`torch.linspace`). The last value is exactly `b`.
    pub fn linspace(a: f64, b: f64, n: usize) -> Self {
        let data = (0..n)
            .map(|k| {
                if n == 1 {
                    a
                } else if k + 1 == n {
                    b
                } else {
                    a + (b - a) * (k as f64) / ((n - 1) as f64)
                }
            })
            .collect();
        Tensor::column(data)
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
    pub fn col(&self, j: usize) -> &[f64] {
        &self.data[j * self.rows..(j + 1) * self.rows]
    }

    /// The value at row `i`, column `j`.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        assert!(i < self.rows && j < self.cols, "index out of bounds");
        self.data[j * self.rows + i]
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
