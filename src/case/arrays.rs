//! The arrays a run writes: planar vectors and tensors embedded in 3-D as ParaView expects,
//! the input arrays carried beside the results, and the selection `[output] arrays`.
//!
//! ParaView's convention for 2-D data is 3-D data with z = 0: its Glyph and Stream Tracer
//! list only 3-component arrays as vectors, and tensors have 9 components. So on 2-D
//! points a vector (`U`, `grad(p)`, `advection(U)`, `lap(U)`, their `error(…)`) is written
//! with a third component 0, and a 2 × 2 tensor (`grad(U)`, `jacobian(U)`, `hessian(p)`) as
//! the 3 × 3 tensor with a zero last row and column. Scalars (the 2-D `curl(U)`, `Q`, …)
//! stay scalars. The summary keeps the computed shapes.

use std::collections::{HashMap, HashSet};

use super::fields::BuiltField;
use super::load::Case;
use crate::error::Result;
use crate::eval::{Array, Operator};
use crate::io::PointArray;

/// The shape of an array in the plane, before it is embedded in 3-D.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// A vector of this many components.
    Vector(usize),
    /// A row-major matrix of this many rows and columns.
    Matrix(usize, usize),
}

/// The shape of operator `op` of a field of `m` components on `d`-D points, where it is a
/// vector or a matrix of at most 3 rows and columns.
fn shape(op: Operator, m: usize, d: usize) -> Option<Shape> {
    let of_value = |n: usize| {
        if n == d {
            Some(Shape::Vector(d))
        } else if n == d * d {
            Some(Shape::Matrix(d, d))
        } else {
            None
        }
    };
    let s = match op {
        Operator::Value | Operator::Lap | Operator::Advection | Operator::Ddt | Operator::DDt => {
            of_value(m)?
        }
        // (∇U)ᵢⱼ = ∂uⱼ/∂xᵢ: d rows of m; J[i][j] = ∂uᵢ/∂xⱼ: m rows of d.
        Operator::Grad if m == 1 => Shape::Vector(d),
        Operator::Grad => Shape::Matrix(d, m),
        Operator::Jacobian if m == 1 => Shape::Vector(d),
        Operator::Jacobian => Shape::Matrix(m, d),
        Operator::Hessian => Shape::Matrix(d, d),
        _ => return None,
    };
    match s {
        Shape::Vector(n) if n < 3 => Some(s),
        Shape::Matrix(r, c) if r <= 3 && c <= 3 && (r, c) != (3, 3) => Some(s),
        _ => None,
    }
}

/// The arrays of the fields `built` on `d`-D points (and the MMS momentum source) that are
/// vectors or matrices to embed in 3-D, by name; empty for 3-D points.
pub(super) fn planar_shapes(built: &[BuiltField<'_>], d: usize) -> HashMap<String, Shape> {
    let mut out = HashMap::new();
    if d >= 3 {
        return out;
    }
    for b in built.iter().filter(|b| b.dim < 3) {
        let m = b.field.components();
        for &op in &b.ops {
            if let Some(s) = shape(op, m, d) {
                let name = op.array_name(&b.name);
                out.insert(format!("error({name})"), s);
                out.insert(name, s);
            }
        }
    }
    for name in ["momentum_source", "error(momentum_source)"] {
        out.insert(name.to_string(), Shape::Vector(d));
    }
    out
}

/// Embeds the arrays named in `shapes` in 3-D: vectors get 3 components, matrices 9 (3 × 3,
/// row-major), with zeros for the missing coordinate.
pub(super) fn embed(arrays: &mut [Array], shapes: &HashMap<String, Shape>) {
    for a in arrays {
        let Some(&s) = shapes.get(&a.name) else {
            continue;
        };
        let (rows, cols) = match s {
            Shape::Vector(n) => (n, 1),
            Shape::Matrix(r, c) => (r, c),
        };
        if a.components != rows * cols {
            debug_assert!(false, "internal: {} is not {rows} × {cols}", a.name);
            continue;
        }
        let out_cols = if cols == 1 { 1 } else { 3 };
        let per_point = 3 * out_cols;
        let points = a.values.len() / a.components.max(1);
        let mut values = vec![0.0; points * per_point];
        for (p, v) in a.values.chunks_exact(a.components).enumerate() {
            let out = &mut values[p * per_point..(p + 1) * per_point];
            for i in 0..rows {
                for j in 0..cols {
                    out[i * out_cols + j] = v[i * cols + j];
                }
            }
        }
        a.components = per_point;
        a.values = values;
    }
}

/// Appends the input arrays; one whose name a result already has is written as
/// `NAME (input)`. On 2-D points a 2-component input array is written as a vector with
/// z = 0.
pub(super) fn carry(arrays: &mut Vec<Array>, carried: &[PointArray], d: usize) {
    let names = carried_names(arrays.iter().map(|a| a.name.clone()).collect(), carried);
    for (c, name) in carried.iter().zip(names) {
        let mut a = Array {
            name,
            components: c.components,
            values: c.values.clone(),
        };
        if d == 2 && c.components == 2 {
            let shapes = HashMap::from([(a.name.clone(), Shape::Vector(2))]);
            embed(std::slice::from_mut(&mut a), &shapes);
        }
        arrays.push(a);
    }
}

/// The names the arrays `carried` get beside the arrays `names` (a set of the names
/// taken: linear in the number of arrays).
fn carried_names(names: Vec<String>, carried: &[PointArray]) -> Vec<String> {
    let mut taken: HashSet<String> = names.into_iter().collect();
    let mut out = Vec::with_capacity(carried.len());
    for c in carried {
        let mut name = c.name.clone();
        while taken.contains(&name) {
            name += " (input)";
        }
        taken.insert(name.clone());
        out.push(name);
    }
    out
}

/// The names under which the arrays `carried` are written beside the arrays `computed`:
/// `None` for one that is not written (`[data] carry = false`, or not among `[output]
/// arrays`).
pub(super) fn written_carried_names(
    case: &Case,
    computed: &[String],
    carried: &[PointArray],
) -> Vec<Option<String>> {
    if case.spec.data.as_ref().and_then(|d| d.carry) == Some(false) {
        return vec![None; carried.len()];
    }
    let selected: Option<HashSet<&str>> = case
        .spec
        .output
        .arrays
        .as_ref()
        .map(|s| s.iter().map(String::as_str).collect());
    carried_names(computed.to_vec(), carried)
        .into_iter()
        .map(|n| match &selected {
            Some(s) if !s.contains(n.as_str()) => None,
            _ => Some(n),
        })
        .collect()
}

/// Checks `[output] arrays` against the names of the arrays the run would write
/// (`computed`, then the `carried` input arrays): every name must be one of them.
///
/// # Errors
/// An [`Error::Input`](crate::error::Error::Input) at the unknown name, listing the
/// arrays the case writes.
pub(super) fn check_selection(
    case: &Case,
    computed: &[String],
    carried: &[PointArray],
) -> Result<()> {
    let Some(selected) = &case.spec.output.arrays else {
        return Ok(());
    };
    let mut all = computed.to_vec();
    all.extend(carried_names(computed.to_vec(), carried));
    let known: HashSet<&str> = all.iter().map(String::as_str).collect();
    if selected.is_empty() {
        return Err(case.input.error_key(
            "output.arrays",
            format!(
                "output.arrays is empty; expected the names of the arrays to write, among: {}",
                all.join(", ")
            ),
        ));
    }
    for (k, name) in selected.iter().enumerate() {
        if !known.contains(name.as_str()) {
            return Err(case.input.error_key(
                &format!("output.arrays.{k}"),
                format!(
                    "output.arrays: this case writes no array named '{name}'; expected one of: {}",
                    all.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Keeps only the arrays `[output] arrays` selects (all of them without it), in the
/// order of the run.
pub(super) fn select(case: &Case, arrays: &mut Vec<Array>) {
    if let Some(selected) = &case.spec.output.arrays {
        let selected: HashSet<&str> = selected.iter().map(String::as_str).collect();
        arrays.retain(|a| selected.contains(a.name.as_str()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planar_matrices_gain_a_zero_row_and_column() {
        // grad(U) of a 2-D velocity: [[a, b], [c, d]] -> [[a, b, 0], [c, d, 0], [0, 0, 0]].
        let mut a = [Array {
            name: "g".into(),
            components: 4,
            values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
        }];
        embed(
            &mut a,
            &HashMap::from([("g".to_string(), Shape::Matrix(2, 2))]),
        );
        assert_eq!(a[0].components, 9);
        assert_eq!(
            a[0].values,
            [
                1., 2., 0., 3., 4., 0., 0., 0., 0., 5., 6., 0., 7., 8., 0., 0., 0., 0.
            ]
        );
        // grad of a 3-component field on 2-D points: 2 rows of 3 -> a zero last row.
        assert_eq!(shape(Operator::Grad, 3, 2), Some(Shape::Matrix(2, 3)));
        assert_eq!(shape(Operator::Jacobian, 3, 2), Some(Shape::Matrix(3, 2)));
        assert_eq!(shape(Operator::Curl, 2, 2), None);
        assert_eq!(shape(Operator::Grad, 3, 3), None);
    }
}
