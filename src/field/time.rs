//! Derivatives in time of values known at a list of times (the files of a solver's series):
//! the derivative of the local Lagrange polynomial through neighbouring times.

use crate::error::{Error, Result};

/// The weights of `∂/∂t` at `times[k]`: `∂u/∂t(t_k) ≈ Σ w_j u(t_j)` over the returned
/// `(j, w_j)`, the derivative at `t_k` of the polynomial through the values at
/// neighbouring times. With three or more times it is the quadratic through `t_{k−1}, t_k,
/// t_{k+1}` (second order, for any spacing), one-sided at the first and last time
/// (`t_0, t_1, t_2` and the last three); with two times it is the line through both
/// (first order). Values linear in time (three or more times: quadratic) give the exact
/// derivative, to round-off.
///
/// ```
/// use nabla::field::time::ddt_weights;
/// let times = [0.0, 1.0, 3.0];
/// // u = t²: u' = 2t, exactly, at every time, from the values 0, 1, 9.
/// for k in 0..3 {
///     let d: f64 = ddt_weights(&times, k).unwrap().iter().map(|&(j, w)| w * times[j].powi(2)).sum();
///     assert!((d - 2.0 * times[k]).abs() < 1e-14);
/// }
/// ```
///
/// # Errors
/// [`Error::Data`] for fewer than two times, times that are not finite or not
/// strictly increasing, or `k` out of range.
pub fn ddt_weights(times: &[f64], k: usize) -> Result<Vec<(usize, f64)>> {
    let n = times.len();
    if n < 2 {
        return Err(Error::Data(format!(
            "ddt needs values at two times or more; the series has {n}"
        )));
    }
    if let Some(i) = times.iter().position(|t| !t.is_finite()) {
        return Err(Error::Data(format!(
            "time {i} is {}; expected finite times",
            times[i]
        )));
    }
    if let Some(i) = (1..n).find(|&i| times[i] <= times[i - 1]) {
        return Err(Error::Data(format!(
            "times {} and {} (at {} and {i}) are not increasing; expected sorted times, each \
             once",
            times[i - 1],
            times[i],
            i - 1
        )));
    }
    if k >= n {
        return Err(Error::Data(format!(
            "time index {k} of a series of {n} times"
        )));
    }
    let stencil: Vec<usize> = match n {
        2 => vec![0, 1],
        _ => {
            let first = k.saturating_sub(1).min(n - 3);
            (first..first + 3).collect()
        }
    };
    let tk = times[k];
    // d/dt of the Lagrange basis polynomial of t_j, at t_k.
    Ok(stencil
        .iter()
        .map(|&j| {
            let tj = times[j];
            let w: f64 = stencil
                .iter()
                .filter(|&&m| m != j)
                .map(|&m| {
                    let rest: f64 = stencil
                        .iter()
                        .filter(|&&i| i != j && i != m)
                        .map(|&i| (tk - times[i]) / (tj - times[i]))
                        .product();
                    rest / (tj - times[m])
                })
                .sum();
            (j, w)
        })
        .collect())
}
