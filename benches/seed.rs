//! The seed article's "know your Jacobian": sin″ over N points through the ones cotangent
//! (J·1, one backward pass) against the dense batch Jacobian (J·I, N cotangents); and
//! sin′ + sin″ at 10⁶ points against the same derivatives written by hand, one thread.

mod common;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use nabla::autodiff::{GradOptions, Tape, Tensor, Var, grad, grad_batched};

/// sin″ at every point with the ones cotangent: 1 + 1 passes.
fn second_derivative_j1(xs: &Tensor) -> Vec<f64> {
    let tape = Tape::new();
    let n = xs.rows();
    let x = tape.var(xs.clone());
    let ones = tape.full(n, 1, 1.0);
    let d = grad(&[x.sin()], &[x], &[ones], GradOptions::create_graph()).unwrap()[0];
    grad(&[d], &[x], &[ones], GradOptions::default()).unwrap()[0]
        .value()
        .unwrap()
        .into_vec()
}

/// sin″ at every point from the dense Hessian J·I: 1 + N passes, one per one-hot cotangent.
fn second_derivative_ji(xs: &Tensor) -> Vec<f64> {
    let tape = Tape::new();
    let n = xs.rows();
    let x = tape.var(xs.clone());
    let ones = tape.full(n, 1, 1.0);
    let d = grad(&[x.sin()], &[x], &[ones], GradOptions::create_graph()).unwrap()[0];
    let eye: Vec<Vec<Var>> = (0..n)
        .map(|k| vec![tape.constant(Tensor::one_hot(n, 1, k, 0))])
        .collect();
    let rows = grad_batched(&[d], &[x], &eye, GradOptions::default()).unwrap();
    rows.iter()
        .enumerate()
        .map(|(k, r)| r[0].value().unwrap()[(k, 0)])
        .collect()
}

/// sin′ and sin″ with the tape, chunk by chunk on one reused tape (as the evaluator does).
fn sin_derivatives_ad(xs: &[f64], out: &mut [f64], chunk: usize, tape: &mut Tape) {
    for (c, o) in xs.chunks(chunk).zip(out.chunks_mut(2 * chunk)) {
        tape.clear();
        let n = c.len();
        let x = tape.var_from_slice(n, 1, c);
        let ones = tape.full(n, 1, 1.0);
        let d = grad(&[x.sin()], &[x], &[ones], GradOptions::create_graph()).unwrap()[0];
        let dd = grad(&[d], &[x], &[ones], GradOptions::default()).unwrap()[0];
        d.with_values(|_, _, v| o[..n].copy_from_slice(v)).unwrap();
        dd.with_values(|_, _, v| o[n..2 * n].copy_from_slice(v))
            .unwrap();
    }
}

/// sin′ = cos, sin″ = −sin by hand, in the same chunked layout.
fn sin_derivatives_by_hand(xs: &[f64], out: &mut [f64], chunk: usize) {
    for (c, o) in xs.chunks(chunk).zip(out.chunks_mut(2 * chunk)) {
        let n = c.len();
        let (d, dd) = o.split_at_mut(n);
        for ((&x, d), dd) in c.iter().zip(d).zip(dd) {
            *d = x.cos();
            *dd = -x.sin();
        }
    }
}

fn main() {
    let mut c = Criterion::default().sample_size(10).configure_from_args();

    let mut g = c.benchmark_group("know_your_jacobian");
    for n in [1001, 4001] {
        let xs = Tensor::linspace(0.0, 1.0, n);
        assert_eq!(second_derivative_j1(&xs), second_derivative_ji(&xs));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("J·1", n), &xs, |b, xs| {
            b.iter(|| second_derivative_j1(black_box(xs)))
        });
        g.bench_with_input(BenchmarkId::new("J·I", n), &xs, |b, xs| {
            b.iter(|| second_derivative_ji(black_box(xs)))
        });
    }
    g.finish();

    let n = 1_000_000;
    let xs = Tensor::linspace(0.0, 1.0, n).into_vec();
    let chunk = 4096;
    let mut ours = vec![0.0; 2 * n];
    let mut hand = vec![0.0; 2 * n];
    let mut tape = Tape::new();
    sin_derivatives_ad(&xs, &mut ours, chunk, &mut tape);
    sin_derivatives_by_hand(&xs, &mut hand, chunk);
    assert_eq!(ours, hand, "sin′ and sin″ must be exact");

    let mut g = c.benchmark_group("sin_first_and_second_1e6_one_thread");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("autodiff", |b| {
        b.iter(|| sin_derivatives_ad(&xs, &mut ours, chunk, &mut tape))
    });
    g.bench_function("hand-written", |b| {
        b.iter(|| sin_derivatives_by_hand(&xs, &mut hand, chunk))
    });
    g.finish();

    for n in [1001, 4001] {
        let xs = Tensor::linspace(0.0, 1.0, n);
        common::ratio(
            &format!("sin'' J·I / J·1 at N = {n}"),
            n,
            3,
            || drop(black_box(second_derivative_ji(&xs))),
            || drop(black_box(second_derivative_j1(&xs))),
        );
    }
    common::ratio(
        "sin' + sin'' at 1e6 points, one thread: autodiff / hand-written",
        n,
        10,
        || sin_derivatives_ad(&xs, &mut ours, chunk, &mut tape),
        || sin_derivatives_by_hand(&xs, &mut hand, chunk),
    );
    c.final_summary();
}
