//! Taylor–Green vortex at 10⁶ points: our operators against the same quantities from
//! hand-written closed-form derivatives, in the same run; and a scalar field's grad and
//! Laplacian at 10⁶ random points against hand-written. Then each derivative plan
//! (reverse-over-reverse, forward jets, forward-over-reverse) on the same points: its
//! ratio to hand-written, and the jets' ratio to reverse.

mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use nabla::eval::{
    Derivatives, EvalOptions, Operator, Points, evaluate, evaluate_into, plan_costs,
};
use nabla::field::FnField;
use nabla::operators::flow;
use nalgebra::{Matrix3, Vector3};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

const N: usize = 1_000_000;

fn lattice(n: usize) -> Points {
    let k = (n as f64).cbrt().round() as usize;
    let h = 2.0 * std::f64::consts::PI / k as f64;
    let mut cols: Vec<Vec<f64>> = (0..3).map(|_| Vec::with_capacity(k * k * k)).collect();
    for iz in 0..k {
        for iy in 0..k {
            for ix in 0..k {
                cols[0].push(ix as f64 * h);
                cols[1].push(iy as f64 * h);
                cols[2].push(iz as f64 * h);
            }
        }
    }
    Points::from_columns(cols).unwrap()
}

fn random_points(n: usize) -> Points {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    Points::from_columns(
        (0..3)
            .map(|_| (0..n).map(|_| rng.random_range(-1.0..1.0)).collect())
            .collect(),
    )
    .unwrap()
}

/// Hand-written Taylor–Green: J and the requested quantities at every point, into a
/// freshly allocated output (as `evaluate` returns fresh arrays).
fn taylor_green_by_hand(p: &Points, full: bool) -> Vec<f64> {
    let mut out = vec![0.0; p.len() * tg_width(full)];
    taylor_green_by_hand_into(p, full, &mut out);
    out
}

/// Output values per point of the hand-written Taylor–Green.
fn tg_width(full: bool) -> usize {
    if full {
        9 + 1 + 3 + 1 + 3 + 1
    } else {
        9 + 1 + 3 + 1
    }
}

/// The same into a buffer the caller keeps (compared with `evaluate_into`).
fn taylor_green_by_hand_into(p: &Points, full: bool, out: &mut [f64]) {
    let k = tg_width(full);
    out[..p.len() * k]
        .par_chunks_mut(k * 2048)
        .enumerate()
        .for_each(|(c, o)| {
            for (q, o) in o.chunks_mut(k).enumerate() {
                let i = c * 2048 + q;
                let (x, y, z) = (p.col(0)[i], p.col(1)[i], p.col(2)[i]);
                let (sx, cx) = (x.sin(), x.cos());
                let (sy, cy) = (y.sin(), y.cos());
                let (sz, cz) = (z.sin(), z.cos());
                let u = Vector3::new(sx * cy * cz, -cx * sy * cz, 0.0);
                let j = Matrix3::new(
                    cx * cy * cz,
                    -sx * sy * cz,
                    -sx * cy * sz,
                    sx * sy * cz,
                    -cx * cy * cz,
                    cx * sy * sz,
                    0.0,
                    0.0,
                    0.0,
                );
                o[..9].copy_from_slice(j.transpose().as_slice()); // row-major
                o[9] = j.trace();
                o[10..13].copy_from_slice(flow::vorticity(&j).as_slice());
                o[13] = flow::q_criterion(&j);
                if full {
                    o[14..17].copy_from_slice((u * -3.0).as_slice());
                    o[17] = flow::lambda2(&j);
                }
            }
        });
}

fn tg_field()
-> FnField<impl for<'t> Fn(&[nabla::autodiff::Var<'t>]) -> Vec<nabla::autodiff::Var<'t>> + Sync> {
    FnField::new(3, |x| {
        let cz = x[2].cos();
        vec![
            x[0].sin() * x[1].cos() * cz,
            -(x[0].cos() * x[1].sin() * cz),
            x[0] * 0.0,
        ]
    })
}

fn scalar_field()
-> FnField<impl for<'t> Fn(&[nabla::autodiff::Var<'t>]) -> Vec<nabla::autodiff::Var<'t>> + Sync> {
    // f = sin(xy)·eᶻ
    FnField::new(1, |x| vec![(x[0] * x[1]).sin() * x[2].exp()])
}

fn scalar_by_hand(p: &Points) -> Vec<f64> {
    let mut out = vec![0.0; p.len() * 4];
    out.par_chunks_mut(4 * 2048).enumerate().for_each(|(c, o)| {
        for (q, o) in o.chunks_mut(4).enumerate() {
            let i = c * 2048 + q;
            let (x, y, z) = (p.col(0)[i], p.col(1)[i], p.col(2)[i]);
            let (s, co) = (x * y).sin_cos();
            let ez = z.exp();
            o[0] = y * co * ez;
            o[1] = x * co * ez;
            o[2] = s * ez;
            // ∇²f = −(x² + y²) sin(xy) eᶻ + sin(xy) eᶻ
            o[3] = (1.0 - x * x - y * y) * s * ez;
        }
    });
    out
}

const FIRST: [Operator; 4] = [
    Operator::Jacobian,
    Operator::Div,
    Operator::Curl,
    Operator::Q,
];
const FULL: [Operator; 6] = [
    Operator::Jacobian,
    Operator::Div,
    Operator::Curl,
    Operator::Q,
    Operator::Lap,
    Operator::Lambda2,
];

fn main() {
    let mut c = Criterion::default().sample_size(10).configure_from_args();
    let tg = tg_field();
    let pts = lattice(N);
    let n = pts.len();
    let chunk = std::env::var("NABLA_CHUNK")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2048);
    let opts = EvalOptions {
        chunk_size: chunk,
        ..EvalOptions::default()
    };

    let mut g = c.benchmark_group("taylor_green");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("first: jacobian+div+curl+Q", |b| {
        b.iter(|| evaluate(&tg, &pts, &FIRST, &opts).unwrap())
    });
    g.bench_function("first: hand-written", |b| {
        b.iter(|| drop(black_box(taylor_green_by_hand(&pts, false))))
    });
    g.bench_function("full: + lap + lambda2", |b| {
        b.iter(|| evaluate(&tg, &pts, &FULL, &opts).unwrap())
    });
    g.bench_function("full: hand-written", |b| {
        b.iter(|| drop(black_box(taylor_green_by_hand(&pts, true))))
    });
    g.finish();

    let sf = scalar_field();
    let rp = random_points(N);
    let mut g = c.benchmark_group("scalar_field");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("grad+lap", |b| {
        b.iter(|| evaluate(&sf, &rp, &[Operator::Grad, Operator::Lap], &opts).unwrap())
    });
    g.bench_function("hand-written", |b| {
        b.iter(|| drop(black_box(scalar_by_hand(&rp))))
    });
    g.finish();

    let reps = 5;
    common::ratio(
        "taylor_green first derivatives / hand-written",
        n,
        reps,
        || drop(black_box(evaluate(&tg, &pts, &FIRST, &opts).unwrap())),
        || drop(black_box(taylor_green_by_hand(&pts, false))),
    );
    common::ratio(
        "taylor_green full set / hand-written",
        n,
        reps,
        || drop(black_box(evaluate(&tg, &pts, &FULL, &opts).unwrap())),
        || drop(black_box(taylor_green_by_hand(&pts, true))),
    );
    common::ratio(
        "scalar grad + lap / hand-written",
        N,
        reps,
        || {
            drop(black_box(
                evaluate(&sf, &rp, &[Operator::Grad, Operator::Lap], &opts).unwrap(),
            ))
        },
        || drop(black_box(scalar_by_hand(&rp))),
    );
    // Without the cost of fresh output pages: both write into buffers they keep.
    let mut kept = Vec::new();
    let mut hand = vec![0.0; n * 18];
    common::ratio(
        "taylor_green first derivatives / hand-written, outputs kept",
        n,
        reps,
        || evaluate_into(&tg, &pts, &FIRST, &opts, &mut kept).unwrap(),
        || taylor_green_by_hand_into(&pts, false, black_box(&mut hand)),
    );
    common::ratio(
        "taylor_green full set / hand-written, outputs kept",
        n,
        reps,
        || evaluate_into(&tg, &pts, &FULL, &opts, &mut kept).unwrap(),
        || taylor_green_by_hand_into(&pts, true, black_box(&mut hand)),
    );
    // The plans side by side (Auto picks one of them; these force each).
    let plan = |derivatives| EvalOptions {
        derivatives,
        ..opts
    };
    let scalar_ops = [Operator::Grad, Operator::Lap];
    for (what, field, points, ops, by_hand) in [
        (
            "scalar grad + lap",
            &sf as &dyn nabla::field::Field,
            &rp,
            &scalar_ops[..],
            0,
        ),
        (
            "taylor_green full set",
            &tg as &dyn nabla::field::Field,
            &pts,
            &FULL[..],
            1,
        ),
        (
            "taylor_green jacobian+div+curl+Q+lap",
            &tg as &dyn nabla::field::Field,
            &pts,
            &FULL[..5],
            2,
        ),
    ] {
        let costs = plan_costs(field, points, ops, chunk).unwrap();
        println!("PLANS {what}: values recorded per chunk of {chunk} points: {costs:?}");
        let reference = |i: usize| match i {
            0 => drop(black_box(scalar_by_hand(points))),
            1 => drop(black_box(taylor_green_by_hand(points, true))),
            _ => drop(black_box(taylor_green_by_hand(points, false))),
        };
        for p in Derivatives::PLANS {
            common::ratio(
                &format!("{what} [{}] / hand-written", p.name()),
                points.len(),
                reps,
                || drop(black_box(evaluate(field, points, ops, &plan(p)).unwrap())),
                || reference(by_hand),
            );
        }
        common::ratio(
            &format!("{what}: jets / reverse-over-reverse"),
            points.len(),
            reps,
            || {
                drop(black_box(
                    evaluate(field, points, ops, &plan(Derivatives::Jets)).unwrap(),
                ))
            },
            || {
                drop(black_box(
                    evaluate(field, points, ops, &plan(Derivatives::Reverse)).unwrap(),
                ))
            },
        );
    }
    let threads = rayon::current_num_threads().min(2);
    if threads >= 2 {
        common::ratio(
            "taylor_green full set, 1 thread / 2 threads (speed-up)",
            n,
            reps,
            || {
                common::on_threads(1, || {
                    drop(black_box(evaluate(&tg, &pts, &FULL, &opts).unwrap()))
                })
            },
            || {
                common::on_threads(2, || {
                    drop(black_box(evaluate(&tg, &pts, &FULL, &opts).unwrap()))
                })
            },
        );
    }
    c.final_summary();
}
