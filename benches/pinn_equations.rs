//! The general physics-informed loss (`nabla::pinn::Loss` of `Term`s, residuals written as
//! text) against the built-in `PinnLoss`, and against DeepXDE.
//!
//! * Poisson (2-D, [32, 32] tanh, 1024 interior + 256 boundary points, as
//!   `cases/pinn_poisson`) and Kovasznay (DeepXDE's setup: 2601 interior + 400 boundary
//!   points, 4 × 50 tanh, Re = 20, outputs u, v, p): one `value_and_grad` of the built-in
//!   loss and of the same loss written as equations, same points, weights and chunk size.
//!   The setup asserts that both give the same loss and gradient to 1e-12 relative; a
//!   RATIO line gives generic / built-in. Every term sweeps the network over its own
//!   points, so Kovasznay's momentum and continuity terms sweep the interior twice where
//!   the built-in loss sweeps it once; a second RATIO line has them in one term.
//! * Time per Adam step (loss, gradient and update) on DeepXDE's Burgers recipe (3 × 20
//!   tanh over (x, t), 2540 interior + 80 boundary + 160 initial points, ν = 0.01/π) and
//!   on its Kovasznay setup (with DeepXDE's pressure condition on the outflow x = 1), the
//!   equations one term each as a case file builds them, and all in one term.
//! * Where `python3 -c "import deepxde"` succeeds, `benches/deepxde_steps.py` times the
//!   mean Adam step of DeepXDE's own examples with the same sizes, in float32 (its default)
//!   and float64, with torch on 2 threads, once with OpenMP's threads spinning
//!   (`OMP_WAIT_POLICY=ACTIVE`) and once sleeping (`PASSIVE`), unless the variable is set;
//!   the faster counts. RATIO lines give nabla / DeepXDE. DeepXDE also
//!   evaluates its PDE residual at the boundary points (3020 points for Burgers, 3915 for
//!   Kovasznay, printed), nabla at the interior points only.
//!
//! `DDE_STEPS` sets DeepXDE's timed steps (default 200); `NABLA_SKIP_DEEPXDE=1` skips it.

mod common;

use std::f64::consts::PI;
use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use criterion::{Criterion, Throughput};
use nabla::eval::Points;
use nabla::field::FnField;
use nabla::pinn::{
    Activation, Adam, AdamConfig, ExprResidual, Loss, LossWeights, Mlp, Names, PinnLoss, Sampler,
    Term, sample_in, sample_on_faces,
};

const CHUNK: usize = 256;
/// All four sides of a 2-D box.
const SIDES: [(usize, bool); 4] = [(0, false), (0, true), (1, false), (1, true)];
/// Kovasznay flow at Re = 20 (DeepXDE's example and `cases/pinn_kovasznay`).
const RE: f64 = 20.0;

fn lambda() -> f64 {
    RE / 2.0 - (RE * RE / 4.0 + 4.0 * PI * PI).sqrt()
}

fn points(cols: &[Vec<f64>]) -> Points {
    Points::from_columns(cols.to_vec()).unwrap()
}

/// The built-in and the generic loss agree to 1e-12 relative, in value and gradient.
fn assert_same(name: &str, a: f64, b: f64, ga: &[f64], gb: &[f64]) {
    assert!(
        (a - b).abs() <= 1e-12 * a.abs(),
        "{name}: loss {a} (built-in) vs {b} (generic)"
    );
    assert_eq!(ga.len(), gb.len());
    let scale = ga.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let worst = ga
        .iter()
        .zip(gb)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    assert!(
        worst <= 1e-12 * scale,
        "{name}: gradients differ by {worst:e} of {scale:e}"
    );
    println!(
        "SAME {name}: loss {a:.6e}, |loss difference| {:.1e}, max |gradient difference| / max |gradient| {:.1e}",
        (a - b).abs(),
        worst / scale
    );
}

/// `-lap(u) = 2 pi^2 sin(pi x) sin(pi y)` on the unit square, `u = sin(pi x) sin(pi y)` on
/// its sides, weights 1 and 10: the built-in loss and the same as equations.
fn poisson() -> (PinnLoss, Loss) {
    let (lo, hi) = ([0.0, 0.0], [1.0, 1.0]);
    let inner = sample_in(&lo, &hi, 1024, Sampler::Hammersley, 2).unwrap();
    let wall = sample_on_faces(&lo, &hi, &SIDES, 256, Sampler::Hammersley, 3).unwrap();
    let f = FnField::new(1, |x| {
        vec![((x[0] * PI).sin() * (x[1] * PI).sin()) * (2.0 * PI * PI)]
    });
    let g = FnField::new(1, |x| vec![(x[0] * PI).sin() * (x[1] * PI).sin()]);
    let w = LossWeights {
        pde: 1.0,
        continuity: 0.0,
        boundary: 10.0,
    };
    let builtin = PinnLoss::poisson(&f, points(&inner), points(&wall), &g, w)
        .unwrap()
        .with_chunk_size(CHUNK)
        .unwrap();
    let names = Names::new(&["x", "y"], &["u"]);
    let pde = ExprResidual::new(&["-lap(u) - 2*pi^2*sin(pi*x)*sin(pi*y)"], &names, None).unwrap();
    let bc =
        ExprResidual::condition("bc", &[(0, "sin(pi*x)*sin(pi*y)")], None, &names, None).unwrap();
    let generic = Loss::new(
        2,
        1,
        vec![
            Term::new("pde", inner, pde).unwrap(),
            Term::new("boundary", wall, bc)
                .unwrap()
                .with_weight(10.0)
                .unwrap(),
        ],
    )
    .unwrap()
    .with_chunk_size(CHUNK)
    .unwrap();
    (builtin, generic)
}

/// Kovasznay flow on [-0.5, 1] x [-0.5, 1.5] at DeepXDE's sizes, written four ways.
struct Kovasznay {
    /// The built-in loss: momentum and continuity in the interior, the exact velocity on
    /// the boundary, weights 1.
    builtin: PinnLoss,
    /// The same as equations: a momentum term (two components), a continuity term and a
    /// boundary term.
    generic: Loss,
    /// The same with momentum and continuity in one interior term of three components,
    /// scaled so that its mean square is the built-in's two interior terms added.
    one_term: Loss,
    /// DeepXDE's loss as a case file's `kind = "equations"` builds it: one term per
    /// equation (x-momentum, y-momentum, continuity), the velocity on the boundary and
    /// the exact pressure on the outflow x = 1.
    per_equation: Loss,
    /// DeepXDE's loss with the three equations in one interior term.
    fused: Loss,
}

fn kovasznay() -> Kovasznay {
    let (lo, hi) = ([-0.5, -0.5], [1.0, 1.5]);
    let inner = sample_in(&lo, &hi, 2601, Sampler::Hammersley, 4).unwrap();
    let wall = sample_on_faces(&lo, &hi, &SIDES, 400, Sampler::Hammersley, 5).unwrap();
    let l = lambda();
    let g = FnField::new(2, move |x| {
        let e = (x[0] * l).exp();
        vec![
            1.0 - e * (x[1] * (2.0 * PI)).cos(),
            e * (x[1] * (2.0 * PI)).sin() * (l / (2.0 * PI)),
        ]
    });
    let w = LossWeights {
        pde: 1.0,
        continuity: 1.0,
        boundary: 1.0,
    };
    let builtin = PinnLoss::navier_stokes(1.0 / RE, points(&inner), points(&wall), &g, w)
        .unwrap()
        .with_chunk_size(CHUNK)
        .unwrap();
    let mut names = Names::new(&["x", "y"], &["u", "v", "p"]);
    names.constants.push(("nu".into(), 1.0 / RE));
    names.constants.push(("lambda".into(), l));
    let (mx, my, div) = (
        "u*d(u, x) + v*d(u, y) + d(p, x) - nu*lap(u)",
        "u*d(v, x) + v*d(v, y) + d(p, y) - nu*lap(v)",
        "d(u, x) + d(v, y)",
    );
    let residual = |exprs: &[String]| ExprResidual::new(exprs, &names, None).unwrap();
    let velocity = ExprResidual::condition(
        "bc",
        &[
            (0, "1 - exp(lambda*x)*cos(2*pi*y)"),
            (1, "lambda/(2*pi)*exp(lambda*x)*sin(2*pi*y)"),
        ],
        None,
        &names,
        None,
    )
    .unwrap();
    let on_wall = || Term::new("wall", wall.clone(), velocity.clone()).unwrap();
    let inside = |name: &str, exprs: &[String]| Term::new(name, inner.clone(), residual(exprs));
    let loss = |terms: Vec<Term>| {
        Loss::new(2, 3, terms)
            .unwrap()
            .with_chunk_size(CHUNK)
            .unwrap()
    };
    let generic = loss(vec![
        inside("momentum", &[mx.into(), my.into()]).unwrap(),
        inside("continuity", &[div.into()]).unwrap(),
        on_wall(),
    ]);
    let one_term = loss(vec![
        inside(
            "interior",
            &[
                format!("sqrt(3/2)*({mx})"),
                format!("sqrt(3/2)*({my})"),
                format!("sqrt(3)*({div})"),
            ],
        )
        .unwrap(),
        on_wall(),
    ]);
    // DeepXDE's third condition: p = (1 - exp(2 lambda x))/2 at the boundary points on x = 1.
    let outflow: Vec<usize> = (0..wall[0].len()).filter(|&i| wall[0][i] == 1.0).collect();
    let at_outflow: Vec<Vec<f64>> = wall
        .iter()
        .map(|c| outflow.iter().map(|&i| c[i]).collect())
        .collect();
    let pressure = ExprResidual::condition(
        "outflow",
        &[(2, "0.5*(1 - exp(2*lambda*x))")],
        None,
        &names,
        None,
    )
    .unwrap();
    let on_outflow = || Term::new("outflow", at_outflow.clone(), pressure.clone()).unwrap();
    let per_equation = loss(vec![
        inside("equation 0", &[mx.into()]).unwrap(),
        inside("equation 1", &[my.into()]).unwrap(),
        inside("equation 2", &[div.into()]).unwrap(),
        on_wall(),
        on_outflow(),
    ]);
    let fused = loss(vec![
        inside("equations", &[mx.into(), my.into(), div.into()]).unwrap(),
        on_wall(),
        on_outflow(),
    ]);
    Kovasznay {
        builtin,
        generic,
        one_term,
        per_equation,
        fused,
    }
}

/// DeepXDE's Burgers recipe: u_t + u u_x = (0.01/pi) u_xx on [-1, 1] x [0, 0.99],
/// u = 0 at x = ±1, u = -sin(pi x) at t = 0.
fn burgers() -> Loss {
    let (lo, hi) = ([-1.0, 0.0], [1.0, 0.99]);
    let inner = sample_in(&lo, &hi, 2540, Sampler::Hammersley, 2).unwrap();
    let sides = sample_on_faces(&lo, &hi, &SIDES[..2], 80, Sampler::Hammersley, 3).unwrap();
    let start = sample_on_faces(&lo, &hi, &[(1, false)], 160, Sampler::Hammersley, 4).unwrap();
    let mut names = Names::new(&["x", "t"], &["u"]);
    names.constants.push(("nu".into(), 0.01 / PI));
    let pde = ExprResidual::new(&["d(u, t) + u*d(u, x) - nu*d(u, x, x)"], &names, None).unwrap();
    let zero = ExprResidual::condition("bc", &[(0, "0")], None, &names, None).unwrap();
    let initial = ExprResidual::condition("ic", &[(0, "-sin(pi*x)")], None, &names, None).unwrap();
    Loss::new(
        2,
        1,
        vec![
            Term::new("pde", inner, pde).unwrap(),
            Term::new("boundary", sides, zero).unwrap(),
            Term::new("initial", start, initial).unwrap(),
        ],
    )
    .unwrap()
    .with_chunk_size(CHUNK)
    .unwrap()
}

/// Mean milliseconds of one Adam step (loss, gradient, update) over `steps` steps after
/// `warmup` untimed ones, as DeepXDE's side is timed.
fn ms_per_adam_step(loss: &Loss, net: &Mlp, warmup: usize, steps: usize) -> f64 {
    let mut net = net.clone();
    let mut adam = Adam::new(AdamConfig::new(1e-3), net.num_params()).unwrap();
    let mut params = net.params();
    let mut step = |net: &mut Mlp| {
        let (_, g) = loss.value_and_grad(net, &[]).unwrap();
        adam.step(&mut params, &g, 1e-3).unwrap();
        net.set_params(&params).unwrap();
    };
    for _ in 0..warmup {
        step(&mut net);
    }
    let t = Instant::now();
    for _ in 0..steps {
        step(&mut net);
    }
    t.elapsed().as_secs_f64() / steps as f64 * 1e3
}

/// One run of `benches/deepxde_steps.py` with the OpenMP wait policy `policy` (`None`:
/// the environment's): mean ms per Adam step by (problem, dtype).
fn deepxde_run(policy: Option<&str>) -> Result<Vec<(String, String, f64, usize)>, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/deepxde_steps.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script).env("DDE_BACKEND", "pytorch");
    if let Some(p) = policy {
        cmd.env("OMP_WAIT_POLICY", p);
    }
    let out = cmd.output().map_err(|e| format!("running {script}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{script} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let rows: Vec<_> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f[..] {
                ["DEEPXDE", problem, dtype, ms, n] => Some((
                    problem.to_owned(),
                    dtype.to_owned(),
                    ms.parse().ok()?,
                    n.parse().ok()?,
                )),
                _ => None,
            }
        })
        .collect();
    if rows.is_empty() {
        return Err(format!("{script} printed no DEEPXDE lines"));
    }
    Ok(rows)
}

/// DeepXDE's mean ms per Adam step by (problem, dtype), the faster of the two OpenMP
/// wait policies, or why there are none.
fn deepxde() -> Result<Vec<(String, String, f64, usize)>, String> {
    if std::env::var_os("NABLA_SKIP_DEEPXDE").is_some() {
        return Err("NABLA_SKIP_DEEPXDE is set".into());
    }
    let found = Command::new("python3")
        .args(["-c", "import deepxde"])
        .env("DDE_BACKEND", "pytorch")
        .output();
    match found {
        Ok(o) if o.status.success() => {}
        Ok(_) => return Err("python3 cannot import deepxde (pip install deepxde torch)".into()),
        Err(e) => return Err(format!("no python3 ({e})")),
    }
    // OpenMP threads that spin at their barriers run a step some 100 times slower on a
    // machine busy with other work; on an idle one, threads that sleep (PASSIVE) made
    // DeepXDE's Burgers step 3.4 times slower (26.7 against 7.8 ms). So DeepXDE runs with
    // both policies (unless OMP_WAIT_POLICY is set) and its faster time counts.
    let policies: Vec<Option<&str>> = if std::env::var_os("OMP_WAIT_POLICY").is_some() {
        vec![None]
    } else {
        vec![Some("ACTIVE"), Some("PASSIVE")]
    };
    let mut rows: Vec<(String, String, f64, usize)> = Vec::new();
    for policy in policies {
        for row in deepxde_run(policy)? {
            println!(
                "DEEPXDE {} {} with OMP_WAIT_POLICY={}: {:.3} ms per Adam step",
                row.0,
                row.1,
                policy.unwrap_or("as set"),
                row.2
            );
            match rows.iter_mut().find(|r| r.0 == row.0 && r.1 == row.1) {
                Some(r) => r.2 = r.2.min(row.2),
                None => rows.push(row),
            }
        }
    }
    Ok(rows)
}

fn main() {
    let mut c = Criterion::default().configure_from_args().sample_size(10);

    // Poisson: the same loss and gradient, then generic / built-in.
    let (builtin, generic) = poisson();
    let net = Mlp::new(2, &[32, 32], 1, Activation::Tanh, 1).unwrap();
    let (a, ga) = builtin.value_and_grad(&net).unwrap();
    let (b, gb) = generic.value_and_grad(&net, &[]).unwrap();
    assert_same("poisson", a.total, b.total, &ga, &gb);
    let mut group = c.benchmark_group("pinn_equations_poisson");
    group.throughput(Throughput::Elements(1280));
    group.bench_function("built-in loss+grad", |bch| {
        bch.iter(|| black_box(builtin.value_and_grad(&net).unwrap()))
    });
    group.bench_function("generic loss+grad", |bch| {
        bch.iter(|| black_box(generic.value_and_grad(&net, &[]).unwrap()))
    });
    group.finish();
    common::ratio(
        "poisson loss+grad (1024 + 256 points, [32, 32] tanh), generic / built-in",
        1280,
        20,
        || drop(black_box(generic.value_and_grad(&net, &[]).unwrap())),
        || drop(black_box(builtin.value_and_grad(&net).unwrap())),
    );

    // Kovasznay: the same, on DeepXDE's sizes.
    let k = kovasznay();
    let knet = Mlp::new(2, &[50, 50, 50, 50], 3, Activation::Tanh, 3).unwrap();
    let (a, ga) = k.builtin.value_and_grad(&knet).unwrap();
    let (b, gb) = k.generic.value_and_grad(&knet, &[]).unwrap();
    assert_same("kovasznay", a.total, b.total, &ga, &gb);
    let (b, gb) = k.one_term.value_and_grad(&knet, &[]).unwrap();
    assert_same("kovasznay, one interior term", a.total, b.total, &ga, &gb);
    let mut group = c.benchmark_group("pinn_equations_kovasznay");
    group.throughput(Throughput::Elements(3001));
    group.bench_function("built-in loss+grad", |bch| {
        bch.iter(|| black_box(k.builtin.value_and_grad(&knet).unwrap()))
    });
    group.bench_function("generic loss+grad", |bch| {
        bch.iter(|| black_box(k.generic.value_and_grad(&knet, &[]).unwrap()))
    });
    group.finish();
    common::ratio(
        "kovasznay loss+grad (2601 + 400 points, 4 x 50 tanh), generic / built-in",
        3001,
        10,
        || drop(black_box(k.generic.value_and_grad(&knet, &[]).unwrap())),
        || drop(black_box(k.builtin.value_and_grad(&knet).unwrap())),
    );
    // Each term sweeps the network over its own points: momentum and continuity as two
    // terms sweep the interior twice, where the built-in loss sweeps it once.
    common::ratio(
        "kovasznay loss+grad, momentum and continuity in one term, generic / built-in",
        3001,
        10,
        || drop(black_box(k.one_term.value_and_grad(&knet, &[]).unwrap())),
        || drop(black_box(k.builtin.value_and_grad(&knet).unwrap())),
    );

    // Adam steps on DeepXDE's recipes.
    let burgers = burgers();
    let bnet = Mlp::new(2, &[20, 20, 20], 1, Activation::Tanh, 1).unwrap();
    let mut group = c.benchmark_group("pinn_equations_burgers");
    group.throughput(Throughput::Elements(2780));
    group.bench_function("loss+grad", |bch| {
        bch.iter(|| black_box(burgers.value_and_grad(&bnet, &[]).unwrap()))
    });
    group.finish();
    let ours = [
        (
            "burgers",
            "",
            ms_per_adam_step(&burgers, &bnet, 10, 100),
            "2540 + 80 + 160 points, 3 x 20 tanh",
        ),
        (
            "kovasznay",
            " (one term per equation)",
            ms_per_adam_step(&k.per_equation, &knet, 3, 20),
            "2601 + 400 points, 4 x 50 tanh, p on the outflow, a term per equation as a case file builds it",
        ),
        (
            "kovasznay",
            " (equations in one term)",
            ms_per_adam_step(&k.fused, &knet, 3, 20),
            "the same with the three equations in one term",
        ),
    ];
    for (name, form, ms, what) in &ours {
        println!("STEP {name}{form} ({what}): nabla f64 {ms:.3} ms per Adam step");
    }

    match deepxde() {
        Ok(rows) => {
            for (problem, dtype, ms, n) in rows {
                println!(
                    "DEEPXDE {problem} {dtype}: {ms:.3} ms per Adam step (PDE residual at {n} points)"
                );
                for (_, form, ours, _) in ours.iter().filter(|o| o.0 == problem) {
                    println!(
                        "RATIO {problem}{form} Adam step, nabla f64 / DeepXDE {dtype}: nabla {ours:.3} ms, DeepXDE {ms:.3} ms, ratio {:.2}",
                        ours / ms
                    );
                }
            }
        }
        Err(why) => println!("DEEPXDE skipped: {why}"),
    }
    c.final_summary();
}
