//! Residual-based adaptive refinement of an equations problem's collocation points:
//! `[pinn.points] refine = { every, add, candidates }`.

use crate::pinn_equations::config_error;
use nabla::pinn::{Checkpoint, PinnConfig, TrainOptions, evaluate, train};

/// The heat problem of `pinn_equations.rs`, u_t = k u_xx with u = exp(−kπ²t) sin(πx),
/// with `refine` in `[points]` and `extra` at the top.
fn heat(extra: &str, refine: &str, iterations: usize) -> String {
    format!(
        r#"
constants = [["k", "0.1"]]
exact = ["exp(-k*pi^2*t)*sin(pi*x)"]
{extra}
[pde]
kind = "equations"
inputs = ["x", "t"]
outputs = ["u"]
equations = ["d(u, t) - k*d(u, x, x)"]

[[conditions]]
on = "t = 0"
values = {{ u = "sin(pi*x)" }}
points = 64

[[conditions]]
on = ["x = 0", "x = 1"]
values = {{ u = "0" }}
points = 32

[network]
hidden = [16, 16]
seed = 3

[domain]
min = [0.0, 0.0]
max = [1.0, 1.0]

[points]
interior = 256
sampler = "hammersley"
seed = 1
{refine}

[optimizer]
learning_rate = 5e-3
iterations = {iterations}

[validation]
points = 2000
"#
    )
}

const REFINE: &str = "refine = { every = 10, add = 16, candidates = 200 }";

fn quiet() -> TrainOptions {
    TrainOptions {
        quiet: true,
        ..Default::default()
    }
}

fn resuming() -> TrainOptions {
    TrainOptions {
        resume: true,
        ..quiet()
    }
}

fn checkpoint(dir: &std::path::Path) -> Checkpoint {
    Checkpoint::load(&dir.join("checkpoint.json")).unwrap()
}

/// A source peaked at (0.8, 0.8) dominates the residual of a network that has hardly
/// moved (a learning rate of 1e-9): the points added are the candidates nearest the
/// peak, exactly the largest squared residuals of the network of the round's step.
#[test]
fn refinement_adds_the_candidates_of_largest_residual() {
    let toml = heat("", "refine = { every = 1, add = 20, candidates = 1000 }", 2)
        .replace(
            "d(u, t) - k*d(u, x, x)",
            "d(u, t) - k*d(u, x, x) - 100*exp(-100*((x - 0.8)^2 + (t - 0.8)^2))",
        )
        .replace("learning_rate = 5e-3", "learning_rate = 1e-9")
        .replace("sampler = \"hammersley\"", "sampler = \"uniform\"");
    let cfg = PinnConfig::from_toml(&toml).unwrap();
    let dir = tempfile::tempdir().unwrap();
    train(&cfg, &quiet(), dir.path()).unwrap();
    let added = checkpoint(dir.path()).refined;
    assert_eq!((added.len(), added[0].len()), (2, 20));
    for (x, t) in added[0].iter().zip(&added[1]) {
        let r = ((x - 0.8).powi(2) + (t - 0.8).powi(2)).sqrt();
        assert!(r < 0.15, "a point added at ({x}, {t}), {r} from the peak");
    }
    // The same points from the library: the candidates of round 1, ranked by the
    // squared residual of the network after one step (taken on the problem's own points).
    let mut one = cfg.clone();
    one.points.refine = None;
    one.optimizer.iterations = 1;
    let first = tempfile::tempdir().unwrap();
    let net = train(&one, &quiet(), first.path()).unwrap().mlp;
    let problem = cfg.problem().unwrap();
    let eq = problem.loss.equations().unwrap();
    let cand = eq.candidates(1000, 1).unwrap();
    let sq = eq.loss.squared_residuals(0, &net, &[], &cand).unwrap();
    let mut order: Vec<usize> = (0..sq.len()).collect();
    order.sort_by(|&a, &b| sq[b].total_cmp(&sq[a]).then(a.cmp(&b)));
    let mut top = order[..20].to_vec();
    top.sort_unstable();
    let want: Vec<Vec<f64>> = cand
        .iter()
        .map(|c| top.iter().map(|&i| c[i]).collect())
        .collect();
    assert_eq!(added, want);
    // The candidates of another round are other points; the equations' own are kept.
    assert_ne!(eq.candidates(1000, 2).unwrap(), cand);
    let grown = eq.with_added(&added).unwrap();
    let pts = grown.loss.terms()[0].points();
    assert_eq!(pts[0].len(), 256 + 20);
    assert_eq!(pts[0][..256], eq.loss.terms()[0].points()[0][..]);
}

#[test]
fn refinement_is_bit_identical_for_any_thread_count_and_resumes_exactly() {
    let with = format!("{}\n[lbfgs]\nsteps = 5\n", heat("", REFINE, 40));
    let cfg = PinnConfig::from_toml(&with).unwrap();
    let run = |k: usize, cfg: &PinnConfig| {
        let dir = tempfile::tempdir().unwrap();
        let r = rayon::ThreadPoolBuilder::new()
            .num_threads(k)
            .build()
            .unwrap()
            .install(|| train(cfg, &quiet(), dir.path()).unwrap());
        (r, checkpoint(dir.path()))
    };
    let ((a, ca), (b, cb)) = (run(1, &cfg), run(2, &cfg));
    assert_eq!(a.mlp, b.mlp);
    let losses = |r: &nabla::pinn::TrainReport| -> Vec<u64> {
        r.history.iter().map(|h| h.loss.total.to_bits()).collect()
    };
    assert_eq!(losses(&a), losses(&b));
    // Rounds before steps 10, 20 and 30: 48 points, the same whatever the threads.
    assert_eq!(ca.refined[0].len(), 48);
    assert_eq!(a.refined_points, 48);
    assert_eq!(ca.refined, cb.refined);
    // The first ten steps train on the problem's own points, then on more.
    let mut fixed = cfg.clone();
    fixed.points.refine = None;
    let (plain, _) = run(2, &fixed);
    let (la, lp) = (losses(&a), losses(&plain));
    assert_eq!(la[..10], lp[..10]);
    assert_ne!(la[10], lp[10]);
    // L-BFGS and the final loss are on the refined points: evaluating the checkpoint
    // (which holds them) gives the same loss.
    let out = tempfile::tempdir().unwrap();
    train(&cfg, &quiet(), out.path()).unwrap();
    let (loss, _) = evaluate(&cfg, &out.path().join("checkpoint.json")).unwrap();
    assert_eq!(loss.total.to_bits(), a.final_loss.total.to_bits());
    // Stopped after 20 steps (the round of step 20 is still due) or 25 (it is done) and
    // resumed: the same points and network.
    for (stop, rounds) in [(20, 1), (25, 2)] {
        let dir = tempfile::tempdir().unwrap();
        let mut part = cfg.clone();
        part.optimizer.iterations = stop;
        part.lbfgs = None;
        train(&part, &quiet(), dir.path()).unwrap();
        assert_eq!(checkpoint(dir.path()).refined[0].len(), 16 * rounds);
        let resumed = train(&cfg, &resuming(), dir.path()).unwrap();
        assert_eq!(resumed.mlp, a.mlp, "stopped at {stop}");
        assert_eq!(losses(&resumed), losses(&a), "stopped at {stop}");
        assert_eq!(checkpoint(dir.path()).refined, ca.refined);
    }
}

#[test]
fn refinement_settings_are_checked() {
    for (refine, setting, want) in [
        (
            "refine = { every = 0, add = 1, candidates = 2 }",
            "points.refine.every",
            "at least 1",
        ),
        (
            "refine = { every = 5, add = 0, candidates = 2 }",
            "points.refine.add",
            "at least 1",
        ),
        (
            "refine = { every = 5, add = 1, candidates = 0 }",
            "points.refine.candidates",
            "at least 1",
        ),
        (
            "refine = { every = 5, add = 3, candidates = 2 }",
            "points.refine.add",
            "at most as many as there are candidates",
        ),
        (
            "refine = { every = 10, add = 1, candidates = 2 }",
            "points.refine.every",
            "leaves no round",
        ),
        (
            "resample_every = 5\nrefine = { every = 5, add = 1, candidates = 2 }",
            "points.refine",
            "resample_every",
        ),
        (
            "refine = { every = 5, add = 1, candidates = 2, seed = 3 }",
            "",
            "unknown field",
        ),
    ] {
        let (s, m) = config_error(&heat("", refine, 10));
        assert!(s.starts_with(setting), "{refine}: {s}: {m}");
        assert!(m.contains(want), "{refine}: {s}: {m}");
    }
    // A built-in kind does not refine.
    let poisson = r#"
[pde]
kind = "poisson"
source = "1"
[network]
hidden = [4]
[domain]
min = [0.0, 0.0]
max = [1.0, 1.0]
[points]
interior = 4
boundary = 4
refine = { every = 1, add = 1, candidates = 2 }
[optimizer]
learning_rate = 1e-3
iterations = 2
"#;
    let (s, m) = config_error(poisson);
    assert_eq!(s, "points.refine", "{m}");
    assert!(m.contains("equations problem"), "{m}");
}

#[test]
fn a_refined_checkpoint_resumes_only_with_its_refinement() {
    let cfg = PinnConfig::from_toml(&heat("", REFINE, 20)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    train(&cfg, &quiet(), dir.path()).unwrap();
    let mut more = cfg.clone();
    more.optimizer.iterations = 30;
    let mut none = more.clone();
    none.points.refine = None;
    let e = train(&none, &resuming(), dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cannot resume") && e.contains("points.refine"),
        "{e}"
    );
    let mut other = more.clone();
    other.points.refine.as_mut().unwrap().add = 8;
    let e = train(&other, &resuming(), dir.path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("points.refine.add"), "{e}");
    // The settings are compared only on a checkpoint saved with them; the points it
    // holds are checked even without (a hand-edited or library checkpoint).
    let mut ck = checkpoint(dir.path());
    ck.refined[0].pop();
    ck.refined[1].pop();
    ck.save(&dir.path().join("checkpoint.json")).unwrap();
    let e = train(&more, &resuming(), dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cannot resume") && e.contains("refinement"),
        "{e}"
    );
    train(&more, &quiet(), dir.path()).unwrap();
}
