//! A network's jets by fused kernels: the values of an [`Mlp`]'s outputs at a batch of
//! points, their first derivatives along chosen inputs and chosen second-order entries,
//! in one forward pass; and the parameter gradient of anything computed from them, given
//! their cotangents, in one backward pass.
//!
//! The blocks of a layer are stacked row-wise (`S = blocks · n` rows, column-major like
//! every tensor here): the values, then one block per direction (`∂/∂x_a`), then one per
//! second-order entry (`Σ ∂²/∂x_a∂x_b` over its pairs). A linear layer maps every block by
//! the same weights, so one matrix product serves them all, and the bias enters the
//! values only. An elementwise `σ` maps them as the jet rules of `autodiff::forward` do:
//!
//! `y = σ(z)`, `y_a = σ′(z) z_a`, `y_e = σ′(z) z_e + σ″(z) Σ_(a,b) z_a z_b`.
//!
//! This is what recording the network on a tape and sweeping it with
//! [`crate::autodiff::jets_with`] computes, without about ten recorded ops per layer and a
//! matrix product per block; the backward pass is that sweep's reverse mode written out
//! (the same gradient to round-off). The residual built from the outputs stays on the
//! tape: the outputs and derivatives become its leaves, and their cotangents come back
//! here. `tanh` runs in vector lanes ([`crate::autodiff::tanh`], within 2 ulp of the C
//! library's that the tape's op uses), so a trained network evaluated on a tape (its
//! output, `Mlp::predict`) differs from its training passes by that round-off.

use std::cell::RefCell;

use crate::autodiff::{gemm, tanh};
use crate::error::{Error, Result};
use crate::pinn::mlp::{Activation, Mlp};

/// Which derivatives a pass carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The inputs differentiated along: direction block `1 + k` is `∂/∂x_dirs[k]`.
    dirs: Vec<usize>,
    /// The second-order entries, as pairs of indices into `dirs`.
    entries: Vec<Vec<(usize, usize)>>,
}

impl Plan {
    /// A plan for first derivatives along `firsts` and the second-order `entries` (pairs
    /// of input indices, summed); the directions are those either names, once each.
    pub fn new(firsts: &[usize], entries: &[Vec<(usize, usize)>]) -> Plan {
        let mut dirs: Vec<usize> = firsts
            .iter()
            .copied()
            .chain(entries.iter().flatten().flat_map(|&(a, b)| [a, b]))
            .collect();
        dirs.sort_unstable();
        dirs.dedup();
        let slot = |a: usize| dirs.binary_search(&a).unwrap_or(0);
        let entries = entries
            .iter()
            .map(|e| e.iter().map(|&(a, b)| (slot(a), slot(b))).collect())
            .collect();
        Plan { dirs, entries }
    }

    /// Blocks per layer: the values, the directions, the entries.
    pub fn blocks(&self) -> usize {
        1 + self.dirs.len() + self.entries.len()
    }

    /// The block of `∂/∂x_input`, if the plan carries it.
    pub fn direction_block(&self, input: usize) -> Option<usize> {
        self.dirs.binary_search(&input).ok().map(|k| 1 + k)
    }

    /// The block of second-order entry `e`.
    pub fn entry_block(&self, e: usize) -> usize {
        1 + self.dirs.len() + e
    }
}

/// One forward pass: the outputs' blocks and what the backward pass needs.
pub(crate) struct Jets {
    /// Points of the batch.
    pub n: usize,
    /// Stacked rows: `blocks · n`.
    pub rows: usize,
    /// Each layer's input (`rows × inputs`), the first one the seeded coordinates.
    inputs: Vec<Vec<f64>>,
    /// Each hidden layer's pre-activation (`rows × width`).
    pre: Vec<Vec<f64>>,
    /// `σ′, σ″, σ‴` at each hidden layer's values (`n × width` each).
    slopes: Vec<[Vec<f64>; 3]>,
    /// The outputs, `rows × outputs`: output `o`'s block `b` is
    /// `out[o·rows + b·n..][..n]`.
    pub out: Vec<f64>,
}

/// `y = σ(z)` and `s = (σ′, σ″, σ‴)` at `z`, elementwise over a column.
fn activation(act: Activation, z: &[f64], y: &mut [f64], s: [&mut [f64]; 3]) {
    let [s1, s2, s3] = s;
    match act {
        Activation::Tanh => {
            tanh(z, y);
            for i in 0..z.len() {
                let t = y[i];
                let d = 1.0 - t * t;
                (s1[i], s2[i], s3[i]) = (d, -2.0 * t * d, d * (6.0 * t * t - 2.0));
            }
        }
        Activation::Sin => {
            for i in 0..z.len() {
                let (v, c) = z[i].sin_cos();
                (y[i], s1[i], s2[i], s3[i]) = (v, c, -v, -c);
            }
        }
        Activation::Softplus => {
            for i in 0..z.len() {
                // As the tape's softplus and sigmoid compute them.
                let v = z[i];
                y[i] = v.max(0.0) + (-v.abs()).exp().ln_1p();
                let sg = if v >= 0.0 {
                    1.0 / (1.0 + (-v).exp())
                } else {
                    let e = v.exp();
                    e / (1.0 + e)
                };
                let d2 = sg * (1.0 - sg);
                (s1[i], s2[i], s3[i]) = (sg, d2, d2 * (1.0 - 2.0 * sg));
            }
        }
    }
}

thread_local! {
    /// Buffers of finished passes, reused by the next ones on the same thread: a pass
    /// allocates megabytes, and fresh pages cost more than the arithmetic on them.
    static SPARE: RefCell<Vec<Vec<f64>>> = const { RefCell::new(Vec::new()) };
}

/// At most this many spare buffers are kept per thread.
const MAX_SPARE: usize = 32;

/// An empty buffer with room for `len` values: the smallest spare one that holds them,
/// else the largest (grown), so that small requests do not take the large buffers.
fn buffer(len: usize) -> Vec<f64> {
    let mut v = spare(len);
    v.clear();
    v.reserve(len);
    v
}

/// A buffer of `len` values left from an earlier pass (zeros only where it was shorter),
/// for an output that every element of is written before it is read: a spare buffer of
/// the same size is then taken as it is, without a pass that zeroes it (5 % of a
/// training step of a 3×20 network).
fn overwritten(len: usize) -> Vec<f64> {
    let mut v = spare(len);
    v.truncate(len);
    v.resize(len, 0.0);
    v
}

/// The smallest spare buffer with room for `len` values, else the largest, as it was
/// recycled (an empty one where there is none).
fn spare(len: usize) -> Vec<f64> {
    SPARE
        .with(|s| {
            let mut s = s.borrow_mut();
            let fits = (0..s.len())
                .filter(|&i| s[i].capacity() >= len)
                .min_by_key(|&i| s[i].capacity());
            let pick = fits.or_else(|| (0..s.len()).max_by_key(|&i| s[i].capacity()));
            pick.map(|i| s.swap_remove(i))
        })
        .unwrap_or_default()
}

/// A buffer of `len` zeros.
fn zeros(len: usize) -> Vec<f64> {
    let mut v = buffer(len);
    v.resize(len, 0.0);
    v
}

fn recycle(v: Vec<f64>) {
    SPARE.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < MAX_SPARE {
            s.push(v);
        }
    });
}

impl Drop for Jets {
    fn drop(&mut self) {
        let all = self.inputs.drain(..).chain(self.pre.drain(..));
        all.chain(self.slopes.drain(..).flatten())
            .chain([std::mem::take(&mut self.out)])
            .for_each(recycle);
    }
}

/// `c = op(a) · op(b)`, in a reused buffer.
fn product(
    a: &[f64],
    sa: (usize, usize),
    ta: bool,
    b: &[f64],
    sb: (usize, usize),
    tb: bool,
) -> Vec<f64> {
    let m = if ta { sa.1 } else { sa.0 };
    let n = if tb { sb.0 } else { sb.1 };
    let mut c = buffer(m * n);
    gemm(a, sa, ta, b, sb, tb, &mut c);
    c
}

/// `q = Σ_(a,c) z_a z_c` over the direction blocks `z[1 + a]` of one column.
fn pair_sum(pairs: &[(usize, usize)], col: &[f64], n: usize, q: &mut [f64]) {
    q.fill(0.0);
    for &(a, c) in pairs {
        let (za, zc) = (&col[(1 + a) * n..][..n], &col[(1 + c) * n..][..n]);
        for ((q, x), y) in q.iter_mut().zip(za).zip(zc) {
            *q += x * y;
        }
    }
}

/// The network `mlp` at the points `x` (one column of `n` coordinates per input) with
/// the derivatives of `plan`. `keep`: keep what [`backward`] needs.
///
/// # Errors
/// [`Error::Operator`] for a number of columns other than the network's inputs, columns
/// of different lengths, or a direction outside the inputs.
pub(crate) fn forward(mlp: &Mlp, plan: &Plan, x: &[&[f64]], keep: bool) -> Result<Jets> {
    let d = mlp.input_dim();
    let n = x.first().map_or(0, |c| c.len());
    let bad = |message: String| {
        Err(Error::Operator {
            op: "network".into(),
            message,
        })
    };
    if x.len() != d {
        return bad(format!(
            "a network of {d} inputs evaluated on {} columns of coordinates",
            x.len()
        ));
    }
    if n == 0 {
        return bad("a network evaluated on no points".into());
    }
    if let Some(c) = x.iter().position(|c| c.len() != n) {
        return bad(format!(
            "coordinate column {c} has {} points, column 0 has {n}",
            x[c].len()
        ));
    }
    if let Some(a) = plan.dirs.iter().find(|&&a| a >= d) {
        return bad(format!("a derivative along input {a} of {d}"));
    }
    let rows = plan.blocks() * n;
    // The seeded coordinates: values, then ones along each direction, then zeros.
    let mut h = zeros(rows * d);
    for (a, col) in x.iter().enumerate() {
        h[a * rows..a * rows + n].copy_from_slice(col);
        if let Some(b) = plan.direction_block(a) {
            h[a * rows + b * n..a * rows + (b + 1) * n].fill(1.0);
        }
    }
    let layers = mlp.layers();
    let mut jets = Jets {
        n,
        rows,
        inputs: Vec::new(),
        pre: Vec::new(),
        slopes: Vec::new(),
        out: Vec::new(),
    };
    let mut q = vec![0.0; n];
    for (l, layer) in layers.iter().enumerate() {
        let (k, w) = (layer.inputs, layer.outputs);
        let mut z = product(&h, (rows, k), false, &layer.weights, (k, w), false);
        for (col, &b) in z.chunks_exact_mut(rows).zip(&layer.bias) {
            col[..n].iter_mut().for_each(|v| *v += b);
        }
        if l + 1 == layers.len() {
            if keep {
                jets.inputs.push(h);
            } else {
                recycle(h);
            }
            jets.out = z;
            break;
        }
        // Every element of y and of the slopes is written below (the activation writes
        // the values and all three slopes; the loops every direction and entry block).
        let mut y = overwritten(rows * w);
        let mut s = [overwritten(n * w), overwritten(n * w), overwritten(n * w)];
        let [s1, s2, s3] = &mut s;
        let cols = z.chunks_exact(rows).zip(y.chunks_exact_mut(rows));
        let slopes = s1
            .chunks_exact_mut(n)
            .zip(s2.chunks_exact_mut(n))
            .zip(s3.chunks_exact_mut(n));
        for ((zc, yc), ((s1, s2), s3)) in cols.zip(slopes) {
            let (y0, yd) = yc.split_at_mut(n);
            activation(mlp.activation(), &zc[..n], y0, [s1, s2, s3]);
            // y_a = σ′ z_a, then y_e = σ′ z_e + σ″ q_e.
            let (yb, ye) = yd.split_at_mut(plan.dirs.len() * n);
            for (yb, zb) in yb.chunks_exact_mut(n).zip(zc[n..].chunks_exact(n)) {
                for ((y, z), s) in yb.iter_mut().zip(zb).zip(s1.iter()) {
                    *y = s * z;
                }
            }
            for (e, (pairs, ye)) in plan.entries.iter().zip(ye.chunks_exact_mut(n)).enumerate() {
                pair_sum(pairs, zc, n, &mut q);
                let ze = &zc[plan.entry_block(e) * n..][..n];
                for (((y, z), q), (a, b)) in
                    ye.iter_mut().zip(ze).zip(&q).zip(s1.iter().zip(s2.iter()))
                {
                    *y = a * z + b * q;
                }
            }
        }
        if keep {
            jets.inputs.push(std::mem::replace(&mut h, y));
            jets.pre.push(z);
            jets.slopes.push(s);
        } else {
            recycle(std::mem::replace(&mut h, y));
            recycle(z);
            s.into_iter().for_each(recycle);
        }
    }
    Ok(jets)
}

/// The gradient with respect to `mlp`'s parameters (in the order of [`Mlp::params`]) of
/// a function of the outputs of `jets` (a [`forward`] pass with `keep`), given its
/// cotangent `g` of the outputs' shape (`rows × outputs`), added to `grad`.
pub(crate) fn backward(mlp: &Mlp, plan: &Plan, jets: &Jets, g: Vec<f64>, grad: &mut [f64]) {
    let (n, rows) = (jets.n, jets.rows);
    let layers = mlp.layers();
    // Each layer's parameter offset in the flat vector.
    let mut offsets = Vec::with_capacity(layers.len());
    let mut off = 0;
    for l in layers {
        offsets.push(off);
        off += l.weights.len() + l.bias.len();
    }
    let mut gz = g;
    for l in (0..layers.len()).rev() {
        let layer = &layers[l];
        let (k, w) = (layer.inputs, layer.outputs);
        if l + 1 < layers.len() {
            // `activation_backward` writes every element of gz before it adds to any.
            let gy = std::mem::replace(&mut gz, overwritten(rows * w));
            activation_backward(plan, (n, rows), &jets.pre[l], &jets.slopes[l], &gy, &mut gz);
            recycle(gy);
        }
        let gw = product(&jets.inputs[l], (rows, k), true, &gz, (rows, w), false);
        let at = offsets[l];
        for (t, v) in grad[at..at + k * w].iter_mut().zip(&gw) {
            *t += v;
        }
        recycle(gw);
        for (t, col) in grad[at + k * w..at + k * w + w]
            .iter_mut()
            .zip(gz.chunks_exact(rows))
        {
            *t += col[..n].iter().sum::<f64>();
        }
        if l > 0 {
            let next = product(&gz, (rows, w), false, &layer.weights, (k, w), true);
            recycle(std::mem::replace(&mut gz, next));
        }
    }
    recycle(gz);
}

/// The cotangent `gz` (any values on entry: every element is written first) of a hidden
/// layer's pre-activation `z` from that of its output, `gy`.
fn activation_backward(
    plan: &Plan,
    (n, rows): (usize, usize),
    z: &[f64],
    slopes: &[Vec<f64>; 3],
    gy: &[f64],
    gz: &mut [f64],
) {
    let dirs = plan.dirs.len();
    let mut q = vec![0.0; n];
    let mut t = vec![0.0; n];
    let columns = z
        .chunks_exact(rows)
        .zip(gy.chunks_exact(rows))
        .zip(gz.chunks_exact_mut(rows));
    let slopes = slopes[0]
        .chunks_exact(n)
        .zip(slopes[1].chunks_exact(n))
        .zip(slopes[2].chunks_exact(n));
    for (((zc, gyc), gzc), ((s1, s2), s3)) in columns.zip(slopes) {
        let (g0, rest) = gzc.split_at_mut(n);
        for ((g, s), y) in g0.iter_mut().zip(s1).zip(&gyc[..n]) {
            *g = s * y;
        }
        // y_a = σ′ z_a: z̄ += σ″ ȳ_a z_a, z̄_a = σ′ ȳ_a.
        let (gb, ge) = rest.split_at_mut(dirs * n);
        for (b, gzb) in gb.chunks_exact_mut(n).enumerate() {
            let (zb, gyb) = (&zc[(1 + b) * n..][..n], &gyc[(1 + b) * n..][..n]);
            for ((((g, gd), (a, c)), y), x) in g0
                .iter_mut()
                .zip(gzb.iter_mut())
                .zip(s1.iter().zip(s2))
                .zip(gyb)
                .zip(zb)
            {
                *g += c * y * x;
                *gd = a * y;
            }
        }
        // y_e = σ′ z_e + σ″ q_e, q_e = Σ z_a z_c.
        for (e, (pairs, gze)) in plan.entries.iter().zip(ge.chunks_exact_mut(n)).enumerate() {
            let b = plan.entry_block(e);
            let (ze, gye) = (&zc[b * n..][..n], &gyc[b * n..][..n]);
            pair_sum(pairs, zc, n, &mut q);
            for ((((g, gd), y), (x, q)), ((a, c), d)) in g0
                .iter_mut()
                .zip(gze.iter_mut())
                .zip(gye)
                .zip(ze.iter().zip(&q))
                .zip(s1.iter().zip(s2).zip(s3))
            {
                *g += y * (c * x + d * q);
                *gd = a * y;
            }
            // σ″ ȳ_e, then its share to each direction of the pairs.
            for ((t, c), y) in t.iter_mut().zip(s2).zip(gye) {
                *t = c * y;
            }
            for &(a, c) in pairs {
                for (x, y) in [(a, c), (c, a)] {
                    let zy = &zc[(1 + y) * n..][..n];
                    for ((g, t), v) in gb[x * n..(x + 1) * n].iter_mut().zip(&t).zip(zy) {
                        *g += t * v;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::{GradOptions, Tape, grad, jets_with};

    /// The fused pass against the network recorded on a tape and swept by `jets_with`,
    /// and its backward pass against reverse mode over that sweep, for every activation,
    /// with a direction that only an entry names and a mixed entry.
    #[test]
    fn fused_jets_match_the_tape() {
        let n = 7;
        let cols: Vec<Vec<f64>> = (0..3)
            .map(|a| (0..n).map(|i| ((i * 3 + a) as f64 * 0.37).sin()).collect())
            .collect();
        let entries = vec![vec![(0, 0), (2, 2)], vec![(0, 2)]];
        let plan = Plan::new(&[1], &entries);
        assert_eq!(plan.blocks(), 1 + 3 + 2);
        for act in Activation::ALL {
            let mlp = Mlp::new(3, &[5, 4], 2, act, 7).unwrap();
            let x: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
            let jets = forward(&mlp, &plan, &x, true).unwrap();
            let tape = Tape::new();
            let net = mlp.on_tape(&tape, true);
            let xs: Vec<_> = cols.iter().map(|c| tape.var_from_slice(n, 1, c)).collect();
            let out = net.forward(&xs);
            let tj = jets_with(&out, &xs, &entries).unwrap();
            // A weighted sum of every block, differentiated both ways.
            let mut cot = vec![0.0; jets.out.len()];
            let mut loss = None;
            for (o, j) in tj.iter().enumerate() {
                let mut blocks = vec![(0, j.value)];
                blocks.extend((0..3).map(|a| (plan.direction_block(a).unwrap(), j.grad[a])));
                blocks.extend((0..2).map(|e| (plan.entry_block(e), j.second[e])));
                for (b, v) in blocks {
                    let ours = &jets.out[o * jets.rows + b * n..][..n];
                    let theirs = v.value().unwrap();
                    for (a, t) in ours.iter().zip(theirs.as_slice()) {
                        assert!((a - t).abs() <= 1e-13 * (1.0 + t.abs()), "{act:?} {b}");
                    }
                    let wgt: Vec<f64> = (0..n).map(|i| ((i + b + o) as f64).cos()).collect();
                    cot[o * jets.rows + b * n..][..n].copy_from_slice(&wgt);
                    let term = (v * tape.constant_from_slice(n, 1, &wgt)).sum();
                    loss = Some(loss.map_or(term, |l| l + term));
                }
            }
            let g = grad(&[loss.unwrap()], &net.params(), &[], GradOptions::default()).unwrap();
            let theirs: Vec<f64> = g
                .iter()
                .flat_map(|v| v.value().unwrap().as_slice().to_vec())
                .collect();
            let mut ours = vec![0.0; mlp.num_params()];
            backward(&mlp, &plan, &jets, cot, &mut ours);
            for (a, t) in ours.iter().zip(&theirs) {
                assert!(
                    (a - t).abs() <= 1e-12 * (1.0 + t.abs()),
                    "{act:?}: {a} vs {t}"
                );
            }
        }
    }

    #[test]
    fn wrong_columns_are_errors() {
        let mlp = Mlp::new(2, &[3], 1, Activation::Tanh, 1).unwrap();
        let a = [0.0, 1.0];
        let message = |x: &[&[f64]], plan: &Plan| match forward(&mlp, plan, x, false) {
            Err(e) => e.to_string(),
            Ok(_) => String::new(),
        };
        assert!(message(&[&a], &Plan::default()).contains("2 inputs evaluated on 1 columns"));
        assert!(message(&[&a, &a[..1]], &Plan::default()).contains("column 1 has 1 points"));
        assert!(message(&[&a[..0], &a[..0]], &Plan::default()).contains("no points"));
        assert!(message(&[&a, &a], &Plan::new(&[2], &[])).contains("along input 2 of 2"));
        assert!(forward(&mlp, &Plan::new(&[1], &[]), &[&a, &a], false).is_ok());
    }
}
