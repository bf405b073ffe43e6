//! A data field at 10⁶ points: Taylor–Green velocities sampled at 10⁶ random points of the
//! unit cube, reconstructed with degree 2 (20 nearest neighbours), and its Jacobian and Q at
//! the same points; the time split between the build (checks, merge, the samples' order),
//! the stencils with the fits, and the derivatives; and a RATIO against a hand-written
//! weighted least-squares quadratic fit with kiddo's k-nearest queries, solved by nalgebra,
//! in the same run. (The stencils are the same sets up to ties of distance, which random
//! samples do not have; the fits agree to round-off.)

mod common;

use std::f64::consts::PI;
use std::hint::black_box;
use std::num::NonZero;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use kiddo::{ImmutableKdTree, SquaredEuclidean};
use nabla::eval::{EvalOptions, Operator, Points, evaluate};
use nabla::field::data::{DataField, Reconstruction};
use nabla::operators::flow;
use nalgebra::{Matrix3, SMatrix};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

const N: usize = 1_000_000;
/// Monomials of degree ≤ 2 in 3 variables, and the default stencil: twice as many samples.
const P: usize = 10;
const K: usize = 2 * P;
/// Output values per point: the Jacobian (row-major) and Q.
const OUT: usize = 10;

fn cloud(n: usize) -> Vec<[f64; 3]> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    (0..n)
        .map(|_| [0; 3].map(|_| rng.random_range(0.0..1.0)))
        .collect()
}

/// Taylor–Green velocity with one period across the unit cube.
fn taylor_green(x: &[f64; 3]) -> [f64; 3] {
    let [x, y, z] = x.map(|c| 2.0 * PI * c);
    [
        x.sin() * y.cos() * z.cos(),
        -x.cos() * y.sin() * z.cos(),
        0.0,
    ]
}

/// The monomials of degree ≤ 2 at the scaled offset `s`.
fn monomials(s: [f64; 3]) -> [f64; P] {
    let [x, y, z] = s;
    [1.0, x, y, z, x * x, x * y, x * z, y * y, y * z, z * z]
}

/// How the hand-written reference solves its least-squares problems.
#[derive(Clone, Copy)]
enum Solve {
    /// Householder QR of the weighted Vandermonde matrix (what the data field does).
    Qr,
    /// Cholesky of the normal equations (cheaper, squares the condition number).
    Normal,
}

/// The hand-written reference: for each point, its `K` nearest samples (kiddo), the
/// weights `exp(−8 r²/h²)` of the data field (h: distance to the farthest), a quadratic in
/// the scaled offsets fitted by nalgebra, the Jacobian from the linear coefficients, and Q.
fn by_hand(
    tree: &ImmutableKdTree<f64, 3>,
    samples: &[[f64; 3]],
    values: &[f64],
    at: &[[f64; 3]],
    solve: Solve,
) -> Vec<f64> {
    let mut out = vec![0.0; at.len() * OUT];
    let k = NonZero::new(K).unwrap();
    out.par_chunks_mut(OUT * 2048)
        .zip(at.par_chunks(2048))
        .for_each(|(o, q)| {
            for (o, q) in o.chunks_mut(OUT).zip(q) {
                let nb = tree.nearest_n::<SquaredEuclidean>(q, k);
                let h = nb.iter().map(|n| n.distance).fold(0.0, f64::max).sqrt();
                let mut a = SMatrix::<f64, K, P>::zeros();
                let mut b = SMatrix::<f64, K, 3>::zeros();
                for (r, n) in nb.iter().enumerate() {
                    let x = samples[n.item as usize];
                    let s = [0, 1, 2].map(|d| (x[d] - q[d]) / h);
                    let w = (-8.0 * (s[0] * s[0] + s[1] * s[1] + s[2] * s[2]))
                        .exp()
                        .sqrt();
                    for (c, m) in monomials(s).into_iter().enumerate() {
                        a[(r, c)] = w * m;
                    }
                    for c in 0..3 {
                        b[(r, c)] = w * values[3 * n.item as usize + c];
                    }
                }
                let coef: SMatrix<f64, P, 3> = match solve {
                    Solve::Qr => {
                        let qr = a.qr();
                        let rhs = qr.q().transpose() * b;
                        qr.r()
                            .solve_upper_triangular(&rhs)
                            .unwrap_or_else(SMatrix::zeros)
                    }
                    Solve::Normal => (a.transpose() * a)
                        .cholesky()
                        .map_or_else(SMatrix::zeros, |ch| ch.solve(&(a.transpose() * b))),
                };
                // J[i][j] = ∂uᵢ/∂xⱼ = c_{1+j, i} / h.
                let j = Matrix3::from_fn(|i, jj| coef[(1 + jj, i)] / h);
                for i in 0..3 {
                    for jj in 0..3 {
                        o[3 * i + jj] = j[(i, jj)];
                    }
                }
                o[9] = flow::q_criterion(&j);
            }
        });
    out
}

/// The stencil queries alone, as the data field makes them (one per point).
fn queries(tree: &ImmutableKdTree<f64, 3>, at: &[[f64; 3]]) -> usize {
    let k = NonZero::new(K).unwrap();
    at.par_iter()
        .map(|q| {
            tree.nearest_n::<SquaredEuclidean>(q, k)
                .last()
                .map_or(0, |n| n.item as usize)
        })
        .sum()
}

/// Best of `reps` timings of `f`.
fn best(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut t = Duration::MAX;
    for _ in 0..reps {
        let s = Instant::now();
        f();
        t = t.min(s.elapsed());
    }
    t.as_secs_f64()
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let samples = cloud(N);
    let values: Vec<f64> = samples.iter().flat_map(taylor_green).collect();
    let at = Points::from_rows(3, &samples).unwrap();
    let opts = EvalOptions::default();
    let recon = Reconstruction::default();
    let build = || DataField::new(&samples, 3, values.clone(), 3, &recon).unwrap();
    let field = build();
    assert_eq!(field.neighbours(), K);
    let tree = ImmutableKdTree::new_from_slice(&samples);
    let jq = [Operator::Jacobian, Operator::Q];
    let ours = || evaluate(&field, &at, &jq, &opts).unwrap();

    // The two must agree (same stencils, weights and degree; the data field grows a stencil
    // or lowers the degree only where the fit is ill-conditioned, counted in its stats).
    field.reset_stats();
    let got = ours();
    let stats = field.stats();
    let want = by_hand(&tree, &samples, &values, &samples, Solve::Qr);
    let mut diff = 0.0f64;
    for i in 0..N {
        for c in 0..9 {
            diff = diff.max((got[0].values[9 * i + c] - want[OUT * i + c]).abs());
        }
        diff = diff.max((got[1].values[i] - want[OUT * i + 9]).abs());
    }
    println!("data field vs hand-written: max |difference| {diff:.2e}; {stats:?}");
    drop((got, want));

    let mut g = c.benchmark_group("data_field_1e6");
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("build (checks, merge, order)", |b| {
        b.iter(|| drop(black_box(build())))
    });
    g.bench_function("jacobian + Q", |b| b.iter(ours));
    // Value alone, the queries alone and the hand-written reference are timed below (best
    // of 3 in the same run) rather than by criterion: each takes seconds at 10⁶ points.
    g.finish();

    let reps = 3;
    let t_build = best(reps, || drop(black_box(build())));
    let t_tree = best(reps, || {
        drop(black_box(ImmutableKdTree::<f64, 3>::new_from_slice(
            &samples,
        )))
    });
    let t_query = best(reps, || {
        black_box(queries(&tree, &samples));
    });
    let t_value = best(reps, || {
        drop(black_box(
            evaluate(&field, &at, &[Operator::Value], &opts).unwrap(),
        ))
    });
    let t_jq = best(reps, || drop(black_box(ours())));
    println!(
        "SPLIT data field p=2, {N} points, {} threads: build {t_build:.3} s (a k-d tree alone \
         {t_tree:.3} s, which the build no longer makes: stencils come from a grid of bins); \
         jacobian + Q {t_jq:.3} s = stencils, fits and the value {t_value:.3} s + derivatives \
         {:.3} s; build + evaluate {:.3} s; for comparison, the reference's kiddo queries \
         alone {t_query:.3} s",
        rayon::current_num_threads(),
        t_jq - t_value,
        t_build + t_jq,
    );

    for (solve, how) in [(Solve::Qr, "QR"), (Solve::Normal, "normal equations")] {
        common::ratio(
            &format!("data field p=2 jacobian + Q / hand-written kiddo + nalgebra {how}"),
            N,
            reps,
            || drop(black_box(ours())),
            || {
                drop(black_box(by_hand(
                    &tree, &samples, &values, &samples, solve,
                )))
            },
        );
    }
    common::ratio(
        "data field p=2 build + jacobian + Q / hand-written tree + QR",
        N,
        reps,
        || drop(black_box(evaluate(&build(), &at, &jq, &opts).unwrap())),
        || {
            let tree = ImmutableKdTree::new_from_slice(&samples);
            drop(black_box(by_hand(
                &tree,
                &samples,
                &values,
                &samples,
                Solve::Qr,
            )))
        },
    );
    c.final_summary();
}
