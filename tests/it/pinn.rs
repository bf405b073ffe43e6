//! Physics-informed training: parameter gradients through the operators against central
//! finite differences, thread- and chunk-independence of the reduction, residuals of
//! exact solutions, Adam, a short training run, checkpoints, and every config error.

use approx::assert_relative_eq;
use nabla::Error;
use nabla::autodiff::{Tape, Tensor};
use nabla::eval::{Derivatives, EvalOptions, Operator, Points, evaluate};
use nabla::field::{Field, FnField};
use nabla::pinn::{
    Activation, Adam, AdamConfig, Checkpoint, FitOptions, LossWeights, Mlp, PinnConfig, PinnLoss,
    Schedule, TrainOptions, fit, learning_warning, navier_stokes_residuals,
    navier_stokes_residuals_by, poisson_residual, poisson_residual_by, sample_box, sample_faces,
    train,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The `[pinn]` table of a shipped case, as a stand-alone configuration text: the tests
/// train and check exactly what the cases run.
fn case_pinn(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("cases")
        .join(name)
        .join("case.toml");
    let table: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    toml::to_string(&table["pinn"]).unwrap()
}

fn poisson() -> String {
    case_pinn("pinn_poisson")
}

fn kovasznay() -> String {
    case_pinn("pinn_kovasznay")
}

fn random_points(dim: usize, n: usize, seed: u64) -> Points {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Points::from_columns(
        (0..dim)
            .map(|_| (0..n).map(|_| rng.random_range(-1.0..1.0)).collect())
            .collect(),
    )
    .unwrap()
}

/// A network with random (not Glorot-sized, not zero-bias) parameters.
fn random_net(dim: usize, hidden: &[usize], out: usize, act: Activation, seed: u64) -> Mlp {
    let mut net = Mlp::new(dim, hidden, out, act, seed).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 100);
    let p: Vec<f64> = (0..net.num_params())
        .map(|_| rng.random_range(-0.8..0.8))
        .collect();
    net.set_params(&p).unwrap();
    net
}

fn poisson_loss(chunk: usize) -> PinnLoss {
    // f = sin(x) e^y, g = x y: any smooth data will do.
    let f = FnField::new(1, |x| vec![x[0].sin() * x[1].exp()]);
    let g = FnField::new(1, |x| vec![x[0] * x[1]]);
    PinnLoss::poisson(
        &f,
        random_points(2, 23, 1),
        random_points(2, 9, 2),
        &g,
        LossWeights {
            pde: 1.0,
            continuity: 0.0,
            boundary: 3.0,
        },
    )
    .unwrap()
    .with_chunk_size(chunk)
    .unwrap()
}

fn ns_loss(dim: usize, n: usize, chunk: usize) -> PinnLoss {
    let g = FnField::new(dim, move |x| {
        let mut v = vec![x[1].sin(), x[0].cos()];
        if dim == 3 {
            v.push(x[2] * x[0]);
        }
        v
    });
    PinnLoss::navier_stokes(
        0.05,
        random_points(dim, n, 3),
        random_points(dim, n / 3 + 1, 4),
        &g,
        LossWeights {
            pde: 1.0,
            continuity: 2.0,
            boundary: 5.0,
        },
    )
    .unwrap()
    .with_chunk_size(chunk)
    .unwrap()
}

/// ‖g_AD − g_FD‖ / ‖g_AD‖ with central differences of step h on every parameter.
fn fd_relative_error(loss: &PinnLoss, net: &Mlp, h: f64) -> f64 {
    let (_, g) = loss.value_and_grad(net).unwrap();
    let p0 = net.params();
    let mut num = 0.0;
    let mut den = 0.0;
    let mut probe = net.clone();
    for i in 0..p0.len() {
        let mut p = p0.clone();
        p[i] = p0[i] + h;
        probe.set_params(&p).unwrap();
        let lp = loss.value(&probe).unwrap().total;
        p[i] = p0[i] - h;
        probe.set_params(&p).unwrap();
        let lm = loss.value(&probe).unwrap().total;
        let fd = (lp - lm) / (2.0 * h);
        num += (g[i] - fd).powi(2);
        den += g[i].powi(2);
    }
    (num / den).sqrt()
}

#[test]
fn poisson_parameter_gradient_matches_finite_differences() {
    for act in Activation::ALL {
        let net = random_net(2, &[6, 5], 1, act, 11);
        let err = fd_relative_error(&poisson_loss(7), &net, 1e-5);
        assert!(err < 1e-6, "{act:?}: relative error {err:e}");
    }
}

#[test]
fn navier_stokes_2d_parameter_gradient_matches_finite_differences() {
    let net = random_net(2, &[6, 6], 3, Activation::Tanh, 12);
    let err = fd_relative_error(&ns_loss(2, 20, 8), &net, 1e-5);
    assert!(err < 1e-6, "relative error {err:e}");
}

#[test]
fn navier_stokes_3d_parameter_gradient_matches_finite_differences() {
    let net = random_net(3, &[5, 5], 4, Activation::Tanh, 13);
    let err = fd_relative_error(&ns_loss(3, 12, 5), &net, 1e-5);
    assert!(err < 1e-6, "relative error {err:e}");
}

#[test]
fn reverse_plan_parameter_gradient_matches_finite_differences() {
    // The default plan (jets) is checked above; the reference plan keeps its own check.
    let net = random_net(2, &[6, 6], 3, Activation::Tanh, 12);
    let loss = ns_loss(2, 20, 8).with_derivatives(Derivatives::Reverse);
    let err = fd_relative_error(&loss, &net, 1e-5);
    assert!(err < 1e-6, "relative error {err:e}");
}

#[test]
fn every_plan_gives_the_same_loss_and_parameter_gradient() {
    let cases: Vec<(PinnLoss, Mlp)> = Activation::ALL
        .into_iter()
        .map(|a| (poisson_loss(7), random_net(2, &[6, 5], 1, a, 21)))
        .chain([
            (
                ns_loss(2, 40, 9),
                random_net(2, &[7, 6], 3, Activation::Tanh, 22),
            ),
            (
                ns_loss(3, 30, 8),
                random_net(3, &[6, 6], 4, Activation::Sin, 23),
            ),
            (
                ns_loss(3, 30, 8),
                random_net(3, &[6, 6], 4, Activation::Softplus, 24),
            ),
        ])
        .collect();
    for (loss, net) in cases {
        let (lr, gr) = loss
            .clone_with(Derivatives::Reverse)
            .value_and_grad(&net)
            .unwrap();
        for plan in [
            Derivatives::Jets,
            Derivatives::ForwardOverReverse,
            Derivatives::Auto,
        ] {
            let (l, g) = loss.clone_with(plan).value_and_grad(&net).unwrap();
            assert_relative_eq!(l.total, lr.total, max_relative = 1e-13);
            assert_relative_eq!(l.pde, lr.pde, max_relative = 1e-13);
            assert_relative_eq!(
                l.continuity,
                lr.continuity,
                max_relative = 1e-12,
                epsilon = 1e-300
            );
            let scale = gr.iter().fold(0.0f64, |s, v| s.max(v.abs()));
            for (a, b) in g.iter().zip(&gr) {
                assert!((a - b).abs() <= 1e-12 * scale, "{plan:?}: {a} vs {b}");
            }
        }
    }
}

#[test]
fn jets_record_far_fewer_nodes_than_reverse_over_reverse() {
    let net = random_net(3, &[16, 16, 16], 4, Activation::Tanh, 25);
    let loss = ns_loss(3, 64, 32);
    let (jets, jv) = loss.chunk_nodes(&net).unwrap();
    let (rev, rv) = loss
        .clone_with(Derivatives::Reverse)
        .chunk_nodes(&net)
        .unwrap();
    println!("nodes per chunk: jets {jets} ({jv} values), reverse {rev} ({rv} values)");
    assert!(2 * jets < rev, "jets {jets} nodes, reverse {rev}");
    assert!(2 * jv < rv, "jets {jv} values, reverse {rv}");
}

fn on_threads<R: Send>(k: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(k)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn gradient_is_bit_identical_for_any_thread_count() {
    let net = random_net(2, &[8, 8], 3, Activation::Tanh, 14);
    let loss = ns_loss(2, 120, 16);
    let (l1, g1) = on_threads(1, || loss.value_and_grad(&net).unwrap());
    let (l2, g2) = on_threads(2, || loss.value_and_grad(&net).unwrap());
    let (l3, g3) = on_threads(3, || loss.value_and_grad(&net).unwrap());
    assert_eq!(l1, l2);
    assert_eq!(l1, l3);
    // Compare bit patterns, so that even −0.0 against 0.0 would show.
    let bits = |g: &[f64]| g.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&g1), bits(&g2));
    assert_eq!(bits(&g1), bits(&g3));
}

#[test]
fn chunk_size_regroups_the_sums_without_changing_the_math() {
    // Different chunk sizes add the same terms in another grouping: equal up to
    // rounding, not bitwise (the reduction order is fixed only for a fixed chunking).
    let net = random_net(2, &[8, 8], 3, Activation::Tanh, 15);
    let (la, ga) = ns_loss(2, 120, 16).value_and_grad(&net).unwrap();
    let (lb, gb) = ns_loss(2, 120, 50).value_and_grad(&net).unwrap();
    assert_relative_eq!(la.total, lb.total, max_relative = 1e-13);
    for (a, b) in ga.iter().zip(&gb) {
        assert_relative_eq!(*a, *b, max_relative = 1e-11, epsilon = 1e-14);
    }
    // And a single chunk holding every point is the plain formula.
    let (lc, _) = ns_loss(2, 120, 10_000).value_and_grad(&net).unwrap();
    assert_relative_eq!(la.total, lc.total, max_relative = 1e-13);
}

#[test]
fn residuals_of_exact_solutions_vanish() {
    let tape = Tape::new();
    let pts = random_points(2, 50, 5);
    let x: Vec<_> = (0..2)
        .map(|k| tape.var(Tensor::column(pts.col(k).to_vec())))
        .collect();
    // Poisson: u = sin(πx) sin(πy), f = 2π² u.
    let pi = std::f64::consts::PI;
    let u = (x[0] * pi).sin() * (x[1] * pi).sin();
    let r = poisson_residual(u, &x, u.scale(2.0 * pi * pi)).unwrap();
    for v in r.value().unwrap().as_slice() {
        assert!(v.abs() < 1e-12, "{v}");
    }
    for plan in Derivatives::PLANS {
        let r = poisson_residual_by(u, &x, u.scale(2.0 * pi * pi), plan).unwrap();
        for v in r.value().unwrap().as_slice() {
            assert!(v.abs() < 1e-12, "{plan:?}: {v}");
        }
    }
    // Kovasznay flow at Re = 20 solves steady Navier–Stokes with ν = 1/Re.
    let re = 20.0;
    let lam = re / 2.0 - (re * re / 4.0 + 4.0 * pi * pi).sqrt();
    let e = (x[0] * lam).exp();
    let (s, c) = ((x[1] * (2.0 * pi)).sin(), (x[1] * (2.0 * pi)).cos());
    let flow = [
        1.0 - e * c,
        (e * s).scale(lam / (2.0 * pi)),
        (1.0 - (x[0] * (2.0 * lam)).exp()).scale(0.5),
    ];
    for plan in Derivatives::PLANS {
        let r = navier_stokes_residuals_by(&flow, &x, 1.0 / re, plan).unwrap();
        for v in r.iter().flat_map(|ri| ri.value().unwrap().into_vec()) {
            assert!(v.abs() < 1e-11, "{plan:?}: {v}");
        }
    }
    let r = navier_stokes_residuals(&flow, &x, 1.0 / re).unwrap();
    assert_eq!(r.len(), 3);
    for ri in r {
        for v in ri.value().unwrap().as_slice() {
            assert!(v.abs() < 1e-11, "{v}");
        }
    }
    // A field without a pressure is refused.
    let err = navier_stokes_residuals(&flow[..2], &x, 0.05).unwrap_err();
    assert!(matches!(err, Error::Operator { .. }));
}

#[test]
fn mlp_as_a_field_matches_its_tape_forward() {
    let net = random_net(3, &[7, 7], 2, Activation::Sin, 16);
    let pts = random_points(3, 40, 6);
    let out = evaluate(&net, &pts, &[Operator::Value], &EvalOptions::default()).unwrap();
    let tape = Tape::new();
    let x: Vec<_> = (0..3)
        .map(|k| tape.constant(Tensor::column(pts.col(k).to_vec())))
        .collect();
    let y = net.on_tape(&tape, true).forward(&x);
    for (k, yk) in y.iter().enumerate() {
        let v = yk.value().unwrap();
        for i in 0..40 {
            assert_eq!(out[0].values[i * 2 + k], v[(i, 0)]);
        }
    }
    assert_eq!(net.components(), 2);
}

#[test]
fn softplus_is_ln_one_plus_exp() {
    let tape = Tape::new();
    let z = tape.var(Tensor::column(vec![-30.0, -1.0, 0.5, 2.0, 40.0]));
    let y = Activation::Softplus.apply(z).value().unwrap();
    for (i, &zi) in [-30.0f64, -1.0, 0.5, 2.0, 40.0].iter().enumerate() {
        let expect = if zi > 20.0 { zi } else { zi.exp().ln_1p() };
        assert_relative_eq!(y[(i, 0)], expect, max_relative = 1e-14);
    }
}

#[test]
fn adam_converges_on_a_quadratic() {
    // f(p) = Σ aᵢ (pᵢ − cᵢ)², ∇f = 2 aᵢ (pᵢ − cᵢ): minimum at c.
    let a = [1.0, 10.0, 0.1];
    let c = [3.0, -2.0, 0.5];
    let mut adam = Adam::new(AdamConfig::new(0.05), 3).unwrap();
    let mut p = [0.0; 3];
    let sched = Schedule::Exponential {
        rate: 0.01,
        every: 2000,
    };
    for k in 0..2000 {
        let g: Vec<f64> = (0..3).map(|i| 2.0 * a[i] * (p[i] - c[i])).collect();
        adam.step(&mut p, &g, sched.rate(0.05, k, 2000).unwrap())
            .unwrap();
    }
    for i in 0..3 {
        assert!((p[i] - c[i]).abs() < 1e-4, "p[{i}] = {}", p[i]);
    }
    assert_eq!(adam.steps(), 2000);
}

#[test]
fn schedules_start_at_the_base_rate_and_decay() {
    let lr = 1e-2;
    for s in [
        Schedule::Constant,
        Schedule::Exponential {
            rate: 0.5,
            every: 10,
        },
        Schedule::Step {
            factor: 0.5,
            every: 10,
        },
        Schedule::Cosine { min_lr: 1e-4 },
    ] {
        assert_eq!(s.rate(lr, 0, 100).unwrap(), lr, "{s:?}");
        assert!(s.rate(lr, 99, 100).unwrap() <= lr);
    }
    let e = Schedule::Exponential {
        rate: 0.5,
        every: 10,
    };
    assert_relative_eq!(e.rate(lr, 10, 100).unwrap(), 5e-3, max_relative = 1e-15);
    let st = Schedule::Step {
        factor: 0.5,
        every: 10,
    };
    assert_eq!(st.rate(lr, 19, 100).unwrap(), 5e-3);
    assert_relative_eq!(
        Schedule::Cosine { min_lr: 1e-4 }
            .rate(lr, 100, 100)
            .unwrap(),
        1e-4,
        max_relative = 1e-12
    );
}

#[test]
fn short_training_run_reduces_the_loss() {
    let f = FnField::new(1, |x| vec![x[0] * 0.0 + 1.0]);
    let g = FnField::new(1, |x| vec![x[0] * 0.0]);
    let interior = random_points(2, 64, 7);
    let boundary = random_points(2, 32, 8);
    let loss = PinnLoss::poisson(&f, interior, boundary, &g, LossWeights::default()).unwrap();
    let mut net = Mlp::new(2, &[16, 16], 1, Activation::Tanh, 1).unwrap();
    let mut adam = Adam::new(AdamConfig::new(1e-2), net.num_params()).unwrap();
    let mut history = Vec::new();
    let opts = FitOptions {
        iterations: 150,
        quiet: true,
        ..FitOptions::default()
    };
    fit(&mut net, &mut adam, &loss, &opts, &mut history).unwrap();
    assert_eq!(history.len(), 150);
    let first = history[0].loss.total;
    let last = loss.value(&net).unwrap().total;
    assert!(last < 0.1 * first, "loss {first} → {last}");
}

#[test]
fn checkpoint_round_trip_is_exact() {
    let net = random_net(3, &[5, 4], 4, Activation::Softplus, 17);
    let back = Mlp::from_json(&net.to_json()).unwrap();
    assert_eq!(back, net);
    let bits = |m: &Mlp| m.params().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&back), bits(&net));

    let mut adam = Adam::new(AdamConfig::new(1e-3), net.num_params()).unwrap();
    let mut p = net.params();
    let g: Vec<f64> = p.iter().map(|v| v.sin() / 3.0).collect();
    adam.step(&mut p, &g, 1e-3).unwrap();
    let ck = Checkpoint {
        mlp: net.clone(),
        adam,
        history: Vec::new(),
        unknowns: Vec::new(),
        lbfgs: None,
        refined: Vec::new(),
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ck.json");
    ck.save(&path).unwrap();
    assert_eq!(Checkpoint::load(&path).unwrap(), ck);
}

/// A copy of the Poisson fixture with fewer points and iterations.
fn small_poisson() -> PinnConfig {
    let mut c = PinnConfig::from_toml(&poisson()).unwrap();
    c.points.interior = 128;
    c.points.boundary = 64;
    c.network.hidden = vec![12, 12];
    c.optimizer.iterations = 40;
    c.validation.as_mut().unwrap().points = 500;
    c
}

#[test]
fn train_writes_history_plot_checkpoint_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_poisson();
    let opts = TrainOptions {
        quiet: true,
        resume: false,
        ..Default::default()
    };
    let rep = train(&cfg, &opts, dir.path()).unwrap();
    assert_eq!(rep.history.len(), 40);
    assert_eq!(rep.errors.len(), 1);
    assert_eq!(rep.errors[0].name, "u");
    assert!(rep.errors[0].relative_l2.is_finite());
    assert!(rep.final_loss.total < rep.history[0].loss.total);
    let csv = std::fs::read_to_string(dir.path().join("loss.csv")).unwrap();
    assert_eq!(csv.lines().count(), 41);
    assert!(csv.starts_with("iteration,learning_rate,loss,pde,continuity,boundary,seconds"));
    let png = std::fs::read(dir.path().join("loss.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let svg = std::fs::read_to_string(dir.path().join("loss.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("training loss"),
        "{svg}"
    );

    // Resuming to 60 iterations continues from step 40 with the saved optimiser state.
    cfg.optimizer.iterations = 60;
    let resumed = train(
        &cfg,
        &TrainOptions {
            quiet: true,
            resume: true,
            ..Default::default()
        },
        dir.path(),
    )
    .unwrap();
    assert_eq!(resumed.history.len(), 60);
    assert_eq!(resumed.history[..40], rep.history[..]);
    assert_eq!(resumed.history[40].iteration, 40);

    // Evaluating the checkpoint gives the trained network's loss and errors.
    let (loss, errs) = nabla::pinn::evaluate(&cfg, &dir.path().join("checkpoint.json")).unwrap();
    assert_eq!(loss, resumed.final_loss);
    assert_eq!(errs, resumed.errors);
}

#[test]
fn resumed_run_equals_uninterrupted_run() {
    let cfg = small_poisson();
    let quiet = TrainOptions {
        quiet: true,
        resume: true,
        ..Default::default()
    };
    let a = tempfile::tempdir().unwrap();
    let full = train(&cfg, &quiet, a.path()).unwrap();
    let b = tempfile::tempdir().unwrap();
    let mut half = cfg.clone();
    half.optimizer.iterations = 20;
    train(&half, &quiet, b.path()).unwrap();
    let rest = train(&cfg, &quiet, b.path()).unwrap();
    assert_eq!(rest.mlp, full.mlp);
}

#[test]
fn kovasznay_fixture_builds_a_navier_stokes_problem() {
    let cfg = PinnConfig::from_toml(&kovasznay()).unwrap();
    assert_eq!(cfg.outputs(), 3);
    let c = cfg.constants().unwrap();
    let pi = std::f64::consts::PI;
    assert_eq!(c[1].0, "lambda");
    assert_relative_eq!(
        c[1].1,
        10.0 - (100.0 + 4.0 * pi * pi).sqrt(),
        max_relative = 1e-15
    );
    let p = cfg.problem().unwrap();
    assert_eq!(p.output_names, ["u", "v", "p"]);
    assert_eq!(p.loss.builtin().unwrap().interior().len(), 1200);
    // Boundary points lie on the box's faces.
    for i in 0..p.loss.builtin().unwrap().boundary().len() {
        let [x, y, _] = p.loss.builtin().unwrap().boundary().point(i);
        let on = |v: f64, a: f64, b: f64| v == a || v == b;
        assert!(on(x, -0.5, 1.0) || on(y, -0.5, 1.5), "({x}, {y})");
    }
}

#[test]
fn sampling_is_deterministic_and_inside_the_box() {
    let cfg = PinnConfig::from_toml(&kovasznay()).unwrap();
    let a = sample_box(&cfg.domain, 100, 5).unwrap();
    assert_eq!(a, sample_box(&cfg.domain, 100, 5).unwrap());
    for i in 0..100 {
        let [x, y, _] = a.point(i);
        assert!((-0.5..1.0).contains(&x) && (-0.5..1.5).contains(&y));
    }
    assert_eq!(
        sample_faces(&cfg.domain, 50, 6).unwrap(),
        sample_faces(&cfg.domain, 50, 6).unwrap()
    );
}

fn config_error(e: Error) -> (String, String) {
    match e {
        Error::Config { setting, message } => (setting, message),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn network_errors() {
    let (s, m) = config_error(Mlp::new(2, &[8, 0], 1, Activation::Tanh, 0).unwrap_err());
    assert_eq!(s, "network.hidden");
    assert!(m.contains("width 0"), "{m}");
    let (s, m) = config_error(Mlp::new(2, &[], 1, Activation::Tanh, 0).unwrap_err());
    assert_eq!(s, "network.hidden");
    assert!(m.contains("no hidden layers"), "{m}");
    // 1 to 16 inputs (space, time, extra inputs); tests/it/sampling.rs takes them all.
    for d in [0, 17] {
        let (s, m) = config_error(Mlp::new(d, &[8], 1, Activation::Tanh, 0).unwrap_err());
        assert_eq!(s, "network.inputs");
        assert!(m.contains("1 to 16 inputs"), "{m}");
    }
    let (s, _) = config_error(Mlp::new(2, &[8], 0, Activation::Tanh, 0).unwrap_err());
    assert_eq!(s, "network.outputs");
    let (s, m) = config_error("relu".parse::<Activation>().unwrap_err());
    assert_eq!(s, "network.activation");
    assert!(
        m.contains("'relu'") && m.contains("tanh, sin, softplus"),
        "{m}"
    );
    let mut net = Mlp::new(2, &[3], 1, Activation::Tanh, 0).unwrap();
    config_error(net.set_params(&[1.0]).unwrap_err());
    config_error(Mlp::from_json("{").unwrap_err());
    let mut bad = net.to_json();
    bad = bad.replacen("\"inputs\":2", "\"inputs\":5", 1);
    config_error(Mlp::from_json(&bad).unwrap_err());
    // Plain serde goes through the same check.
    assert!(serde_json::from_str::<Mlp>(&bad).is_err());
}

#[test]
fn optimiser_errors() {
    let (s, m) = config_error(Adam::new(AdamConfig::new(-1e-3), 3).unwrap_err());
    assert_eq!(s, "optimizer.learning_rate");
    assert!(m.contains("positive"), "{m}");
    config_error(Adam::new(AdamConfig::new(f64::NAN), 3).unwrap_err());
    let mut c = AdamConfig::new(1e-3);
    c.beta1 = 1.0;
    assert_eq!(config_error(c.validate().unwrap_err()).0, "optimizer.beta1");
    let mut c = AdamConfig::new(1e-3);
    c.beta2 = -0.1;
    assert_eq!(config_error(c.validate().unwrap_err()).0, "optimizer.beta2");
    let mut c = AdamConfig::new(1e-3);
    c.eps = 0.0;
    assert_eq!(config_error(c.validate().unwrap_err()).0, "optimizer.eps");
    // fit refuses zero iterations and a bad schedule.
    let f = FnField::new(1, |x| vec![x[0]]);
    let loss = PinnLoss::poisson(
        &f,
        random_points(2, 4, 1),
        random_points(2, 4, 2),
        &f,
        LossWeights::default(),
    )
    .unwrap();
    let mut net = Mlp::new(2, &[3], 1, Activation::Tanh, 0).unwrap();
    let mut adam = Adam::new(AdamConfig::new(1e-3), net.num_params()).unwrap();
    let zero = FitOptions::default();
    let (s, _) = config_error(fit(&mut net, &mut adam, &loss, &zero, &mut Vec::new()).unwrap_err());
    assert_eq!(s, "optimizer.iterations");
    let bad = FitOptions {
        iterations: 5,
        schedule: Schedule::Cosine { min_lr: 1.0 },
        ..FitOptions::default()
    };
    let (s, _) = config_error(fit(&mut net, &mut adam, &loss, &bad, &mut Vec::new()).unwrap_err());
    assert_eq!(s, "optimizer.schedule");

    let mut adam = Adam::new(AdamConfig::new(1e-3), 3).unwrap();
    config_error(adam.step(&mut [0.0; 2], &[0.0; 3], 1e-3).unwrap_err());
    config_error(adam.step(&mut [0.0; 3], &[0.0; 3], -1.0).unwrap_err());
    for s in [
        Schedule::Exponential {
            rate: 1.5,
            every: 10,
        },
        Schedule::Step {
            factor: 0.5,
            every: 0,
        },
        Schedule::Cosine { min_lr: 1.0 },
    ] {
        assert_eq!(
            config_error(s.validate(1e-3).unwrap_err()).0,
            "optimizer.schedule"
        );
    }
}

#[test]
fn loss_errors() {
    let f = FnField::new(1, |x| vec![x[0]]);
    let two = FnField::new(2, |x| vec![x[0], x[1]]);
    let w = LossWeights::default();
    let (i, b) = (random_points(2, 5, 1), random_points(2, 5, 2));
    assert_eq!(
        config_error(
            PinnLoss::poisson(&two, i.clone(), b.clone(), &f, w)
                .err()
                .unwrap()
        )
        .0,
        "pde"
    );
    assert_eq!(
        config_error(
            PinnLoss::navier_stokes(-1.0, i.clone(), b.clone(), &two, w)
                .err()
                .unwrap()
        )
        .0,
        "pde.nu"
    );
    let neg = LossWeights {
        boundary: -1.0,
        ..w
    };
    assert_eq!(
        config_error(
            PinnLoss::poisson(&f, i.clone(), b.clone(), &f, neg)
                .err()
                .unwrap()
        )
        .0,
        "weights.boundary"
    );
    let b3 = random_points(3, 5, 2);
    config_error(PinnLoss::poisson(&f, i.clone(), b3, &f, w).err().unwrap());
    let loss = PinnLoss::poisson(&f, i, b, &f, w).unwrap();
    let wrong = Mlp::new(2, &[4], 2, Activation::Tanh, 0).unwrap();
    assert_eq!(config_error(loss.value(&wrong).unwrap_err()).0, "network");
    assert_eq!(
        config_error(loss.with_chunk_size(0).err().unwrap()).0,
        "chunk_size"
    );
}

#[test]
fn every_config_error() {
    let base = small_poisson();
    let check = |edit: &dyn Fn(&mut PinnConfig), setting: &str, needle: &str| {
        let mut c = base.clone();
        edit(&mut c);
        let (s, m) = config_error(c.problem().err().expect(setting));
        assert_eq!(s, setting, "{m}");
        assert!(m.contains(needle), "{setting}: {m}");
    };
    check(
        &|c| c.network.hidden = vec![],
        "network.hidden",
        "no hidden layers",
    );
    check(
        &|c| c.network.hidden = vec![4, 0],
        "network.hidden",
        "width 0",
    );
    check(
        &|c| c.network.activation = "relu".into(),
        "network.activation",
        "valid activations are: tanh, sin, softplus",
    );
    check(
        &|c| c.optimizer.learning_rate = -1e-3,
        "optimizer.learning_rate",
        "positive",
    );
    check(
        &|c| c.optimizer.iterations = 0,
        "optimizer.iterations",
        "at least 1",
    );
    check(&|c| c.optimizer.beta1 = 1.0, "optimizer.beta1", "[0, 1)");
    check(
        &|c| {
            c.optimizer.schedule = Schedule::Step {
                factor: 0.5,
                every: 0,
            }
        },
        "optimizer.schedule",
        "every",
    );
    check(&|c| c.exact = None, "validation", "no exact solution");
    check(
        &|c| c.exact = Some(vec!["x".into(), "y".into()]),
        "exact",
        "one expression per output",
    );
    check(&|c| c.boundary = vec![], "boundary", "1 to 1");
    check(
        &|c| c.boundary = vec!["sin(x".into()],
        "boundary",
        "component 0",
    );
    check(&|c| c.boundary = vec!["q*x".into()], "boundary", "q");
    check(&|c| c.domain.max = vec![1.0], "domain", "2 or 3");
    check(&|c| c.domain.max = vec![1.0, -1.0], "domain", "below");
    check(&|c| c.points.interior = 0, "points", "at least 1");
    check(
        &|c| c.points.chunk_size = 0,
        "points.chunk_size",
        "at least 1",
    );
    check(&|c| c.weights.pde = f64::NAN, "weights.pde", "finite");
    check(
        &|c| c.constants = vec![["k".into(), "2*".into()]],
        "constants.k",
        "unexpected end",
    );
    check(
        &|c| {
            c.pde = nabla::pinn::PdeConfig::NavierStokes {
                nu: nabla::field::expr::Number::Value(0.0),
            }
        },
        "pde.nu",
        "positive",
    );

    // Unknown keys and unknown PDE kinds are refused by the TOML reader, listing the
    // valid names.
    let (s, m) = config_error(
        PinnConfig::from_toml(&poisson().replace("seed = 1", "seed = 1\ndepth = 3")).unwrap_err(),
    );
    assert_eq!(s, "toml");
    assert!(m.contains("depth") && m.contains("hidden"), "{m}");
    let (_, m) = config_error(
        PinnConfig::from_toml(&poisson().replace("kind = \"poisson\"", "kind = \"heat\""))
            .unwrap_err(),
    );
    assert!(m.contains("heat") && m.contains("navier_stokes"), "{m}");
}

#[test]
fn error_messages_name_the_setting() {
    let e = Mlp::new(2, &[], 1, Activation::Tanh, 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "config: network.hidden: no hidden layers; give at least one width, e.g. hidden = [32, 32]"
    );
}

#[test]
fn boundary_only_and_pde_only_losses() {
    // A zero weight drops the term's chunks; its mean is then reported as 0.
    let net = random_net(2, &[6], 3, Activation::Tanh, 18);
    let g = FnField::new(2, |x| vec![x[0], x[1]]);
    let mk = |w: LossWeights| {
        PinnLoss::navier_stokes(0.1, random_points(2, 10, 1), random_points(2, 10, 2), &g, w)
            .unwrap()
    };
    let bc = mk(LossWeights {
        pde: 0.0,
        continuity: 0.0,
        boundary: 1.0,
    })
    .value(&net)
    .unwrap();
    assert_eq!(bc.pde, 0.0);
    assert_eq!(bc.total, bc.boundary);
    let all = mk(LossWeights::default()).value(&net).unwrap();
    assert_eq!(all.boundary, bc.boundary);
    assert_eq!(all.total, all.pde + all.continuity + all.boundary);
}

/// A data field is a `Field` like any other: as the source and boundary target of a
/// physics-informed loss it gives the loss and weight gradient of the formulas it samples
/// (a quadratic source and a linear target are reproduced to round-off by degree 2).
#[test]
fn data_fields_serve_as_source_and_boundary_target() {
    use nabla::field::data::{DataField, Reconstruction};
    let samples = random_points(2, 400, 11);
    let rows: Vec<[f64; 3]> = (0..samples.len()).map(|i| samples.point(i)).collect();
    let f_of = |p: &[f64; 3]| 1.0 + p[0] * p[0] - p[0] * p[1];
    let g_of = |p: &[f64; 3]| 2.0 * p[0] - p[1];
    let opts = Reconstruction::default();
    let f_data = DataField::new(
        &rows,
        2,
        rows.iter().map(f_of).collect::<Vec<_>>(),
        1,
        &opts,
    )
    .unwrap();
    let g_data = DataField::new(
        &rows,
        2,
        rows.iter().map(g_of).collect::<Vec<_>>(),
        1,
        &opts,
    )
    .unwrap();
    let f = FnField::new(1, |x| vec![x[0] * x[0] - x[0] * x[1] + 1.0]);
    let g = FnField::new(1, |x| vec![x[0] * 2.0 - x[1]]);
    let interior = random_points(2, 64, 7);
    let boundary = random_points(2, 32, 8);
    let w = LossWeights::default();
    let from_data =
        PinnLoss::poisson(&f_data, interior.clone(), boundary.clone(), &g_data, w).unwrap();
    let from_formulas = PinnLoss::poisson(&f, interior, boundary, &g, w).unwrap();
    let net = random_net(2, &[8], 1, Activation::Tanh, 3);
    let (a, ga) = from_data.value_and_grad(&net).unwrap();
    let (b, gb) = from_formulas.value_and_grad(&net).unwrap();
    assert_relative_eq!(a.total, b.total, max_relative = 1e-10);
    for (x, y) in ga.iter().zip(&gb) {
        assert!((x - y).abs() <= 1e-10 * (1.0 + y.abs()), "{x} vs {y}");
    }
    assert!(f_data.stats().points > 0 && g_data.stats().points > 0);
}

#[test]
fn the_derivative_plan_is_a_pinn_setting() {
    // `derivatives = "reverse"` in [pinn] trains the reference plan: the same losses as
    // the default jets to round-off, step by step.
    let text = poisson();
    let jets = PinnConfig::from_toml(&text).unwrap();
    assert_eq!(jets.derivatives, Derivatives::Auto);
    let reverse = PinnConfig::from_toml(&format!("derivatives = \"reverse\"\n{text}")).unwrap();
    assert_eq!(reverse.derivatives, Derivatives::Reverse);
    let (a, b) = (jets.problem().unwrap(), reverse.problem().unwrap());
    assert_eq!(a.loss.builtin().unwrap().derivatives(), Derivatives::Auto);
    assert_eq!(
        b.loss.builtin().unwrap().derivatives(),
        Derivatives::Reverse
    );
    let net = random_net(2, &jets.network.hidden, 1, Activation::Tanh, 5);
    let (la, ga) = a.loss.builtin().unwrap().value_and_grad(&net).unwrap();
    let (lb, gb) = b.loss.builtin().unwrap().value_and_grad(&net).unwrap();
    assert_relative_eq!(la.total, lb.total, max_relative = 1e-13);
    let scale = gb.iter().fold(0.0f64, |s, v| s.max(v.abs()));
    for (x, y) in ga.iter().zip(&gb) {
        assert!((x - y).abs() <= 1e-12 * scale, "{x} vs {y}");
    }
    // An unknown plan is refused with the valid names.
    let e = PinnConfig::from_toml(&format!("derivatives = \"symbolic\"\n{text}")).unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("symbolic") && m.contains("jets") && m.contains("reverse"),
        "{m}"
    );
}

/// A history of two steps with the totals `first` and `second`.
fn two_steps(first: f64, second: f64) -> Vec<nabla::pinn::LossRecord> {
    [first, second]
        .iter()
        .enumerate()
        .map(|(k, &total)| nabla::pinn::LossRecord {
            iteration: k,
            learning_rate: 1e-3,
            loss: nabla::pinn::LossTerms {
                total,
                pde: total,
                continuity: 0.0,
                boundary: 0.0,
            },
            seconds: 0.0,
            unknowns: Vec::new(),
        })
        .collect()
}

#[test]
fn learning_warning_names_a_loss_that_did_not_fall_by_the_factor() {
    let history = two_steps(10.0, 5.0);
    // 10 → 1.5 is a factor 6.667 < 10: a warning; 10 → 0.5 is 20: none.
    let w = learning_warning(&history, 1.5, 10.0).expect("a warning");
    assert!(w.contains("did not learn") && w.contains("6.667"), "{w}");
    assert!(w.contains("min_loss_reduction = 10"), "{w}");
    assert_eq!(learning_warning(&history, 0.5, 10.0), None);
    // A loss that grew says so (the learning rate 1e3, final loss 127).
    let w = learning_warning(&history, 127.0, 10.0).unwrap();
    assert!(w.contains("rose from 1.000e1 to 1.270e2"), "{w}");
    // Exactly the factor is not enough: the loss must fall below first / factor.
    assert!(learning_warning(&history, 1.0, 10.0).is_some());
    // 0 turns the check off; an empty history or a first loss of 0 has nothing to compare.
    assert_eq!(learning_warning(&history, 127.0, 0.0), None);
    assert_eq!(learning_warning(&[], 127.0, 10.0), None);
    assert_eq!(learning_warning(&two_steps(0.0, 0.0), 0.0, 10.0), None);
}

#[test]
fn train_reports_a_training_that_did_not_learn() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_poisson();
    let opts = TrainOptions {
        quiet: true,
        ..Default::default()
    };
    // 40 steps take the loss from 87.7 to 38.1, a factor 2.3: no warning when the case
    // asks for 2, one for the default 10 and for 10¹², and one for a learning rate of 10³.
    cfg.min_loss_reduction = 2.0;
    let rep = train(&cfg, &opts, dir.path()).unwrap();
    assert_eq!(rep.warnings, Vec::<String>::new());
    cfg.min_loss_reduction = 10.0;
    let rep = train(&cfg, &opts, dir.path()).unwrap();
    assert!(
        rep.warnings[0].contains("by a factor 2.301"),
        "{:?}",
        rep.warnings
    );
    cfg.min_loss_reduction = 1e12;
    let rep = train(&cfg, &opts, dir.path()).unwrap();
    assert_eq!(rep.warnings.len(), 1, "{:?}", rep.warnings);
    assert!(rep.warnings[0].contains("min_loss_reduction = 1000000000000"));
    // The factor may change when a run is resumed (it is saved, but not compared).
    cfg.min_loss_reduction = 10.0;
    cfg.optimizer.iterations = 45;
    let resume = TrainOptions {
        quiet: true,
        resume: true,
        ..Default::default()
    };
    assert_eq!(train(&cfg, &resume, dir.path()).unwrap().history.len(), 45);
    cfg.optimizer.learning_rate = 1e3;
    let rep = train(&cfg, &opts, dir.path()).unwrap();
    assert!(
        rep.warnings[0].contains("did not learn"),
        "{:?}",
        rep.warnings
    );
}

#[test]
fn min_loss_reduction_must_be_finite_and_not_negative() {
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        let mut cfg = small_poisson();
        cfg.min_loss_reduction = bad;
        let (setting, message) = config_error(cfg.problem().err().unwrap());
        assert_eq!(setting, "min_loss_reduction");
        assert!(message.contains("0 turns the check off"), "{message}");
    }
    let mut cfg = small_poisson();
    cfg.min_loss_reduction = 0.0;
    assert!(cfg.problem().is_ok());
    // The default is 10.
    assert_eq!(
        PinnConfig::from_toml(&poisson())
            .unwrap()
            .min_loss_reduction,
        10.0
    );
}
